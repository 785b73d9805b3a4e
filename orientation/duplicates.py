"""Likely duplicates across sources, and the merge that keeps one record.

Two imports (a CPAS's spreadsheet and the regional feed), or an import and a sync, bring the
same service twice under different ids. Pairs are looked for across sources (records entered
here are compared with each other and with every source). A pair is proposed when the two records share at
least one strong sign — the same organisation number (BCE/KBO), the same phone number, the
same street address — and, for services, have similar names; organisations sharing a number
are proposed whatever their names. Names are compared as sets of words (accents, case and
small words like "de", "asbl" left out; Dice coefficient): enough for "CPAS d'Ixelles —
Service social" against "Service social du CPAS d'Ixelles", and explainable to an editor
(fuzzy character distances were not needed for the feeds we met: the differences are word
order and small words, not typing errors).

Signs are looked up by key (one bucket per phone, address or number), so the work grows with
the records, not with their pairs. The pairs are stored with their reasons and a score
(``store.duplicates``); an editor merges a pair or calls it "not a duplicate", and that
decision is kept: a dismissed pair is never proposed again.

A merge keeps one record and moves to it what the other had: pathway steps, contacts,
locations, needs, keywords, translations it lacks, and the other's source ids (a later import
or sync of that source then updates the kept record instead of bringing the duplicate back).
The other record stays, inactive, with ``merged_into`` and its whole history; both get audit
rows. One transaction: a move that a rule refuses changes nothing.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from itertools import combinations

import msgspec
from sqlite_utils import Database

from . import store
from .errors import InvalidData, NotFound
from .models import Organization, Phone, Service

#: names of the same service differ in word order and small words (above), rarely in more;
#: at 0.5 the seed's "CPAS de Woluwe-Saint-Lambert" and "EPN de Woluwe-Saint-Lambert", one
#: door apart in the same building, were proposed
NAME_THRESHOLD = 0.8
#: a phone or address shared by more records than this is a switchboard or a shared
#: building, not a sign of a duplicate (and pairing them all would be quadratic)
BUCKET_LIMIT = 40
SMALL_WORDS = frozenset(
    "a au aux d de des du en et l la le les pour sur un une the of and for asbl vzw cvba "
    "scrl srl sprl vog".split())
STREET_WORDS = {"av": "avenue", "ave": "avenue", "bd": "boulevard", "bld": "boulevard",
                "bvd": "boulevard", "ch": "chaussee", "chee": "chaussee", "r": "rue",
                "pl": "place", "sq": "square", "str": "straat", "st": "saint"}


class Pair(msgspec.Struct, kw_only=True):
    entity: str
    a_id: str
    b_id: str
    a_name: str
    b_name: str
    score: float
    reasons: list[str]
    status: str = "open"


# --- normalising --------------------------------------------------------------------------


def _plain(text: str) -> str:
    # Punctuation becomes a space before accents go: "l’Exemple" is "l exemple", not
    # "lexemple" (the typographic apostrophe is not ASCII and would vanish).
    text = re.sub(r"[^\w]+", " ", text or "")
    text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z0-9]+", " ", text.lower()).strip()


def words(name: str) -> frozenset[str]:
    """The words of a name that tell it apart (no accents, case, punctuation, small words)."""
    return frozenset(w for w in _plain(name).split() if w not in SMALL_WORDS)


def similarity(a: str, b: str) -> float:
    """How alike two names are, 0 to 1 (Dice coefficient of their words)."""
    wa, wb = words(a), words(b)
    if not wa or not wb:
        return 0.0
    return 2 * len(wa & wb) / (len(wa) + len(wb))


def phone_key(number: str) -> str | None:
    """A phone number as digits in the national form: "+32 (0)2 515 02 11", "0032 2 515 02
    11" and "02/515.02.11" are one number; an extension is left out."""
    main = re.split(r"ext|poste|toestel|#", number or "", maxsplit=1, flags=re.I)[0]
    digits = re.sub(r"\(0\)", "", main)
    digits = re.sub(r"\D", "", digits)
    if digits.startswith("00"):
        digits = digits[2:]
    if digits.startswith("32") and len(digits) in (10, 11):
        digits = "0" + digits[2:]
    return digits if len(digits) >= 6 else None


def address_key(street: str, postal_code: str) -> str | None:
    """Street and postal code with abbreviations spelled out ("Av." = "avenue") and the
    number kept: two records at one door."""
    parts = [STREET_WORDS.get(w, w) for w in _plain(street).split()]
    if not parts or not (postal_code or "").strip():
        return None
    return " ".join(parts) + "|" + postal_code.strip().upper()


# --- finding --------------------------------------------------------------------------------


class _Signs(msgspec.Struct):
    id: str
    name: str
    number: str | None
    phones: set[str]
    addresses: set[str]
    group: str  # the organisation: two services of one organisation with one name are rare
    source: str  # where it came from: "baltimore", a sync's URL, "" for entered here


def _phones(items: Iterable[Phone]) -> set[str]:
    return {k for k in (phone_key(p.number) for p in items if p.type != "fax") if k}


def _signs(db: Database) -> tuple[list[_Signs], list[_Signs]]:
    orgs = {o.id: o for o in store.list_organizations(db, status="active")
            if not o.merged_into}
    locations = {loc.id: loc for loc in store.list_locations(db)}

    def where(ids: Iterable[str]) -> tuple[set[str], set[str]]:
        phones, addresses = set(), set()
        for loc_id in ids:
            loc = locations.get(loc_id)
            if loc is None:
                continue
            phones |= _phones(loc.phones)
            if loc.address and not loc.confidential:
                key = address_key(loc.address.street, loc.address.postal_code)
                if key:
                    addresses.add(key)
        return phones, addresses

    by_org: dict[str, list[str]] = {}
    for loc in locations.values():
        by_org.setdefault(loc.organization_id, []).append(loc.id)
    org_signs = []
    for org in orgs.values():
        phones, addresses = where(by_org.get(org.id, []))
        org_signs.append(_Signs(org.id, org.name, org.company_number,
                                _phones(org.phones) | phones, addresses, org.id,
                                _source(org.source_id)))
    service_signs = []
    for s in store.iter_services(db, status="active"):
        if s.merged_into or s.organization_id not in orgs:
            continue
        phones, addresses = where(s.location_ids)
        service_signs.append(_Signs(s.id, s.name, orgs[s.organization_id].company_number,
                                    _phones(s.phones) | phones, addresses,
                                    s.organization_id, _source(s.source_id)))
    return org_signs, service_signs


def _source(source_id: str | None) -> str:
    """The source part of a source id ("baltimore:123" -> "baltimore"; a sync's ids start
    with its URL, which has colons of its own)."""
    return (source_id or "").rpartition(":")[0]


def _pairs(entity: str, records: list[_Signs]) -> list[dict]:
    buckets: dict[tuple[str, str], list[_Signs]] = {}
    for r in records:
        for kind, keys in (("number", {r.number} if r.number else set()),
                           ("phone", r.phones), ("address", r.addresses)):
            for key in keys:
                buckets.setdefault((kind, key), []).append(r)
    shared: dict[tuple[str, str], set[str]] = {}
    by_id = {r.id: r for r in records}
    for (kind, _), members in buckets.items():
        if len(members) > BUCKET_LIMIT:
            continue
        for x, y in combinations(sorted(members, key=lambda r: r.id), 2):
            shared.setdefault((x.id, y.id), set()).add(kind)
    found = []
    labels = {"number": "same organisation number", "phone": "same phone number",
              "address": "same address"}
    for (a_id, b_id), kinds in shared.items():
        a, b = by_id[a_id], by_id[b_id]
        if a.source and a.source == b.source:
            # One feed listing a service twice is the feed's choice (the Baltimore feed lists
            # one state programme per county under one phone: 163 such pairs, none a
            # duplicate); what we look for is two sources describing one service.
            continue
        alike = similarity(a.name, b.name)
        if entity == "service" and a.group == b.group and alike < 1:
            continue  # one organisation's services share its phone and door by nature
        if not (alike >= NAME_THRESHOLD or (entity == "organization" and "number" in kinds)):
            continue
        reasons = [labels[k] for k in ("number", "phone", "address") if k in kinds]
        if alike >= NAME_THRESHOLD:
            reasons.append(f"similar name ({alike:.2f})")
        score = round(0.5 * alike + 0.25 * len(kinds), 3)
        found.append({"a_id": a_id, "b_id": b_id, "score": min(score, 1.0),
                      "reasons": reasons})
    return found


def find(db: Database) -> list[Pair]:
    """Look for likely duplicates among active services and organisations, store them as the
    open pairs (decided pairs stay decided) and return the open pairs."""
    org_signs, service_signs = _signs(db)
    with store.transaction(db):
        store.save_candidates(db, "organization", _pairs("organization", org_signs))
        store.save_candidates(db, "service", _pairs("service", service_signs))
    return open_pairs(db)


def open_pairs(db: Database, *, organization_id: str | None = None) -> list[Pair]:
    """The pairs waiting for an editor, likeliest first, with the records' names;
    ``organization_id``: only pairs where one record is (or belongs to) that organisation."""
    pairs = []
    for row in store.duplicate_rows(db):
        try:
            a, b = store.get(db, row["entity"], row["a_id"]), store.get(db, row["entity"],
                                                                        row["b_id"])
        except NotFound:
            continue  # deleted since it was found
        if organization_id and organization_id not in {_owner(a), _owner(b)}:
            continue
        pairs.append(Pair(entity=row["entity"], a_id=a.id, b_id=b.id, a_name=a.name,
                          b_name=b.name, score=row["score"], reasons=row["reasons"]))
    return pairs


def _owner(record: Service | Organization) -> str:
    return record.organization_id if isinstance(record, Service) else record.id


# --- deciding -------------------------------------------------------------------------------


def dismiss(db: Database, entity: str, a_id: str, b_id: str, *, actor: str) -> None:
    """"Not a duplicate": remembered, never proposed again."""
    _pair(db, entity, a_id, b_id)
    with store.transaction(db):
        store.decide_duplicate(db, entity, a_id, b_id, status="dismissed", actor=actor)


def _pair(db: Database, entity: str, a_id: str, b_id: str) -> dict:
    if entity not in ("service", "organization"):
        raise InvalidData(f"entity: {entity!r} is neither service nor organization",
                          field="entity")
    row = store.get_duplicate(db, entity, a_id, b_id)
    if row is None:
        raise NotFound("duplicate pair", f"{a_id} {b_id}")
    return row


def _union(*lists: Iterable[str]) -> list[str]:
    return list(dict.fromkeys(x for items in lists for x in items))


def _merged_translations(keep: Service, other: Service) -> dict:
    out = dict(keep.translations)
    for lang, theirs in other.translations.items():
        ours = out.get(lang)
        if ours is None:
            out[lang] = theirs
            continue
        fill = {f: getattr(theirs, f) for f in ours.__struct_fields__
                if not getattr(ours, f) and getattr(theirs, f)}
        out[lang] = msgspec.structs.replace(ours, **fill)
    return out


def merge(db: Database, entity: str, keep_id: str, other_id: str, *, actor: str) -> None:
    """Keep ``keep_id``, move to it what ``other_id`` had, and make ``other_id`` inactive
    with ``merged_into`` (see the module docstring); one transaction."""
    _pair(db, entity, keep_id, other_id)
    with store.transaction(db):
        if entity == "service":
            _merge_services(db, store.get_service(db, keep_id), store.get_service(db, other_id),
                            actor)
        else:
            _merge_organizations(db, store.get_organization(db, keep_id),
                                 store.get_organization(db, other_id), actor)
        store.decide_duplicate(db, entity, keep_id, other_id, status="merged", actor=actor)


def _move_sources(db: Database, entity: str, keep, other) -> None:
    for record in (keep, other):
        if record.source_id:
            store.add_merged_source(db, entity, record.source_id, keep.id)


def _merge_services(db: Database, keep: Service, other: Service, actor: str) -> None:
    numbers = {phone_key(p.number) for p in keep.phones}
    kept = msgspec.structs.replace(
        keep, contact_ids=_union(keep.contact_ids, other.contact_ids),
        location_ids=_union(keep.location_ids, other.location_ids),
        needs=_union(keep.needs, other.needs), keywords=_union(keep.keywords, other.keywords),
        languages=_union(keep.languages, other.languages),
        phones=keep.phones + [p for p in other.phones if phone_key(p.number) not in numbers],
        translations=_merged_translations(keep, other))
    store.save(db, kept, actor=actor)
    for pathway_id in store.pathways_using(db, service_id=other.id):
        pathway = store.get_pathway(db, pathway_id)
        steps = [msgspec.structs.replace(s, service_id=keep.id) if s.service_id == other.id
                 else s for s in pathway.steps]
        store.save(db, msgspec.structs.replace(pathway, steps=steps), actor=actor)
    _move_sources(db, "service", keep, other)
    store.save(db, msgspec.structs.replace(other, status="inactive", merged_into=keep.id,
                                           source_id=None), actor=actor)
    store.record_merge(db, actor, "service", keep.id, other.id)


def _merge_organizations(db: Database, keep: Organization, other: Organization,
                         actor: str) -> None:
    """The other organisation's services, locations and contacts move to the kept one."""
    for loc in store.list_locations(db, organization_id=other.id):
        store.save(db, msgspec.structs.replace(loc, organization_id=keep.id), actor=actor)
    for contact in store.list_contacts(db, organization_id=other.id):
        store.save(db, msgspec.structs.replace(contact, organization_id=keep.id), actor=actor)
    for service in store.list_services(db, organization_id=other.id):
        store.save(db, msgspec.structs.replace(service, organization_id=keep.id), actor=actor)
    numbers = {phone_key(p.number) for p in keep.phones}
    store.save(db, msgspec.structs.replace(
        keep, company_number=keep.company_number or other.company_number,
        phones=keep.phones + [p for p in other.phones if phone_key(p.number) not in numbers]),
        actor=actor)
    _move_sources(db, "organization", keep, other)
    store.save(db, msgspec.structs.replace(other, status="inactive", merged_into=keep.id,
                                           source_id=None), actor=actor)
    store.record_merge(db, actor, "organization", keep.id, other.id)

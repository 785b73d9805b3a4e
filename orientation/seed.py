"""Load the human-readable seed directory (``seed/*.yaml``, see ``seed/FORMAT.md``).

Seed files use readable slugs; each becomes a stable UUID (``models.slug_id``) so that loading
the seed again updates records in place instead of duplicating them. The whole load is one
transaction: a mistake in any file leaves the database unchanged and names the file.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import msgspec
import yaml
from sqlite_utils import Database

from . import seed_translations, store
from .errors import Conflict, InvalidData, NotFound
from .models import (
    LANGUAGES,
    Absence,
    Accessibility,
    AccessRules,
    Address,
    Area,
    Closure,
    Contact,
    DigitalRequirement,
    Location,
    Organization,
    Pathway,
    PathwayStep,
    PathwayTranslation,
    Phone,
    Schedule,
    Service,
    StepTranslation,
    TaxonomyTerm,
    Translation,
    slug_id,
)

ACTOR = "seed"
DEFAULT_SEED_DIR = Path(__file__).resolve().parent.parent / "seed"
#: The needs taxonomy ships with the product: every database gets it, sample data or not.
TAXONOMY = DEFAULT_SEED_DIR / "taxonomy.yaml"


class SeedError(InvalidData):
    pass


def _read(path: Path) -> dict[str, Any]:
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise SeedError(f"{path.name}: not valid YAML: {exc}") from None
    if not isinstance(data, dict):
        raise SeedError(f"{path.name}: expected a mapping at the top level")
    return data


def _strings(values: list | None) -> list[str]:
    """YAML reads `[1718]` as a number: lists of words are always text here."""
    return [str(v) for v in values or []]


def _date(value: Any) -> dt.date | None:
    if value is None or isinstance(value, dt.date):
        return value
    return dt.date.fromisoformat(str(value))


def _phones(items: list[dict] | None, owner: str) -> list[Phone]:
    phones = []
    for i, p in enumerate(items or []):
        phones.append(Phone(
            id=slug_id("phone", f"{owner}:{i}"),
            number=str(p["number"]),
            type=p.get("type", "voice"),
            description=p.get("description"),
            visibility=p.get("visibility", "public"),
            voicemail=bool(p.get("voicemail", False)),
            free=bool(p.get("free", False)),
            languages=_strings(p.get("languages")),
        ))
    return phones


def _schedules(items: list[dict] | None, owner: str) -> list[Schedule]:
    rows = []
    for i, s in enumerate(items or []):
        rows.append(Schedule(
            id=slug_id("schedule", f"{owner}:{i}"),
            byday=s["byday"],
            opens_at=str(s["opens_at"]),
            closes_at=str(s["closes_at"]),
            attending_type=s.get("attending", "walk_in"),
            location_id=slug_id("location", s["location"]) if s.get("location") else None,
            valid_from=_date(s.get("valid_from")),
            valid_to=_date(s.get("valid_to")),
            note=s.get("note"),
        ))
    return rows


def _areas(items: list[dict] | None) -> list[Area]:
    """``[{commune: Ixelles}, {region: bruxelles}, {country: Belgique}]``: one key each."""
    areas = []
    for item in items or []:
        if not isinstance(item, dict) or len(item) != 1:
            raise ValueError(f"an area is one of commune:, region: or country:, not {item!r}")
        [(kind, name)] = item.items()
        if kind not in ("commune", "region", "country"):
            raise ValueError(f"unknown area kind {kind!r}")
        areas.append(Area(kind=kind, name=str(name)))
    return areas


def _terms(data: dict) -> list[TaxonomyTerm]:
    terms = []

    def walk(items: list[dict], parent: str | None) -> None:
        for position, item in enumerate(items):
            terms.append(TaxonomyTerm(
                id=slug_id("term", item["id"]),
                code=item["id"],
                parent_id=slug_id("term", parent) if parent else None,
                labels=item["labels"],
                descriptions=item.get("description", {}),
                pictogram=item.get("pictogram"),
                position=position,
            ))
            walk(item.get("children", []), item["id"])

    walk(data["terms"], None)
    return terms


def _organization(data: dict) -> tuple[Organization, list[Location], list[Contact], list[Service]]:
    slug = data["id"]
    org_id = slug_id("organization", slug)
    org = Organization(
        id=org_id, name=data["name"], alternate_name=data.get("alternate_name"),
        kind=data.get("kind", "autre"), description=data["description"],
        website=data.get("website"), email=data.get("email"),
        phones=_phones(data.get("phones"), slug), status=data.get("status", "active"),
        data_contact_email=data.get("data_contact_email"),
        data_contact_lang=data.get("data_contact_lang", "fr"),
    )
    locations = []
    for loc in data.get("locations", []):
        address = loc["address"]
        locations.append(Location(
            id=slug_id("location", loc["id"]), organization_id=org_id, name=loc["name"],
            description=loc.get("description"),
            address=Address(street=address["street"], postal_code=str(address["postal_code"]),
                            city=address["city"], region=loc.get("region", "bruxelles")),
            latitude=loc.get("latitude"), longitude=loc.get("longitude"),
            transport=_strings(loc.get("transport")),
            accessibility=msgspec.convert(loc.get("accessibility", {}), Accessibility),
            confidential=bool(loc.get("confidential", False)),
            phones=_phones(loc.get("phones"), loc["id"]),
        ))
    contacts = []
    for c in data.get("contacts", []):
        contacts.append(Contact(
            id=slug_id("contact", c["id"]), organization_id=org_id,
            civility=c.get("civility"), given_name=c["given_name"],
            family_name=c["family_name"], role=c["role"],
            phones=_phones(c.get("phones"), c["id"]), email=c.get("email"),
            languages=c.get("languages", ["fr"]),
            availability=_schedules(c.get("availability"), c["id"]),
            absences=[
                Absence(date_from=_date(a["from"]), date_to=_date(a["to"]),
                        reason=a.get("reason"),
                        substitute_id=slug_id("contact", a["substitute"])
                        if a.get("substitute") else None)
                for a in c.get("absences", [])
            ],
            status=c.get("status", "active"),
            assured_date=_date(c.get("assured_date")), assured_by=c.get("assured_by"),
        ))
    services = []
    for s in data.get("services", []):
        access = s.get("access", {})
        cost = access.get("cost", "free")
        digital = s.get("digital", {})
        services.append(Service(
            id=slug_id("service", s["id"]), organization_id=org_id, name=s["name"],
            alternate_name=s.get("alternate_name"), description=s["description"],
            url=s.get("url"), email=s.get("email"),
            phones=_phones(s.get("phones"), s["id"]),
            needs=[slug_id("term", t) for t in s.get("needs", [])],
            keywords=_strings(s.get("keywords")),
            location_ids=[slug_id("location", x) for x in s.get("locations", [])],
            contact_ids=[slug_id("contact", x) for x in s.get("contacts", [])],
            languages=s.get("languages", ["fr"]),
            interpretation=s.get("interpretation"),
            access=AccessRules(
                walk_in=bool(access.get("walk_in", False)),
                appointment=bool(access.get("appointment", False)),
                referral=bool(access.get("referral", False)),
                documents=_strings(access.get("documents")),
                cost_free=cost == "free",
                cost_description=None if cost == "free" else str(cost),
                audience=access.get("audience"), eligibility=access.get("eligibility"),
                residents_only=bool(access.get("residents_only", False)),
            ),
            digital=DigitalRequirement(level=digital.get("level", "none"),
                                       what=digital.get("what", []), note=digital.get("note")),
            schedules=_schedules(s.get("schedules"), s["id"]),
            closures=[Closure(date_from=_date(c["from"]), date_to=_date(c["to"]),
                              reason=c.get("reason")) for c in s.get("closures", [])],
            open_on_public_holidays=bool(s.get("open_on_public_holidays", False)),
            translations={lang: msgspec.convert(t, Translation)
                          for lang, t in (s.get("translations") or {}).items()},
            areas=_areas(s.get("areas")), acts_as=s.get("acts_as", []),
            status=s.get("status", "active"),
            assured_date=_date(s.get("assured_date")), assured_by=s.get("assured_by"),
            update_months=s.get("update_months"),
        ))
    return org, locations, contacts, services


def _pathway(data: dict) -> Pathway:
    return Pathway(
        id=slug_id("pathway", data["id"]), need=data["need"], summary=data.get("summary"),
        themes=[slug_id("term", t) for t in data.get("themes", [])],
        region=data.get("region", "both"), communes=_strings(data.get("communes")),
        steps=[
            PathwayStep(
                service_id=slug_id("service", st["service"]), role=st.get("role"),
                location_id=slug_id("location", st["location"]) if st.get("location") else None,
                contact_id=slug_id("contact", st["contact"]), action=st["action"],
                bring=_strings(st.get("bring")), fallback=st.get("fallback"),
            )
            for st in data["steps"]
        ],
        translations={lang: msgspec.convert(t, PathwayTranslation)
                      for lang, t in (data.get("translations") or {}).items()},
        status=data.get("status", "active"),
    )


def _translation_files(seed_dir: Path) -> dict[str, dict[str, tuple[Path, dict]]]:
    """``seed/translations/<lang>/<pathway-slug>.yaml``, read: {slug: {lang: (path, data)}}."""
    found: dict[str, dict[str, tuple[Path, dict]]] = {}
    folder = seed_dir / "translations"
    if not folder.is_dir():
        return found
    for lang_dir in sorted(p for p in folder.iterdir() if p.is_dir()):
        lang = lang_dir.name
        if lang not in LANGUAGES or lang == "fr":
            raise SeedError(f"translations/{lang}: not a translation language "
                            f"({', '.join(LANGUAGES[1:])})")
        for path in sorted(lang_dir.glob("*.yaml")):
            data = _read(path)
            slug = data.get("id")
            if slug != path.stem:
                raise SeedError(f"translations/{lang}/{path.name}: id {slug!r} is not the file "
                                f"name ({path.stem!r})")
            found.setdefault(slug, {})[lang] = (path, data)
    return found


def _translated(pathway: Pathway, data: dict, lang: str, where: str) -> PathwayTranslation:
    """A translation file read against the French pathway: same steps, same lists."""
    unknown = set(data) - {"id", "need", "summary", "steps"}
    if unknown:
        raise SeedError(f"{where}: unknown field(s) {', '.join(sorted(unknown))}")
    steps = data.get("steps") or []
    if steps and len(steps) != len(pathway.steps):
        raise SeedError(f"{where}: {len(steps)} steps, the French pathway has "
                        f"{len(pathway.steps)}; translate every step, in the same order")
    translated = []
    for n, (item, french) in enumerate(zip(steps, pathway.steps), start=1):
        if not isinstance(item, dict):
            raise SeedError(f"{where}: step {n} is not a mapping (action:, bring:, fallback:)")
        try:
            step = msgspec.convert({**item, "bring": _strings(item.get("bring"))},
                                   StepTranslation)
        except msgspec.ValidationError as exc:
            raise SeedError(f"{where}: step {n}: {exc}") from None
        if step.bring and len(step.bring) != len(french.bring):
            raise SeedError(f"{where}: step {n}: bring has {len(step.bring)} items, the French "
                            f"step {len(french.bring)}")
        if step.fallback and not french.fallback:
            raise SeedError(f"{where}: step {n}: a fallback, but the French step has none")
        translated.append(step)
    inline = pathway.translations.get(lang) or PathwayTranslation()
    # The file wins, field by field: an inline need/summary stays when the file has none.
    return PathwayTranslation(need=data.get("need") or inline.need,
                              summary=data.get("summary") or inline.summary,
                              steps=translated or inline.steps)


def _with_translation_files(pathway: Pathway, files: dict[str, tuple[Path, dict]]) -> Pathway:
    translations = dict(pathway.translations)
    for lang, (path, data) in sorted(files.items()):
        translations[lang] = _translated(pathway, data, lang,
                                         f"translations/{lang}/{path.name}")
    return msgspec.structs.replace(pathway, translations=translations)


def organizations(seed_dir: Path = DEFAULT_SEED_DIR) -> list[tuple[Path, Any]]:
    """Every organisation file read, with its records (organisation, locations, contacts,
    services) and their translation files applied; nothing is saved."""
    parsed = []
    for path in sorted((Path(seed_dir) / "organizations").glob("*.yaml")):
        try:
            parsed.append((path, _organization(_read(path))))
        except (KeyError, TypeError, ValueError, msgspec.ValidationError) as exc:
            raise SeedError(f"{path.name}: {type(exc).__name__}: {exc}") from None
    try:
        return seed_translations.apply(seed_dir, parsed)
    except seed_translations.TranslationFileError as exc:
        raise SeedError(str(exc)) from None


def load(db: Database, seed_dir: Path = DEFAULT_SEED_DIR) -> dict[str, int]:
    """Load (or reload) the whole seed directory in one transaction; returns counts."""
    seed_dir = Path(seed_dir)
    if not (seed_dir / "taxonomy.yaml").exists():
        raise SeedError(f"{seed_dir}: no taxonomy.yaml, is this a seed directory?")
    counts = {"taxonomy_terms": 0, "organizations": 0, "locations": 0, "contacts": 0,
              "services": 0, "pathways": 0}
    with store.transaction(db):
        store.set_flag(db, store.SAMPLE_DATA, str(seed_dir), actor=ACTOR)
        for term in _terms(_read(seed_dir / "taxonomy.yaml")):
            store.save_term(db, term, actor=ACTOR)
            counts["taxonomy_terms"] += 1
        parsed = organizations(seed_dir)
        # Save in dependency order across all files: contacts may name substitutes from
        # another organisation, so every contact goes in before any absence is checked.
        deferred_absences = []
        for path, (org, locations, contacts, _) in parsed:
            _saving(path, store.save_organization, db, org)
            for location in locations:
                _saving(path, store.save_location, db, location)
            for contact in contacts:
                if all(store.exists(db, "contact", a.substitute_id) or a.substitute_id is None
                       for a in contact.absences):
                    _saving(path, store.save_contact, db, contact)
                else:
                    deferred_absences.append((path, contact))
                    _saving(path, store.save_contact, db,
                            msgspec.structs.replace(contact, absences=[]))
            counts["organizations"] += 1
            counts["locations"] += len(locations)
            counts["contacts"] += len(contacts)
        for path, contact in deferred_absences:
            _saving(path, store.save_contact, db, contact)
        for path, (_, _, _, services) in parsed:
            for service in services:
                _saving(path, store.save_service, db, service)
            counts["services"] += len(services)
        translation_files = _translation_files(seed_dir)
        for path in sorted((seed_dir / "pathways").glob("*.yaml")):
            try:
                data = _read(path)
                pathway = _pathway(data)
            except (KeyError, TypeError, ValueError, msgspec.ValidationError) as exc:
                raise SeedError(f"{path.name}: {type(exc).__name__}: {exc}") from None
            pathway = _with_translation_files(pathway, translation_files.pop(data["id"], {}))
            _saving(path, store.save_pathway, db, pathway)
            counts["pathways"] += 1
        for slug, files in sorted(translation_files.items()):
            lang, (path, _) = next(iter(sorted(files.items())))
            raise SeedError(f"translations/{lang}/{path.name}: no pathway {slug!r} "
                            "in seed/pathways")
    return counts


def _saving(path: Path, saver, db: Database, obj) -> None:
    try:
        saver(db, obj, actor=ACTOR)
    except (InvalidData, msgspec.ValidationError) as exc:
        raise SeedError(f"{path.name}: {exc}") from None


# --- The taxonomy alone, and leaving the sample directory --------------------------------
# Kept apart from ``load``: a directory built from real data needs the needs taxonomy (the
# kiosk's home tiles) and none of the fictional organisations.


def load_taxonomy(db: Database, path: Path = TAXONOMY) -> int:
    """Load (or reload) the needs taxonomy only, in one transaction; returns the term count.
    The sample-data flag is left as it is."""
    path = Path(path)
    if not path.is_file():
        raise SeedError(f"{path}: no taxonomy file")
    terms = _terms(_read(path))
    with store.transaction(db):
        for term in terms:
            _saving(path, store.save_term, db, term)
    return len(terms)


def ensure_taxonomy(db: Database, path: Path = TAXONOMY) -> int:
    """Load the needs taxonomy if the database has none yet (an imported or synced directory);
    returns the number of terms loaded (0 when it was already there)."""
    if store.list_terms(db):
        return 0
    return load_taxonomy(db, path)


def remove_sample(db: Database, seed_dir: Path = DEFAULT_SEED_DIR) -> dict[str, int]:
    """Delete every record the seed directory created (pathways, services, contacts,
    locations, organisations), each with its audit row, and clear the sample-data flag: the
    taxonomy stays. One transaction: a real record still pointing at a sample one (a service
    given at a sample location) stops it with that reference named, and nothing is deleted."""
    seed_dir = Path(seed_dir)
    ids: dict[str, list[str]] = {k: [] for k in ("pathway", "service", "contact", "location",
                                                 "organization")}
    for path in sorted((seed_dir / "pathways").glob("*.yaml")):
        ids["pathway"].append(slug_id("pathway", _read(path)["id"]))
    for path in sorted((seed_dir / "organizations").glob("*.yaml")):
        data = _read(path)
        ids["organization"].append(slug_id("organization", data["id"]))
        for kind, key in (("location", "locations"), ("contact", "contacts"),
                          ("service", "services")):
            ids[kind] += [slug_id(kind, item["id"]) for item in data.get(key, [])]
    counts = {kind: 0 for kind in ids}
    with store.transaction(db):
        for kind, wanted in ids.items():
            pending = [i for i in wanted if store.exists(db, kind, i)]
            # Sample contacts name each other as substitutes: delete in rounds until none
            # is left, or a round deletes nothing (a real record refers to one).
            while pending:
                left, error = [], None
                for record_id in pending:
                    try:
                        store.delete(db, kind, record_id, actor=ACTOR)
                        counts[kind] += 1
                    except NotFound:
                        continue
                    except Conflict as exc:
                        left.append(record_id)
                        error = exc
                if len(left) == len(pending):
                    raise SeedError(f"sample data not removed: {error}")
                pending = left
        store.set_flag(db, store.SAMPLE_DATA, None, actor=ACTOR)
    return counts

"""Bundle -> our models -> store writes, in one transaction.

Ids: an id that is a UUID is kept (HSDS 3 ids are UUIDs); any other id becomes a stable UUID
derived from the source name and the original id, which is also kept in ``source_id``, so
importing the same source again updates records instead of duplicating them. A record that
cannot stand in our model (a service with no organisation) is skipped, with the reason, and
counted in the report.

Source categories are mapped onto our needs through the editable category map
(``categories.CategoryMap``, ``seed/category_map.yaml``); the original category names are kept
as keywords, and every category a source used is recorded for ``orientation check``. A Belgian
address gets its commune and region from its postal code (``communes.belgian_place``).
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable
from typing import Any

import msgspec
from sqlite_utils import Database

from .. import communes, hours, store
from ..errors import InvalidData
from ..fields import clean_data, is_email, web_url
from ..models import (
    Contact, Location, Organization, Pathway, Phone, Schedule, Service, TaxonomyTerm,
)
from .bundle import WEEKDAYS, Bundle, ImportFailed, Report, Skipped, keep_richest
from .categories import CategoryMap

IMPORT_NAMESPACE = uuid.UUID("0d6c1f7e-6a43-4a36-9f43-2f7b7d3c9e51")
PHONE_TYPES = {"voice": "voice", "hotline": "voice", "cell": "voice", "mobile": "voice",
               "sms": "sms", "text": "sms", "tty": "textphone", "textphone": "textphone",
               "fax": "fax"}
# --- values -------------------------------------------------------------------------------


def _overnight(row: dict) -> list[dict]:
    """A row that closes after midnight ("9am to 03:00") as two rows our model can hold: until
    24:00, then from 00:00 on the next day."""
    opens, closes = row["opens_at"], row["closes_at"]
    if closes == "00:00":
        return [{**row, "closes_at": "24:00"}]
    if not (re.fullmatch(r"\d\d:\d\d", opens) and re.fullmatch(r"\d\d:\d\d", closes)) \
            or closes > opens:
        return [row]
    days = [d.strip().upper() for d in row["byday"].split(",")]
    order = list(WEEKDAYS.values())[:7]
    if not all(d in order for d in days):
        return [row]
    following = ",".join(order[(order.index(d) + 1) % 7] for d in days)
    return [{**row, "closes_at": "24:00"},
            {**row, "id": str(uuid.uuid5(uuid.UUID(row["id"]), "after-midnight")),
             "byday": following, "opens_at": "00:00"}]


def _url(value: Any) -> str | None:
    """A web address as a full URL: "www.example.org/x" -> "http://www.example.org/x"; text
    that is no address at all is dropped."""
    value = str(value or "").strip()
    if not value or " " in value:
        return None
    if not re.match(r"[a-z][a-z0-9+.-]*:(?!\d)", value, re.I):  # a scheme, not a port
        if not re.match(r"[\w-]+(\.[\w-]+)+(/|$)", value):
            return None
        value = "http://" + value
    # Only web addresses are kept: a "javascript:" or "data:" link is never a service's site.
    return web_url(value)


def _company_number(identifiers: Any) -> str | None:
    """The organisation number among HSDS ``organization_identifiers``: the Belgian one
    (BCE/KBO, "enterprise"), else the first given; digits only when it has ten, as the BCE
    writes them ("0412.345.678" -> "0412345678")."""
    items = [i for i in identifiers or [] if isinstance(i, dict) and i.get("identifier")]
    belgian = [i for i in items if re.search(r"bce|kbo|enterprise|entreprise|company",
                                             str(i.get("identifier_type") or ""), re.I)]
    if not items:
        return None
    value = str((belgian or items)[0]["identifier"]).strip()
    digits = re.sub(r"\D", "", value)
    return digits if len(digits) == 10 else value[:60] or None


#: The public name of ``_url`` for the spreadsheet reader's checks.
clean_url = _url


def _email(value: Any) -> str | None:
    value = str(value or "").strip()
    return value if is_email(value) else None


# --- mapping to our model -------------------------------------------------------------------


class _Mapper:
    def __init__(self, db: Database, source: str, *, ours: bool = False,
                 categories: CategoryMap | None = None) -> None:
        self.db = db
        self.source = source
        self.ours = ours
        self.categories = categories or CategoryMap.load()
        #: (scheme, code, name) -> services that carried it, for ``orientation check``
        self.seen: dict[tuple[str, str, str], int] = {}
        #: terms of other taxonomies by id -> (scheme, code, name)
        self.foreign: dict[str, tuple[str, str, str]] = {}
        self.ids: dict[tuple[str, str], str] = {}
        self.need_ids = {t.code: t.id for t in store.list_terms(db)}
        self.skipped: list[Skipped] = []

    def id(self, kind: str, original: Any, at: tuple) -> tuple[str, str | None]:
        """(our id, source_id) for an original id."""
        if original in (None, ""):
            raise ImportFailed(at[0], at[1], "id", "missing id")
        original = str(original)
        key = (kind, original)
        if key not in self.ids:
            source_id = None if self.ours else f"{self.source}:{original}"
            known = None
            if source_id and kind in ("organization", "location", "contact", "service"):
                known = store.id_by_source(self.db, kind, source_id)
            try:
                our = known or str(uuid.UUID(original))
            except ValueError:
                our = str(uuid.uuid5(IMPORT_NAMESPACE, f"{self.source}:{kind}:{original}"))
            self.ids[key] = our
            self.ids[(kind + ":source", original)] = source_id
        return self.ids[key], self.ids[(kind + ":source", original)]

    def convert(self, cls: type, data: dict, at: tuple) -> Any:
        try:
            return msgspec.convert(clean_data(data), cls, strict=False)
        except msgspec.ValidationError as exc:
            field = str(exc).rpartition("at `$.")[2].rstrip("`") if "at `$." in str(exc) else None
            raise ImportFailed(at[0], at[1], field, str(exc).split(" - at ")[0]) from None

    def phones(self, items: list[dict] | None, owner: str) -> list[Phone]:
        out = []
        for p in items or []:
            at = p.get("_at") or ("?", None)
            pid = p.get("id")
            try:
                pid = str(uuid.UUID(str(pid)))
            except ValueError:
                pid = str(uuid.uuid5(uuid.UUID(owner), f"phone:{pid}"))
            number = str(p.get("number") or "").strip()
            if p.get("extension"):
                number += f" ext. {str(p['extension']).removesuffix('.0')}"
            out.append(self.convert(Phone, {
                "id": pid, "number": number,
                "type": PHONE_TYPES.get(str(p.get("type") or "voice").lower(), "voice"),
                "description": p.get("description"),
                "visibility": p.get("be_visibility") or "public",
                "voicemail": bool(p.get("be_voicemail")), "free": bool(p.get("be_free")),
                "languages": [x.get("code") for x in p.get("languages") or [] if x.get("code")],
            }, at))
        return out

    def organization(self, data: dict) -> Organization:
        at = data["_at"]
        oid, source_id = self.id("organization", data.get("id"), at)
        return self.convert(Organization, {
            "id": oid, "name": data.get("name") or "", "alternate_name":
            data.get("alternate_name"), "description": data.get("description") or "",
            "kind": data.get("be_kind") or "autre", "website": _url(data.get("website")),
            "email": _email(data.get("email")), "phones": self.phones(data.get("phones"), oid),
            "status": data.get("be_status") or "active",
            "source_id": data.get("be_source_id") or source_id,
            "data_contact_email": _email(data.get("be_data_contact_email")),
            "data_contact_lang": data.get("be_data_contact_lang") or "fr",
            "trusted": bool(data.get("be_trusted")),
            "company_number": _company_number(data.get("organization_identifiers")),
            "translations": data.get("be_translations") or {},
        }, at)

    def location(self, data: dict, org_id: str) -> Location:
        at = data.get("_at") or ("?", None)
        lid, source_id = self.id("location", data.get("id"), at)
        address = None
        if data.get("addresses"):
            a = data["addresses"][0]
            country = (a.get("country") or "").upper() or "BE"
            postal_code = str(a.get("postal_code") or "").strip()
            city = a.get("city") or ""
            place, region = communes.belgian_place(postal_code, city, country)
            address = {"street": a.get("address_1") or "", "city": city or place or "",
                       "postal_code": postal_code,
                       "region": data.get("be_region") or region or "autre", "country": country}
        elif data.get("be_city"):
            address = {"street": "", "postal_code": "", "city": data["be_city"],
                       "region": data.get("be_region") or "autre"}
        access = data.get("be_accessibility")
        if access is None:
            details = "; ".join(a.get("description") or a.get("details") or ""
                                for a in data.get("accessibility") or []) or None
            access = {"details": details}
        return self.convert(Location, {
            "id": lid, "organization_id": org_id, "name": data.get("name") or "",
            "description": data.get("description"), "address": address,
            "latitude": data.get("latitude"), "longitude": data.get("longitude"),
            "transport": [x.strip() for x in (data.get("transportation") or "").split(";")
                          if x.strip()],
            "accessibility": access, "confidential": bool(data.get("be_confidential")),
            "phones": self.phones(data.get("phones"), lid),
            "source_id": data.get("be_source_id") or source_id,
            "translations": data.get("be_translations") or {},
        }, at)

    def contact(self, data: dict, org_id: str) -> Contact:
        at = data.get("_at") or ("?", None)
        cid, source_id = self.id("contact", data.get("id"), at)
        if data.get("be_given_name") is not None:
            given, family = data["be_given_name"], data.get("be_family_name") or ""
        else:  # "Susan Houston" -> given name, family name
            given, _, family = str(data.get("name") or "").strip().partition(" ")
        absences = [{**a, "substitute_id": a.get("substitute_id") and self.id(
                        "contact", a["substitute_id"], at)[0]}
                    for a in data.get("be_absences") or []]
        return self.convert(Contact, {
            "id": cid, "organization_id": org_id, "civility": data.get("be_civility"),
            "given_name": given, "family_name": family or "",
            "role": data.get("be_role") or data.get("title") or "",
            "email": _email(data.get("email")), "phones": self.phones(data.get("phones"), cid),
            "languages": data.get("be_languages") or [],
            "availability": data.get("be_availability") or [], "absences": absences,
            "status": data.get("be_status") or "active",
            "assured_date": data.get("be_assured_date"), "assured_by": data.get("be_assured_by"),
            "source_id": data.get("be_source_id") or source_id,
            "translations": data.get("be_translations") or {},
        }, at)

    def needs(self, data: dict) -> list[str]:
        """Our need ids for a service: terms of our taxonomy it names, and its source
        categories through the category map (each category counted for the check)."""
        ids = []
        codes: list[str] = []
        for attribute in data.get("attributes") or []:
            term = attribute.get("taxonomy_term_id") or (attribute.get("taxonomy_term") or {}
                                                         ).get("id")
            if term and store.exists(self.db, "taxonomy_term", term):
                ids.append(term)
            elif term in self.foreign:
                codes += self.category(*self.foreign[term])
        categories = data.get("_categories")
        if categories is None:
            categories = [{"scheme": "categories", "code": "", "name": name}
                          for name in data.get("be_categories") or [] if isinstance(name, str)]
        for c in categories:
            codes += self.category(c.get("scheme") or "categories", c.get("code") or "",
                                   c.get("name") or "")
        ids += [self.need_ids[code] for code in codes if code in self.need_ids]
        return list(dict.fromkeys(ids))

    def category(self, scheme: str, code: str, name: str) -> list[str]:
        """The need codes of one source category, counted once more as seen."""
        key = (scheme, code, name)
        self.seen[key] = self.seen.get(key, 0) + 1
        return self.categories.needs(code=code, name=name) or []

    def service(self, data: dict, locations: list[str], contacts: list[str]) -> Service:
        at = data["_at"]
        sid, source_id = self.id("service", data.get("id"), at)
        org_id = self.id("organization", data.get("organization_id"), at)[0]
        access = data.get("be_access")
        if access is None:
            documents = [d.get("document") for d in data.get("required_documents") or []
                         if d.get("document")]
            free_text = (data.get("fees_description") or "").strip()
            attending = str(data.get("_attending") or "").lower()
            access = {"documents": documents,
                      "walk_in": "walk" in (data.get("application_process") or "").lower()
                      or "drop" in attending,
                      "appointment": "appointment" in (data.get("application_process") or
                                                        "").lower(),
                      "cost_free": not free_text or free_text.lower().rstrip(".") in (
                          "free", "none", "gratuit", "no fee", "no fees"),
                      "cost_description": free_text or None,
                      "eligibility": data.get("eligibility_description")}
        schedules = self.schedules(data.get("schedules") or [], sid, locations, at)
        keywords = list(dict.fromkeys((data.get("be_keywords") or [])
                                      + (data.get("be_categories") or [])))
        return self.convert(Service, {
            "id": sid, "organization_id": org_id, "name": data.get("name") or "",
            "alternate_name": data.get("alternate_name"),
            "description": data.get("description") or "", "url": _url(data.get("url")),
            "email": _email(data.get("email")), "phones": self.phones(data.get("phones"), sid),
            "needs": self.needs(data), "keywords": keywords, "location_ids": locations,
            "contact_ids": contacts,
            "languages": [x.get("code") for x in data.get("languages") or [] if x.get("code")]
            or ["fr"],
            "interpretation": data.get("interpretation_services"), "access": access,
            "digital": data.get("be_digital") or {}, "schedules": schedules,
            "closures": data.get("be_closures") or [],
            "open_on_public_holidays": bool(data.get("be_open_on_public_holidays")),
            "translations": data.get("be_translations") or {},
            "areas": [{"kind": a["be_kind"], "name": a["be_code"]}
                      for a in data.get("service_areas") or []
                      if a.get("be_kind") and a.get("be_code")],
            "acts_as": data.get("be_acts_as") or [],
            "status": data.get("status") if data.get("status") in ("active", "inactive")
            else "inactive", "assured_date": (data.get("assured_date") or "")[:10] or None,
            "assured_by": data.get("be_assured_by"),
            "update_months": data.get("be_update_months"),
            "source_id": data.get("be_source_id") or source_id,
        }, at)

    def schedules(self, items: list[dict], sid: str, locations: list[str],
                  at: tuple) -> list[dict]:
        """A service's weekly rows, checked; one closing after midnight becomes two."""
        schedules = []
        for s in items:
            s_at = s.get("_at") or at
            if (s.get("freq") or "WEEKLY").upper() != "WEEKLY" or not s.get("byday") \
                    or not s.get("opens_at") or not s.get("closes_at"):
                self.skipped.append(Skipped("schedule", str(s.get("id")),
                                            "not a weekly opening with times"))
                continue
            location = s.get("location_id")
            location = self.id("location", location, s_at)[0] if location else None
            try:
                schedule_id = str(uuid.UUID(str(s.get("id"))))
            except ValueError:  # an Ohana row may serve several services: one id each
                schedule_id = str(uuid.uuid5(uuid.UUID(sid), f"schedule:{s.get('id')}"))
            row = {
                "id": schedule_id,
                "byday": s["byday"], "opens_at": str(s["opens_at"])[:5],
                "closes_at": str(s["closes_at"])[:5],
                "attending_type": s.get("attending_type") if s.get("attending_type") in (
                    "walk_in", "appointment", "phone", "online") else "walk_in",
                "location_id": location if location in locations else None,
                "valid_from": s.get("valid_from"), "valid_to": s.get("valid_to"),
                "note": s.get("notes")}
            for part in _overnight(row):
                try:
                    hours.validate_schedule(self.convert(Schedule, part, s_at))
                except ValueError as exc:
                    raise ImportFailed(s_at[0], s_at[1], "opens_at", str(exc)) from None
                schedules.append(part)
        return schedules


# --- writing --------------------------------------------------------------------------------


def save_bundle(db: Database, bundle: Bundle, *, source: str, fmt: str,
                actor: str = "import", name: str | None = None,
                categories: CategoryMap | None = None,
                guard: Callable[[str, Any], bool] | None = None) -> Report:
    """Save every record of ``bundle`` in one transaction and report what was created, updated
    and skipped; the first malformed value raises ``ImportFailed`` and changes nothing.

    A bundle with nothing to import (a taxonomy file, ``[]``, a feed whose every record is
    skipped) is refused too: "imported nothing" reported as a success hides a wrong file.
    ``name`` (the file or folder) is what such a refusal names; ``source`` by default.

    ``guard(entity, record)`` (``orientation sync``) is asked before each save and may refuse
    it: a local record, a local edit that wins. A guarded run that changes nothing is no
    error: nothing changed at the source either."""
    name = name or source
    if not (bundle.organizations or bundle.services or bundle.pathways):
        raise _nothing(name, bundle.skipped)
    writer = _Writer(db, _Mapper(db, source, ours=bundle.ours, categories=categories), actor)
    writer.guard = guard
    writer.mapper.skipped += bundle.skipped
    duplicates = list(bundle.duplicates)
    organizations = keep_richest("organization", bundle.organizations, duplicates)
    services = keep_richest("service", bundle.services, duplicates)
    # Services nest their organisation, locations and contacts: collect each record once.
    orgs: dict[str, dict] = {}
    for org in organizations:
        orgs.setdefault(str(org.get("id")), org)
    for svc in services:
        nested = svc.get("organization")
        if isinstance(nested, dict) and nested.get("id"):
            nested.setdefault("_at", svc["_at"])
            orgs.setdefault(str(nested["id"]), nested)
            svc.setdefault("organization_id", nested["id"])

    with store.transaction(db):
        writer.terms(bundle.terms)
        for data in orgs.values():
            _guarded(data["_at"], writer.organization, data)
        for svc in services:
            _guarded(svc["_at"], writer.service, svc, orgs)
        for contact, at in writer.deferred:
            writer.save("contact", contact, at)
        for data in bundle.pathways:
            at = data["_at"]
            payload = {k: v for k, v in data.items() if k != "_at"}
            writer.save("pathway", writer.mapper.convert(Pathway, payload, at), at)
        if not (writer.created or writer.updated) and guard is None:  # rolls the terms back
            raise _nothing(name, writer.mapper.skipped)
        if writer.mapper.seen or not bundle.ours:
            store.record_source_categories(
                db, source, [(*key, n) for key, n in writer.mapper.seen.items()])
    return Report(source=source, format=fmt, created=writer.created, updated=writer.updated,
                  skipped=list(dict.fromkeys(writer.mapper.skipped)), duplicates=duplicates)


def _nothing(name: str, skipped: list[Skipped]) -> InvalidData:
    if not skipped:
        return InvalidData(f"no organisations or services found in {name}: "
                           "is it an HSDS/ORUK export?")
    reasons = sorted({f"{s.entity}: {s.reason}" for s in skipped})
    return InvalidData(f"nothing to import from {name}: every record was skipped "
                       f"({'; '.join(reasons)})")


def _guarded(at: tuple, write: Any, *args: Any) -> None:
    """``write(*args)``, with a value of the wrong kind anywhere in the record (a number where
    a list of objects belongs, a list where text belongs) reported as an error naming the
    record's file and row. Why one net rather than a check at each of the mapper's hundred
    look-ups: JSON from others can take any shape at any depth, and the editor needs to know
    which record to open, not which line of our code tripped."""
    try:
        write(*args)
    except (AttributeError, TypeError, KeyError, IndexError, ValueError) as exc:
        raise ImportFailed(at[0], at[1], None, "a value of the wrong kind (expected text, a "
                           f"list or an object): {type(exc).__name__}: {exc}"[:300]) from None


class _Writer:
    """Saves mapped records through ``store`` and counts them, each record once."""

    def __init__(self, db: Database, mapper: _Mapper, actor: str) -> None:
        self.db, self.mapper, self.actor = db, mapper, actor
        self.created: dict[str, int] = {}
        self.updated: dict[str, int] = {}
        self.counted: set[tuple[str, str]] = set()
        #: contacts with absences are saved again at the end, once their substitutes exist
        self.deferred: list[tuple[Contact, tuple]] = []
        self.saved_contacts: set[str] = set()
        self.guard: Callable[[str, Any], bool] | None = None

    def save(self, entity: str, record: Any, at: tuple) -> None:
        if self.guard is not None and not self.guard(entity, record):
            return
        existed = store.exists(self.db, entity, record.id)
        try:
            store.save(self.db, record, actor=self.actor)
        except InvalidData as exc:
            raise ImportFailed(at[0], at[1], exc.field, str(exc)) from None
        if (entity, record.id) not in self.counted:  # a contact saved again with its absences
            self.counted.add((entity, record.id))
            counter = self.updated if existed else self.created
            counter[entity] = counter.get(entity, 0) + 1

    def terms(self, terms: list[dict]) -> None:
        """Our own terms are saved; terms of other taxonomies are mapped onto our needs by
        their names."""
        mapper = self.mapper
        ours = [t for t in terms if t.get("be_labels") or t.get("taxonomy") == "orientation-needs"]
        for term in sorted(ours, key=lambda t: t.get("parent_id") is not None):
            at = term["_at"]
            labels = term.get("be_labels") or {"fr": term.get("name") or term.get("code")}
            self.save("taxonomy_term", mapper.convert(TaxonomyTerm, {
                "id": term.get("id"), "code": term.get("code"),
                "parent_id": term.get("parent_id"), "labels": labels,
                "descriptions": term.get("be_descriptions") or {},
                "pictogram": term.get("be_pictogram"), "position": term.get("be_position", 0),
            }, at), at)
        mapper.need_ids = {t.code: t.id for t in store.list_terms(self.db)}
        for term in terms:
            if term in ours:
                continue
            mapper.foreign[str(term.get("id"))] = (
                str(term.get("taxonomy") or term.get("taxonomy_id") or "categories"),
                str(term.get("code") or ""), str(term.get("name") or ""))

    def contact(self, person: dict, org_id: str) -> None:
        contact = self.mapper.contact(person, org_id)
        if contact.absences:
            self.deferred.append((contact, person["_at"]))
            contact = msgspec.structs.replace(contact, absences=[])
        self.save("contact", contact, person["_at"])
        self.saved_contacts.add(contact.id)

    def organization(self, data: dict) -> None:
        org = self.mapper.organization(data)
        self.save("organization", org, data["_at"])
        for loc in data.get("locations") or []:
            loc.setdefault("_at", data["_at"])
            self.save("location", self.mapper.location(loc, org.id), loc["_at"])
        for person in data.get("contacts") or []:
            person.setdefault("_at", data["_at"])
            self.contact(person, org.id)

    def service(self, svc: dict, orgs: dict[str, dict]) -> None:
        mapper, at = self.mapper, svc["_at"]
        org_key = str(svc.get("organization_id"))
        if org_key not in orgs:
            mapper.skipped.append(Skipped("service", str(svc.get("id")), "unknown organisation"))
            return
        org_id = mapper.id("organization", org_key, at)[0]
        location_ids = [self.service_location(link, org_id, at)
                        for link in svc.get("service_at_locations") or []]
        contact_ids = [self.service_contact(person, org_id, at)
                       for person in svc.get("contacts") or []]
        service = mapper.service(svc, list(dict.fromkeys(location_ids)),
                                 list(dict.fromkeys(contact_ids)))
        self.save("service", service, at)

    def service_location(self, link: dict, org_id: str, at: tuple) -> str:
        """The id of a location a service is given at, saved first if it is new."""
        loc = link.get("location") or {"id": link.get("location_id")}
        loc.setdefault("_at", at)
        lid = self.mapper.id("location", loc.get("id") or link.get("location_id"), at)[0]
        if not store.exists(self.db, "location", lid):
            if loc.get("name") is None:
                raise ImportFailed(at[0], at[1], "service_at_locations",
                                   f"location {loc.get('id')!r} is not in the file")
            self.save("location", self.mapper.location(loc, org_id), loc["_at"])
        return lid

    def service_contact(self, person: dict, org_id: str, at: tuple) -> str:
        """The id of a contact a service names, saved first if the file describes it."""
        person.setdefault("_at", at)
        cid = self.mapper.id("contact", person.get("id"), at)[0]
        full = person.get("name") or person.get("be_given_name") is not None
        if cid not in self.saved_contacts and (full or not store.exists(self.db, "contact", cid)):
            if not full:
                raise ImportFailed(at[0], at[1], "contacts",
                                   f"contact {person.get('id')!r} is not in the file")
            owner = person.get("organization_id")
            owner_id = self.mapper.id("organization", owner, at)[0] if owner else org_id
            self.contact(person, owner_id)
        return cid

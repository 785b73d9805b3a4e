"""Import directories published by others: HSDS 3.x JSON or ndjson (our own export too), HSDS
1.x / Ohana CSV packages, and Open Referral UK JSON list feeds.

Every format is first read into the same intermediate shape — HSDS 3 objects as dicts: fully
nested organizations and services, taxonomy terms, and our ``be_pathways`` — each dict tagged
with where it came from (file and row). One mapping then turns those into ``models`` records,
which are saved through ``store`` in one transaction: the first malformed value stops the
import with an error naming file, row and field, and the database is left as it was.

Ids: an id that is a UUID is kept (HSDS 3 ids are UUIDs); any other id becomes a stable UUID
derived from the source name and the original id, which is also kept in ``source_id``, so
importing the same source again updates records instead of duplicating them. A record that
cannot stand in our model (a service with no organisation) is skipped, with the reason, and
counted in the report.

Our model is Belgian and the datasets are not: imported records often lack contact persons and
opening hours, addresses are outside Belgium (region "autre"), and source categories are
mapped onto our needs only where their words clearly say so (``NEED_WORDS``); the original
category names are kept as keywords. Pathways only come from our own exports.
"""

from __future__ import annotations

import csv
import datetime as dt
import html
import json
import re
import uuid
from pathlib import Path
from typing import Any

import msgspec
from sqlite_utils import Database

from . import hours, store
from .errors import InvalidData
from .fields import clean_data, is_email, web_url
from .models import (
    Contact, Location, Organization, Pathway, Phone, Schedule, Service, TaxonomyTerm,
)

IMPORT_NAMESPACE = uuid.UUID("0d6c1f7e-6a43-4a36-9f43-2f7b7d3c9e51")
FORMATS = ("hsds-json", "hsds-ndjson", "hsds-csv", "oruk-json")
WEEKDAYS = {"monday": "MO", "tuesday": "TU", "wednesday": "WE", "thursday": "TH",
            "friday": "FR", "saturday": "SA", "sunday": "SU",
            "1": "MO", "2": "TU", "3": "WE", "4": "TH", "5": "FR", "6": "SA", "7": "SU"}
PHONE_TYPES = {"voice": "voice", "hotline": "voice", "cell": "voice", "mobile": "voice",
               "sms": "sms", "text": "sms", "tty": "textphone", "textphone": "textphone",
               "fax": "fax"}
LANGUAGE_CODES = {"english": "en", "spanish": "es", "french": "fr", "dutch": "nl",
                  "arabic": "ar", "german": "de", "chinese": "zh", "tagalog": "tl",
                  "vietnamese": "vi", "russian": "ru", "portuguese": "pt", "korean": "ko",
                  "polish": "pl", "italian": "it", "turkish": "tr"}
#: Words in a source category name -> our need code (first match wins, most specific first).
NEED_WORDS: tuple[tuple[str, str], ...] = (
    ("mental health", "sante-mentale"), ("domestic violence", "violences"),
    ("abuse", "violences"), ("homeless", "sans-abri"), ("shelter", "sans-abri"),
    ("utilit", "factures-energie"), ("energy", "factures-energie"), ("evict", "expulsion"),
    ("debt", "dettes"), ("tax", "impots"), ("immigra", "sejour"), ("food", "aide-alimentaire"),
    ("meal", "aide-alimentaire"), ("housing", "logement"), ("rent", "loyer"),
    ("legal", "aide-juridique"), ("disab", "handicap"), ("interpret", "interpretation"),
    ("translation", "interpretation"), ("literacy", "lire-ecrire"),
    ("computer", "ordinateur"), ("internet", "numerique"), ("job", "recherche-emploi"),
    ("employment", "emploi"), ("work", "emploi"), ("training", "formation"),
    ("education", "formation"), ("child", "enfants"), ("famil", "famille"),
    ("parent", "famille"), ("health", "sante"), ("medical", "soins"),
    ("insurance", "mutuelle"), ("money", "argent"), ("cash", "argent"),
    ("financial", "argent"), ("emergency", "urgence"), ("crisis", "urgence"),
)


class ImportFailed(InvalidData):
    """A malformed input: names the file, the row (1 = header line of a CSV) and the field."""

    def __init__(self, file: str, row: int | None, field: str | None, message: str):
        self.file, self.row = file, row
        where = file + (f", row {row}" if row is not None else "") + \
            (f", field {field!r}" if field else "")
        super().__init__(f"{where}: {message}", field=field)


class Skipped(msgspec.Struct, frozen=True):
    entity: str
    source_id: str
    reason: str


class Report(msgspec.Struct, kw_only=True):
    source: str
    format: str
    created: dict[str, int]
    updated: dict[str, int]
    skipped: list[Skipped]

    def lines(self) -> list[str]:
        out = [f"{self.format} from {self.source}:"]
        for entity in self.created.keys() | self.updated.keys():
            out.append(f"  {entity}: {self.created.get(entity, 0)} new, "
                       f"{self.updated.get(entity, 0)} updated")
        reasons: dict[tuple[str, str], int] = {}
        for s in self.skipped:
            reasons[(s.entity, s.reason)] = reasons.get((s.entity, s.reason), 0) + 1
        for (entity, reason), n in sorted(reasons.items()):
            out.append(f"  skipped {n} {entity}(s): {reason}")
        return out


class Bundle(msgspec.Struct, kw_only=True):
    """HSDS 3 shaped dicts, each with ``_at`` = (file, row) for error messages."""

    terms: list[dict] = []
    organizations: list[dict] = []
    services: list[dict] = []
    pathways: list[dict] = []
    skipped: list[Skipped] = []
    #: written by Orientation (our export): source ids travel in be_source_id
    ours: bool = False


# --- detection ------------------------------------------------------------------------------


def detect(path: Path) -> str:
    path = Path(path)
    if path.is_dir():
        if (path / "services.csv").exists() or (path / "organizations.csv").exists():
            return "hsds-csv"
        raise InvalidData(f"{path}: no services.csv or organizations.csv in this folder")
    if not path.exists():
        raise InvalidData(f"{path}: no such file")
    if path.suffix == ".csv":
        return detect(path.parent)
    with path.open(encoding="utf-8-sig") as f:
        head = f.read(4096).lstrip()
    if path.suffix in (".ndjson", ".jsonl"):
        return "hsds-ndjson"
    if head.startswith("["):
        try:
            data = _json(path)
        except ImportFailed:
            raise
        first = data[0] if data else {}
        if isinstance(first, dict) and ("pc_metadata" in first or "deliverable_type" in first
                                         or "attending_access" in first):
            return "oruk-json"
        return "hsds-json"
    if head.startswith("{"):
        first_line = head.split("\n", 1)[0]
        try:
            json.loads(first_line)
            return "hsds-ndjson" if "\n{" in head else "hsds-json"
        except ValueError:
            return "hsds-json"
    raise InvalidData(f"{path.name}: not JSON, ndjson or a CSV package")


def _json(path: Path) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8-sig"))
    except ValueError as exc:
        raise ImportFailed(path.name, getattr(exc, "lineno", None), None,
                           f"not valid JSON: {exc}") from None


# --- readers --------------------------------------------------------------------------------


def _tag(obj: Any, file: str, row: int | None) -> dict:
    if not isinstance(obj, dict):
        raise ImportFailed(file, row, None, "expected a JSON object")
    obj.setdefault("_at", (file, row))
    return obj


def _read_hsds_json(path: Path) -> Bundle:
    data = _json(path)
    bundle = Bundle()
    if isinstance(data, dict) and "contents" in data:  # an HSDS page
        data = data["contents"]
    if isinstance(data, list):
        bundle.services = [_tag(s, path.name, i + 1) for i, s in enumerate(data)]
        return bundle
    if not isinstance(data, dict):
        raise ImportFailed(path.name, None, None, "expected an object or a list")
    if "services" not in data and "organizations" not in data:
        bundle.services = [_tag(data, path.name, None)]  # one service
        return bundle
    for key in ("taxonomy_terms", "organizations", "services", "be_pathways"):
        value = data.get(key, [])
        if not isinstance(value, list):
            raise ImportFailed(path.name, None, key, "expected a list")
    bundle.terms = [_tag(t, path.name, i + 1) for i, t in enumerate(data.get("taxonomy_terms", []))]
    bundle.organizations = [_tag(o, path.name, i + 1)
                            for i, o in enumerate(data.get("organizations", []))]
    bundle.services = [_tag(s, path.name, i + 1) for i, s in enumerate(data.get("services", []))]
    bundle.pathways = [_tag(p, path.name, i + 1) for i, p in enumerate(data.get("be_pathways", []))]
    bundle.ours = "be_pathways" in data
    return bundle


def _read_ndjson(path: Path) -> Bundle:
    bundle = Bundle()
    with path.open(encoding="utf-8-sig") as f:
        for n, line in enumerate(f, start=1):
            if not line.strip():
                continue
            try:
                obj = json.loads(line)
            except ValueError as exc:
                raise ImportFailed(path.name, n, None, f"not valid JSON: {exc}") from None
            kind = obj.pop("be_type", "service") if isinstance(obj, dict) else "service"
            bundle.ours = bundle.ours or kind != "service"
            target = {"taxonomy_term": bundle.terms, "organization": bundle.organizations,
                      "pathway": bundle.pathways}.get(kind, bundle.services)
            target.append(_tag(obj, path.name, n))
    return bundle


def _read_oruk(path: Path) -> Bundle:
    """Open Referral UK list items: services with their organisation, nothing nested."""
    bundle = Bundle()
    orgs: dict[str, dict] = {}
    items = _json(path)
    if not isinstance(items, list):
        raise ImportFailed(path.name, None, None, "expected a list of services")
    for n, item in enumerate(items, start=1):
        _tag(item, path.name, n)
        name = (item.get("name") or "").strip()
        org = item.get("organization")
        if not name:
            bundle.skipped.append(Skipped("service", str(item.get("id")), "no name"))
            continue
        if not isinstance(org, dict) or not org.get("id"):
            bundle.skipped.append(Skipped("service", str(item.get("id")), "no organisation"))
            continue
        if org["id"] not in orgs:
            orgs[org["id"]] = {"id": org["id"], "name": org.get("name") or name,
                               "description": _text(org.get("description")),
                               "website": org.get("url") or None, "_at": (path.name, n)}
        meta = item.get("pc_metadata") or {}
        bundle.services.append({
            "id": item.get("id"), "organization_id": org["id"], "name": name,
            "description": _text(item.get("description")), "url": item.get("url") or None,
            "email": item.get("email") or None, "status": item.get("status") or "active",
            "fees_description": item.get("fees") or None,
            "assured_date": item.get("assured_date") or meta.get("date_assured"),
            "_attending": item.get("attending_type"), "_at": (path.name, n)})
    bundle.organizations = list(orgs.values())
    return bundle


def _rows(folder: Path, *names: str) -> list[tuple[int, dict[str, str]]]:
    """Rows of the first CSV that exists among ``names``, with spreadsheet row numbers."""
    for name in names:
        path = folder / name
        if path.exists():
            with path.open(encoding="utf-8-sig", newline="") as f:
                try:
                    return [(n, {k.strip().lower(): (v or "").strip()
                                 for k, v in row.items() if k})
                            for n, row in enumerate(csv.DictReader(f), start=2)]
                except csv.Error as exc:
                    raise ImportFailed(name, None, None, f"not valid CSV: {exc}") from None
    return []


def _by(rows: list[tuple[int, dict]], key: str) -> dict[str, list[tuple[int, dict]]]:
    out: dict[str, list[tuple[int, dict]]] = {}
    for n, row in rows:
        if row.get(key):
            out.setdefault(row[key], []).append((n, row))
    return out


def _split(value: str) -> list[str]:
    return [x.strip() for x in re.split(r"[,;]", value or "") if x.strip()]


def _read_tabular(folder: Path) -> Bundle:
    """HSDS 3.x, HSDS 1.x and Ohana CSV packages (their column names differ a little)."""
    bundle = Bundle()
    orgs = _rows(folder, "organizations.csv")
    locations = _rows(folder, "locations.csv")
    services = _rows(folder, "services.csv")
    addresses = _by(_rows(folder, "addresses.csv", "physical_addresses.csv"), "location_id")
    phones = _rows(folder, "phones.csv")
    contacts = _rows(folder, "contacts.csv")
    links = _rows(folder, "service_at_locations.csv", "service_at_location.csv",
                  "services_at_location.csv")
    schedules = _rows(folder, "schedules.csv", "regular_schedules.csv")
    holidays = _rows(folder, "holiday_schedules.csv")
    languages = _rows(folder, "languages.csv")
    documents = _by(_rows(folder, "required_documents.csv"), "service_id")
    eligibility = _by(_rows(folder, "eligibility.csv"), "service_id")
    accessibility = _by(_rows(folder, "accessibility.csv", "accessibility_for_disabilities.csv"),
                        "location_id")
    terms = _rows(folder, "taxonomy_terms.csv", "taxonomy.csv")
    attributes = _rows(folder, "attributes.csv")
    service_terms = _by(_rows(folder, "services_taxonomy.csv", "service_taxonomy.csv"),
                        "service_id")
    categories = {}
    if (folder / "service_categories.json").exists():  # Ohana (Baltimore): id -> term rows
        categories = _json(folder / "service_categories.json")

    for n, row in terms:
        term = {"id": row.get("id") or row.get("taxonomy_id"), "code": row.get("code")
                or row.get("taxonomy_id") or row.get("id"), "name": row.get("name", ""),
                "description": row.get("description", ""),
                "parent_id": row.get("parent_id") or None,
                "taxonomy_id": row.get("taxonomy_id") if row.get("code") else None,
                "taxonomy": row.get("taxonomy") or row.get("vocabulary"),
                "_at": (name_of(folder, "taxonomy_terms.csv", "taxonomy.csv"), n)}
        for key in ("be_labels", "be_descriptions"):
            if row.get(key):
                term[key] = _cell_json(row, key, term["_at"])
        term["be_pictogram"] = row.get("be_pictogram") or None
        term["be_position"] = int(row["be_position"]) if row.get("be_position") else 0
        bundle.terms.append(term)
    term_names = {t["id"]: t["name"] for t in bundle.terms}
    row_terms = {row.get("id"): row.get("name") for _, row in terms}

    phones_by: dict[str, dict[str, list]] = {k: {} for k in
                                             ("organization", "location", "service", "contact")}
    for n, row in phones:
        at = (name_of(folder, "phones.csv"), n)
        phone = {"id": row.get("id") or f"phone-{n}", "number": row.get("number", ""),
                 "type": row.get("type") or row.get("number_type") or "voice",
                 "description": row.get("description") or row.get("department") or None,
                 "extension": row.get("extension") or None, "_at": at}
        for key in ("be_visibility", "be_voicemail", "be_free"):
            if row.get(key):
                phone[key] = row[key] if key == "be_visibility" else row[key].lower() == "true"
        if row.get("be_languages"):
            phone["languages"] = [{"code": x} for x in _cell_json(row, "be_languages", at)]
        elif row.get("language"):
            phone["languages"] = [{"code": c} for c in map(_language, _split(row["language"]))
                                  if c]
        if not phone["number"]:
            bundle.skipped.append(Skipped("phone", phone["id"], "no number"))
            continue
        owner = next(((k, row[f"{k}_id"]) for k in ("contact", "service", "location",
                                                    "organization") if row.get(f"{k}_id")),
                     None)
        if owner is None:
            bundle.skipped.append(Skipped("phone", phone["id"], "belongs to nothing"))
            continue
        phones_by[owner[0]].setdefault(owner[1], []).append(phone)

    locs: dict[str, dict] = {}
    for n, row in locations:
        at = (name_of(folder, "locations.csv"), n)
        loc = {"id": row["id"], "organization_id": row.get("organization_id"),
               "name": row.get("name") or "", "description": row.get("description") or None,
               "transportation": row.get("transportation") or None,
               "latitude": _number(row, "latitude", at), "longitude": _number(row, "longitude", at),
               "phones": phones_by["location"].get(row["id"], []), "_at": at}
        loc["be_confidential"] = row.get("be_confidential", "").lower() == "true"
        if row.get("be_source_id"):
            loc["be_source_id"] = row["be_source_id"]
        if row.get("be_city"):
            loc["be_city"] = row["be_city"]
        if row.get("be_region"):
            loc["be_region"] = row["be_region"]
        if row.get("be_accessibility"):
            loc["be_accessibility"] = _cell_json(row, "be_accessibility", at)
        for an, a in addresses.get(row["id"], [])[:1]:
            loc["addresses"] = [{"address_1": " ".join(x for x in (a.get("address_1"),
                                                               a.get("address_2")) if x),
                                 "city": a.get("city", ""), "postal_code": a.get("postal_code", ""),
                                 "country": a.get("country", ""),
                                 "state_province": a.get("state_province", "")}]
        acc = [a.get("accessibility") or a.get("description") for _, a in
               accessibility.get(row["id"], [])]
        acc += _split(row.get("accessibility", ""))
        if acc:
            loc["accessibility"] = [{"description": ", ".join(x for x in acc if x)}]
        locs[row["id"]] = loc

    people: dict[str, dict] = {}
    people_by: dict[str, dict[str, list]] = {k: {} for k in ("organization", "location",
                                                             "service")}
    for n, row in contacts:
        at = (name_of(folder, "contacts.csv"), n)
        person = {"id": row.get("id") or f"contact-{n}", "name": row.get("name", ""),
                  "title": row.get("title") or None, "email": row.get("email") or None,
                  "organization_id": row.get("organization_id") or None,
                  "phones": phones_by["contact"].get(row.get("id", ""), []), "_at": at}
        if not row.get("name") and row.get("service_id") and person["id"] in people:
            # our export: a row that only says which contacts a service names, in order
            people_by["service"].setdefault(row["service_id"], []).append(people[person["id"]])
            continue
        for key in ("be_languages", "be_availability", "be_absences"):
            if row.get(key):
                person[key] = _cell_json(row, key, at)
        for key in ("be_role", "be_given_name", "be_family_name", "be_civility", "be_status",
                    "be_assured_date", "be_assured_by", "be_source_id"):
            if row.get(key):
                person[key] = row[key]
        people[person["id"]] = person
        owner = next(((k, row[f"{k}_id"]) for k in ("service", "location", "organization")
                      if row.get(f"{k}_id")), None)
        if owner:
            people_by[owner[0]].setdefault(owner[1], []).append(person)

    # Rows for a location alone (Ohana) apply to every service given there.
    by_service_sched = _by(schedules, "service_id")
    by_location_sched = _by([r for r in schedules if not r[1].get("service_id")],
                            "location_id")
    closures = _by(holidays, "service_id")
    location_closures = _by([r for r in holidays if not r[1].get("service_id")],
                            "location_id")
    service_langs = _by(languages, "service_id")
    sal_by_service = _by(links, "service_id")
    attrs_by = _by(attributes, "link_id")

    def sched(rows, at_file) -> list[dict]:
        out = []
        for n, r in rows:
            at = (at_file, n)
            byday = r.get("byday") or WEEKDAYS.get(r.get("weekday", "").strip().lower())
            if not byday or not r.get("opens_at") or not r.get("closes_at"):
                bundle.skipped.append(Skipped("schedule", r.get("id") or str(n),
                                              "not a weekly day with opening and closing time"))
                continue
            out.append({"id": r.get("id") or f"schedule-{n}", "byday": byday,
                        "opens_at": _time(r["opens_at"]), "closes_at": _time(r["closes_at"]),
                        "freq": r.get("freq") or "WEEKLY",
                        "attending_type": r.get("attending_type") or None,
                        "location_id": r.get("location_id") or None,
                        "valid_from": r.get("valid_from") or None,
                        "valid_to": r.get("valid_to") or None,
                        "notes": r.get("notes") or None, "_at": at})
        return out

    def holiday(rows, at_file) -> list[dict]:
        out = []
        for n, r in rows:
            start, end = _date(r.get("start_date")), _date(r.get("end_date"))
            if r.get("closed", "").lower() != "true" or not start or not end or end < start:
                bundle.skipped.append(Skipped("holiday_schedule", r.get("id") or str(n),
                                              "not a closure with real dates"))
                continue
            out.append({"date_from": start.isoformat(), "date_to": end.isoformat()})
        return out

    org_rows = {row["id"]: (n, row) for n, row in orgs}
    services_out = []
    sched_file = name_of(folder, "schedules.csv", "regular_schedules.csv")
    for n, row in services:
        at = (name_of(folder, "services.csv"), n)
        sid = row.get("id")
        location_ids = [r["location_id"] for _, r in sal_by_service.get(sid, [])]
        if row.get("location_id"):  # Ohana: a service belongs to one location
            location_ids.insert(0, row["location_id"])
        location_ids = [x for x in dict.fromkeys(location_ids) if x in locs]
        org_id = row.get("organization_id") or next(
            (locs[x]["organization_id"] for x in location_ids), None)
        if not org_id or org_id not in org_rows:
            bundle.skipped.append(Skipped("service", sid or str(n),
                                          "no organisation (no location either)"))
            continue
        category_names = [row_terms.get(str(x)) for x in categories.get(sid, [])]
        category_names += [term_names.get(t) or t for t in _split(row.get("taxonomy_ids", ""))]
        category_names += [term_names.get(r.get("taxonomy_id"), "") for _, r in
                           service_terms.get(sid, [])]
        term_ids = [r.get("taxonomy_term_id") for _, r in attrs_by.get(sid, [])
                    if r.get("taxonomy_term_id")]
        svc = {
            "id": sid, "organization_id": org_id, "name": row.get("name") or "",
            "alternate_name": row.get("alternate_name") or None,
            "description": row.get("description") or "",
            "url": row.get("url") or row.get("website") or None,
            "email": row.get("email") or None, "status": row.get("status") or "active",
            "interpretation_services": row.get("interpretation_services") or None,
            "application_process": row.get("application_process") or None,
            "fees_description": row.get("fees_description") or row.get("fees") or None,
            "eligibility_description": " ".join(
                [row.get("eligibility_description") or row.get("eligibility") or ""]
                + [r.get("eligibility", "") for _, r in eligibility.get(sid, [])]).strip()
            or None,
            "assured_date": row.get("assured_date") or None,
            "phones": phones_by["service"].get(sid, []),
            "schedules": sched(by_service_sched.get(sid, []), sched_file)
            + [s for loc in location_ids for s in sched(by_location_sched.get(loc, []),
                                                        sched_file)],
            "be_closures": holiday(closures.get(sid, []), "holiday_schedules.csv")
            + [c for loc in location_ids for c in holiday(location_closures.get(loc, []),
                                                          "holiday_schedules.csv")],
            "service_at_locations": [{"location_id": x, "location": locs[x]}
                                     for x in location_ids],
            "contacts": people_by["service"].get(sid, []) + [
                p for x in location_ids for p in people_by["location"].get(x, [])],
            "languages": [{"code": c} for c in dict.fromkeys(
                [_language(r.get("language") or r.get("code") or "")
                 for _, r in service_langs.get(sid, [])]
                + [_language(x) for x in _split(row.get("languages", ""))]) if c],
            "required_documents": [{"document": r.get("document")} for _, r in
                                   documents.get(sid, []) if r.get("document")]
            + [{"document": x} for x in _split(row.get("required_documents", ""))],
            "attributes": [{"taxonomy_term_id": t} for t in term_ids],
            "be_categories": [x for x in category_names if x],
            "be_keywords": _split(row.get("keywords", "")),
            "_at": at,
        }
        for key in ("be_access", "be_digital", "be_translations", "be_keywords"):
            if row.get(key):
                svc[key] = _cell_json(row, key, at)
        if row.get("be_open_on_public_holidays"):
            svc["be_open_on_public_holidays"] = row["be_open_on_public_holidays"].lower() == "true"
        if row.get("be_closures"):
            svc["be_closures"] = _cell_json(row, "be_closures", at)
        for key in ("be_source_id", "be_assured_by"):
            if row.get(key):
                svc[key] = row[key]
        services_out.append(svc)

    for oid, (n, row) in org_rows.items():
        org = {"id": oid, "name": row.get("name") or "", "description":
               row.get("description") or "", "alternate_name": row.get("alternate_name") or None,
               "email": row.get("email") or None,
               "website": row.get("website") or row.get("url") or None,
               "be_kind": row.get("be_kind") or None, "be_status": row.get("be_status") or None,
               "be_source_id": row.get("be_source_id") or None,
               "phones": phones_by["organization"].get(oid, []),
               "locations": [loc for loc in locs.values() if loc["organization_id"] == oid],
               "contacts": [p for p in people.values() if p.get("organization_id") == oid],
               "_at": (name_of(folder, "organizations.csv"), n)}
        bundle.organizations.append(org)
    for loc in locs.values():
        if loc["organization_id"] not in org_rows:
            bundle.skipped.append(Skipped("location", loc["id"], "unknown organisation"))
    bundle.services = services_out
    if (folder / "be_pathways.json").exists():
        bundle.ours = True
        bundle.pathways = [_tag(p, "be_pathways.json", i + 1)
                           for i, p in enumerate(_json(folder / "be_pathways.json"))]
    return bundle


def name_of(folder: Path, *names: str) -> str:
    return next((n for n in names if (folder / n).exists()), names[0])


def _cell_json(row: dict, key: str, at: tuple) -> Any:
    try:
        return json.loads(row[key])
    except ValueError:
        raise ImportFailed(at[0], at[1], key, "not valid JSON") from None


def _number(row: dict, key: str, at: tuple) -> float | None:
    value = row.get(key, "")
    if not value:
        return None
    try:
        return float(value)
    except ValueError:
        raise ImportFailed(at[0], at[1], key, f"{value!r} is not a number") from None


def _date(value: str | None) -> dt.date | None:
    for fmt in ("%Y-%m-%d", "%m/%d/%Y", "%m/%d/%y", "%B %d, %Y"):
        try:
            day = dt.datetime.strptime((value or "").strip(), fmt).date()
        except ValueError:
            continue
        return day if day.year > 1900 else None
    return None


def _time(value: str) -> str:
    """"9am", "5:30 PM", "09:00:00" -> "HH:MM" (anything else is left for validation)."""
    match = re.fullmatch(r"\s*(\d{1,2})(?::(\d{2}))?(?::\d{2})?\s*([ap]\.?m\.?)?\s*",
                         value or "", re.I)
    if not match:
        return value
    hour, minute = int(match[1]), int(match[2] or 0)
    if match[3]:
        hour = hour % 12 + (12 if match[3].lower().startswith("p") else 0)
    return f"{hour:02d}:{minute:02d}"


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


def _email(value: Any) -> str | None:
    value = str(value or "").strip()
    return value if is_email(value) else None


def _language(value: str) -> str | None:
    """"Spanish." -> "es", "fr" -> "fr"; free text ("Accommodations possible.") -> None."""
    value = value.strip().rstrip(".").lower()
    if value in LANGUAGE_CODES:
        return LANGUAGE_CODES[value]
    return value if re.fullmatch(r"[a-z]{2,3}", value) else None


def _text(value: Any) -> str:
    """Plain text from the HTML some feeds carry."""
    text = re.sub(r"<br\s*/?>|</p>", "\n", str(value or ""))
    text = html.unescape(re.sub(r"<[^>]+>", "", text))
    return re.sub(r"\n{3,}", "\n\n", text).strip()


# --- mapping to our model -------------------------------------------------------------------


class _Mapper:
    def __init__(self, db: Database, source: str, *, ours: bool = False) -> None:
        self.db = db
        self.source = source
        self.ours = ours
        self.ids: dict[tuple[str, str], str] = {}
        self.need_ids = {t.code: t.id for t in store.list_terms(db)}
        #: terms of other taxonomies -> the id of our need they map to
        self.term_map: dict[str, str] = {}
        self.skipped: list[Skipped] = []

    def id(self, kind: str, original: Any, at: tuple) -> tuple[str, str | None]:
        """(our id, source_id) for an original id."""
        if original in (None, ""):
            raise ImportFailed(at[0], at[1], "id", "missing id")
        original = str(original)
        key = (kind, original)
        if key not in self.ids:
            source_id = None if self.ours else f"{self.source}:{original}"
            row = None
            if source_id and kind in ("organization", "location", "contact", "service"):
                table = store.ENTITIES[kind][0]
                row = next(self.db.query(f"select id from [{table}] where source_id = ?",
                                         [source_id]), None)
            try:
                our = row["id"] if row else str(uuid.UUID(original))
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
        }, at)

    def location(self, data: dict, org_id: str) -> Location:
        at = data.get("_at") or ("?", None)
        lid, source_id = self.id("location", data.get("id"), at)
        address = None
        if data.get("addresses"):
            a = data["addresses"][0]
            country = (a.get("country") or "").upper() or "BE"
            address = {"street": a.get("address_1") or "", "city": a.get("city") or "",
                       "postal_code": str(a.get("postal_code") or ""),
                       "region": data.get("be_region") or "autre", "country": country}
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
        }, at)

    def needs(self, data: dict) -> list[str]:
        ids = []
        for attribute in data.get("attributes") or []:
            term = attribute.get("taxonomy_term_id") or (attribute.get("taxonomy_term") or {}
                                                         ).get("id")
            if term and store.exists(self.db, "taxonomy_term", term):
                ids.append(term)
            elif term in self.term_map:
                ids.append(self.term_map[term])
        for name in data.get("be_categories") or []:
            text = name.casefold()
            code = next((c for word, c in NEED_WORDS if word in text), None)
            if code and code in self.need_ids:
                ids.append(self.need_ids[code])
        return list(dict.fromkeys(ids))

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
        schedules = []
        for s in data.get("schedules") or []:
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
            "status": data.get("status") if data.get("status") in ("active", "inactive")
            else "inactive", "assured_date": (data.get("assured_date") or "")[:10] or None,
            "assured_by": data.get("be_assured_by"),
            "source_id": data.get("be_source_id") or source_id,
        }, at)


# --- loading --------------------------------------------------------------------------------


def read(path: Path, fmt: str | None = None) -> tuple[str, Bundle]:
    path = Path(path)
    fmt = fmt or detect(path)
    if fmt not in FORMATS:
        raise InvalidData(f"unknown format {fmt!r}: use one of {', '.join(FORMATS)}")
    reader = {"hsds-json": _read_hsds_json, "hsds-ndjson": _read_ndjson,
              "hsds-csv": lambda p: _read_tabular(p if p.is_dir() else p.parent),
              "oruk-json": _read_oruk}[fmt]
    return fmt, reader(path)


def load(db: Database, path: Path, *, source: str | None = None, fmt: str | None = None,
         actor: str = "import") -> Report:
    """Import ``path`` in one transaction and report what was created, updated and skipped."""
    path = Path(path)
    fmt, bundle = read(path, fmt)
    source = source or (path.name if path.is_dir() else path.stem)
    mapper = _Mapper(db, source, ours=bundle.ours)
    mapper.skipped += bundle.skipped
    created: dict[str, int] = {}
    updated: dict[str, int] = {}

    counted: set[tuple[str, str]] = set()

    def save(entity: str, record: Any, at: tuple) -> None:
        existed = store.exists(db, entity, record.id)
        try:
            store.save(db, record, actor=actor)
        except InvalidData as exc:
            raise ImportFailed(at[0], at[1], exc.field, str(exc)) from None
        if (entity, record.id) not in counted:  # a contact saved again with its absences
            counted.add((entity, record.id))
            counter = updated if existed else created
            counter[entity] = counter.get(entity, 0) + 1

    # Services nest their organisation, locations and contacts: collect each record once.
    orgs: dict[str, dict] = {}
    for org in bundle.organizations:
        orgs.setdefault(str(org.get("id")), org)
    for svc in bundle.services:
        nested = svc.get("organization")
        if isinstance(nested, dict) and nested.get("id"):
            nested.setdefault("_at", svc["_at"])
            orgs.setdefault(str(nested["id"]), nested)
            svc.setdefault("organization_id", nested["id"])

    with store.transaction(db):
        ours = [t for t in bundle.terms
                if t.get("be_labels") or t.get("taxonomy") == "orientation-needs"]
        for term in sorted(ours, key=lambda t: t.get("parent_id") is not None):
            at = term["_at"]
            labels = term.get("be_labels") or {"fr": term.get("name") or term.get("code")}
            save("taxonomy_term", mapper.convert(TaxonomyTerm, {
                "id": term.get("id"), "code": term.get("code"),
                "parent_id": term.get("parent_id"), "labels": labels,
                "descriptions": term.get("be_descriptions") or {},
                "pictogram": term.get("be_pictogram"), "position": term.get("be_position", 0),
            }, at), at)
        # Terms of other taxonomies are mapped onto our needs by their names.
        mapper.need_ids = {t.code: t.id for t in store.list_terms(db)}
        for term in bundle.terms:
            if term in ours:
                continue
            code = next((c for w, c in NEED_WORDS if w in str(term.get("name")).casefold()),
                        None)
            if code in mapper.need_ids:
                mapper.term_map[str(term.get("id"))] = mapper.need_ids[code]

        deferred: list[tuple[Contact, tuple]] = []
        saved_contacts: set[str] = set()
        for key, data in orgs.items():
            org = mapper.organization(data)
            save("organization", org, data["_at"])
            for loc in data.get("locations") or []:
                loc.setdefault("_at", data["_at"])
                save("location", mapper.location(loc, org.id), loc["_at"])
            for person in data.get("contacts") or []:
                person.setdefault("_at", data["_at"])
                contact = mapper.contact(person, org.id)
                if contact.absences:
                    deferred.append((contact, person["_at"]))
                    contact = msgspec.structs.replace(contact, absences=[])
                save("contact", contact, person["_at"])
                saved_contacts.add(contact.id)
        for svc in bundle.services:
            at = svc["_at"]
            org_key = str(svc.get("organization_id"))
            if org_key not in orgs:
                mapper.skipped.append(Skipped("service", str(svc.get("id")),
                                              "unknown organisation"))
                continue
            org_id = mapper.id("organization", org_key, at)[0]
            location_ids = []
            for link in svc.get("service_at_locations") or []:
                loc = link.get("location") or {"id": link.get("location_id")}
                loc.setdefault("_at", at)
                lid = mapper.id("location", loc.get("id") or link.get("location_id"), at)[0]
                if not store.exists(db, "location", lid):
                    if loc.get("name") is None:
                        raise ImportFailed(at[0], at[1], "service_at_locations",
                                           f"location {loc.get('id')!r} is not in the file")
                    save("location", mapper.location(loc, org_id), loc["_at"])
                location_ids.append(lid)
            contact_ids = []
            for person in svc.get("contacts") or []:
                person.setdefault("_at", at)
                cid = mapper.id("contact", person.get("id"), at)[0]
                full = person.get("name") or person.get("be_given_name") is not None
                if cid not in saved_contacts and (full or not store.exists(db, "contact", cid)):
                    if not full:
                        raise ImportFailed(at[0], at[1], "contacts",
                                           f"contact {person.get('id')!r} is not in the file")
                    owner = person.get("organization_id")
                    owner_id = mapper.id("organization", owner, at)[0] if owner else org_id
                    contact = mapper.contact(person, owner_id)
                    if contact.absences:
                        deferred.append((contact, person["_at"]))
                        contact = msgspec.structs.replace(contact, absences=[])
                    save("contact", contact, person["_at"])
                    saved_contacts.add(cid)
                contact_ids.append(cid)
            service = mapper.service(svc, list(dict.fromkeys(location_ids)),
                                     list(dict.fromkeys(contact_ids)))
            save("service", service, at)
        for contact, at in deferred:
            save("contact", contact, at)
        for data in bundle.pathways:
            at = data["_at"]
            payload = {k: v for k, v in data.items() if k != "_at"}
            save("pathway", mapper.convert(Pathway, payload, at), at)
    return Report(source=source, format=fmt, created=created, updated=updated,
                  skipped=list(dict.fromkeys(mapper.skipped)))

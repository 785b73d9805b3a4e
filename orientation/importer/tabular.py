"""CSV packages: HSDS 3.x tabular (our own export too), HSDS 1.1 and Ohana folders. Their
column and file names differ a little; each table is read once, then assembled into nested HSDS
3 objects (organisations with locations and contacts, services with schedules, phones, …)."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import math
import re
from pathlib import Path
from typing import Any

from .bundle import WEEKDAYS, Bundle, ImportFailed, Skipped, read_json, read_text, tag

LANGUAGE_CODES = {"english": "en", "spanish": "es", "french": "fr", "dutch": "nl",
                  "arabic": "ar", "german": "de", "chinese": "zh", "tagalog": "tl",
                  "vietnamese": "vi", "russian": "ru", "portuguese": "pt", "korean": "ko",
                  "polish": "pl", "italian": "it", "turkish": "tr"}

Rows = list[tuple[int, dict[str, str]]]


def read_tabular(folder: Path) -> Bundle:
    """HSDS 3.x, HSDS 1.x and Ohana CSV packages (their column names differ a little)."""
    return _Package(folder).read()


def name_of(folder: Path, *names: str) -> str:
    """The first of ``names`` that exists in ``folder`` (the first one if none does)."""
    return next((n for n in names if (folder / n).exists()), names[0])


class _Package:
    """One CSV folder: its tables, read once, and the records assembled from them."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.bundle = Bundle()
        self.orgs = _rows(folder, "organizations.csv")
        self.locations = _rows(folder, "locations.csv")
        self.services = _rows(folder, "services.csv")
        self.addresses = _by(_rows(folder, "addresses.csv", "physical_addresses.csv"),
                             "location_id")
        self.phones = _rows(folder, "phones.csv")
        self.contacts = _rows(folder, "contacts.csv")
        self.links = _rows(folder, "service_at_locations.csv", "service_at_location.csv",
                           "services_at_location.csv")
        self.schedules = _rows(folder, "schedules.csv", "regular_schedules.csv")
        self.holidays = _rows(folder, "holiday_schedules.csv")
        self.languages = _rows(folder, "languages.csv")
        self.identifiers = _by(_rows(folder, "organization_identifiers.csv"),
                               "organization_id")
        self.documents = _by(_rows(folder, "required_documents.csv"), "service_id")
        self.eligibility = _by(_rows(folder, "eligibility.csv"), "service_id")
        self.accessibility = _by(_rows(folder, "accessibility.csv",
                                       "accessibility_for_disabilities.csv"), "location_id")
        self.terms = _rows(folder, "taxonomy_terms.csv", "taxonomy.csv")
        self.attributes = _rows(folder, "attributes.csv")
        self.service_terms = _by(_rows(folder, "services_taxonomy.csv", "service_taxonomy.csv"),
                                 "service_id")
        self.categories: dict = {}
        if (folder / "service_categories.json").exists():  # Ohana (Baltimore): id -> term rows
            self.categories = read_json(folder / "service_categories.json")
        #: iCarol exports: service id -> AIRS/211 codes (mapped to needs, never shown)
        self.airs: dict = {}
        if (folder / "service_icarol_categories.json").exists():
            self.airs = read_json(folder / "service_icarol_categories.json")

    def read(self) -> Bundle:
        bundle, folder = self.bundle, self.folder
        self.read_terms()
        self.term_names = {t["id"]: t["name"] for t in bundle.terms}
        self.row_terms = {row.get("id"): row.get("name") for _, row in self.terms}
        self.row_codes = {row.get("id"): row.get("taxonomy_id") or row.get("code") or ""
                          for _, row in self.terms}
        self.term_codes = {t["id"]: t.get("code") or "" for t in bundle.terms}
        self.phones_by = self.read_phones()
        self.locs = self.read_locations()
        self.people, self.people_by = self.read_contacts()
        # Rows for a location alone (Ohana) apply to every service given there.
        self.by_service_sched = _by(self.schedules, "service_id")
        self.by_location_sched = _by([r for r in self.schedules if not r[1].get("service_id")],
                                     "location_id")
        self.closures = _by(self.holidays, "service_id")
        self.location_closures = _by([r for r in self.holidays if not r[1].get("service_id")],
                                     "location_id")
        self.service_langs = _by(self.languages, "service_id")
        self.sal_by_service = _by(self.links, "service_id")
        self.attrs_by = _by(self.attributes, "link_id")
        org_file = name_of(folder, "organizations.csv")
        self.org_rows = {_id(row, (org_file, n)): (n, row) for n, row in self.orgs}
        self.sched_file = name_of(folder, "schedules.csv", "regular_schedules.csv")
        services_out = []
        for n, row in self.services:
            svc = self.service(n, row)
            if svc is not None:
                services_out.append(svc)
        self.read_organizations()
        for loc in self.locs.values():
            if loc["organization_id"] not in self.org_rows:
                bundle.skipped.append(Skipped("location", loc["id"], "unknown organisation"))
        bundle.services = services_out
        if (folder / "be_pathways.json").exists():
            bundle.ours = True
            bundle.pathways = [tag(p, "be_pathways.json", i + 1)
                               for i, p in enumerate(read_json(folder / "be_pathways.json"))]
        return bundle

    def read_terms(self) -> None:
        at_file = name_of(self.folder, "taxonomy_terms.csv", "taxonomy.csv")
        for n, row in self.terms:
            term = {"id": row.get("id") or row.get("taxonomy_id"), "code": row.get("code")
                    or row.get("taxonomy_id") or row.get("id"), "name": row.get("name", ""),
                    "description": row.get("description", ""),
                    "parent_id": row.get("parent_id") or None,
                    "taxonomy_id": row.get("taxonomy_id") if row.get("code") else None,
                    "taxonomy": row.get("taxonomy") or row.get("vocabulary"),
                    "_at": (at_file, n)}
            for key in ("be_labels", "be_descriptions"):
                if row.get(key):
                    term[key] = _cell_json(row, key, term["_at"])
            term["be_pictogram"] = row.get("be_pictogram") or None
            term["be_position"] = int(_number(row, "be_position", term["_at"]) or 0)
            self.bundle.terms.append(term)

    def read_phones(self) -> dict[str, dict[str, list]]:
        """Phones by the kind and id of what they belong to."""
        phones_by: dict[str, dict[str, list]] = {k: {} for k in
                                                 ("organization", "location", "service",
                                                  "contact")}
        at_file = name_of(self.folder, "phones.csv")
        for n, row in self.phones:
            at = (at_file, n)
            phone = {"id": row.get("id") or f"phone-{n}", "number": row.get("number", ""),
                     "type": row.get("type") or row.get("number_type") or "voice",
                     "description": row.get("description") or row.get("department") or None,
                     "extension": row.get("extension") or None, "_at": at}
            for key in ("be_visibility", "be_voicemail", "be_free"):
                if row.get(key):
                    phone[key] = row[key] if key == "be_visibility" \
                        else row[key].lower() == "true"
            if row.get("be_languages"):
                phone["languages"] = [{"code": x} for x in _cell_json(row, "be_languages", at)]
            elif row.get("language"):
                phone["languages"] = [{"code": c} for c in map(_language, _split(row["language"]))
                                      if c]
            if not phone["number"]:
                self.bundle.skipped.append(Skipped("phone", phone["id"], "no number"))
                continue
            owner = next(((k, row[f"{k}_id"]) for k in ("contact", "service", "location",
                                                        "organization") if row.get(f"{k}_id")),
                         None)
            if owner is None:
                self.bundle.skipped.append(Skipped("phone", phone["id"], "belongs to nothing"))
                continue
            phones_by[owner[0]].setdefault(owner[1], []).append(phone)
        return phones_by

    def read_locations(self) -> dict[str, dict]:
        locs: dict[str, dict] = {}
        at_file = name_of(self.folder, "locations.csv")
        for n, row in self.locations:
            at = (at_file, n)
            _id(row, at)
            loc = {"id": row["id"], "organization_id": row.get("organization_id"),
                   "name": row.get("name") or "", "description": row.get("description") or None,
                   "transportation": row.get("transportation") or None,
                   "latitude": _number(row, "latitude", at),
                   "longitude": _number(row, "longitude", at),
                   "phones": self.phones_by["location"].get(row["id"], []), "_at": at}
            loc["be_confidential"] = row.get("be_confidential", "").lower() == "true"
            for key in ("be_source_id", "be_city", "be_region"):
                if row.get(key):
                    loc[key] = row[key]
            for key in ("be_accessibility", "be_translations"):
                if row.get(key):
                    loc[key] = _cell_json(row, key, at)
            for _, a in self.addresses.get(row["id"], [])[:1]:
                loc["addresses"] = [{"address_1": " ".join(x for x in (a.get("address_1"),
                                                                   a.get("address_2")) if x),
                                     "city": a.get("city", ""),
                                     "postal_code": a.get("postal_code", ""),
                                     "country": a.get("country", ""),
                                     "state_province": a.get("state_province", "")}]
            acc = [a.get("accessibility") or a.get("description") for _, a in
                   self.accessibility.get(row["id"], [])]
            acc += _split(row.get("accessibility", ""))
            if acc:
                loc["accessibility"] = [{"description": ", ".join(x for x in acc if x)}]
            locs[row["id"]] = loc
        return locs

    def read_contacts(self) -> tuple[dict[str, dict], dict[str, dict[str, list]]]:
        """Contacts by id, and by the kind and id of what names them."""
        people: dict[str, dict] = {}
        people_by: dict[str, dict[str, list]] = {k: {} for k in ("organization", "location",
                                                                 "service")}
        at_file = name_of(self.folder, "contacts.csv")
        for n, row in self.contacts:
            at = (at_file, n)
            person = {"id": row.get("id") or f"contact-{n}", "name": row.get("name", ""),
                      "title": row.get("title") or None, "email": row.get("email") or None,
                      "organization_id": row.get("organization_id") or None,
                      "phones": self.phones_by["contact"].get(row.get("id", ""), []), "_at": at}
            if not row.get("name") and row.get("service_id") and person["id"] in people:
                # our export: a row that only says which contacts a service names, in order
                people_by["service"].setdefault(row["service_id"], []).append(
                    people[person["id"]])
                continue
            for key in ("be_languages", "be_availability", "be_absences", "be_translations"):
                if row.get(key):
                    person[key] = _cell_json(row, key, at)
            for key in ("be_role", "be_given_name", "be_family_name", "be_civility",
                        "be_status", "be_assured_date", "be_assured_by", "be_source_id"):
                if row.get(key):
                    person[key] = row[key]
            people[person["id"]] = person
            owner = next(((k, row[f"{k}_id"]) for k in ("service", "location", "organization")
                          if row.get(f"{k}_id")), None)
            if owner:
                people_by[owner[0]].setdefault(owner[1], []).append(person)
        return people, people_by

    def service(self, n: int, row: dict[str, str]) -> dict | None:
        """One services.csv row as a nested HSDS service, or None (skipped) when it has no
        organisation."""
        at = (name_of(self.folder, "services.csv"), n)
        sid = row.get("id")
        location_ids = [r["location_id"] for _, r in self.sal_by_service.get(sid, [])
                        if r.get("location_id")]
        if row.get("location_id"):  # Ohana: a service belongs to one location
            location_ids.insert(0, row["location_id"])
        location_ids = [x for x in dict.fromkeys(location_ids) if x in self.locs]
        org_id = row.get("organization_id") or next(
            (self.locs[x]["organization_id"] for x in location_ids), None)
        if not org_id or org_id not in self.org_rows:
            self.bundle.skipped.append(Skipped("service", sid or str(n),
                                               "no organisation (no location either)"))
            return None
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
                + [r.get("eligibility", "") for _, r in self.eligibility.get(sid, [])]).strip()
            or None,
            "assured_date": row.get("assured_date") or None,
            "phones": self.phones_by["service"].get(sid, []),
            "schedules": self.schedules_of(sid, location_ids),
            "be_closures": self.closures_of(sid, location_ids),
            "service_at_locations": [{"location_id": x, "location": self.locs[x]}
                                     for x in location_ids],
            "contacts": self.people_by["service"].get(sid, []) + [
                p for x in location_ids for p in self.people_by["location"].get(x, [])],
            **self.service_lists(sid, row),
            "_at": at,
        }
        for key in ("be_access", "be_digital", "be_translations", "be_keywords", "be_acts_as"):
            if row.get(key):
                svc[key] = _cell_json(row, key, at)
        if row.get("be_service_areas"):
            svc["service_areas"] = _cell_json(row, "be_service_areas", at)
        if row.get("be_open_on_public_holidays"):
            svc["be_open_on_public_holidays"] = row["be_open_on_public_holidays"].lower() == "true"
        if row.get("be_closures"):
            svc["be_closures"] = _cell_json(row, "be_closures", at)
        for key in ("be_source_id", "be_assured_by"):
            if row.get(key):
                svc[key] = row[key]
        if row.get("be_update_months"):
            svc["be_update_months"] = int(_number(row, "be_update_months", at))
        return svc

    def service_lists(self, sid: str | None, row: dict[str, str]) -> dict[str, list]:
        """A service's languages, documents, attributes, categories and keywords: from its own
        columns and from the tables that name it."""
        category_names = [self.row_terms.get(str(x)) for x in self.categories.get(sid, [])]
        category_names += [self.term_names.get(t) or t
                           for t in _split(row.get("taxonomy_ids", ""))]
        category_names += [self.term_names.get(r.get("taxonomy_id"), "") for _, r in
                           self.service_terms.get(sid, [])]
        term_ids = [r.get("taxonomy_term_id") for _, r in self.attrs_by.get(sid, [])
                    if r.get("taxonomy_term_id")]
        # What the category map looks at: each category's code and name, then AIRS codes.
        categories = [{"scheme": "categories", "code": self.row_codes.get(str(x), ""),
                       "name": self.row_terms.get(str(x)) or ""}
                      for x in self.categories.get(sid, [])]
        categories += [{"scheme": "categories", "code": self.term_codes.get(t, ""),
                        "name": self.term_names.get(t) or t}
                       for t in _split(row.get("taxonomy_ids", ""))]
        categories += [{"scheme": "categories",
                        "code": self.term_codes.get(r.get("taxonomy_id"), ""),
                        "name": self.term_names.get(r.get("taxonomy_id"), "")}
                       for _, r in self.service_terms.get(sid, [])]
        airs = self.airs.get(sid, []) if isinstance(self.airs, dict) else []
        categories += [{"scheme": "airs", "code": str(code), "name": ""}
                       for code in airs if isinstance(code, str)]
        return {
            "_categories": [c for c in categories if c["code"] or c["name"]],
            "languages": [{"code": c} for c in dict.fromkeys(
                [_language(r.get("language") or r.get("code") or "")
                 for _, r in self.service_langs.get(sid, [])]
                + [_language(x) for x in _split(row.get("languages", ""))]) if c],
            "required_documents": [{"document": r.get("document")} for _, r in
                                   self.documents.get(sid, []) if r.get("document")]
            + [{"document": x} for x in _split(row.get("required_documents", ""))],
            "attributes": [{"taxonomy_term_id": t} for t in term_ids],
            "be_categories": [x for x in category_names if x],
            "be_keywords": _split(row.get("keywords", "")),
        }

    def schedules_of(self, sid: str | None, location_ids: list[str]) -> list[dict]:
        """The service's own weekly rows, then those of the locations it is given at."""
        return self.weekly(self.by_service_sched.get(sid, [])) + [
            s for loc in location_ids for s in self.weekly(self.by_location_sched.get(loc, []))]

    def closures_of(self, sid: str | None, location_ids: list[str]) -> list[dict]:
        return self.closed(self.closures.get(sid, [])) + [
            c for loc in location_ids for c in self.closed(self.location_closures.get(loc, []))]

    def weekly(self, rows: Rows) -> list[dict]:
        out = []
        for n, r in rows:
            at = (self.sched_file, n)
            byday = r.get("byday") or WEEKDAYS.get(r.get("weekday", "").strip().lower())
            if not byday or not r.get("opens_at") or not r.get("closes_at"):
                self.bundle.skipped.append(Skipped(
                    "schedule", r.get("id") or str(n),
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

    def closed(self, rows: Rows) -> list[dict]:
        out = []
        for n, r in rows:
            start, end = _date(r.get("start_date")), _date(r.get("end_date"))
            if r.get("closed", "").lower() != "true" or not start or not end or end < start:
                self.bundle.skipped.append(Skipped("holiday_schedule", r.get("id") or str(n),
                                                   "not a closure with real dates"))
                continue
            out.append({"date_from": start.isoformat(), "date_to": end.isoformat()})
        return out

    def read_organizations(self) -> None:
        at_file = name_of(self.folder, "organizations.csv")
        # Every row, a repeated id included: ``save_bundle`` keeps the fuller copy and says so.
        for n, row in self.orgs:
            oid = row["id"]
            org = {"id": oid, "name": row.get("name") or "", "description":
                   row.get("description") or "",
                   "alternate_name": row.get("alternate_name") or None,
                   "email": row.get("email") or None,
                   "website": row.get("website") or row.get("url") or None,
                   "be_kind": row.get("be_kind") or None,
                   "be_status": row.get("be_status") or None,
                   "be_source_id": row.get("be_source_id") or None,
                   "be_data_contact_email": row.get("be_data_contact_email") or None,
                   "be_data_contact_lang": row.get("be_data_contact_lang") or None,
                   "be_trusted": row.get("be_trusted", "").lower() == "true",
                   "be_translations": _cell_json(row, "be_translations", (at_file, n))
                   if row.get("be_translations") else None,
                   "phones": self.phones_by["organization"].get(oid, []),
                   "organization_identifiers": [r for _, r in self.identifiers.get(oid, [])],
                   "locations": [loc for loc in self.locs.values()
                                 if loc["organization_id"] == oid],
                   "contacts": [p for p in self.people.values()
                                if p.get("organization_id") == oid],
                   "_at": (at_file, n)}
            self.bundle.organizations.append(org)


# --- cells ----------------------------------------------------------------------------------


def _rows(folder: Path, *names: str) -> Rows:
    """Rows of the first CSV that exists among ``names``, with spreadsheet row numbers.

    Comma or semicolon, UTF-8 or Windows-1252: Excel on a Belgian or French Windows saves
    "CSV" with semicolons (the comma is the decimal separator there) in Windows-1252."""
    for name in names:
        path = folder / name
        if path.exists():
            content = read_text(path)
            header = content.split("\n", 1)[0]
            delimiter = ";" if header.count(";") > header.count(",") else ","
            reader = csv.DictReader(io.StringIO(content, newline=""), delimiter=delimiter)
            try:
                return [(n, {k.strip().lower(): v.strip() if isinstance(v, str) else ""
                             for k, v in row.items() if k})
                        for n, row in enumerate(reader, start=2)]
            except csv.Error as exc:
                raise ImportFailed(name, reader.line_num or None, None,
                                   f"not valid CSV: {exc}") from None
    return []


def _id(row: dict, at: tuple) -> str:
    """The row's id, which the rows of other files refer to: required."""
    if not row.get("id"):
        raise ImportFailed(at[0], at[1], "id", "missing id")
    return row["id"]


def _by(rows: Rows, key: str) -> dict[str, Rows]:
    out: dict[str, Rows] = {}
    for n, row in rows:
        if row.get(key):
            out.setdefault(row[key], []).append((n, row))
    return out


def _split(value: str) -> list[str]:
    return [x.strip() for x in re.split(r"[,;]", value or "") if x.strip()]


def _cell_json(row: dict, key: str, at: tuple) -> Any:
    try:
        return json.loads(row[key])
    except ValueError:
        raise ImportFailed(at[0], at[1], key, "not valid JSON") from None


def _number(row: dict, key: str, at: tuple) -> float | None:
    value = row.get(key, "")
    if not value:
        return None
    if re.fullmatch(r"-?\d+,\d+", value):  # Belgian Excel: a decimal comma ("50,8466")
        value = value.replace(",", ".")
    try:
        number = float(value)
    except ValueError:
        number = math.nan
    if not math.isfinite(number):  # "nan" and "inf" parse as floats, and are no coordinate
        raise ImportFailed(at[0], at[1], key, f"{value!r} is not a number")
    return number


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


def _language(value: str) -> str | None:
    """"Spanish." -> "es", "fr" -> "fr"; free text ("Accommodations possible.") -> None."""
    value = value.strip().rstrip(".").lower()
    if value in LANGUAGE_CODES:
        return LANGUAGE_CODES[value]
    return value if re.fullmatch(r"[a-z]{2,3}", value) else None

"""Export the directory as an HSDS 3.1 package: one JSON document, ndjson lines, or a folder of
CSV tables (with ``datapackage.json``). Each round-trips through ``importer.load``.

The objects are those of ``orientation.hsds`` (the /hsds API), plus ``be_`` fields that carry
what HSDS cannot (see ``hsds.PROFILE``), so that importing an export rebuilds the same records.
By default an export is public: staff-only lines, confidential addresses and the reasons of
absences are left out. ``complete=True`` (``--complete``) keeps everything, for a backup or a
move between servers.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import msgspec
from sqlite_utils import Database

from . import hsds, store
from .access import ANONYMOUS, Caller, view
from .models import Contact, Location, Organization, Service

FORMATS = ("hsds-json", "ndjson", "csv")
ADMIN = Caller(role="admin", actor="export")


def _extras(record: Any, caller: Caller) -> dict[str, Any]:
    """The be_ fields that let the importer rebuild ``record`` exactly."""
    shown = view(record, caller)
    extra: dict[str, Any] = {}
    if getattr(record, "source_id", None):
        extra["be_source_id"] = record.source_id
    if isinstance(record, Organization):
        extra["be_status"] = record.status
        # Who checks the organisation's records (orientation.reminders): kept by a directory
        # export, so a copy sends its reminders to the same person.
        extra.update({"be_data_contact_email": record.data_contact_email,
                      "be_data_contact_lang": record.data_contact_lang,
                      "be_trusted": record.trusted or None})
    if isinstance(record, Location):
        extra["be_accessibility"] = msgspec.to_builtins(record.accessibility)
    if isinstance(record, Contact):
        extra.update({
            "be_given_name": record.given_name, "be_family_name": record.family_name,
            "be_civility": record.civility, "be_status": record.status,
            "be_availability": msgspec.to_builtins(shown.availability),
            "be_absences": msgspec.to_builtins(shown.absences),
            "be_assured_date": record.assured_date and record.assured_date.isoformat(),
            "be_assured_by": record.assured_by,
            "be_languages": record.languages})
    if isinstance(record, (Organization, Location, Contact)):
        # Their person-read texts in nl/en/ar (description, role, directions).
        extra["be_translations"] = msgspec.to_builtins(record.translations) or None
    if isinstance(record, Service):
        extra.update({"be_assured_by": record.assured_by,
                      "be_update_months": record.update_months,
                      "be_keywords": record.keywords,
                      "be_translations": msgspec.to_builtins(record.translations),
                      "be_closures": msgspec.to_builtins(record.closures)})
    return {k: v for k, v in extra.items() if v is not None}


def _contact(c: Contact, caller: Caller) -> dict[str, Any]:
    return {**hsds.contact(c, caller=caller), **_extras(c, caller)}


def _location(loc: Location, caller: Caller) -> dict[str, Any]:
    return {**hsds.location(loc, caller=caller), **_extras(loc, caller)}


def organizations(db: Database, caller: Caller) -> Iterator[dict[str, Any]]:
    for org in store.list_organizations(db):
        data = {**hsds.organization(org, caller=caller), **_extras(org, caller)}
        data["phones"] = hsds.phones(org.phones, caller, organization_id=org.id)
        data["locations"] = [_location(x, caller)
                             for x in store.list_locations(db, organization_id=org.id)]
        data["contacts"] = [_contact(x, caller)
                            for x in store.list_contacts(db, organization_id=org.id)]
        yield data


def services(db: Database, caller: Caller) -> Iterator[dict[str, Any]]:
    for service in store.iter_services(db):
        data = hsds.service_full(db, service, caller=caller)
        data.update(_extras(service, caller))
        data.pop("metadata", None)  # the audit trail stays with the database it describes
        for sal in data["service_at_locations"]:
            sal["location"] = _location(store.get_location(db, sal["location_id"]), caller)
        data["contacts"] = [{"id": c["id"]} for c in data["contacts"]]  # in organizations
        yield data


def terms(db: Database) -> Iterator[dict[str, Any]]:
    for term in store.list_terms(db):
        yield {**hsds.taxonomy_term(term), "be_position": term.position}


def pathways(db: Database) -> Iterator[dict[str, Any]]:
    for pathway in store.list_pathways(db):
        yield msgspec.to_builtins(pathway)


def export(db: Database, out: Path, fmt: str, *, complete: bool = False) -> dict[str, int]:
    """Write the package to ``out`` (a file, or a folder for csv); returns counts."""
    if fmt not in FORMATS:
        raise ValueError(f"format must be one of {', '.join(FORMATS)}")
    caller = ADMIN if complete else ANONYMOUS
    data = {"taxonomy_terms": list(terms(db)), "organizations": list(organizations(db, caller)),
            "services": list(services(db, caller)), "be_pathways": list(pathways(db))}
    out = Path(out)
    if fmt == "hsds-json":
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(json.dumps({"version": hsds.HSDS_VERSION, "profile": hsds.PROFILE["name"],
                                   "taxonomies": [hsds.taxonomy()], **data},
                                  ensure_ascii=False, indent=1), encoding="utf-8")
    elif fmt == "ndjson":
        out.parent.mkdir(parents=True, exist_ok=True)
        with out.open("w", encoding="utf-8") as f:
            # Service lines are plain HSDS services (as /hsds/services?format=ndjson&full=true);
            # the other lines say what they are in be_type.
            for kind, key in (("taxonomy_term", "taxonomy_terms"),
                              ("organization", "organizations")):
                for item in data[key]:
                    f.write(json.dumps({"be_type": kind, **item}, ensure_ascii=False) + "\n")
            for item in data["services"]:
                f.write(json.dumps(item, ensure_ascii=False) + "\n")
            for item in data["be_pathways"]:
                f.write(json.dumps({"be_type": "pathway", **item}, ensure_ascii=False) + "\n")
    else:
        _write_csv(out, data)
    return {k: len(v) for k, v in data.items()}


# --- CSV tables -----------------------------------------------------------------------------

#: table -> columns (HSDS 3.1 names first, then our be_ extension columns)
TABLES: dict[str, tuple[str, ...]] = {
    "organizations": ("id", "name", "alternate_name", "description", "email", "website",
                      "be_kind", "be_status", "be_source_id", "be_data_contact_email",
                      "be_data_contact_lang", "be_trusted", "be_translations"),
    "locations": ("id", "location_type", "organization_id", "name", "description",
                  "transportation", "latitude", "longitude", "be_confidential", "be_region",
                  "be_city", "be_accessibility", "be_source_id", "be_translations"),
    "addresses": ("id", "location_id", "address_1", "city", "state_province", "postal_code",
                  "country", "address_type"),
    "services": ("id", "organization_id", "name", "alternate_name", "description", "url",
                 "email", "status", "interpretation_services", "application_process",
                 "fees_description", "eligibility_description", "assured_date", "be_access",
                 "be_digital", "be_translations", "be_keywords", "be_closures",
                 "be_open_on_public_holidays", "be_assured_by", "be_source_id",
                 # HSDS service_areas rows of a service, as one JSON cell (our areas are a
                 # commune, a region or the country: a table of their own would add nothing).
                 "be_service_areas", "be_acts_as", "be_update_months"),
    "service_at_locations": ("id", "service_id", "location_id"),
    "organization_identifiers": ("id", "organization_id", "identifier_scheme",
                                 "identifier_type", "identifier"),
    "phones": ("id", "organization_id", "location_id", "service_id", "contact_id", "number",
               "type", "description", "be_languages", "be_visibility", "be_voicemail",
               "be_free"),
    "contacts": ("id", "organization_id", "service_id", "name", "title", "email", "be_role",
                 "be_given_name", "be_family_name", "be_civility", "be_languages",
                 "be_availability", "be_absences", "be_status", "be_assured_date",
                 "be_assured_by", "be_translations"),
    "schedules": ("id", "service_id", "location_id", "freq", "byday", "opens_at", "closes_at",
                  "valid_from", "valid_to", "attending_type", "notes", "description"),
    "languages": ("id", "service_id", "name", "code"),
    "required_documents": ("id", "service_id", "document"),
    "attributes": ("id", "link_id", "link_type", "link_entity", "taxonomy_term_id", "value",
                   "label"),
    "taxonomies": ("id", "name", "description", "version"),
    "taxonomy_terms": ("id", "code", "name", "description", "parent_id", "taxonomy",
                       "taxonomy_id", "language", "be_labels", "be_descriptions",
                       "be_pictogram", "be_position"),
}


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (dict, list)):
        return json.dumps(value, ensure_ascii=False)
    return str(value)


def _write_csv(folder: Path, data: dict[str, list]) -> None:
    rows: dict[str, list[dict]] = {name: [] for name in TABLES}

    def phones(items: list[dict]) -> None:
        for p in items:
            rows["phones"].append({**p, "be_languages": [x["code"] for x in
                                                          p.get("languages", [])]})

    rows["taxonomies"].append(hsds.taxonomy())
    rows["taxonomy_terms"] = data["taxonomy_terms"]
    for org in data["organizations"]:
        rows["organizations"].append(org)
        rows["organization_identifiers"] += org.get("organization_identifiers", [])
        phones(org.get("phones", []))
        for loc in org["locations"]:
            rows["locations"].append(loc)
            rows["addresses"] += loc.get("addresses", [])
            phones(loc.get("phones", []))
        for person in org["contacts"]:
            rows["contacts"].append(person)
            phones(person.get("phones", []))
    for svc in data["services"]:
        rows["services"].append({**svc, "be_service_areas": svc.get("service_areas") or None})
        phones(svc.get("phones", []))
        rows["service_at_locations"] += svc["service_at_locations"]
        rows["schedules"] += svc["schedules"]
        rows["languages"] += svc["languages"]
        rows["required_documents"] += svc["required_documents"]
        rows["attributes"] += svc["attributes"]
        for person in svc["contacts"]:  # which contacts a service names, in order
            rows["contacts"].append({"id": person["id"], "service_id": svc["id"]})
    folder.mkdir(parents=True, exist_ok=True)
    resources = []
    for name, columns in TABLES.items():
        with (folder / f"{name}.csv").open("w", encoding="utf-8", newline="") as f:
            writer = csv.writer(f)
            writer.writerow(columns)
            for row in rows[name]:
                writer.writerow([_cell(row.get(c)) for c in columns])
        resources.append({"name": name, "path": f"{name}.csv", "format": "csv",
                          "mediatype": "text/csv", "profile": "tabular-data-resource",
                          "schema": {"fields": [{"name": c, "type": "string"}
                                                for c in columns]}})
    (folder / "be_pathways.json").write_text(
        json.dumps(data["be_pathways"], ensure_ascii=False, indent=1), encoding="utf-8")
    (folder / "datapackage.json").write_text(json.dumps({
        "name": "orientation", "title": "Orientation — HSDS 3.1 export",
        "profile": "tabular-data-package", "version": hsds.HSDS_VERSION,
        "description": hsds.PROFILE["description"], "resources": resources,
    }, ensure_ascii=False, indent=1), encoding="utf-8")

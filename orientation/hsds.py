"""Our records as Open Referral HSDS 3.1 objects (plain dicts), for the /hsds API and exports.

The mapping is thin because ``models`` uses HSDS names. What HSDS lacks goes into extension fields
prefixed ``be_`` (the Belgian profile, described by ``PROFILE`` and served at ``/hsds/profile``),
and each need a service meets is an HSDS ``attribute`` linking it to a term of our taxonomy.

Fields without a value are left out rather than sent as null, because the HSDS schemas type them
as plain strings or numbers. The same privacy rules as everywhere apply: staff-only phone lines
are only in the output made for staff, and a confidential location shows its city alone.
"""

from __future__ import annotations

import datetime as dt
import json
import math
import re
import uuid
from collections.abc import Iterable, Iterator
from typing import Any

import msgspec
from sqlite_utils import Database

from . import capacity, hours, store
from .access import ANONYMOUS, Caller, view
from .fields import is_email, web_url
from .models import (
    AuditEntry,
    Contact,
    Location,
    Organization,
    Phone,
    Schedule,
    Service,
    TaxonomyTerm,
    slug_id,
)

HSDS_VERSION = "3.1"
#: Our one taxonomy: the needs (themes) and sub-needs of seed/taxonomy.yaml.
TAXONOMY_ID = slug_id("taxonomy", "orientation-needs")
TAXONOMY_NAME = "orientation-needs"

REGION_LABELS = {
    "bruxelles": "Région de Bruxelles-Capitale",
    "brabant-wallon": "Brabant wallon",
    "wallonie": "Wallonie",
    "flandre": "Vlaanderen",
    "belgique": "Belgique",
    "autre": "",
}
LANGUAGE_NAMES = {"fr": "Français", "nl": "Nederlands", "en": "English", "ar": "العربية",
                  "de": "Deutsch", "es": "Español", "tr": "Türkçe", "ro": "Română",
                  "pl": "Polski", "pt": "Português", "ru": "Русский",
                  "uk": "Українська"}

#: The Belgian profile: every extension field, where it appears and what it means.
PROFILE: dict[str, Any] = {
    "name": "Orientation Belgian profile of HSDS 3.1",
    "base": "https://docs.openreferral.org/en/latest/hsds/",
    "description": (
        "HSDS 3.1 objects, unchanged, plus extension fields prefixed be_. Needs are HSDS "
        "attributes linking a record to a term of the 'orientation-needs' taxonomy. Staff-only "
        "phone lines appear only for callers with a staff, editor or admin key; a confidential "
        "location (a shelter) never shows its address, only be_city."),
    "extensions": {
        "service.be_access": "How to get in: walk_in, appointment, referral (by another "
                             "service), documents to bring, cost_free, audience, eligibility.",
        "service.be_digital": "Digital means needed: level none|optional|required and what "
                              "(itsme, eid-reader, email, smartphone, app, internet).",
        "service.be_translations": "Name and description in nl/en/ar, keyed by language.",
        "service.be_keywords": "Search words.",
        "service.be_hours": "Opening hours in plain French sentences.",
        "service.be_open_now": "Open at the time of the response (Europe/Brussels).",
        "service.be_next_opening": "Start of the next opening (ISO 8601), when closed.",
        "service.be_closures": "Exceptional closures: date_from, date_to, reason.",
        "service.be_open_on_public_holidays": "Open on Belgian public holidays.",
        "service.be_pathways": "Referral pathways that use the service: id, need, step.",
        "service.be_acts_as": "Roles the service fills for its service_areas: cpas (the CPAS "
                              "of the commune), emploi (the regional employment office), baj "
                              "(the legal aid office of the judicial district).",
        "service_area.be_kind": "commune, region or country: what be_code names.",
        "service_area.be_code": "The commune's name, the region (bruxelles, wallonie, "
                                "brabant-wallon, flandre) or Belgique.",
        "service_area.be_residents_only": "Only for people who live (or, without a home "
                                          "address, stay) in the area.",
        "contact.be_role": "What the person does, in plain words.",
        "contact.be_languages": "Languages the person speaks (ISO 639-1).",
        "contact.be_absence": "Current or next absence: date_from, date_to, substitute_id.",
        "phone.be_visibility": "public or staff (staff lines only reach staff callers).",
        "phone.be_voicemail": "A voicemail with a clear message exists.",
        "phone.be_free": "The call is free.",
        "location.be_confidential": "The address is withheld; be_city tells the area.",
        "location.be_city": "City of the location (also given when the address is withheld).",
        "location.be_region": "bruxelles, brabant-wallon, wallonie, flandre, belgique, autre.",
        "taxonomy_term.be_labels": "Labels in fr/nl/en.",
        "taxonomy_term.be_descriptions": "One plain sentence per language.",
        "taxonomy_term.be_pictogram": "Pictogram name used by the kiosk.",
        "organization.be_kind": "cpas, epn, mutualite, syndicat, onem, … (seed/FORMAT.md).",
    },
}


#: Namespace for owners whose id is not a UUID (rows written before nested ids were checked):
#: one such row must not break the record, a page or the whole feed.
_LEGACY_IDS = uuid.UUID("0b1d3c57-5a53-4c0e-9f0e-2b8f3f0e6a41")


def _id(owner: str, *parts: str) -> str:
    """A stable UUID for a child object that has no id of its own (language, address…)."""
    try:
        namespace = uuid.UUID(owner)
    except ValueError:
        namespace = uuid.uuid5(_LEGACY_IDS, owner)
    return str(uuid.uuid5(namespace, ":".join(parts)))


def _clean(data: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in data.items() if v is not None and v != ""}


def _uri(value: str | None) -> str | None:
    """Only absolute URLs: HSDS types these fields as "uri" (a bare "www.x.be" is left out)."""
    return web_url(value)


def _email(value: str | None) -> str | None:
    return value if is_email(value) else None


def _date(value: dt.date | None) -> str | None:
    return value.isoformat() if value else None


# --- small objects --------------------------------------------------------------------------


def phone(p: Phone, **owner: str) -> dict[str, Any]:
    return _clean({
        "id": p.id, **owner, "number": p.number, "type": p.type, "description": p.description,
        "languages": [language(code, p.id, "phone_id") for code in p.languages],
        "be_visibility": p.visibility, "be_voicemail": p.voicemail, "be_free": p.free,
    })


def phones(items: list[Phone], caller: Caller, **owner: str) -> list[dict[str, Any]]:
    return [phone(p, **owner) for p in items if caller.staff or p.visibility == "public"]


def language(code: str, owner: str, owner_field: str) -> dict[str, Any]:
    return {"id": _id(owner, "language", code), owner_field: owner,
            "name": LANGUAGE_NAMES.get(code, code), "code": code}


def schedule(row: Schedule, **owner: str) -> dict[str, Any]:
    return _clean({
        "id": row.id, **owner, "location_id": row.location_id, "freq": "WEEKLY",
        "byday": row.byday, "opens_at": row.opens_at, "closes_at": row.closes_at,
        "valid_from": _date(row.valid_from), "valid_to": _date(row.valid_to),
        "attending_type": row.attending_type, "notes": row.note,
        "description": " ".join(hours.describe([row])),
    })


def metadata(entries: Iterable[AuditEntry], resource_type: str, caller: Caller
             ) -> list[dict[str, Any]]:
    """The audit trail as HSDS metadata. Values are only given to staff: an old value of a
    phone list may hold a staff-only line."""
    result = []
    for e in entries:
        def value(v: Any) -> str:
            if not caller.staff or v is None:
                return ""
            return v if isinstance(v, str) else json.dumps(v, ensure_ascii=False)
        result.append({
            "id": str(uuid.uuid5(uuid.UUID(e.entity_id), f"audit:{e.id}")),
            "resource_id": e.entity_id, "resource_type": resource_type,
            "last_action_date": e.at.isoformat(), "last_action_type": e.action,
            "field_name": "" if e.field == "*" else e.field,
            "previous_value": value(e.before), "replacement_value": value(e.after),
            "updated_by": e.actor,
        })
    return result


def attribute(term: TaxonomyTerm, link_id: str, link_entity: str) -> dict[str, Any]:
    return {"id": _id(link_id, "need", term.id), "link_id": link_id,
            "taxonomy_term_id": term.id, "link_type": "need", "link_entity": link_entity,
            "label": term.label("fr"), "value": term.code,
            "taxonomy_term": taxonomy_term(term)}


# --- taxonomy -------------------------------------------------------------------------------


def taxonomy() -> dict[str, Any]:
    return {"id": TAXONOMY_ID, "name": TAXONOMY_NAME,
            "description": "Besoins et sous-besoins de l'annuaire Orientation (fr/nl/en).",
            "version": "1"}


def taxonomy_term(term: TaxonomyTerm, *, detail: bool = False) -> dict[str, Any]:
    data = _clean({
        "id": term.id, "code": term.code, "name": term.label("fr"),
        "description": term.descriptions.get("fr", ""), "parent_id": term.parent_id,
        "taxonomy": TAXONOMY_NAME, "taxonomy_id": TAXONOMY_ID, "language": "fr",
        "be_labels": term.labels, "be_descriptions": term.descriptions or None,
        "be_pictogram": term.pictogram,
    })
    data.setdefault("description", "")  # required by HSDS even when we have none
    if detail:
        data["taxonomy_detail"] = taxonomy()
    return data


# --- organizations, locations, contacts -----------------------------------------------------


def organization(org: Organization, *, caller: Caller = ANONYMOUS, db: Database | None = None,
                 full: bool = False) -> dict[str, Any]:
    data = _clean({
        "id": org.id, "name": org.name, "alternate_name": org.alternate_name,
        "description": org.description, "email": _email(org.email),
        "website": _uri(org.website),
        "be_kind": org.kind,
    })
    data["description"] = org.description
    if full and db is not None:
        data["phones"] = phones(org.phones, caller, organization_id=org.id)
        data["locations"] = [location(loc, caller=caller)
                             for loc in store.list_locations(db, organization_id=org.id)]
        data["contacts"] = [contact(c, caller=caller)
                            for c in store.list_contacts(db, organization_id=org.id,
                                                         status="active")]
        data["metadata"] = metadata(store.history(db, "organization", org.id),
                                    "organization", caller)
    return data


def location(loc: Location, *, caller: Caller = ANONYMOUS) -> dict[str, Any]:
    shown = view(loc, caller)
    withheld = loc.confidential and not caller.staff
    data = _clean({
        "id": loc.id, "location_type": "physical", "organization_id": loc.organization_id,
        "name": loc.name, "description": loc.description,
        "transportation": "; ".join(loc.transport) or None,
        "latitude": shown.latitude, "longitude": shown.longitude,
        "be_confidential": loc.confidential,
        "be_city": loc.address.city if loc.address else None,
        "be_region": loc.address.region if loc.address else None,
    })
    if loc.address and not withheld:
        a = loc.address
        data["addresses"] = [{
            "id": _id(loc.id, "address"), "location_id": loc.id, "address_1": a.street,
            "city": a.city, "state_province": REGION_LABELS.get(a.region, ""),
            "postal_code": a.postal_code, "country": a.country, "address_type": "physical",
        }]
    acc = loc.accessibility
    features = [label for flag, label in ((acc.step_free, "Accès de plain-pied"),
                                          (acc.hearing_loop, "Boucle magnétique"),
                                          (acc.toilets, "Toilettes accessibles")) if flag]
    if features or acc.details:
        data["accessibility"] = [_clean({
            "id": _id(loc.id, "accessibility"), "location_id": loc.id,
            "description": ", ".join(features), "details": acc.details})]
    data["phones"] = phones(loc.phones, caller, location_id=loc.id)
    return data


def contact(c: Contact, *, caller: Caller = ANONYMOUS, service_id: str | None = None,
            today: dt.date | None = None) -> dict[str, Any]:
    today = today or hours.now().date()
    upcoming = sorted((a for a in c.absences if a.date_to >= today), key=lambda a: a.date_from)
    absence = upcoming[0] if upcoming else None
    return _clean({
        "id": c.id, "organization_id": c.organization_id, "service_id": service_id,
        "name": c.name, "title": c.role, "email": _email(c.email),
        "phones": phones(c.phones, caller, contact_id=c.id),
        "be_role": c.role, "be_languages": c.languages,
        "be_absence": absence and _clean({
            "date_from": absence.date_from.isoformat(), "date_to": absence.date_to.isoformat(),
            "substitute_id": absence.substitute_id}),
    })


# --- services -------------------------------------------------------------------------------


_REGION_NAMES = {"bruxelles": "Région de Bruxelles-Capitale", "wallonie": "Wallonie",
                 "brabant-wallon": "Brabant wallon", "flandre": "Flandre"}


def service_areas(s: Service) -> list[dict[str, Any]]:
    """The HSDS service_areas of a service: where it is competent, and for whom."""
    rule = ("Seulement pour les personnes qui habitent dans cette zone, ou qui y séjournent "
            "sans adresse." if s.access.residents_only else "Service ouvert aux habitants de "
            "cette zone.")
    return [{"id": _id(s.id, "area", a.kind, a.name), "service_id": s.id,
             "name": _REGION_NAMES.get(a.name, a.name) if a.kind == "region" else a.name,
             "description": rule, "be_kind": a.kind, "be_code": a.name,
             "be_residents_only": s.access.residents_only} for a in s.areas]


def _access_text(service: Service) -> str | None:
    a = service.access
    ways = [text for flag, text in ((a.walk_in, "Sans rendez-vous."),
                                    (a.appointment, "Sur rendez-vous."),
                                    (a.referral, "Sur envoi d'un autre service."))
            if flag]
    if a.documents:
        ways.append("À apporter : " + ", ".join(a.documents) + ".")
    return " ".join(ways) or None


def _alert(service: Service, today: dt.date) -> str | None:
    for c in sorted(service.closures, key=lambda c: c.date_from):
        if c.date_to >= today:
            reason = f" ({c.reason})" if c.reason else ""
            return f"Fermé du {c.date_from.isoformat()} au {c.date_to.isoformat()}{reason}."
    return None


def service(s: Service, *, org: Organization | None = None, modified: str | None = None,
            today: dt.date | None = None,
            org_data: dict[str, Any] | None = None) -> dict[str, Any]:
    """The one-to-one fields of a service (the HSDS list shape), with its organisation
    (``org_data``: its HSDS dict made once for a page, copied here)."""
    today = today or hours.now().date()
    eligibility = " ".join(x for x in (s.access.audience, s.access.eligibility) if x)
    data = _clean({
        "id": s.id, "organization_id": s.organization_id, "name": s.name,
        "alternate_name": s.alternate_name, "description": s.description, "url": _uri(s.url),
        "email": _email(s.email), "status": s.status, "interpretation_services": s.interpretation,
        "application_process": _access_text(s),
        "fees_description": "Gratuit." if s.access.cost_free else s.access.cost_description,
        "eligibility_description": eligibility or None, "assured_date": _date(s.assured_date),
        "alert": _alert(s, today), "last_modified": modified,
        "be_access": msgspec.to_builtins(s.access),
        "be_digital": msgspec.to_builtins(s.digital),
    })
    if org_data is not None:
        data["organization"] = dict(org_data)
    elif org is not None:
        data["organization"] = organization(org)
    return data


#: The units a capacity counts, as HSDS ``unit`` objects name them.
UNIT_NAMES = {"places": "Places (lits)", "repas": "Repas", "colis": "Colis alimentaires"}


def capacities(service_id: str, figures: list[capacity.Capacity]) -> list[dict[str, Any]]:
    """HSDS ``service_capacity`` objects of one service."""
    return [{
        "id": _id(service_id, "capacity", c.unit), "service_id": service_id,
        "unit": {"id": _id("orientation-units", c.unit), "name": UNIT_NAMES[c.unit],
                 "scheme": "orientation", "identifier": c.unit},
        "available": c.available, **({"maximum": c.maximum} if c.maximum is not None else {}),
        "updated": c.updated.isoformat(),
    } for c in figures]


def service_full(db: Database, s: Service, *, caller: Caller = ANONYMOUS,
                 at: dt.datetime | None = None) -> dict[str, Any]:
    """A fully nested service: locations, hours, contacts, needs, pathways and history."""
    at = at or hours.now()
    data = service(s, org=store.get_organization(db, s.organization_id),
                   modified=store.last_modified(db, "service", [s.id]).get(s.id),
                   today=at.date())
    data["phones"] = phones(s.phones, caller, service_id=s.id)
    data["schedules"] = [schedule(row, service_id=s.id) for row in s.schedules]
    data["service_at_locations"] = [
        service_at_location(db, s, store.get_location(db, loc_id), caller=caller, nested=False)
        for loc_id in s.location_ids
    ]
    data["languages"] = [language(code, s.id, "service_id") for code in s.languages]
    data["service_areas"] = service_areas(s)
    data["required_documents"] = [
        {"id": _id(s.id, "document", doc), "service_id": s.id, "document": doc}
        for doc in s.access.documents]
    data["contacts"] = [contact(store.get_contact(db, cid), caller=caller, service_id=s.id,
                                today=at.date())
                        for cid in s.contact_ids]
    # HSDS service_capacity: the places left a service published (orientation.capacity),
    # stale ones included with their ``updated`` time so a consumer can judge; never guessed.
    data["capacities"] = capacities(s.id, capacity.of_services(db, [s.id]).get(s.id, []))
    data["attributes"] = [attribute(store.get_term(db, t), s.id, "service") for t in s.needs]
    data["metadata"] = metadata(store.history(db, "service", s.id), "service", caller)
    kwargs = {"closures": s.closures, "open_on_public_holidays": s.open_on_public_holidays}
    current, upcoming = hours.open_or_next(s.schedules, at, **kwargs)
    data.update(_clean({
        "be_translations": msgspec.to_builtins(s.translations) or None,
        "be_keywords": s.keywords or None,
        "be_acts_as": list(s.acts_as) or None,
        "be_hours": hours.describe(s.schedules) or None,
        "be_open_now": current is not None,
        "be_next_opening": upcoming.start.isoformat() if upcoming and not current else None,
        "be_closures": msgspec.to_builtins(s.closures) or None,
        "be_open_on_public_holidays": s.open_on_public_holidays,
    }))
    data["be_pathways"] = store.pathway_steps_using(db, s.id)
    return data


def service_at_location(db: Database, s: Service, loc: Location, *, caller: Caller = ANONYMOUS,
                        nested: bool = True, full: bool = False,
                        org: Organization | None = None) -> dict[str, Any]:
    """``org``: the service's organisation when the caller read it already (a listing)."""
    data: dict[str, Any] = {"id": store.service_at_location_id(s.id, loc.id),
                            "service_id": s.id, "location_id": loc.id}
    data["location"] = location(loc, caller=caller)
    if nested:
        data["service"] = service(s, org=org or store.get_organization(db, s.organization_id))
    if full:
        sal = data["id"]
        data["schedules"] = [schedule(r, service_id=s.id, service_at_location_id=sal)
                             for r in s.schedules if r.location_id in (None, loc.id)]
        data["contacts"] = [contact(store.get_contact(db, cid), caller=caller, service_id=s.id)
                            for cid in s.contact_ids]
        data["phones"] = phones(s.phones, caller, service_id=s.id)
    return data


# --- listings -------------------------------------------------------------------------------


def page(items: list[Any], *, total: int, page_number: int, per_page: int) -> dict[str, Any]:
    """The HSDS paginated shape; ``items`` is the already-sliced current page."""
    total_pages = max(1, math.ceil(total / per_page)) if per_page else 1
    return {"total_items": total, "total_pages": total_pages, "page_number": page_number,
            "size": len(items), "first_page": page_number == 1,
            "last_page": page_number >= total_pages, "empty": total == 0, "contents": items}


def iter_services(db: Database, services: Iterable[Service], *, full: bool = False,
                  caller: Caller = ANONYMOUS, minimal: bool = False) -> Iterator[dict[str, Any]]:
    """HSDS dicts for many services, fetching organisations and dates once."""
    services = list(services)
    modified = store.last_modified(db, "service", [s.id for s in services]) if services else {}
    orgs = {} if minimal or full else store.get_organizations(
        db, [s.organization_id for s in services])
    org_data: dict[str, dict[str, Any]] = {}
    today = hours.now().date()
    for s in services:
        if minimal:
            yield _clean({"id": s.id, "name": s.name, "status": s.status,
                          "last_modified": modified.get(s.id)})
        elif full:
            yield service_full(db, s, caller=caller)
        else:
            if s.organization_id not in orgs:  # written since the page was read
                orgs[s.organization_id] = store.get_organization(db, s.organization_id)
            if s.organization_id not in org_data:  # the same for every service of an org
                org_data[s.organization_id] = organization(orgs[s.organization_id])
            yield service(s, modified=modified.get(s.id), today=today,
                          org_data=org_data[s.organization_id])

"""Writing the directory: save and delete the six aggregates, with their checks and audit rows.

Each save is one transaction: the record rules (``fields.check_record``), the references it
holds, its schedules and dates, then the row, its link tables and the audit rows of what
changed. Saving a service or a contact revalidates the active pathways that use it, and a
pathway is checked against its invariants (:mod:`orientation.rules`) with the records it names
loaded here, so a write that would strand a pathway raises and leaves the database as it was.
"""

from __future__ import annotations

import datetime as dt
import json
import sqlite3
import uuid
from collections.abc import Callable, Iterable

import msgspec
from sqlite_utils import Database

from .. import communes, competence, hours, rules
from ..errors import Conflict, InvalidData, NotFound, PathwayInvalid
from ..fields import check_record
from ..models import Contact, Location, Organization, Pathway, Service, TaxonomyTerm
from . import audit
from .connection import ids, to_row, transaction
from .directory import (
    ENTITIES,
    exists,
    get,
    get_contact,
    get_pathway,
    get_service,
    iter_services,
    list_contacts,
    list_pathways,
    pathways_using,
    pathways_with_role,
    service_at_location_id,
    services_for_contact,
)

# --- Checks -------------------------------------------------------------------------------


def require(db: Database, entity: str, entity_id: str, field: str) -> None:
    """InvalidData naming ``field`` unless the referenced record exists."""
    if not exists(db, entity, entity_id):
        raise InvalidData(f"{field}: {entity} {entity_id!r} does not exist", field=field)


def check_id(value: str, field: str = "id") -> None:
    """InvalidData unless ``value`` is a UUID (every record id is one)."""
    try:
        uuid.UUID(value)
    except (ValueError, TypeError, AttributeError):
        raise InvalidData(f"{field}: {value!r} is not a UUID", field=field) from None


def _check_schedules(rows, field: str) -> None:
    for i, row in enumerate(rows):
        try:
            hours.validate_schedule(row)
        except ValueError as exc:
            raise InvalidData(f"{field}[{i}]: {exc}", field=f"{field}[{i}]") from None


def _check_dates(items, field: str) -> None:
    for i, item in enumerate(items):
        if item.date_to < item.date_from:
            raise InvalidData(f"{field}[{i}]: date_to is before date_from",
                              field=f"{field}[{i}]")


def _check_areas(areas, field: str = "areas") -> None:
    """A commune area names a commune the directory knows, a region area a known region."""
    for i, area in enumerate(areas):
        known = (communes.commune(area.name) is not None if area.kind == "commune"
                 else area.name in competence.REGION_COMMUNES if area.kind == "region"
                 else True)
        if not known:
            raise InvalidData(f"{field}[{i}]: unknown {area.kind} {area.name!r}",
                              field=f"{field}[{i}]")


def _found(getter: Callable[[Database, str], msgspec.Struct], db: Database,
           record_ids: Iterable[str]) -> dict[str, msgspec.Struct]:
    """id -> record for the ids that exist (the rules treat a missing id as "does not exist")."""
    found = {}
    for record_id in record_ids:
        try:
            found[record_id] = getter(db, record_id)
        except NotFound:
            pass
    return found


def validate_pathway(db: Database, pathway: Pathway, *, today: dt.date | None = None) -> None:
    """Raise PathwayInvalid for the first broken invariant (see ``rules.validate_pathway``),
    with the services, contacts and substitutes the pathway names loaded from the database."""
    today = today or hours.now().date()
    services = _found(get_service, db, {step.service_id for step in pathway.steps})
    contacts = _found(get_contact, db, {step.contact_id for step in pathway.steps})
    contacts |= _found(get_contact, db,
                       rules.substitute_ids(pathway, contacts, today=today) - contacts.keys())
    rules.validate_pathway(pathway, services, contacts, today=today)
    if any(step.role for step in pathway.steps):
        rules.validate_roles(pathway, competence.referrals(db, pathway))


def _revalidate_pathways(db: Database, pathway_ids: Iterable[str]) -> None:
    for pathway_id in sorted(set(pathway_ids)):
        pathway = get_pathway(db, pathway_id)
        if pathway.status == "active":
            validate_pathway(db, pathway)


def check_all(db: Database, *, today: dt.date | None = None) -> list[str]:
    """Every problem in the stored directory, one line each (empty when all is well)."""
    problems = []
    for pathway in list_pathways(db, status="active"):
        try:
            validate_pathway(db, pathway, today=today)
        except PathwayInvalid as exc:
            problems.append(str(exc))
    for service in iter_services(db):
        if not service.contact_ids:
            problems.append(f"service {service.name!r}: no contact person")
        for field, rows in (("schedules", service.schedules),):
            try:
                _check_schedules(rows, field)
            except InvalidData as exc:
                problems.append(f"service {service.name!r}: {exc}")
    for contact in list_contacts(db):
        for absence in contact.absences:
            if absence.substitute_id and not exists(db, "contact", absence.substitute_id):
                problems.append(f"contact {contact.name!r}: substitute does not exist")
        if not contact.phones and not contact.email:
            problems.append(f"contact {contact.name!r}: no phone and no e-mail")
    return problems


# --- Saves --------------------------------------------------------------------------------


def _upsert(db: Database, entity: str, obj: msgspec.Struct) -> None:
    table, _, links = ENTITIES[entity]
    db[table].upsert(to_row(obj, exclude=links), pk="id")


def _current(db: Database, entity: str, entity_id: str) -> msgspec.Struct | None:
    try:
        return get(db, entity, entity_id)
    except NotFound:
        return None


def _write(db: Database, entity: str, obj: msgspec.Struct, actor: str,
           save_links=None) -> msgspec.Struct:
    check_record(obj)
    try:
        with transaction(db):
            before = _current(db, entity, obj.id)
            _upsert(db, entity, obj)
            if save_links:
                save_links()
            after = get(db, entity, obj.id)
            audit.record_diff(db, actor, entity, before, after)
            return after
    except sqlite3.IntegrityError as exc:
        raise InvalidData(f"{entity} {obj.id!r}: {exc}") from None


def save_organization(db: Database, org: Organization, *, actor: str) -> Organization:
    check_id(org.id)
    return _write(db, "organization", org, actor)


def save_location(db: Database, location: Location, *, actor: str) -> Location:
    check_id(location.id)
    require(db, "organization", location.organization_id, "organization_id")
    if location.latitude is not None and not -90 <= location.latitude <= 90:
        raise InvalidData("latitude must be between -90 and 90", field="latitude")
    if location.longitude is not None and not -180 <= location.longitude <= 180:
        raise InvalidData("longitude must be between -180 and 180", field="longitude")
    return _write(db, "location", location, actor)


def save_contact(db: Database, contact: Contact, *, actor: str) -> Contact:
    check_id(contact.id)
    require(db, "organization", contact.organization_id, "organization_id")
    _check_schedules(contact.availability, "availability")
    _check_dates(contact.absences, "absences")
    for i, absence in enumerate(contact.absences):
        if absence.substitute_id is not None:
            if absence.substitute_id == contact.id:
                raise InvalidData("a contact cannot be their own substitute",
                                  field=f"absences[{i}].substitute_id")
            require(db, "contact", absence.substitute_id, f"absences[{i}].substitute_id")
    with transaction(db):
        saved = _write(db, "contact", contact, actor)
        # Deactivating someone, or an absence without substitute, must not strand a pathway,
        # nor the pathways whose roles resolve to one of this person's services.
        roles = {role for service_id in services_for_contact(db, contact.id)
                 for role in get_service(db, service_id).acts_as}
        _revalidate_pathways(db, [*pathways_using(db, contact_id=contact.id),
                                  *pathways_with_role(db, roles)])
        return saved


def save_term(db: Database, term: TaxonomyTerm, *, actor: str) -> TaxonomyTerm:
    if term.parent_id is not None:
        require(db, "taxonomy_term", term.parent_id, "parent_id")
    return _write(db, "taxonomy_term", term, actor)


def save_service(db: Database, service: Service, *, actor: str) -> Service:
    check_id(service.id)
    require(db, "organization", service.organization_id, "organization_id")
    for field, entity, values in (("needs", "taxonomy_term", service.needs),
                                  ("location_ids", "location", service.location_ids),
                                  ("contact_ids", "contact", service.contact_ids)):
        if len(set(values)) != len(values):
            raise InvalidData(f"{field}: the same id is listed twice", field=field)
        for i, value in enumerate(values):
            require(db, entity, value, f"{field}[{i}]")
    _check_schedules(service.schedules, "schedules")
    _check_dates(service.closures, "closures")
    _check_areas(service.areas)
    for i, row in enumerate(service.schedules):
        if row.location_id is not None and row.location_id not in service.location_ids:
            raise InvalidData(f"schedules[{i}].location_id is not a location of this service",
                              field=f"schedules[{i}].location_id")

    def links() -> None:
        sid = service.id
        for table in ("service_terms", "service_at_locations", "service_contacts"):
            db.execute(f"delete from {table} where service_id = ?", [sid])
        db["service_terms"].insert_all(
            [{"service_id": sid, "term_id": t, "position": i}
             for i, t in enumerate(service.needs)])
        db["service_at_locations"].insert_all(
            [{"id": service_at_location_id(sid, loc), "service_id": sid, "location_id": loc,
              "position": i} for i, loc in enumerate(service.location_ids)])
        db["service_contacts"].insert_all(
            [{"service_id": sid, "contact_id": c, "position": i}
             for i, c in enumerate(service.contact_ids)])

    with transaction(db):
        before = _current(db, "service", service.id)
        saved = _write(db, "service", service, actor, links)
        # A change of areas, role or status moves where a role sends people: the pathways
        # with that role are checked again, for every commune they cover.
        roles = set(service.acts_as) | set(before.acts_as if before else ())
        _revalidate_pathways(db, [*pathways_using(db, service_id=service.id),
                                  *pathways_with_role(db, roles)])
        return saved


def save_pathway(db: Database, pathway: Pathway, *, actor: str) -> Pathway:
    check_id(pathway.id)
    for i, term in enumerate(pathway.themes):
        require(db, "taxonomy_term", term, f"themes[{i}]")
    for i, name in enumerate(pathway.communes):
        if communes.commune(name) is None:
            raise InvalidData(f"communes[{i}]: unknown commune {name!r}", field=f"communes[{i}]")
    if pathway.status == "active":
        validate_pathway(db, pathway)

    def links() -> None:
        pid = pathway.id
        db.execute("delete from pathway_terms where pathway_id = ?", [pid])
        db.execute("delete from pathway_steps where pathway_id = ?", [pid])
        db["pathway_terms"].insert_all(
            [{"pathway_id": pid, "term_id": t, "position": i}
             for i, t in enumerate(pathway.themes)])
        db["pathway_steps"].insert_all(
            [{"pathway_id": pid, "position": i, "service_id": s.service_id, "role": s.role,
              "location_id": s.location_id, "contact_id": s.contact_id, "action": s.action,
              "bring": json.dumps(s.bring, ensure_ascii=False), "fallback": s.fallback}
             for i, s in enumerate(pathway.steps)])

    return _write(db, "pathway", pathway, actor, links)


_SAVERS = {
    "organization": save_organization,
    "location": save_location,
    "contact": save_contact,
    "taxonomy_term": save_term,
    "service": save_service,
    "pathway": save_pathway,
}


def save(db: Database, obj: msgspec.Struct, *, actor: str) -> msgspec.Struct:
    """Save any aggregate (create or replace), with its checks and its audit rows."""
    entity = next(name for name, (_, cls, _) in ENTITIES.items() if isinstance(obj, cls))
    return _SAVERS[entity](db, obj, actor=actor)


class _DryRun(Exception):
    pass


def check_save(db: Database, obj: msgspec.Struct, *, actor: str) -> None:
    """Run every check ``save`` would (references, schedules, pathway invariants, the
    revalidation of pathways that use the record) and roll everything back: the live
    validation of the staff editor. Raises what ``save`` would raise."""
    try:
        with transaction(db):
            save(db, obj, actor=actor)
            raise _DryRun
    except _DryRun:
        pass


def mark_verified(db: Database, entity: str, entity_id: str, *, actor: str,
                  day: dt.date) -> msgspec.Struct:
    """Record that a person checked a service or contact and found it still correct.

    Goes through the normal save (checks, pathway revalidation, audit rows), so the audit
    trail shows who confirmed what and when.
    """
    if entity not in ("service", "contact"):
        raise InvalidData(f"only services and contacts carry a verification, not {entity}",
                          field="entity")
    record = get(db, entity, entity_id)
    return save(db, msgspec.structs.replace(record, assured_date=day, assured_by=actor),
                actor=actor)


# --- Deletes ------------------------------------------------------------------------------


def _references(db: Database, entity: str, entity_id: str) -> list[str]:
    """Plain descriptions of what still points at a record (empty = safe to delete)."""
    def names(sql: str, table: str, column: str = "name") -> list[str]:
        found = ids(db, sql, [entity_id])
        return [row[column] for row in db.query(
            f"select {column} from [{table}] where id in ({','.join('?' * len(found))})",
            found)]

    refs = []
    if entity == "organization":
        for table, label in (("services", "service"), ("locations", "location"),
                             ("contacts", "contact")):
            n = db.execute(f"select count(*) from [{table}] where organization_id = ?",
                           [entity_id]).fetchone()[0]
            if n:
                refs.append(f"{n} {label}(s)")
    elif entity in ("service", "contact", "location"):
        column = {"service": "service_id", "contact": "contact_id",
                  "location": "location_id"}[entity]
        refs += [f"pathway {n!r}" for n in names(
            f"select pathway_id from pathway_steps where {column} = ?", "pathways", "need")]
        if entity == "contact":
            refs += [f"service {n!r}" for n in names(
                "select service_id from service_contacts where contact_id = ?", "services")]
            refs += [f"absence substitute for {c.name!r}" for c in list_contacts(db)
                     if any(a.substitute_id == entity_id for a in c.absences)]
        if entity == "location":
            refs += [f"service {n!r}" for n in names(
                "select service_id from service_at_locations where location_id = ?",
                "services")]
    elif entity == "taxonomy_term":
        for sql in ("select count(*) from service_terms where term_id = ?",
                    "select count(*) from pathway_terms where term_id = ?",
                    "select count(*) from taxonomy_terms where parent_id = ?"):
            if db.execute(sql, [entity_id]).fetchone()[0]:
                refs.append("services, pathways or sub-needs")
                break
    return refs


def delete(db: Database, entity: str, entity_id: str, *, actor: str) -> None:
    """Delete a record; refuses (Conflict) while anything still references it."""
    table, _, _ = ENTITIES[entity]
    before = get(db, entity, entity_id)
    refs = _references(db, entity, entity_id)
    if refs:
        raise Conflict(f"{entity} {entity_id!r} is still used by: " + ", ".join(refs))
    with transaction(db):
        if entity == "service":
            for link in ("service_terms", "service_at_locations", "service_contacts"):
                db.execute(f"delete from {link} where service_id = ?", [entity_id])
        if entity == "pathway":
            db.execute("delete from pathway_terms where pathway_id = ?", [entity_id])
            db.execute("delete from pathway_steps where pathway_id = ?", [entity_id])
        db.execute(f"delete from [{table}] where id = ?", [entity_id])
        audit.record_diff(db, actor, entity, before, None)


# --- Bulk import (benchmarks and importers) -----------------------------------------------


def bulk_create(db: Database, organizations: Iterable[Organization] = (),
                locations: Iterable[Location] = (), services: Iterable[Service] = (), *,
                actor: str, batch_size: int = 2000) -> int:
    """Create many new organisations, locations and services in one transaction.

    Rows and links are inserted in batches, with one "create" audit row per record (so the
    generation moves and search picks the records up). SQLite's foreign keys check the
    references; the per-record domain checks of ``save_*`` are not run, which is what makes
    it fast: callers pass records they built themselves. Returns the number of records.
    """
    organizations, locations, services = list(organizations), list(locations), list(services)
    batches = (("organization", organizations), ("location", locations),
               ("service", services))
    with transaction(db):
        for entity, records in batches:
            table, _, links = ENTITIES[entity]
            db[table].insert_all((to_row(r, exclude=links) for r in records),
                                 batch_size=batch_size)
        db["service_terms"].insert_all(
            ({"service_id": s.id, "term_id": t, "position": i}
             for s in services for i, t in enumerate(s.needs)), batch_size=batch_size)
        db["service_at_locations"].insert_all(
            ({"id": service_at_location_id(s.id, loc), "service_id": s.id, "location_id": loc,
              "position": i} for s in services for i, loc in enumerate(s.location_ids)),
            batch_size=batch_size)
        db["service_contacts"].insert_all(
            ({"service_id": s.id, "contact_id": c, "position": i}
             for s in services for i, c in enumerate(s.contact_ids)), batch_size=batch_size)
        audit.record_creations(db, actor, batches, batch_size=batch_size)
    return len(organizations) + len(locations) + len(services)

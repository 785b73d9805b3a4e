"""The only module that touches the database.

Plain functions over a sqlite-utils ``Database``. Every write is one transaction that also
records the change in the ``audit`` table (who, when, entity, field, before, after); a write that
would break a rule (a dangling reference, a pathway invariant) raises a domain error and leaves
the database exactly as it was.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import sqlite3
import uuid
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any, TypeVar

import msgspec
from sqlite_utils import Database

from . import hours, rules
from .errors import Conflict, InvalidData, NotFound, PathwayInvalid
from .fields import check_record
from .migrations import migrations
from .models import (
    AuditEntry,
    Contact,
    Location,
    Organization,
    Pathway,
    PathwayStep,
    Service,
    TaxonomyTerm,
)

T = TypeVar("T", bound=msgspec.Struct)

#: entity name -> (table, Struct, fields stored in link tables rather than columns)
ENTITIES: dict[str, tuple[str, type[msgspec.Struct], tuple[str, ...]]] = {
    "organization": ("organizations", Organization, ()),
    "location": ("locations", Location, ()),
    "contact": ("contacts", Contact, ()),
    "taxonomy_term": ("taxonomy_terms", TaxonomyTerm, ()),
    "service": ("services", Service, ("needs", "location_ids", "contact_ids")),
    "pathway": ("pathways", Pathway, ("themes", "steps")),
}


# --- Connection ---------------------------------------------------------------------------


def connect(path: str | Path, *, migrate: bool = True) -> Database:
    """Open the directory database (creating it), with WAL and foreign keys on.

    ``check_same_thread=False`` because the server hands a connection to a worker thread per
    request; each connection is still used by one thread at a time.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    conn = sqlite3.connect(str(path), check_same_thread=False, timeout=30)
    db = Database(conn)
    db.execute("PRAGMA journal_mode=WAL")
    db.execute("PRAGMA foreign_keys=ON")
    db.execute("PRAGMA busy_timeout=30000")
    db.execute("PRAGMA synchronous=NORMAL")
    if migrate:
        migrations.apply(db)
    return db


@contextlib.contextmanager
def transaction(db: Database) -> Iterator[Database]:
    """One write transaction that takes the write lock up front (``BEGIN IMMEDIATE``).

    sqlite-utils' ``atomic()`` starts with a deferred ``BEGIN``: our writes read first (the
    record before, the rules) and only then write. In WAL mode, once another connection has
    committed in between, SQLite cannot upgrade that read transaction to a write and fails at
    once with "database is locked" without waiting for the busy timeout. Taking the lock first
    makes concurrent writers queue on the busy timeout instead. Nested calls are savepoints.
    """
    if db.conn.in_transaction:
        with db.atomic():  # a savepoint inside the outer transaction
            yield db
        return
    db.conn.execute("BEGIN IMMEDIATE")
    try:
        yield db
    except BaseException:
        if db.conn.in_transaction:
            db.conn.execute("ROLLBACK")
        raise
    else:
        try:
            db.conn.execute("COMMIT")
        except BaseException:
            if db.conn.in_transaction:
                db.conn.execute("ROLLBACK")
            raise


def is_empty(db: Database) -> bool:
    return not db["organizations"].exists() or db["organizations"].count == 0


# --- Row <-> Struct -----------------------------------------------------------------------

_JSON_FIELDS: dict[type, frozenset[str]] = {}


def _json_fields(cls: type[msgspec.Struct]) -> frozenset[str]:
    if cls not in _JSON_FIELDS:
        info = msgspec.inspect.type_info(cls)
        names = set()
        for f in info.fields:
            types = f.type.types if isinstance(f.type, msgspec.inspect.UnionType) else (f.type,)
            if any(
                isinstance(t, (msgspec.inspect.ListType, msgspec.inspect.DictType,
                               msgspec.inspect.StructType))
                for t in types
            ):
                names.add(f.name)
        _JSON_FIELDS[cls] = frozenset(names)
    return _JSON_FIELDS[cls]


def _to_row(obj: msgspec.Struct, exclude: Iterable[str] = ()) -> dict[str, Any]:
    json_fields = _json_fields(type(obj))
    row = {}
    for name, value in msgspec.structs.asdict(obj).items():
        if name in exclude:
            continue
        value = msgspec.to_builtins(value)
        if name in json_fields:
            value = json.dumps(value, ensure_ascii=False)
        elif isinstance(value, bool):
            value = int(value)
        row[name] = value
    return row


def _from_row(cls: type[T], row: dict[str, Any], **extra: Any) -> T:
    json_fields = _json_fields(cls)
    data = {}
    for key, value in row.items():
        if value is None:
            continue  # let the Struct default apply
        if key in json_fields:
            value = json.loads(value)
        data[key] = value
    data.update(extra)
    return msgspec.convert(data, cls, strict=False)


def _dump(value: Any) -> str | None:
    return None if value is None else json.dumps(msgspec.to_builtins(value), ensure_ascii=False)


# --- Audit --------------------------------------------------------------------------------


def _utcnow() -> str:
    return dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")


def _audit(db: Database, actor: str, action: str, entity: str, entity_id: str,
           field: str, before: Any, after: Any) -> None:
    db["audit"].insert(
        {
            "at": _utcnow(), "actor": actor, "action": action, "entity": entity,
            "entity_id": entity_id, "field": field,
            "before": _dump(before), "after": _dump(after),
        }
    )


def _audit_diff(db: Database, actor: str, entity: str, before: msgspec.Struct | None,
                after: msgspec.Struct | None) -> None:
    if before is None and after is not None:
        _audit(db, actor, "create", entity, after.id, "*", None, after)
    elif after is None and before is not None:
        _audit(db, actor, "delete", entity, before.id, "*", before, None)
    else:
        old, new = msgspec.to_builtins(before), msgspec.to_builtins(after)
        for field in new:
            if old.get(field) != new.get(field):
                _audit(db, actor, "update", entity, after.id, field, old.get(field), new.get(field))


def history(db: Database, entity: str, entity_id: str) -> list[AuditEntry]:
    """Every recorded change of one record, oldest first."""
    rows = db.query(
        "select * from audit where entity = ? and entity_id = ? order by id",
        [entity, entity_id],
    )
    return [
        AuditEntry(
            id=r["id"], at=dt.datetime.fromisoformat(r["at"]), actor=r["actor"],
            action=r["action"], entity=r["entity"], entity_id=r["entity_id"],
            field=r["field"] or "*",
            before=json.loads(r["before"]) if r["before"] else None,
            after=json.loads(r["after"]) if r["after"] else None,
        )
        for r in rows
    ]


def generation(db: Database) -> int:
    """A number that grows with every write: the id of the newest audit row."""
    row = next(db.query("select max(id) as g from audit"))
    return row["g"] or 0


def changes_since(db: Database, since: int) -> tuple[int, set[tuple[str, str]]]:
    """(current generation, the (entity, id) pairs written after generation ``since``)."""
    changed = set()
    top = since
    for row in db.query(
        "select id, entity, entity_id from audit where id > ? order by id", [since]
    ):
        changed.add((row["entity"], row["entity_id"]))
        top = row["id"]
    return top, changed


# --- Reads --------------------------------------------------------------------------------


def _get_row(db: Database, entity: str, entity_id: str) -> dict[str, Any]:
    table = ENTITIES[entity][0]
    try:
        uuid.UUID(str(entity_id))
    except ValueError:
        raise NotFound(entity, entity_id) from None
    return row_by_id(db, table, entity, entity_id)


def row_by_id(db: Database, table: str, entity: str, record_id: str) -> dict[str, Any]:
    """The row of ``table`` with this id, or NotFound naming ``entity``."""
    rows = list(db.query(f"select * from [{table}] where id = ?", [record_id]))
    if not rows:
        raise NotFound(entity, record_id)
    return rows[0]


def _ids(db: Database, sql: str, params: list[Any]) -> list[str]:
    return [row[0] for row in db.execute(sql, params).fetchall()]


def _service_links(db: Database, service_id: str) -> dict[str, list[str]]:
    return {
        "needs": _ids(db, "select term_id from service_terms where service_id = ? "
                          "order by position", [service_id]),
        "location_ids": _ids(db, "select location_id from service_at_locations where "
                                 "service_id = ? order by position", [service_id]),
        "contact_ids": _ids(db, "select contact_id from service_contacts where "
                                "service_id = ? order by position", [service_id]),
    }


def _pathway_links(db: Database, pathway_id: str) -> dict[str, Any]:
    steps = [
        {**row, "bring": json.loads(row["bring"] or "[]")}
        for row in db.query(
            "select service_id, location_id, contact_id, action, bring, fallback "
            "from pathway_steps where pathway_id = ? order by position", [pathway_id]
        )
    ]
    for step in steps:
        for key in [k for k, v in step.items() if v is None]:
            del step[key]
    return {
        "themes": _ids(db, "select term_id from pathway_terms where pathway_id = ? "
                           "order by position", [pathway_id]),
        "steps": steps,
    }


def get_organization(db: Database, organization_id: str) -> Organization:
    return _from_row(Organization, _get_row(db, "organization", organization_id))


def get_location(db: Database, location_id: str) -> Location:
    return _from_row(Location, _get_row(db, "location", location_id))


def get_contact(db: Database, contact_id: str) -> Contact:
    return _from_row(Contact, _get_row(db, "contact", contact_id))


def get_service(db: Database, service_id: str) -> Service:
    row = _get_row(db, "service", service_id)
    return _from_row(Service, row, **_service_links(db, service_id))


def get_pathway(db: Database, pathway_id: str) -> Pathway:
    row = _get_row(db, "pathway", pathway_id)
    return _from_row(Pathway, row, **_pathway_links(db, pathway_id))


def get_term(db: Database, term_id: str) -> TaxonomyTerm:
    return _from_row(TaxonomyTerm, _get_row(db, "taxonomy_term", term_id))


def get_term_by_code(db: Database, code: str) -> TaxonomyTerm:
    rows = list(db.query("select * from taxonomy_terms where code = ?", [code]))
    if not rows:
        raise NotFound("taxonomy_term", code)
    return _from_row(TaxonomyTerm, rows[0])


def get(db: Database, entity: str, entity_id: str) -> msgspec.Struct:
    """Any record by entity name ("service", "contact"…)."""
    return _GETTERS[entity](db, entity_id)


def _where(filters: dict[str, Any]) -> tuple[str, list[Any]]:
    clauses, params = [], []
    for column, value in filters.items():
        if value is not None:
            clauses.append(f"[{column}] = ?")
            params.append(value)
    return (" where " + " and ".join(clauses)) if clauses else "", params


def list_organizations(db: Database, *, kind: str | None = None,
                       status: str | None = None) -> list[Organization]:
    where, params = _where({"kind": kind, "status": status})
    return [_from_row(Organization, r)
            for r in db.query(f"select * from organizations{where} order by name", params)]


def list_locations(db: Database, *, organization_id: str | None = None) -> list[Location]:
    where, params = _where({"organization_id": organization_id})
    return [_from_row(Location, r)
            for r in db.query(f"select * from locations{where} order by name", params)]


def list_contacts(db: Database, *, organization_id: str | None = None,
                  status: str | None = None) -> list[Contact]:
    where, params = _where({"organization_id": organization_id, "status": status})
    return [_from_row(Contact, r) for r in db.query(
        f"select * from contacts{where} order by family_name, given_name", params)]


def _links_by_owner(db: Database, sql: str) -> dict[str, list[str]]:
    result: dict[str, list[str]] = {}
    for owner, target in db.execute(sql).fetchall():
        result.setdefault(owner, []).append(target)
    return result


def iter_services(db: Database, *, organization_id: str | None = None,
                  status: str | None = None) -> Iterator[Service]:
    """Every service with its links, in name order, without one query per service."""
    where, params = _where({"organization_id": organization_id, "status": status})
    needs = _links_by_owner(
        db, "select service_id, term_id from service_terms order by service_id, position")
    locations = _links_by_owner(
        db, "select service_id, location_id from service_at_locations "
            "order by service_id, position")
    contacts = _links_by_owner(
        db, "select service_id, contact_id from service_contacts order by service_id, position")
    for row in db.query(f"select * from services{where} order by name, id", params):
        sid = row["id"]
        yield _from_row(Service, row, needs=needs.get(sid, []),
                        location_ids=locations.get(sid, []), contact_ids=contacts.get(sid, []))


def list_services(db: Database, **filters: Any) -> list[Service]:
    return list(iter_services(db, **filters))


def list_pathways(db: Database, *, status: str | None = None) -> list[Pathway]:
    where, params = _where({"status": status})
    return [_from_row(Pathway, r, **_pathway_links(db, r["id"]))
            for r in db.query(f"select * from pathways{where} order by need", params)]


def list_terms(db: Database) -> list[TaxonomyTerm]:
    return [_from_row(TaxonomyTerm, r) for r in db.query(
        "select * from taxonomy_terms order by parent_id is not null, position, code")]


def services_for_contact(db: Database, contact_id: str) -> list[str]:
    return _ids(db, "select service_id from service_contacts where contact_id = ?", [contact_id])


def services_at_location(db: Database, location_id: str) -> list[str]:
    return _ids(db, "select service_id from service_at_locations where location_id = ?",
                [location_id])


def pathways_using(db: Database, *, service_id: str | None = None,
                   contact_id: str | None = None, location_id: str | None = None) -> list[str]:
    """Ids of pathways with a step that references the given service, contact or location."""
    column, value = next(
        (c, v) for c, v in (("service_id", service_id), ("contact_id", contact_id),
                            ("location_id", location_id)) if v is not None
    )
    return _ids(db, f"select distinct pathway_id from pathway_steps where {column} = ?", [value])


def service_at_location_id(service_id: str, location_id: str) -> str:
    """Stable id of the HSDS service_at_location link."""
    return str(uuid.uuid5(uuid.UUID(service_id), location_id))


def counts(db: Database) -> dict[str, int]:
    return {entity: db[table].count for entity, (table, _, _) in ENTITIES.items()}


# --- Validation ---------------------------------------------------------------------------


def exists(db: Database, entity: str, entity_id: str | None) -> bool:
    if entity_id is None:
        return False
    table = ENTITIES[entity][0]
    return bool(db.execute(f"select 1 from [{table}] where id = ?", [entity_id]).fetchone())


def _require(db: Database, entity: str, entity_id: str, field: str) -> None:
    if not exists(db, entity, entity_id):
        raise InvalidData(f"{field}: {entity} {entity_id!r} does not exist", field=field)


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


def _found(getter, db: Database, record_ids: Iterable[str]) -> dict[str, msgspec.Struct]:
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


# --- Writes -------------------------------------------------------------------------------


def _upsert(db: Database, entity: str, obj: msgspec.Struct) -> None:
    table, _, links = ENTITIES[entity]
    db[table].upsert(_to_row(obj, exclude=links), pk="id")


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
            _audit_diff(db, actor, entity, before, after)
            return after
    except sqlite3.IntegrityError as exc:
        raise InvalidData(f"{entity} {obj.id!r}: {exc}") from None


def _check_id(value: str, field: str = "id") -> None:
    try:
        uuid.UUID(value)
    except (ValueError, TypeError, AttributeError):
        raise InvalidData(f"{field}: {value!r} is not a UUID", field=field) from None


def save_organization(db: Database, org: Organization, *, actor: str) -> Organization:
    _check_id(org.id)
    return _write(db, "organization", org, actor)


def save_location(db: Database, location: Location, *, actor: str) -> Location:
    _check_id(location.id)
    _require(db, "organization", location.organization_id, "organization_id")
    if location.latitude is not None and not -90 <= location.latitude <= 90:
        raise InvalidData("latitude must be between -90 and 90", field="latitude")
    if location.longitude is not None and not -180 <= location.longitude <= 180:
        raise InvalidData("longitude must be between -180 and 180", field="longitude")
    return _write(db, "location", location, actor)


def save_contact(db: Database, contact: Contact, *, actor: str) -> Contact:
    _check_id(contact.id)
    _require(db, "organization", contact.organization_id, "organization_id")
    _check_schedules(contact.availability, "availability")
    _check_dates(contact.absences, "absences")
    for i, absence in enumerate(contact.absences):
        if absence.substitute_id is not None:
            if absence.substitute_id == contact.id:
                raise InvalidData("a contact cannot be their own substitute",
                                  field=f"absences[{i}].substitute_id")
            _require(db, "contact", absence.substitute_id, f"absences[{i}].substitute_id")
    with transaction(db):
        saved = _write(db, "contact", contact, actor)
        # Deactivating someone, or an absence without substitute, must not strand a pathway.
        _revalidate_pathways(db, pathways_using(db, contact_id=contact.id))
        return saved


def save_term(db: Database, term: TaxonomyTerm, *, actor: str) -> TaxonomyTerm:
    if term.parent_id is not None:
        _require(db, "taxonomy_term", term.parent_id, "parent_id")
    return _write(db, "taxonomy_term", term, actor)


def save_service(db: Database, service: Service, *, actor: str) -> Service:
    _check_id(service.id)
    _require(db, "organization", service.organization_id, "organization_id")
    for field, entity, ids in (("needs", "taxonomy_term", service.needs),
                               ("location_ids", "location", service.location_ids),
                               ("contact_ids", "contact", service.contact_ids)):
        if len(set(ids)) != len(ids):
            raise InvalidData(f"{field}: the same id is listed twice", field=field)
        for i, value in enumerate(ids):
            _require(db, entity, value, f"{field}[{i}]")
    _check_schedules(service.schedules, "schedules")
    _check_dates(service.closures, "closures")
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
        saved = _write(db, "service", service, actor, links)
        _revalidate_pathways(db, pathways_using(db, service_id=service.id))
        return saved


def save_pathway(db: Database, pathway: Pathway, *, actor: str) -> Pathway:
    _check_id(pathway.id)
    for i, term in enumerate(pathway.themes):
        _require(db, "taxonomy_term", term, f"themes[{i}]")
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
            [{"pathway_id": pid, "position": i, "service_id": s.service_id,
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


def _references(db: Database, entity: str, entity_id: str) -> list[str]:
    """Plain descriptions of what still points at a record (empty = safe to delete)."""
    def names(sql: str, table: str, column: str = "name") -> list[str]:
        ids = _ids(db, sql, [entity_id])
        return [row[column] for row in db.query(
            f"select {column} from [{table}] where id in ({','.join('?' * len(ids))})", ids)]

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
        _audit_diff(db, actor, entity, before, None)


_GETTERS = {
    "organization": get_organization,
    "location": get_location,
    "contact": get_contact,
    "taxonomy_term": get_term,
    "service": get_service,
    "pathway": get_pathway,
}


# --- api (keys, modification dates) -------------------------------------------------------

from .models import ApiKey, new_id  # noqa: E402  (this section's own imports)


def _api_key(row: dict[str, Any]) -> ApiKey:
    return msgspec.convert({k: v for k, v in row.items() if k != "hash" and v is not None},
                           ApiKey, strict=False)


def insert_api_key(db: Database, *, name: str, role: str, organization_id: str | None,
                   prefix: str, secret_hash: str, actor: str) -> ApiKey:
    """Store a new key (``access.create_api_key`` makes its secret and checks its role):
    only ``secret_hash`` is kept, and the audit row leaves it out."""
    if organization_id is not None:
        _check_id(organization_id, "organization_id")
        _require(db, "organization", organization_id, "organization_id")
    row = {"id": new_id(), "name": name, "role": role, "organization_id": organization_id,
           "prefix": prefix, "hash": secret_hash, "created_at": _utcnow(), "revoked_at": None}
    with transaction(db):
        db["api_keys"].insert(row)
        public = {k: v for k, v in row.items() if k != "hash"}
        _audit(db, actor, "create", "api_key", row["id"], "*", None, public)
    return _api_key(row)


def list_api_keys(db: Database) -> list[ApiKey]:
    return [_api_key(r) for r in db.query("select * from api_keys order by created_at, name")]


def revoke_api_key(db: Database, key_id: str, *, actor: str) -> ApiKey:
    """Revoke a key by its id or its prefix (what listings show)."""
    rows = list(db.query("select * from api_keys where id = ? or prefix = ?", [key_id, key_id]))
    if not rows:
        raise NotFound("api_key", key_id)
    if len(rows) > 1:
        raise InvalidData(f"{key_id!r} matches several keys: use the id", field="id")
    row = rows[0]
    if row["revoked_at"] is None:
        with transaction(db):
            now = _utcnow()
            db["api_keys"].update(row["id"], {"revoked_at": now})
            _audit(db, actor, "update", "api_key", row["id"], "revoked_at", None, now)
        row["revoked_at"] = now
    return _api_key(row)


def live_api_key(db: Database, secret_hash: str) -> ApiKey | None:
    """The live (not revoked) key whose secret hashes to ``secret_hash``, or None."""
    rows = list(db.query("select * from api_keys where hash = ? and revoked_at is null",
                         [secret_hash]))
    return _api_key(rows[0]) if rows else None


# Transitional: creating a key and finding one by its secret need the key policy of
# orientation.access (how a secret is made and hashed), which the store must not depend on;
# they live there now. These two names stay only for callers not yet moved (cli.py,
# api/http.py): they import access when called, never when the store is imported.


def create_api_key(db: Database, **kwargs: Any) -> tuple[ApiKey, str]:
    """Deprecated here: use ``access.create_api_key`` (same arguments and result)."""
    from . import access  # the policy layer, above the store: only at call time

    return access.create_api_key(db, **kwargs)


def find_api_key(db: Database, secret: str) -> ApiKey | None:
    """Deprecated here: use ``access.find_api_key``."""
    from . import access  # the policy layer, above the store: only at call time

    return access.find_api_key(db, secret)


def service_ids(db: Database, *, status: str | None = "active",
                organization_id: str | None = None, term_ids: Iterable[str] | None = None,
                modified_after: str | None = None) -> list[str]:
    """Ids of the services that match, in name order, without loading the services (a
    listing then loads only the page it shows). ``term_ids``: any of these needs."""
    clauses, params = [], []
    if status is not None:
        clauses.append("s.status = ?")
        params.append(status)
    if organization_id is not None:
        clauses.append("s.organization_id = ?")
        params.append(organization_id)
    if term_ids is not None:
        terms = list(term_ids)
        clauses.append("s.id in (select service_id from service_terms where term_id in "
                       f"({','.join('?' * len(terms))}))")
        params += terms
    if modified_after is not None:
        clauses.append("s.id in (select entity_id from audit where entity = 'service' "
                       "group by entity_id having max(at) >= ?)")
        params.append(modified_after)
    where = (" where " + " and ".join(clauses)) if clauses else ""
    return _ids(db, f"select s.id from services s{where} order by s.name, s.id", params)


def pathway_steps_using(db: Database, service_id: str) -> list[dict[str, Any]]:
    """The active pathways that send people to a service: id, need and step (1-based)."""
    return list(db.query(
        "select p.id, p.need, s.position + 1 as step from pathway_steps s "
        "join pathways p on p.id = s.pathway_id where s.service_id = ? and p.status = 'active' "
        "order by p.need, p.id", [service_id]))


def locations_by_service(db: Database) -> dict[str, list[str]]:
    """service id -> its location ids, in order (one query)."""
    return _links_by_owner(db, "select service_id, location_id from service_at_locations "
                               "order by service_id, position")


def service_at_location_link(db: Database, link_id: str) -> tuple[str, str]:
    """(service id, location id) of an HSDS service_at_location id."""
    row = db.execute("select service_id, location_id from service_at_locations where id = ?",
                     [link_id]).fetchone()
    if row is None:
        raise NotFound("service_at_location", link_id)
    return row[0], row[1]


def last_modified(db: Database, entity: str, ids: Iterable[str] | None = None) -> dict[str, str]:
    """entity id -> ISO time of its newest audit row (HSDS ``last_modified``)."""
    sql = "select entity_id, max(at) from audit where entity = ?"
    params: list[Any] = [entity]
    if ids is not None:
        ids = list(ids)
        sql += f" and entity_id in ({','.join('?' * len(ids))})"
        params += ids
    return dict(db.execute(sql + " group by entity_id", params).fetchall())


# --- kiosk help desk ----------------------------------------------------------------------


def insert_help_request(db: Database, row: dict[str, Any]) -> None:
    db["help_requests"].insert(row)


def get_help_request(db: Database, request_id: str) -> dict[str, Any]:
    return row_by_id(db, "help_requests", "help_request", request_id)


def list_help_requests(db: Database, *, statuses: Iterable[str] = (),
                       kiosk: str | None = None) -> list[dict[str, Any]]:
    """Help requests, oldest first, optionally only some statuses or one kiosk."""
    statuses = list(statuses)
    clauses, params = [], []
    if statuses:
        clauses.append(f"status in ({','.join('?' * len(statuses))})")
        params += statuses
    if kiosk is not None:
        clauses.append("kiosk = ?")
        params.append(kiosk)
    where = (" where " + " and ".join(clauses)) if clauses else ""
    return list(db.query(f"select * from help_requests{where} order by created_at, id", params))


def update_help_request(db: Database, request_id: str, **fields: Any) -> None:
    with transaction(db):
        db["help_requests"].update(request_id, fields)


def touch_desk_duty(db: Database, user_id: str, at: str) -> None:
    with transaction(db):
        db.execute(
            "insert into desk_duty (user_id, since, last_seen) values (?, ?, ?) "
            "on conflict(user_id) do update set last_seen = excluded.last_seen",
            [user_id, at, at])


def end_desk_duty(db: Database, user_id: str) -> None:
    with transaction(db):
        db.execute("delete from desk_duty where user_id = ?", [user_id])


def desk_duty_seen_since(db: Database, cutoff: str) -> list[str]:
    """Ids of staff whose desk page checked in at or after ``cutoff`` (ISO UTC)."""
    return _ids(db, "select user_id from desk_duty where last_seen >= ? order by since",
                [cutoff])


def on_desk_duty(db: Database, user_id: str) -> bool:
    return bool(db.execute("select 1 from desk_duty where user_id = ?", [user_id]).fetchone())


# --- staff accounts -----------------------------------------------------------------------


def insert_user(db: Database, row: dict[str, Any], *, actor: str) -> None:
    with transaction(db):
        db["users"].insert(row)
        public = {k: v for k, v in row.items() if k != "password_hash"}
        _audit(db, actor, "create", "user", row["id"], "*", None, public)


def get_user_row(db: Database, *, user_id: str | None = None,
                 username: str | None = None) -> dict[str, Any] | None:
    column, value = ("id", user_id) if user_id is not None else ("username", username)
    rows = list(db.query(f"select * from users where [{column}] = ?", [value]))
    return rows[0] if rows else None


def list_user_rows(db: Database) -> list[dict[str, Any]]:
    return list(db.query("select * from users order by username"))


def update_user(db: Database, user_id: str, fields: dict[str, Any], *,
                actor: str | None = None) -> None:
    """Change user columns; ``actor`` records the change in the audit trail (a password hash
    is never copied there)."""
    with transaction(db):
        before = get_user_row(db, user_id=user_id)
        db["users"].update(user_id, fields)
        if actor is not None and before is not None:
            for field, value in fields.items():
                if field != "password_hash" and before.get(field) != value:
                    _audit(db, actor, "update", "user", user_id, field, before.get(field), value)
                elif field == "password_hash":
                    _audit(db, actor, "update", "user", user_id, "password", None, "changed")
        if fields.get("active") == 0:
            db.execute("delete from sessions where user_id = ?", [user_id])


def insert_session(db: Database, row: dict[str, Any]) -> None:
    with transaction(db):
        db.execute("delete from sessions where expires_at < ?", [_utcnow()])
        db["sessions"].insert(row)


def get_session_row(db: Database, token_hash: str) -> dict[str, Any] | None:
    rows = list(db.query("select * from sessions where token_hash = ?", [token_hash]))
    return rows[0] if rows else None


def delete_session(db: Database, token_hash: str) -> None:
    with transaction(db):
        db.execute("delete from sessions where token_hash = ?", [token_hash])


def app_secret(db: Database, name: str, factory) -> str:
    """A server-generated secret, created by ``factory()`` on first use and kept."""
    with transaction(db):
        db.execute("insert or ignore into app_secrets (name, value) values (?, ?)",
                   [name, factory()])
        return db.execute("select value from app_secrets where name = ?", [name]).fetchone()[0]


# --- staff console (login throttling, problem reports, slip follow-up, verification) -------


def add_login_failure(db: Database, keys: Iterable[str], at: str, *, purge_before: str) -> None:
    with transaction(db):
        db.execute("delete from login_failures where at < ?", [purge_before])
        db["login_failures"].insert_all([{"key": k, "at": at} for k in keys])


def count_login_failures(db: Database, key: str, since: str) -> int:
    return db.execute("select count(*) from login_failures where key = ? and at >= ?",
                      [key, since]).fetchone()[0]


def clear_login_failures(db: Database, key: str) -> None:
    with transaction(db):
        db.execute("delete from login_failures where key = ?", [key])


def insert_problem_report(db: Database, row: dict[str, Any]) -> None:
    with transaction(db):
        db["problem_reports"].insert(row)


def get_problem_report(db: Database, report_id: str) -> dict[str, Any]:
    return row_by_id(db, "problem_reports", "problem_report", report_id)


def _report_where(**filters: str | None) -> tuple[str, list[Any]]:
    columns = {"organization_id": "r.organization_id = ?", "status": "r.status = ?",
               "service_id": "r.service_id = ?", "since": "r.created_at >= ?"}
    clauses = [columns[k] for k, v in filters.items() if v is not None]
    params = [v for v in filters.values() if v is not None]
    return (" where " + " and ".join(clauses)) if clauses else "", params


def list_problem_reports(db: Database, *, organization_id: str | None = None,
                         status: str | None = None,
                         service_id: str | None = None) -> list[dict[str, Any]]:
    """Problem reports, newest first, with the service's name."""
    where, params = _report_where(organization_id=organization_id, status=status,
                                  service_id=service_id)
    return list(db.query(
        "select r.*, s.name as service_name from problem_reports r "
        f"join services s on s.id = r.service_id{where} order by r.created_at desc, r.rowid desc",
        params))


def problem_report_counts(db: Database, *, organization_id: str | None = None,
                          status: str | None = None,
                          since: str | None = None) -> list[dict[str, Any]]:
    """(service, kind) -> number of reports, most reported services first."""
    where, params = _report_where(organization_id=organization_id, status=status,
                                  since=since)
    return list(db.query(
        "select r.service_id, s.name as service_name, r.organization_id, r.kind, "
        "count(*) as n from problem_reports r join services s on s.id = r.service_id"
        f"{where} group by r.service_id, r.kind "
        "order by sum(count(*)) over (partition by r.service_id) desc, s.name, r.kind",
        params))


def close_problem_report(db: Database, report_id: str, *, status: str, by: str,
                         at: str) -> None:
    with transaction(db):
        db["problem_reports"].update(report_id, {"status": status, "closed_by": by,
                                                 "closed_at": at})


def add_issued_slip(db: Database, *, code: str, day: str, channel: str,
                    pathway_id: str | None, services: list[str]) -> None:
    with transaction(db):
        db.execute(
            "insert into issued_slips (code, day, channel, pathway_id, services, count) "
            "values (?, ?, ?, ?, ?, 1) on conflict (code, day, channel) "
            "do update set count = count + 1",
            [code, day, channel, pathway_id, json.dumps(services)])


def issued_slip_rows(db: Database, code: str) -> list[dict[str, Any]]:
    return [{**r, "services": json.loads(r["services"])} for r in db.query(
        "select * from issued_slips where code = ? order by day", [code])]


def insert_referral_outcome(db: Database, row: dict[str, Any]) -> None:
    with transaction(db):
        db["referral_outcomes"].insert(row)


def referral_outcome_rows(db: Database, *, code: str | None = None) -> list[dict[str, Any]]:
    where, params = _where({"code": code})
    return list(db.query(f"select * from referral_outcomes{where} order by day, id", params))


def pathway_outcome_counts(db: Database, *, since: str | None = None) -> list[dict[str, Any]]:
    """Per pathway (None: slips made of services): slips issued and each outcome's count."""
    day = " and day >= ?" if since else ""
    params = [since] if since else []
    issued = db.query(
        f"select pathway_id, sum(count) as n from issued_slips where 1 = 1{day} "
        "group by pathway_id", params)
    outcomes = db.query(
        f"select pathway_id, outcome, reason, count(*) as n from referral_outcomes "
        f"where 1 = 1{day} group by pathway_id, outcome, reason", params)
    by_pathway: dict[str | None, dict[str, Any]] = {}
    for row in issued:
        by_pathway.setdefault(row["pathway_id"], {"issued": 0, "outcomes": {}})["issued"] = \
            row["n"]
    for row in outcomes:
        entry = by_pathway.setdefault(row["pathway_id"], {"issued": 0, "outcomes": {}})
        key = row["outcome"] + (f":{row['reason']}" if row["reason"] else "")
        entry["outcomes"][key] = entry["outcomes"].get(key, 0) + row["n"]
    return [{"pathway_id": pid, **data} for pid, data in by_pathway.items()]


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


def stale_records(db: Database, *, before: dt.date,
                  organization_id: str | None = None) -> list[dict[str, Any]]:
    """Active services and contacts never verified, or last verified before ``before``,
    oldest first: (entity, id, name, organization_id, assured_date, assured_by)."""
    org = " and organization_id = ?" if organization_id else ""
    params = [before.isoformat(), *([organization_id] if organization_id else [])]
    return list(db.query(
        "select * from ("
        "select 'service' as entity, id, name, organization_id, assured_date, assured_by "
        "from services where status = 'active' "
        "union all select 'contact', id, trim(coalesce(civility || ' ', '') || given_name "
        "|| ' ' || family_name), organization_id, assured_date, assured_by "
        "from contacts where status = 'active') "
        f"where (assured_date is null or assured_date < ?){org} "
        "order by assured_date is not null, assured_date, entity desc, name",
        params))


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


# --- unmet searches (orientation.unmet decides what may be kept) --------------------------


def add_unmet_search(db: Database, *, week: str, channel: str, terms: str, zero: int,
                     low: int) -> None:
    """Add to the counters of (week, channel, terms): ``zero`` searches that found nothing,
    ``low`` that found too little."""
    with transaction(db):
        db.execute(
            "insert into unmet_searches (week, channel, terms, zero, low) values (?, ?, ?, ?, ?) "
            "on conflict (week, channel, terms) do update set zero = zero + excluded.zero, "
            "low = low + excluded.low",
            [week, channel, terms, zero, low],
        )


def unmet_search_counts(db: Database, *, since_week: str | None = None,
                        channel: str | None = None, min_seen: int) -> list[dict[str, Any]]:
    """(week, terms, zero, low) summed over channels, for terms seen at least ``min_seen``
    times that week: newest week first, then most seen."""
    params: list[Any] = []
    where = []
    if since_week:
        where.append("week >= ?")
        params.append(since_week)
    if channel:
        where.append("channel = ?")
        params.append(channel)
    sql = (
        "select week, terms, sum(zero) as zero, sum(low) as low from unmet_searches"
        + (" where " + " and ".join(where) if where else "")
        + " group by week, terms having sum(zero) + sum(low) >= ?"
        " order by week desc, sum(zero) + sum(low) desc, terms"
    )
    return list(db.query(sql, [*params, min_seen]))


# --- search (bulk import for benchmarks and importers) -------------------------------------


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
    with transaction(db):
        for entity, records in (("organization", organizations), ("location", locations),
                                ("service", services)):
            table, _, links = ENTITIES[entity]
            db[table].insert_all((_to_row(r, exclude=links) for r in records),
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
        now = _utcnow()
        db["audit"].insert_all(
            ({"at": now, "actor": actor, "action": "create", "entity": entity,
              "entity_id": r.id, "field": "*", "before": None, "after": None}
             for entity, records in (("organization", organizations),
                                     ("location", locations), ("service", services))
             for r in records), batch_size=batch_size)
    return len(organizations) + len(locations) + len(services)


def audit_origin(db: Database) -> str:
    """What the first audit row says ("<time> <entity> <id>"): tells one database's history
    from another's, so a search index built from another database is not reused."""
    row = next(db.query("select at, entity, entity_id from audit order by id limit 1"), None)
    return f"{row['at']} {row['entity']} {row['entity_id']}" if row else ""

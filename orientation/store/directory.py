"""Reading the directory: the six aggregates (organisations, locations, contacts, taxonomy
terms, services, pathways) and the questions asked across them.

A service's needs, places and contacts, and a pathway's themes and steps, live in link tables
(so SQLite refuses a dangling reference); the readers here put them back on the Struct. Writes
are in :mod:`.writes`.
"""

from __future__ import annotations

import datetime as dt
import json
import uuid
from collections.abc import Iterable, Iterator
from typing import Any

import msgspec
from sqlite_utils import Database

from ..errors import NotFound
from ..models import (
    AccessRules,
    Area,
    Contact,
    Location,
    Organization,
    Pathway,
    Service,
    TaxonomyTerm,
)
from .connection import from_row, ids, links_by_owner, row_by_id, where

#: entity name -> (table, Struct, fields stored in link tables rather than columns)
ENTITIES: dict[str, tuple[str, type[msgspec.Struct], tuple[str, ...]]] = {
    "organization": ("organizations", Organization, ()),
    "location": ("locations", Location, ()),
    "contact": ("contacts", Contact, ()),
    "taxonomy_term": ("taxonomy_terms", TaxonomyTerm, ()),
    "service": ("services", Service, ("needs", "location_ids", "contact_ids")),
    "pathway": ("pathways", Pathway, ("themes", "steps")),
}


def is_empty(db: Database) -> bool:
    return not db["organizations"].exists() or db["organizations"].count == 0


def _get_row(db: Database, entity: str, entity_id: str) -> dict[str, Any]:
    table = ENTITIES[entity][0]
    try:
        uuid.UUID(str(entity_id))
    except ValueError:
        raise NotFound(entity, entity_id) from None
    return row_by_id(db, table, entity, entity_id)


def _service_links(db: Database, service_id: str) -> dict[str, list[str]]:
    return {
        "needs": ids(db, "select term_id from service_terms where service_id = ? "
                         "order by position", [service_id]),
        "location_ids": ids(db, "select location_id from service_at_locations where "
                                "service_id = ? order by position", [service_id]),
        "contact_ids": ids(db, "select contact_id from service_contacts where "
                               "service_id = ? order by position", [service_id]),
    }


def _pathway_links(db: Database, pathway_id: str) -> dict[str, Any]:
    steps = [
        {**row, "bring": json.loads(row["bring"] or "[]")}
        for row in db.query(
            "select service_id, role, location_id, contact_id, action, bring, fallback "
            "from pathway_steps where pathway_id = ? order by position", [pathway_id]
        )
    ]
    for step in steps:
        for key in [k for k, v in step.items() if v is None]:
            del step[key]
    return {
        "themes": ids(db, "select term_id from pathway_terms where pathway_id = ? "
                          "order by position", [pathway_id]),
        "steps": steps,
    }


def get_organization(db: Database, organization_id: str) -> Organization:
    return from_row(Organization, _get_row(db, "organization", organization_id))


def get_location(db: Database, location_id: str) -> Location:
    return from_row(Location, _get_row(db, "location", location_id))


def get_contact(db: Database, contact_id: str) -> Contact:
    return from_row(Contact, _get_row(db, "contact", contact_id))


def get_service(db: Database, service_id: str) -> Service:
    row = _get_row(db, "service", service_id)
    return from_row(Service, row, **_service_links(db, service_id))


def get_pathway(db: Database, pathway_id: str) -> Pathway:
    row = _get_row(db, "pathway", pathway_id)
    return from_row(Pathway, row, **_pathway_links(db, pathway_id))


def get_term(db: Database, term_id: str) -> TaxonomyTerm:
    return from_row(TaxonomyTerm, _get_row(db, "taxonomy_term", term_id))


def get_term_by_code(db: Database, code: str) -> TaxonomyTerm:
    rows = list(db.query("select * from taxonomy_terms where code = ?", [code]))
    if not rows:
        raise NotFound("taxonomy_term", code)
    return from_row(TaxonomyTerm, rows[0])


# --- Many records at once -------------------------------------------------------------------
#
# A result page shows tens of records; reading each with its own queries (a row, then each link
# table) made a page cost hundreds of statements. These read a page of ids in a fixed number of
# statements (one per table, ``in (…)``), with plain cursors: sqlite-utils' ``query()`` wraps
# every statement in a savepoint, which doubles the statements and takes a read lock each time.

#: Ids per ``in (…)``: well under SQLite's limit on bound parameters (32,766 since 3.32, 999
#: before), so a long feed is read in a few statements, never refused.
_CHUNK = 500


def _wanted(record_ids: Iterable[str]) -> list[str]:
    """Distinct ids in first-seen order. Not checked as UUIDs (``get_*`` refuses a malformed
    id as NotFound): here such an id matches no row, and is not found all the same."""
    return list(dict.fromkeys(map(str, record_ids)))


def _tuples_in(db: Database, sql: str, wanted: list[str]) -> Iterator[tuple[Any, ...]]:
    """Rows (tuples) of ``sql`` (with one ``{ids}`` placeholder) for every id of ``wanted``."""
    for start in range(0, len(wanted), _CHUNK):
        chunk = wanted[start:start + _CHUNK]
        yield from db.execute(sql.format(ids=",".join("?" * len(chunk))), chunk).fetchall()


def _select_in(db: Database, sql: str, wanted: list[str]) -> Iterator[dict[str, Any]]:
    """Rows (dicts) of ``sql`` (with one ``{ids}`` placeholder) for every id of ``wanted``."""
    for start in range(0, len(wanted), _CHUNK):
        chunk = wanted[start:start + _CHUNK]
        cursor = db.execute(sql.format(ids=",".join("?" * len(chunk))), chunk)
        names = [d[0] for d in cursor.description]
        for values in cursor.fetchall():
            yield dict(zip(names, values))


def _rows(db: Database, table: str, wanted: list[str]) -> dict[str, dict[str, Any]]:
    """id -> row, in the order of ``wanted`` (missing ids are left out)."""
    found = {row["id"]: row for row in _select_in(
        db, f"select * from [{table}] where id in ({{ids}})", wanted)}
    return {i: found[i] for i in wanted if i in found}


def _links_in(db: Database, table: str, owner: str, target: str,
              wanted: list[str]) -> dict[str, list[str]]:
    """owner id -> its target ids in position order, for the owners of ``wanted``."""
    result: dict[str, list[str]] = {}
    for key, value in _tuples_in(db, f"select [{owner}], [{target}] from [{table}] where "
                                     f"[{owner}] in ({{ids}}) order by [{owner}], position",
                                 wanted):
        result.setdefault(key, []).append(value)
    return result


def _many(db: Database, cls: type[msgspec.Struct], table: str,
          record_ids: Iterable[str]) -> dict[str, Any]:
    return {i: from_row(cls, row) for i, row in _rows(db, table, _wanted(record_ids)).items()}


def get_organizations(db: Database, record_ids: Iterable[str]) -> dict[str, Organization]:
    """id -> organisation for the ids that exist, in the order asked (one statement per 500)."""
    return _many(db, Organization, "organizations", record_ids)


def get_locations(db: Database, record_ids: Iterable[str]) -> dict[str, Location]:
    return _many(db, Location, "locations", record_ids)


def get_contacts(db: Database, record_ids: Iterable[str]) -> dict[str, Contact]:
    return _many(db, Contact, "contacts", record_ids)


def get_terms(db: Database, record_ids: Iterable[str]) -> dict[str, TaxonomyTerm]:
    return _many(db, TaxonomyTerm, "taxonomy_terms", record_ids)


def get_services(db: Database, record_ids: Iterable[str]) -> dict[str, Service]:
    """id -> service with its links, what ``get_service`` gives for each id that exists, in
    the order asked: four statements for a page (the rows, then each link table)."""
    rows = _rows(db, "services", _wanted(record_ids))
    found = list(rows)
    needs = _links_in(db, "service_terms", "service_id", "term_id", found)
    places = _links_in(db, "service_at_locations", "service_id", "location_id", found)
    contacts = _links_in(db, "service_contacts", "service_id", "contact_id", found)
    return {i: from_row(Service, row, needs=needs.get(i, []), location_ids=places.get(i, []),
                        contact_ids=contacts.get(i, []))
            for i, row in rows.items()}


class Reach(msgspec.Struct, kw_only=True, frozen=True):
    """Who a service serves, read alone: its access rules and areas, what
    ``competence.competent`` looks at (it takes a Reach where it takes a Service)."""

    id: str
    access: AccessRules = msgspec.field(default_factory=AccessRules)
    areas: list[Area] = []


def services_reach(db: Database, record_ids: Iterable[str]) -> dict[str, Reach]:
    """id -> who the service serves, for the ids that exist, in the order asked: what placing
    every hit of a search needs (up to 100), in one statement of two small columns instead of
    whole records (the kiosk reads whole records only for the cards it shows)."""
    wanted = _wanted(record_ids)
    found = {}
    for row in _select_in(db, "select id, access, areas from services where id in ({ids})",
                          wanted):
        found[row["id"]] = from_row(Reach, row)
    return {i: found[i] for i in wanted if i in found}


def get_pathways(db: Database, record_ids: Iterable[str]) -> dict[str, Pathway]:
    """id -> pathway with its themes and steps, like ``get_pathway``, in three statements."""
    rows = _rows(db, "pathways", _wanted(record_ids))
    found = list(rows)
    themes = _links_in(db, "pathway_terms", "pathway_id", "term_id", found)
    steps: dict[str, list[dict[str, Any]]] = {}
    for row in _select_in(db, "select pathway_id, service_id, role, location_id, contact_id, "
                              "action, bring, fallback from pathway_steps where pathway_id in "
                              "({ids}) order by pathway_id, position", found):
        owner = row.pop("pathway_id")
        row["bring"] = json.loads(row["bring"] or "[]")
        steps.setdefault(owner, []).append({k: v for k, v in row.items() if v is not None})
    return {i: from_row(Pathway, row, themes=themes.get(i, []), steps=steps.get(i, []))
            for i, row in rows.items()}


def snapshot(db: Database) -> tuple[str, int]:
    """(database file, generation) in one statement: the key under which anything derived
    from the directory may be kept in a process, since any write moves the generation (the
    newest audit row) and a process may read several databases (tests do)."""
    row = db.execute("select (select file from pragma_database_list where name = 'main'), "
                     "(select max(id) from audit)").fetchone()
    return row[0] or "", row[1] or 0


_GETTERS = {
    "organization": get_organization,
    "location": get_location,
    "contact": get_contact,
    "taxonomy_term": get_term,
    "service": get_service,
    "pathway": get_pathway,
}


def id_by_source(db: Database, entity: str, source_id: str) -> str | None:
    """Our id of the record of ``entity`` imported earlier from ``source_id``, if any (so
    importing the same source again updates records instead of duplicating them)."""
    table = ENTITIES[entity][0]
    row = next(db.query(f"select id from [{table}] where source_id = ?", [source_id]), None)
    return row["id"] if row else None


def get(db: Database, entity: str, entity_id: str) -> msgspec.Struct:
    """Any record by entity name ("service", "contact"…)."""
    return _GETTERS[entity](db, entity_id)


def exists(db: Database, entity: str, entity_id: str | None) -> bool:
    if entity_id is None:
        return False
    table = ENTITIES[entity][0]
    return bool(db.execute(f"select 1 from [{table}] where id = ?", [entity_id]).fetchone())


def list_organizations(db: Database, *, kind: str | None = None,
                       status: str | None = None) -> list[Organization]:
    clause, params = where({"kind": kind, "status": status})
    return [from_row(Organization, r)
            for r in db.query(f"select * from organizations{clause} order by name", params)]


def list_locations(db: Database, *, organization_id: str | None = None) -> list[Location]:
    clause, params = where({"organization_id": organization_id})
    return [from_row(Location, r)
            for r in db.query(f"select * from locations{clause} order by name", params)]


def list_contacts(db: Database, *, organization_id: str | None = None,
                  status: str | None = None) -> list[Contact]:
    clause, params = where({"organization_id": organization_id, "status": status})
    return [from_row(Contact, r) for r in db.query(
        f"select * from contacts{clause} order by family_name, given_name", params)]


def iter_services(db: Database, *, organization_id: str | None = None,
                  status: str | None = None) -> Iterator[Service]:
    """Every service with its links, in name order, without one query per service."""
    clause, params = where({"organization_id": organization_id, "status": status})
    needs = links_by_owner(
        db, "select service_id, term_id from service_terms order by service_id, position")
    locations = links_by_owner(
        db, "select service_id, location_id from service_at_locations "
            "order by service_id, position")
    contacts = links_by_owner(
        db, "select service_id, contact_id from service_contacts order by service_id, position")
    for row in db.query(f"select * from services{clause} order by name, id", params):
        sid = row["id"]
        yield from_row(Service, row, needs=needs.get(sid, []),
                       location_ids=locations.get(sid, []), contact_ids=contacts.get(sid, []))


def list_services(db: Database, **filters: Any) -> list[Service]:
    return list(iter_services(db, **filters))


def list_pathways(db: Database, *, status: str | None = None) -> list[Pathway]:
    clause, params = where({"status": status})
    return [from_row(Pathway, r, **_pathway_links(db, r["id"]))
            for r in db.query(f"select * from pathways{clause} order by need", params)]


def list_terms(db: Database) -> list[TaxonomyTerm]:
    return [from_row(TaxonomyTerm, r) for r in db.query(
        "select * from taxonomy_terms order by parent_id is not null, position, code")]


def counts(db: Database) -> dict[str, int]:
    return {entity: db[table].count for entity, (table, _, _) in ENTITIES.items()}


# --- Questions across aggregates ------------------------------------------------------------


def services_for_contact(db: Database, contact_id: str) -> list[str]:
    return ids(db, "select service_id from service_contacts where contact_id = ?", [contact_id])


def services_at_location(db: Database, location_id: str) -> list[str]:
    return ids(db, "select service_id from service_at_locations where location_id = ?",
               [location_id])


def pathways_using(db: Database, *, service_id: str | None = None,
                   contact_id: str | None = None, location_id: str | None = None) -> list[str]:
    """Ids of pathways with a step that references the given service, contact or location."""
    column, value = next(
        (c, v) for c, v in (("service_id", service_id), ("contact_id", contact_id),
                            ("location_id", location_id)) if v is not None
    )
    return ids(db, f"select distinct pathway_id from pathway_steps where {column} = ?", [value])


def pathways_with_role(db: Database, roles: Iterable[str]) -> list[str]:
    """Ids of pathways with a step that names one of ``roles`` ("cpas"…)."""
    wanted = sorted(set(roles))
    if not wanted:
        return []
    return ids(db, "select distinct pathway_id from pathway_steps where role in "
                   f"({','.join('?' * len(wanted))})", wanted)


def pathway_steps_using(db: Database, service_id: str) -> list[dict[str, Any]]:
    """The active pathways that send people to a service: id, need and step (1-based)."""
    return list(db.query(
        "select p.id, p.need, s.position + 1 as step from pathway_steps s "
        "join pathways p on p.id = s.pathway_id where s.service_id = ? and p.status = 'active' "
        "order by p.need, p.id", [service_id]))


def services_acting_as(db: Database, role: str) -> list[Service]:
    """The active services that declare ``role`` (``Service.acts_as``), with their links: the
    candidates ``orientation.competence`` picks the competent one from."""
    found = ids(db, "select s.id from services s, json_each(s.acts_as) r "
                    "where r.value = ? and s.status = 'active' order by s.name, s.id", [role])
    return [get_service(db, service_id) for service_id in found]


def service_at_location_id(service_id: str, location_id: str) -> str:
    """Stable id of the HSDS service_at_location link."""
    return str(uuid.uuid5(uuid.UUID(service_id), location_id))


def service_at_location_link(db: Database, link_id: str) -> tuple[str, str]:
    """(service id, location id) of an HSDS service_at_location id."""
    row = db.execute("select service_id, location_id from service_at_locations where id = ?",
                     [link_id]).fetchone()
    if row is None:
        raise NotFound("service_at_location", link_id)
    return row[0], row[1]


def locations_by_service(db: Database) -> dict[str, list[str]]:
    """service id -> its location ids, in order (one query)."""
    return links_by_owner(db, "select service_id, location_id from service_at_locations "
                              "order by service_id, position")


def _service_filter(status: str | None, organization_id: str | None,
                    term_ids: Iterable[str] | None, modified_after: str | None
                    ) -> tuple[str, list[Any]]:
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
    return (" where " + " and ".join(clauses)) if clauses else "", params


def service_ids(db: Database, *, status: str | None = "active",
                organization_id: str | None = None, term_ids: Iterable[str] | None = None,
                modified_after: str | None = None, limit: int | None = None,
                offset: int = 0) -> list[str]:
    """Ids of the services that match, in name order, without loading the services (a
    listing then loads only the page it shows). ``term_ids``: any of these needs;
    ``limit``/``offset``: only that page of them (``count_services`` gives the total)."""
    clause, params = _service_filter(status, organization_id, term_ids, modified_after)
    page = ""
    if limit is not None:
        page = " limit ? offset ?"
        params += [limit, offset]
    return ids(db, f"select s.id from services s{clause} order by s.name, s.id{page}", params)


def count_services(db: Database, *, status: str | None = "active",
                   organization_id: str | None = None, term_ids: Iterable[str] | None = None,
                   modified_after: str | None = None) -> int:
    """How many ids ``service_ids`` gives for the same filters."""
    clause, params = _service_filter(status, organization_id, term_ids, modified_after)
    return db.execute(f"select count(*) from services s{clause}", params).fetchone()[0]


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

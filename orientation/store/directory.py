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
from ..models import Contact, Location, Organization, Pathway, Service, TaxonomyTerm
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
    if row is None:  # a record merged into another (orientation.duplicates): that one
        row = next(db.query("select record_id as id from merged_sources where entity = ? "
                            "and source_id = ?", [entity, source_id]), None)
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
    clause = (" where " + " and ".join(clauses)) if clauses else ""
    return ids(db, f"select s.id from services s{clause} order by s.name, s.id", params)


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

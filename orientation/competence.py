"""Competence: which office is the right place for a person, given the commune they live in.

A CPAS only helps people who live (or, without a home address, stay) in its commune; Actiris
registers job seekers who live in Brussels and Le Forem those who live in Wallonia; a legal aid
office (BAJ) serves its judicial district. Sending someone to the wrong one is the field
reports' "sent left and right". So each service states where it is competent (``areas``, the
HSDS ``service_areas``) and whether it serves only the residents of those areas
(``access.residents_only``), and a pathway step can name a **role** instead of one service:
"cpas", "emploi", "baj". :func:`resolve` turns a role and a commune into the competent service,
its nearest place and the named person to ask for.

A role is declared on the service that fills it (``Service.acts_as``), not derived from the
organisation's kind or from keywords: a CPAS has several services (energy, debts, the general
social desk) and only an editor knows which one is the front door; a Forem office is not a
"kind" of its own. A declared role is also checkable: the pathway invariants
(:func:`orientation.rules.validate_roles`) refuse a role that does not resolve, everywhere the
pathway is offered.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import NamedTuple

import msgspec
from sqlite_utils import Database

from . import communes
from .errors import NotFound
from .models import Area, Contact, Location, Pathway, Service
# The read module, not the store package: the store's writes validate pathways with this
# module, and reading is all it needs.
from .store.directory import get_contact, get_location, services_acting_as

#: Each role, as a slip says it to the person.
ROLES: dict[str, str] = {
    "cpas": "le CPAS de votre commune",
    "emploi": "l'office régional de l'emploi",
    "baj": "le bureau d'aide juridique de votre arrondissement",
}

#: What a region area covers among the communes the directory knows. Brabant wallon is the one
#: Walloon province of the directory, so "wallonie" covers its communes (and no Flemish one).
REGION_COMMUNES: dict[str, tuple[str, ...]] = {
    "bruxelles": communes.BRUSSELS,
    "brabant-wallon": communes.BRABANT_WALLON,
    "wallonie": communes.BRABANT_WALLON,
    "flandre": (),
}

#: The more precise an area, the better it answers "which office is mine".
_PRECISION = {"commune": 0, "region": 1, "country": 2}


class Referral(NamedTuple):
    """Where a role sends a person of a commune: the service, its place, the person to ask."""

    service: Service
    location: Location | None
    contact: Contact | None


def _in_area(area: Area, commune: str) -> bool:
    if area.kind == "country":
        return True
    if area.kind == "region":
        return commune in REGION_COMMUNES.get(area.name, ())
    return communes.commune(area.name) == commune


def served(areas: Iterable[Area]) -> set[str] | None:
    """The communes the directory knows that lie in ``areas``; None when they cover everyone
    (no area given, or the whole country). What the search's commune filter matches: "serves
    people of this commune"."""
    areas = list(areas)
    if not areas or any(a.kind == "country" for a in areas):
        return None
    found: set[str] = set()
    for area in areas:
        if area.kind == "region":
            found.update(REGION_COMMUNES.get(area.name, ()))
        elif name := communes.commune(area.name):
            found.add(name)
    return found


def covers(service: Service, commune: str | None) -> bool:
    """Whether ``commune`` lies in the service's areas (a service without areas covers all;
    an unknown commune lies in no area but the whole country)."""
    if not service.areas:
        return True
    canonical = communes.commune(commune) if commune else None
    if canonical is None:
        return any(a.kind == "country" for a in service.areas)
    return any(_in_area(a, canonical) for a in service.areas)


def competent(service: Service, commune: str | None) -> bool:
    """Whether the service can help a person who lives in ``commune`` (or stays there, without
    a home address): always, unless it serves only the residents of its areas."""
    return not service.access.residents_only or covers(service, commune)


def _precision(service: Service, commune: str) -> int:
    return min((_PRECISION[a.kind] for a in service.areas if _in_area(a, commune)),
               default=len(_PRECISION))


def _nearest(service: Service, commune: str,
             locations: Mapping[str, Location]) -> Location | None:
    """The service's place in the commune, else in a neighbouring one, else its first."""
    places = [locations[i] for i in service.location_ids if i in locations]

    def place_commune(loc: Location) -> str | None:
        a = loc.address
        return communes.commune(a.city, a.postal_code) if a else None

    for wanted in ({commune}, communes.neighbours(commune)):
        for loc in places:
            if place_commune(loc) in wanted:
                return loc
    return places[0] if places else None


def pick(role: str, commune: str, candidates: Iterable[Service],
         locations: Mapping[str, Location], contacts: Mapping[str, Contact]) -> Referral | None:
    """The competent service for ``role`` in ``commune`` among ``candidates``, with its nearest
    place and its contact (None when no active service fills the role there).

    The most precise area wins: the CPAS of the commune before a regional service; between
    equals, the name decides, so the answer never depends on the order of the database.
    """
    canonical = communes.commune(commune)
    if canonical is None:
        return None
    fitting = [s for s in candidates
               if role in s.acts_as and s.status == "active" and covers(s, canonical)]
    if not fitting:
        return None
    service = min(fitting, key=lambda s: (_precision(s, canonical), s.name, s.id))
    # The first active person who answers a public phone, else the first active one: the
    # service lists its main contact first, but a slip needs someone a person can call.
    active = [contacts[i] for i in service.contact_ids
              if i in contacts and contacts[i].status == "active"]
    contact = next((c for c in active if c.public_phones()), active[0] if active else None)
    return Referral(service, _nearest(service, canonical, locations), contact)


def _load(db: Database, role: str) -> tuple[list[Service], dict[str, Location],
                                            dict[str, Contact]]:
    services = services_acting_as(db, role)
    locations, contacts = {}, {}
    for service in services:
        for location_id in service.location_ids:
            locations[location_id] = get_location(db, location_id)
        for contact_id in service.contact_ids:
            contacts[contact_id] = get_contact(db, contact_id)
    return services, locations, contacts


def resolve(db: Database, role: str, commune: str) -> Referral | None:
    """The (service, location, contact) that fills ``role`` for a person of ``commune``.

    ``commune`` is where the person lives; a person without a home address gives the commune
    where they stay: its CPAS is competent and can give them an address of reference ("adresse
    de référence"), so the resolution is the same. None when nothing fills the role there.
    """
    if role not in ROLES:
        raise NotFound("role", role)
    return pick(role, commune, *_load(db, role))


def covered_communes(pathway: Pathway) -> list[str]:
    """The communes a pathway is for: those it names, else every commune of its region."""
    if pathway.communes:
        return [communes.commune(name) or name for name in pathway.communes]
    if pathway.region == "both":
        return list(communes.COMMUNES)
    return list(REGION_COMMUNES[pathway.region])


def referrals(db: Database, pathway: Pathway) -> dict[tuple[str, str], Referral | None]:
    """(role, commune) -> where the role sends people, for every role of the pathway's steps
    and every commune it covers: what the pathway invariants check."""
    found: dict[tuple[str, str], Referral | None] = {}
    for role in sorted({step.role for step in pathway.steps if step.role}):
        loaded = _load(db, role)
        for commune in covered_communes(pathway):
            found[(role, commune)] = pick(role, commune, *loaded)
    return found


def localize(db: Database, pathway: Pathway, commune: str | None) -> Pathway:
    """The pathway as a person of ``commune`` follows it: each step with a role points to the
    competent service, its nearest place and its contact. With no commune, or none that fills
    the role, the step keeps its default service, so the slip is never emptier than before."""
    if not commune or not any(step.role for step in pathway.steps):
        return pathway
    steps = []
    for step in pathway.steps:
        found = resolve(db, step.role, commune) if step.role else None
        if found is not None and found.contact is not None:
            step = msgspec.structs.replace(
                step, service_id=found.service.id,
                location_id=found.location.id if found.location else None,
                contact_id=found.contact.id)
        steps.append(step)
    return msgspec.structs.replace(pathway, steps=steps)

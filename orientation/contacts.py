"""Who can I call now? Named people, their hours, their absences and substitutes.

A contact is reachable when their own availability rows say so (or, when they have none, the
phone/walk-in hours of the service they answer for), they are not absent, and it is not a
public holiday. An absent person is replaced by their substitute for the length of the absence:
the field reports' "il faut quelqu'un au bout du fil" means never pointing at an empty desk.

For a need and a person's commune, the right person comes before the reachable one: first
those of services of the person's region, then of services that serve the commune (their
areas hold it, or they have none; a service for other communes' residents only is left
out), then those whose service is mainly about the need (the need listed first) before
those for whom it is one need among others, then those near (in the commune or a
neighbouring one), then the most time left to call. A shelter for
victims of violence that also lists "logement" no longer answers "logement near Ixelles"
ahead of the housing offices.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

import msgspec
from sqlite_utils import Database

from . import communes, competence, hours, store
from .errors import NotFound
from .models import Closure, Contact, Phone, Schedule, Service


class Reachable(msgspec.Struct, kw_only=True):
    contact: Contact
    service_id: str
    phones: list[Phone]
    #: When the current window closes (reachable now) or opens (next window).
    start: dt.datetime
    end: dt.datetime
    #: Set when this person answers for someone who is absent.
    replaces: Contact | None = None
    absence_reason: str | None = None
    #: With a commune: the region (slug) of a service of another region, shown as a label.
    elsewhere: str | None = None


class CallPlan(msgspec.Struct, kw_only=True):
    at: dt.datetime
    now: list[Reachable]
    #: When nobody is reachable now: the earliest next window per person, soonest first.
    upcoming: list[Reachable]


def _hours_for(contact: Contact, service: Service) -> list[Schedule]:
    if contact.availability:
        return contact.availability
    # No personal hours recorded: the person can be reached when the service answers.
    return [s for s in service.schedules if s.attending_type in ("phone", "walk_in")]


def _absences(contact: Contact) -> list[Closure]:
    return [Closure(date_from=a.date_from, date_to=a.date_to, reason=a.reason)
            for a in contact.absences]


def _phones(contact: Contact, *, staff: bool) -> list[Phone]:
    return [p for p in contact.phones if staff or p.visibility == "public"]


def _windows(db: Database, contact: Contact, service: Service, at: dt.datetime,
             staff: bool) -> tuple[Reachable | None, Reachable | None]:
    """(reachable now, next window) for the role this contact holds at this service.

    During an absence the substitute answers, on their own hours (or the service's); the
    absent person's own hours never count on absence days.
    """
    def make(person: Contact, opening: hours.Opening, replaces: Contact | None = None,
             reason: str | None = None) -> Reachable | None:
        phones = _phones(person, staff=staff)
        if not phones or person.status != "active":
            return None
        return Reachable(contact=person, service_id=service.id, phones=phones,
                         start=opening.start, end=opening.end, replaces=replaces,
                         absence_reason=reason)

    candidates_now: list[Reachable] = []
    candidates_next: list[Reachable] = []
    own = _hours_for(contact, service)
    current = hours.current_opening(own, at, closures=_absences(contact))
    if current and (r := make(contact, current)):
        candidates_now.append(r)
    following = hours.next_opening(own, at, closures=_absences(contact))
    if following and (r := make(contact, following)):
        candidates_next.append(r)
    for absence in contact.absences:
        if absence.date_to < at.date() or absence.substitute_id is None:
            continue
        try:
            substitute = store.get_contact(db, absence.substitute_id)
        except NotFound:
            continue
        # One hop only: the substitute's own absences count, their substitutes don't, so two
        # people covering each other can never loop.
        sub_hours = _hours_for(substitute, service)
        during = [Closure(date_from=dt.date.min, date_to=absence.date_from - dt.timedelta(days=1)),
                  Closure(date_from=absence.date_to + dt.timedelta(days=1), date_to=dt.date.max),
                  *_absences(substitute)]
        current = hours.current_opening(sub_hours, at, closures=during)
        if current and (r := make(substitute, current, contact, absence.reason)):
            candidates_now.append(r)
        following = hours.next_opening(sub_hours, at, closures=during)
        if following and (r := make(substitute, following, contact, absence.reason)):
            candidates_next.append(r)
    best_now = max(candidates_now, key=lambda r: r.end, default=None)
    best_next = min(candidates_next, key=lambda r: r.start, default=None)
    return best_now, best_next


def _fit(db: Database, service: Service, commune: str | None,
         needs: Sequence[str]) -> tuple[tuple[int, ...], str | None]:
    """(how well the service fits, lower is better: see the module docstring) and the other
    region's slug, if any."""
    regions, places = set(), set()
    for location_id in service.location_ids:
        try:
            address = store.get_location(db, location_id).address
        except NotFound:
            continue
        if address:
            regions.add(address.region)
            places.add(communes.commune(address.city, address.postal_code))
    wanted = set(needs)
    offer = next((n for n, need in enumerate(service.needs) if need in wanted),
                 len(service.needs)) if wanted else 0
    if commune is None:
        return (0, 0, offer, 0), None
    region = communes.region(commune)
    elsewhere = sorted(regions)[0] if region and regions and region not in regions else None
    # Its region first, then serving the commune (its areas hold it, or it has none), then
    # the need, then nearness.
    serves = 0 if competence.covers(service, commune) else 1
    near = 0 if commune in places else 1 if places & communes.neighbours(commune) else 2
    return (int(elsewhere is not None), serves, offer, near), elsewhere


def who_to_call(
    db: Database,
    service_ids: Sequence[str],
    at: dt.datetime | None = None,
    *,
    staff: bool = False,
    commune: str | None = None,
    needs: Sequence[str] = (),
) -> CallPlan:
    """The people to call for these services, right now and next.

    ``staff`` includes staff-only direct lines (for the social-worker console only). People
    without any phone line visible to the caller are left out: a name alone cannot be called.
    With ``commune`` (the person's, canonical) and ``needs`` (taxonomy ids), the people are
    ranked by how well their service fits (see the module docstring), then by time left
    (reachable now) or by the soonest window (later); services for the residents of other
    communes only are left out.
    """
    at = hours.local(at or hours.now())
    now: list[Reachable] = []
    upcoming: list[Reachable] = []
    seen_now: set[str] = set()
    fits: dict[str, tuple[int, ...]] = {}
    for service_id in service_ids:
        service = store.get_service(db, service_id)
        if commune is not None and not competence.competent(service, commune):
            continue
        fits[service.id], elsewhere = _fit(db, service, commune, needs)
        for contact_id in service.contact_ids:
            contact = store.get_contact(db, contact_id)
            if contact.status != "active":
                continue
            current, following = _windows(db, contact, service, at, staff)
            for found in (current, following):
                if found is not None:
                    found.elsewhere = elsewhere
            if current and current.contact.id not in seen_now:
                seen_now.add(current.contact.id)
                now.append(current)
            elif following and not current:
                upcoming.append(following)
    # The best fit first; then most time left (now) or the soonest window (later).
    now.sort(key=lambda r: (fits[r.service_id], -r.end.timestamp()))
    upcoming.sort(key=lambda r: (fits[r.service_id], r.start))
    return CallPlan(at=at, now=now, upcoming=upcoming)

""""Parler à une personne": anonymous help requests from a kiosk, and who is on duty.

A request records only the kiosk and the time: nothing about the person. A staff member is on
duty while their desk page is open and checking in (it polls every few seconds); when nobody is,
the kiosk does not send a request into the void but shows where a human can be reached right
now: the nearest open walk-in desks and free phone lines, with their hours.

Request life: ``pending`` → ``acknowledged`` ("Une personne arrive") → ``resolved``; a kiosk may
``cancel`` its own pending request. A request has a lifetime (setting
``help_request_minutes``): a pending one nobody answered in time, or an acknowledged one nobody
closed after three lifetimes, is ``expired`` server-side, so the kiosk says so, the idle reset
works again and the desk never sees a ghost.
"""

from __future__ import annotations

import datetime as dt
import re
import uuid
from typing import Literal

import msgspec
from sqlite_utils import Database

from . import communes, geo, hours, store
from .competence import competent
from .access import ANONYMOUS, view
from .errors import InvalidData
from .models import Location, Organization, Phone, Schedule, Service

Status = Literal["pending", "acknowledged", "resolved", "cancelled", "expired"]
OPEN_STATUSES = ("pending", "acknowledged")

#: A desk page polls every 3 s; no check-in for this long means nobody is watching it.
ON_DUTY_SECONDS = 30
#: Default lifetime of a request nobody answered, in minutes (setting help_request_minutes).
LIFETIME_MINUTES = 5.0


class HelpRequest(msgspec.Struct, kw_only=True):
    id: str
    kiosk: str
    created_at: dt.datetime
    status: Status
    acknowledged_at: dt.datetime | None = None
    acknowledged_by: str | None = None
    resolved_at: dt.datetime | None = None

    @property
    def open(self) -> bool:
        return self.status in OPEN_STATUSES


def _now(at: dt.datetime | None) -> dt.datetime:
    return (at or dt.datetime.now(dt.timezone.utc)).astimezone(dt.timezone.utc)


def _iso(at: dt.datetime) -> str:
    return at.astimezone(dt.timezone.utc).isoformat(timespec="seconds")


def _request(row: dict) -> HelpRequest:
    return msgspec.convert({k: v for k, v in row.items() if v is not None}, HelpRequest,
                           strict=False)


# --- Duty ---------------------------------------------------------------------------------


def start_duty(db: Database, user_id: str, *, at: dt.datetime | None = None) -> None:
    store.touch_desk_duty(db, user_id, _iso(_now(at)))


def stop_duty(db: Database, user_id: str) -> None:
    store.end_desk_duty(db, user_id)


def check_in(db: Database, user_id: str, *, at: dt.datetime | None = None) -> bool:
    """A desk page's poll: keeps its user on duty if they are. Returns whether they are."""
    if not store.on_desk_duty(db, user_id):
        return False
    store.touch_desk_duty(db, user_id, _iso(_now(at)))
    return True


def on_duty(db: Database, user_id: str) -> bool:
    return store.on_desk_duty(db, user_id)


def desk_staffed(db: Database, *, at: dt.datetime | None = None) -> bool:
    """Whether someone is at the desk now (on duty and their page checked in recently)."""
    cutoff = _now(at) - dt.timedelta(seconds=ON_DUTY_SECONDS)
    return bool(store.desk_duty_seen_since(db, _iso(cutoff)))


# --- Requests -----------------------------------------------------------------------------


def expire(db: Database, *, minutes: float = LIFETIME_MINUTES,
           at: dt.datetime | None = None) -> int:
    """Close the requests that outlived their lifetime: pending ones after ``minutes``
    (nobody came), acknowledged ones after three times that (nobody pressed "Terminé").
    Returns how many were closed."""
    now = _now(at)
    closed = 0
    for row in store.list_help_requests(db, statuses=OPEN_STATUSES):
        request = _request(row)
        since = request.acknowledged_at or request.created_at
        lifetime = minutes * (3 if request.status == "acknowledged" else 1)
        if now - since >= dt.timedelta(minutes=lifetime):
            store.update_help_request(db, request.id, status="expired", resolved_at=_iso(now))
            closed += 1
    return closed


def ask(db: Database, kiosk: str, *, at: dt.datetime | None = None,
        minutes: float = LIFETIME_MINUTES) -> HelpRequest:
    """Open a help request for this kiosk, or return the one already open (pressing the button
    twice must not call two people); an expired one is never reused."""
    if not kiosk.strip():
        raise InvalidData("a help request needs the kiosk's name", field="kiosk")
    expire(db, minutes=minutes, at=at)
    existing = store.list_help_requests(db, statuses=OPEN_STATUSES, kiosk=kiosk)
    if existing:
        return _request(existing[-1])
    row = {"id": str(uuid.uuid4()), "kiosk": kiosk, "created_at": _iso(_now(at)),
           "status": "pending", "acknowledged_at": None, "acknowledged_by": None,
           "resolved_at": None}
    store.insert_help_request(db, row)
    return _request(row)


def get(db: Database, request_id: str, *, minutes: float | None = None,
        at: dt.datetime | None = None) -> HelpRequest:
    """One request; with ``minutes``, expired first if it outlived its lifetime."""
    if minutes is not None:
        expire(db, minutes=minutes, at=at)
    return _request(store.get_help_request(db, request_id))


def open_requests(db: Database, *, minutes: float = LIFETIME_MINUTES,
                  at: dt.datetime | None = None) -> list[HelpRequest]:
    """Requests still waiting for or being handled by a person, oldest first (expired ones
    closed first: the desk never sees a request the kiosk has given up on)."""
    expire(db, minutes=minutes, at=at)
    return [_request(r) for r in store.list_help_requests(db, statuses=OPEN_STATUSES)]


_MOVES: dict[str, tuple[tuple[str, ...], str]] = {
    "acknowledge": (("pending",), "acknowledged"),
    "resolve": (("pending", "acknowledged"), "resolved"),
    # the idle reset cancels an acknowledged request too: the person has left the kiosk
    "cancel": (("pending", "acknowledged"), "cancelled"),
}


def _move(db: Database, request_id: str, action: str, by: str | None,
          at: dt.datetime | None) -> HelpRequest:
    request = get(db, request_id)
    allowed, target = _MOVES[action]
    if request.status == target:
        return request  # a double tap or two staff pressing at once: same outcome
    if request.status not in allowed:
        raise InvalidData(f"a {request.status} request cannot be moved to {target}",
                          field="status")
    stamp = _iso(_now(at))
    fields: dict[str, str | None] = {"status": target}
    if action == "acknowledge":
        fields |= {"acknowledged_at": stamp, "acknowledged_by": by}
    else:
        fields["resolved_at"] = stamp
    store.update_help_request(db, request_id, **fields)
    return get(db, request_id)


def acknowledge(db: Database, request_id: str, *, by: str,
                at: dt.datetime | None = None) -> HelpRequest:
    return _move(db, request_id, "acknowledge", by, at)


def resolve(db: Database, request_id: str, *, by: str,
            at: dt.datetime | None = None) -> HelpRequest:
    return _move(db, request_id, "resolve", by, at)


def cancel(db: Database, request_id: str, *, at: dt.datetime | None = None) -> HelpRequest:
    return _move(db, request_id, "cancel", None, at)


# --- Nobody on duty: where a human can be reached now ------------------------------------


class Desk(msgspec.Struct, kw_only=True):
    """A walk-in desk open now."""

    service: Service
    organization: Organization
    location: Location | None
    distance_km: float | None
    closes_at: dt.datetime


class Line(msgspec.Struct, kw_only=True):
    """A free public phone line, with the hours it answers (empty when unknown)."""

    phone: Phone
    organization: Organization
    schedules: list[Schedule]
    open_now: bool
    #: what the line is for (``line_label``)
    label: str = ""


class Fallback(msgspec.Struct, kw_only=True):
    desks: list[Desk]
    lines: list[Line]


#: What counts as an "accueil" when nobody is at the kiosk's desk: a social walk-in desk where
#: anyone can arrive with any question and be heard by a social worker. That is the general
#: social service of a CPAS (organisation kind ``cpas``, whose general service answers the
#: ``argent`` need), or a service named as a social reception desk ("accueil social", "service
#: social"). A support group, a social grocery or a training is walk-in too, but it is not where
#: someone who asked for a person should be sent: they answer one question, not any question.
ACCUEIL_KINDS = ("cpas",)
ACCUEIL_NEEDS = ("argent",)
ACCUEIL_NAMES = ("accueil social", "service social")


def is_accueil(service: Service, organization: Organization) -> bool:
    """Whether ``service`` is a social walk-in desk (see ``ACCUEIL_KINDS``)."""
    if not service.access.walk_in:
        return False
    name = service.name.casefold()
    if any(word in name for word in ACCUEIL_NAMES):
        return True
    return organization.kind in ACCUEIL_KINDS and any(n in service.needs for n in ACCUEIL_NEEDS)


def _region(location: Location | None) -> str | None:
    return location.address.region if location and location.address else None


def fallback(db: Database, *, commune: str, at: dt.datetime | None = None,
             desks: int = 2, lines: int = 3) -> Fallback:
    """Where a person can be reached when nobody is at the desk: the nearest "accueil"
    (``is_accueil``) open now for walk-in, competent for the kiosk's commune, in its region and
    in the commune or a neighbouring one; then the free phone lines (open ones first)."""
    at = _now(at).astimezone(hours.TZ)
    origin = geo.locate_commune(db, commune)
    region = communes.region(commune) or (origin.region if origin else None)
    near = communes.near(commune)
    organizations = {o.id: view(o, ANONYMOUS) for o in store.list_organizations(db)}
    locations = {loc.id: view(loc, ANONYMOUS) for loc in store.list_locations(db)}
    found: list[Desk] = []
    for service in store.iter_services(db, status="active"):
        service = view(service, ANONYMOUS)
        organization = organizations.get(service.organization_id)
        if organization is None or not is_accueil(service, organization):
            continue
        if not competent(service, commune):
            continue
        opening = hours.current_opening(
            service.schedules, at, closures=service.closures,
            open_on_public_holidays=service.open_on_public_holidays, attending=["walk_in"])
        if opening is None:
            continue
        places = [locations[i] for i in service.location_ids if i in locations]
        if opening.location_id in locations:
            places = [locations[opening.location_id]]
        places = [p for p in places
                  if (region is None or _region(p) == region)
                  and (not near or (p.address and communes.commune(p.address.city) in near))]
        if not places:
            continue
        location, distance = geo.nearest(places, origin)
        found.append(Desk(service=service, organization=organization,
                          location=location, distance_km=distance, closes_at=opening.end))
    found.sort(key=lambda d: (d.distance_km is None, d.distance_km or 0, d.service.name))

    return Fallback(desks=found[:desks],
                    lines=free_lines(db, region=region, at=at, only_region=True)[:lines])


def line_label(phone: Phone, service_name: str | None, organization: Organization) -> str:
    """What a free line is for, in a few words: its description up to the first colon or
    comma ("Écoute violences conjugales"), else the service's or organisation's name; never
    just "a free number", since the violence line is not where a gas bill question goes."""
    description = (phone.description or "").split(":")[0].split(",")[0].strip()
    # "Appel gratuit", "Gratuit et anonyme" say how, not what for: the service's name does.
    if description and set(re.findall(r"\w+", description.casefold())) - _HOW_WORDS:
        return description
    return service_name or organization.name


_HOW_WORDS = {"appel", "numéro", "ligne", "vert", "gratuit", "gratuite", "anonyme", "et", "24h", "24"}


#: Organisation kinds whose free lines answer any question (in this order of preference).
GENERAL_LINE_KINDS = ("ligne-info", "ligne-ecoute")


def free_lines(db: Database, *, region: str | None = None, at: dt.datetime | None = None,
               open_first: bool = True, only_region: bool = False) -> list[Line]:
    """Free public phone lines, lines for another region last, open ones first (or, for a
    slip read later, the region first).

    A line answers during its organisation's phone hours (the services' ``phone`` rows)."""
    at = _now(at).astimezone(hours.TZ)
    phone_rows: dict[str, list[Schedule]] = {}
    service_names: dict[str, str] = {}
    for service in store.iter_services(db, status="active"):
        phone_rows.setdefault(service.organization_id, []).extend(
            s for s in service.schedules if s.attending_type == "phone")
        for phone in service.phones:
            service_names.setdefault(phone.number, service.name)
    regions: dict[str, set[str]] = {}
    for location in store.list_locations(db):
        if location.address:
            regions.setdefault(location.organization_id, set()).add(location.address.region)
    lines: list[Line] = []
    seen: set[str] = set()
    for org in store.list_organizations(db, status="active"):
        org = view(org, ANONYMOUS)
        for phone in org.phones:
            if not phone.free or phone.number in seen:
                continue
            seen.add(phone.number)
            rows = phone_rows.get(org.id, [])
            lines.append(Line(phone=phone, organization=org, schedules=rows,
                              open_now=bool(rows) and hours.is_open(rows, at),
                              label=line_label(phone, service_names.get(phone.number), org)))
    def key(line: Line) -> tuple:
        # a regional line seen from another region (1718 from Brussels) comes last
        elsewhere = bool(region and regions.get(line.organization.id)
                         and region not in regions[line.organization.id])
        closed = not line.open_now
        # A general information line before a line for one situation: the violence line is
        # free too, but it is not what a slip about a gas bill should end with.
        specific = line.organization.kind not in GENERAL_LINE_KINDS
        return ((closed, elsewhere, specific) if open_first else (elsewhere, specific, closed)) + (
            GENERAL_LINE_KINDS.index(line.organization.kind) if not specific else 0,
            line.organization.name)

    lines.sort(key=key)
    if only_region and region:
        lines = [line for line in lines if not regions.get(line.organization.id)
                 or region in regions[line.organization.id]]
    return lines


# --- Desk hours: whether someone can come, before the tap --------------------------------


def desk_hours(spec: str) -> list[Schedule]:
    """The desk's hours from a setting like ``"MO-FR 09:00-17:00; SA 09:00-12:00"`` (empty:
    no hours known, the desk is staffed whenever someone is on duty)."""
    rows: list[Schedule] = []
    for part in filter(None, (p.strip() for p in spec.split(";"))):
        try:
            days, times = part.split()
            opens, closes = times.split("-")
            names: list[str] = []
            for chunk in days.upper().split(","):
                first, _, last = chunk.partition("-")
                a = hours.DAYS.index(first)
                b = hours.DAYS.index(last) if last else a
                names += hours.DAYS[a:b + 1]
            hours.parse_time(opens), hours.parse_time(closes)
        except ValueError:
            raise InvalidData(f"desk hours {part!r} are not like 'MO-FR 09:00-17:00'",
                              field="desk_hours") from None
        rows.append(Schedule(byday=",".join(names), opens_at=opens, closes_at=closes,
                             attending_type="walk_in"))
    return rows


def desk_expected(spec: str, *, at: dt.datetime | None = None) -> bool | None:
    """Whether someone should be at the desk now by its hours (None: no hours set)."""
    rows = desk_hours(spec)
    if not rows:
        return None
    return hours.is_open(rows, _now(at).astimezone(hours.TZ))

""""Parler à une personne": anonymous help requests from a kiosk, and who is on duty.

A request records only the kiosk and the time: nothing about the person. A staff member is on
duty while their desk page is open and checking in (it polls every few seconds); when nobody is,
the kiosk does not send a request into the void but shows where a human can be reached right
now: the nearest open walk-in desks and free phone lines, with their hours.

Request life: ``pending`` → ``acknowledged`` ("Une personne arrive") → ``resolved``; a kiosk may
``cancel`` its own pending request.
"""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Literal

import msgspec
from sqlite_utils import Database

from . import geo, hours, store
from .access import ANONYMOUS, view
from .errors import InvalidData
from .models import Location, Organization, Phone, Schedule, Service

Status = Literal["pending", "acknowledged", "resolved", "cancelled"]
OPEN_STATUSES = ("pending", "acknowledged")

#: A desk page polls every 3 s; no check-in for this long means nobody is watching it.
ON_DUTY_SECONDS = 30


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


def ask(db: Database, kiosk: str, *, at: dt.datetime | None = None) -> HelpRequest:
    """Open a help request for this kiosk, or return the one already open (pressing the button
    twice must not call two people)."""
    if not kiosk.strip():
        raise InvalidData("a help request needs the kiosk's name", field="kiosk")
    existing = store.list_help_requests(db, statuses=OPEN_STATUSES, kiosk=kiosk)
    if existing:
        return _request(existing[-1])
    row = {"id": str(uuid.uuid4()), "kiosk": kiosk, "created_at": _iso(_now(at)),
           "status": "pending", "acknowledged_at": None, "acknowledged_by": None,
           "resolved_at": None}
    store.insert_help_request(db, row)
    return _request(row)


def get(db: Database, request_id: str) -> HelpRequest:
    return _request(store.get_help_request(db, request_id))


def open_requests(db: Database) -> list[HelpRequest]:
    """Requests still waiting for or being handled by a person, oldest first."""
    return [_request(r) for r in store.list_help_requests(db, statuses=OPEN_STATUSES)]


_MOVES: dict[str, tuple[tuple[str, ...], str]] = {
    "acknowledge": (("pending",), "acknowledged"),
    "resolve": (("pending", "acknowledged"), "resolved"),
    "cancel": (("pending",), "cancelled"),
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


class Fallback(msgspec.Struct, kw_only=True):
    desks: list[Desk]
    lines: list[Line]


def fallback(db: Database, *, commune: str, at: dt.datetime | None = None,
             desks: int = 2, lines: int = 3) -> Fallback:
    """The nearest walk-in desks open now and the free phone lines (open ones first)."""
    at = _now(at).astimezone(hours.TZ)
    origin = geo.locate_commune(db, commune)
    organizations = {o.id: view(o, ANONYMOUS) for o in store.list_organizations(db)}
    locations = {loc.id: view(loc, ANONYMOUS) for loc in store.list_locations(db)}
    found: list[Desk] = []
    for service in store.iter_services(db, status="active"):
        service = view(service, ANONYMOUS)
        opening = hours.current_opening(
            service.schedules, at, closures=service.closures,
            open_on_public_holidays=service.open_on_public_holidays, attending=["walk_in"])
        if opening is None:
            continue
        places = [locations[i] for i in service.location_ids if i in locations]
        if opening.location_id in locations:
            places = [locations[opening.location_id]]
        location, distance = geo.nearest(places, origin)
        found.append(Desk(service=service, organization=organizations[service.organization_id],
                          location=location, distance_km=distance, closes_at=opening.end))
    found.sort(key=lambda d: (d.distance_km is None, d.distance_km or 0, d.service.name))

    return Fallback(desks=found[:desks],
                    lines=free_lines(db, region=origin.region if origin else None, at=at)[:lines])


#: Organisation kinds whose free lines answer any question (in this order of preference).
GENERAL_LINE_KINDS = ("ligne-info", "ligne-ecoute")


def free_lines(db: Database, *, region: str | None = None, at: dt.datetime | None = None,
               open_first: bool = True) -> list[Line]:
    """Free public phone lines, lines for another region last, open ones first (or, for a
    slip read later, the region first).

    A line answers during its organisation's phone hours (the services' ``phone`` rows)."""
    at = _now(at).astimezone(hours.TZ)
    phone_rows: dict[str, list[Schedule]] = {}
    for service in store.iter_services(db, status="active"):
        phone_rows.setdefault(service.organization_id, []).extend(
            s for s in service.schedules if s.attending_type == "phone")
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
                              open_now=bool(rows) and hours.is_open(rows, at)))
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
    return lines

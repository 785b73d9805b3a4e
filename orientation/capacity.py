"""Capacity tonight: "3 places ce soir — vérifié à 18 h 10".

A shelter, an emergency housing desk or a food bank publishes how many places (beds, meals,
parcels) it has left, from its verification link, the staff console or the API (HSDS 3.1
``service_capacity``). A person must never be sent across town on a count that is no longer
true, so a figure is shown as current only while it is younger than the ``capacity_fresh_hours``
setting; an older one is kept (the staff see it, greyed) but never offered as "tonight".

The figures are facts about the service, never about a person: no name, no count of who came.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets
from collections.abc import Iterable

import msgspec
from sqlite_utils import Database

from . import store
from .access import Caller, check_write
from .errors import InvalidData, NotFound, OrientationError

#: What is counted. "places" is a bed or a place to sleep; the others are food aid units.
UNITS = ("places", "repas", "colis")
#: The largest figure a service may publish (a typo like 2000 for 20 is refused, not shown).
MAX_AVAILABLE = 999


class Capacity(msgspec.Struct, kw_only=True, frozen=True):
    service_id: str
    unit: str
    available: int
    maximum: int | None = None
    updated: dt.datetime
    updated_by: str

    def fresh(self, at: dt.datetime, hours: float) -> bool:
        """Young enough to be shown as the current figure. A count up to five minutes "in the
        future" is current too: it was given by another worker whose clock runs a little ahead."""
        age = at - self.updated
        return -dt.timedelta(minutes=5) < age <= dt.timedelta(hours=hours)


def _now(at: dt.datetime | None) -> dt.datetime:
    return (at or dt.datetime.now(dt.UTC)).astimezone(dt.UTC)


def _convert(row: dict) -> Capacity:
    return Capacity(service_id=row["service_id"], unit=row["unit"], available=row["available"],
                    maximum=row["maximum"],
                    updated=dt.datetime.fromisoformat(row["updated_at"]),
                    updated_by=row["updated_by"])


def check(available: object, maximum: object = None, unit: object = "places") -> \
        tuple[int, int | None, str]:
    """The figures as numbers, or InvalidData naming the field in plain words."""
    if unit not in UNITS:
        raise InvalidData(f"unit must be one of {', '.join(UNITS)}", field="unit")
    values = []
    for name, value in (("available", available), ("maximum", maximum)):
        if value is None or value == "":
            values.append(None)
            continue
        if isinstance(value, bool) or not isinstance(value, (int, str)):
            raise InvalidData(f"{name} must be a whole number", field=name)
        try:
            number = int(str(value).strip())
        except ValueError:
            raise InvalidData(f"{name} must be a whole number", field=name) from None
        if not 0 <= number <= MAX_AVAILABLE:
            raise InvalidData(f"{name} must be between 0 and {MAX_AVAILABLE}", field=name)
        values.append(number)
    if values[0] is None:
        raise InvalidData("available is required", field="available")
    if values[1] is not None and values[1] < values[0]:
        raise InvalidData("available cannot be more than maximum", field="maximum")
    return values[0], values[1], str(unit)


def publish(db: Database, caller: Caller, service_id: str, *, available: object,
            maximum: object = None, unit: object = "places",
            at: dt.datetime | None = None) -> Capacity:
    """Record the current figure of a service (an editor of its organisation, an admin, or the
    organisation itself through its link: ``caller`` says who)."""
    count, top, unit = check(available, maximum, unit)
    with store.transaction(db):
        service = store.get_service(db, service_id)  # NotFound for an unknown id
        check_write(caller, [service.organization_id])
        row = {"service_id": service.id, "unit": unit, "available": count, "maximum": top,
               "updated_at": _now(at).isoformat(timespec="seconds"),
               "updated_by": caller.actor}
        store.put_capacity(db, row, caller.actor)
    return _convert(row)


def withdraw(db: Database, caller: Caller, service_id: str, unit: str = "places") -> None:
    """Stop publishing a figure (the service has no places to count any more)."""
    with store.transaction(db):
        service = store.get_service(db, service_id)
        check_write(caller, [service.organization_id])
        if not store.delete_capacity(db, service.id, unit, caller.actor):
            raise NotFound("capacity", f"{service_id}/{unit}")


def of_services(db: Database, service_ids: Iterable[str] | None = None) -> dict[str, list[Capacity]]:
    """Every kept figure of these services (fresh or not), newest first."""
    found: dict[str, list[Capacity]] = {}
    for row in store.capacity_rows(db, service_ids):
        found.setdefault(row["service_id"], []).append(_convert(row))
    return found


def current(db: Database, service_ids: Iterable[str] | None, *, hours: float,
            at: dt.datetime | None = None) -> dict[str, list[Capacity]]:
    """Only the figures young enough to show as tonight's."""
    now = _now(at)
    kept = {sid: [c for c in caps if c.fresh(now, hours)]
            for sid, caps in of_services(db, service_ids).items()}
    return {sid: caps for sid, caps in kept.items() if caps}


def has_room(capacities: Iterable[Capacity]) -> bool | None:
    """True: a current figure above zero; False: current figures, all zero; None: unknown."""
    figures = [c.available for c in capacities]
    if not figures:
        return None
    return any(figures)


# --- The organisation's lasting link ("give tonight's count from a phone") -------------------
#
# A reminder link (orientation.reminders) is single-use: it asks "is everything still true?"
# once a period. Counting free beds is every evening's job, often by night staff without an
# account, so an organisation gets a separate link that only sets counts: it lasts
# ``LINK_DAYS`` days, can be used any number of times, and an editor can revoke it (a new one
# replaces it). The token is 32 random bytes; only its SHA-256 is stored, so a copy of the
# database cannot be used to publish counts.

#: Days a capacity link lasts before the organisation needs a new one.
LINK_DAYS = 365
#: The needs whose services are asked for counts (others may publish through the API).
COUNTED_NEEDS = ("sans-abri", "aide-alimentaire")


class LinkRefused(OrientationError):
    """A capacity link that cannot be used: ``reason`` is unknown, expired or revoked."""

    code = "link-refused"
    status = 410

    def __init__(self, reason: str):
        self.reason = reason
        super().__init__(f"this link cannot be used: {reason}")


class CapacityLink(msgspec.Struct, kw_only=True):
    id: str
    organization_id: str
    created_at: dt.datetime
    expires_at: dt.datetime
    revoked_at: dt.datetime | None = None
    used_at: dt.datetime | None = None


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _link(row: dict) -> CapacityLink:
    def when(value: str | None) -> dt.datetime | None:
        return dt.datetime.fromisoformat(value) if value else None
    return CapacityLink(id=row["id"], organization_id=row["organization_id"],
                        created_at=when(row["created_at"]), expires_at=when(row["expires_at"]),
                        revoked_at=when(row["revoked_at"]), used_at=when(row["used_at"]))


def new_link(db: Database, caller: Caller, organization_id: str, *,
             at: dt.datetime | None = None) -> str:
    """A new link token for an organisation (its earlier links are revoked); shown once."""
    check_write(caller, [organization_id])
    store.get_organization(db, organization_id)  # NotFound for an unknown organisation
    now = _now(at)
    token = secrets.token_urlsafe(32)
    with store.transaction(db):
        for row in store.capacity_links_of(db, organization_id):
            store.revoke_capacity_link(db, row["id"], now.isoformat(timespec="seconds"))
        store.insert_capacity_link(db, {
            "id": secrets.token_hex(8), "organization_id": organization_id,
            "token_hash": _hash(token), "created_at": now.isoformat(timespec="seconds"),
            "created_by": caller.actor,
            "expires_at": (now + dt.timedelta(days=LINK_DAYS)).isoformat(timespec="seconds")})
    return token


def links_of(db: Database, organization_id: str) -> list[CapacityLink]:
    return [_link(row) for row in store.capacity_links_of(db, organization_id)]


def revoke(db: Database, caller: Caller, organization_id: str) -> None:
    check_write(caller, [organization_id])
    with store.transaction(db):
        for row in store.capacity_links_of(db, organization_id):
            store.revoke_capacity_link(db, row["id"], _now(None).isoformat(timespec="seconds"))


def open_link(db: Database, token: str, *, at: dt.datetime | None = None) -> CapacityLink:
    """The link of this token, or LinkRefused saying why in one word."""
    row = store.capacity_link_by_hash(db, _hash(token)) if token else None
    if row is None:
        raise LinkRefused("unknown")
    link = _link(row)
    if link.revoked_at is not None:
        raise LinkRefused("revoked")
    if _now(at) >= link.expires_at:
        raise LinkRefused("expired")
    return link


def link_caller(link: CapacityLink) -> Caller:
    """Who writes through a link: the organisation itself, as an editor of its own records."""
    return Caller(role="editor", organization_id=link.organization_id,
                  actor=f"capacity-link:{link.id}")


def counted_services(db: Database, organization_id: str) -> list:
    """The organisation's active services that are asked for counts: those answering a
    counted need, and any that already published one."""
    codes = set(_term_ids(db, COUNTED_NEEDS).values())
    services = store.list_services(db, organization_id=organization_id, status="active")
    published = of_services(db, [s.id for s in services])
    return [s for s in services if codes.intersection(s.needs) or s.id in published]


def _term_ids(db: Database, codes: Iterable[str]) -> dict[str, str]:
    """need code -> term id, for the codes this directory has (an imported one may lack some)."""
    found = {}
    for code in codes:
        try:
            found[code] = store.get_term_by_code(db, code).id
        except NotFound:
            continue
    return found


def unit_of(db: Database, service) -> str:
    """What a service counts when it has not said: food aid counts meals, the rest places."""
    food = _term_ids(db, ["aide-alimentaire"]).get("aide-alimentaire")
    return "repas" if food in service.needs else "places"


def publish_from_link(db: Database, token: str, counts: dict[str, dict[str, object]], *,
                      at: dt.datetime | None = None) -> list[Capacity]:
    """Counts given through a link: {service id: {"available": …, "maximum": …, "unit": …}};
    a service of another organisation is refused (NotFound: it is not on this link)."""
    link = open_link(db, token, at=at)
    allowed = {s.id for s in counted_services(db, link.organization_id)}
    who = link_caller(link)
    checked = []
    for service_id, figures in counts.items():
        if service_id not in allowed:
            raise NotFound("service", service_id)
        checked.append((service_id, *check(figures.get("available"), figures.get("maximum"),
                                           figures.get("unit", "places"))))
    saved = [publish(db, who, sid, available=count, maximum=top, unit=unit, at=at)
             for sid, count, top, unit in checked]
    with store.transaction(db):
        store.touch_capacity_link(db, link.id, _now(at).isoformat(timespec="seconds"))
    return saved

"""Where the kiosk stands and what is near it.

The kiosk's place is a setting (``kiosk_commune``), named as ``communes.commune()`` understands
it (a commune, a former commune or a postal code). Its position is taken from the directory
itself: the mean position of the locations whose address is in that commune. A commune with no
location in the directory has no point, and callers keep their other ordering (region, name).
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import NamedTuple

from sqlite_utils import Database

from . import communes, store
from .models import Location


class Point(NamedTuple):
    latitude: float
    longitude: float
    region: str | None = None


def distance_km(a: Point, b: Point) -> float:
    """Great-circle distance (haversine): plenty for "which office is closer"."""
    lat1, lon1, lat2, lon2 = map(math.radians, (a.latitude, a.longitude, b.latitude, b.longitude))
    h = (math.sin((lat2 - lat1) / 2) ** 2
         + math.cos(lat1) * math.cos(lat2) * math.sin((lon2 - lon1) / 2) ** 2)
    return 6371.0 * 2 * math.asin(math.sqrt(h))


#: (database file, generation, commune) -> its point: finding it reads every location, and
#: every kiosk page asks for the kiosk's commune. Any write moves the generation, so a kept
#: point is never stale; the few keys a process sees are dropped wholesale past a bound.
_POINTS: dict[tuple[str, int, str], Point | None] = {}
_POINTS_KEPT = 256


def locate_commune(db: Database, commune: str) -> Point | None:
    """The mean position of the directory's locations in a commune (None when it has none)."""
    file, generation = store.snapshot(db)
    if not file:  # an in-memory database has no name to keep it under
        return _locate(db, commune)
    key = (file, generation, commune)
    try:
        return _POINTS[key]
    except KeyError:
        pass
    point = _locate(db, commune)
    if len(_POINTS) >= _POINTS_KEPT:  # another thread may clear it too: harmless
        _POINTS.clear()
    _POINTS[key] = point
    return point


def _locate(db: Database, commune: str) -> Point | None:
    wanted = communes.commune(commune)
    found = [
        loc for loc in store.list_locations(db)
        if wanted and loc.address is not None and loc.latitude is not None
        and loc.longitude is not None
        and communes.commune(loc.address.city, loc.address.postal_code) == wanted
    ]
    if not found:
        return None
    return Point(sum(loc.latitude for loc in found) / len(found),
                 sum(loc.longitude for loc in found) / len(found),
                 communes.region(wanted) or found[0].address.region)


def point_of(location: Location) -> Point | None:
    if location.latitude is None or location.longitude is None:
        return None
    return Point(location.latitude, location.longitude,
                 location.address.region if location.address else None)


def nearest(locations: Iterable[Location], origin: Point | None) -> tuple[Location | None,
                                                                          float | None]:
    """The location closest to ``origin`` and its distance (the first one when unknown)."""
    best: tuple[Location | None, float | None] = (None, None)
    for location in locations:
        here = point_of(location)
        distance = distance_km(origin, here) if origin and here else None
        if best[0] is None or (distance is not None and (best[1] is None or distance < best[1])):
            best = (location, distance)
    return best

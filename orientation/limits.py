"""How often one caller may do something, counted in SQLite so that every worker shares it.

``orientation serve --workers 2`` runs two processes: a counter kept in memory would give each
its own budget and double every limit. The counters live in the database instead (see
``store.hit_counter``), one row per bucket and fixed window, bumped atomically.

A fixed window (aligned on the clock) was chosen over a sliding one: it needs one row and one
statement per hit and its count is exact, so N workers never let more than the limit through in
a window. Its known edge, a burst of up to twice the limit across a window boundary, is
acceptable for what these limits protect (paper, disk, CPU, the desk's attention).

Who is counted is always hashed before it is stored: the table never holds an address.
"""

from __future__ import annotations

import hashlib
import time
from typing import NamedTuple

from sqlite_utils import Database

from . import store
from .settings import Settings


class Limit(NamedTuple):
    """At most ``count`` hits per ``seconds`` for each caller; ``count`` 0 means no limit."""

    name: str
    count: int
    seconds: int


#: The kiosk's anonymous actions: action -> (setting with the count, window in seconds).
#: Each costs something real: a slip costs a render, disk and paper; a report lands in an
#: editor's queue; speech runs espeak-ng; a help request calls a person at the desk.
KIOSK_ACTIONS: dict[str, tuple[str, int]] = {
    "print": ("prints_per_10_minutes", 600),
    "report": ("reports_per_hour", 3600),
    "speech": ("speech_per_minute", 60),
    "help": ("help_requests_per_10_minutes", 600),
}


def api(settings: Settings) -> Limit:
    """The API's limit: ``rate_limit`` requests a minute per key (or per address)."""
    return Limit("api", settings.rate_limit, 60)


def kiosk(settings: Settings, action: str) -> Limit:
    """The limit of one of the kiosk's :data:`KIOSK_ACTIONS`, per client address."""
    setting, seconds = KIOSK_ACTIONS[action]
    return Limit(f"kiosk-{action}", getattr(settings, setting), seconds)


def hit(db: Database, limit: Limit, caller: str, *, now: float | None = None) -> int | None:
    """Count one hit of ``caller`` against ``limit``: None when it is allowed, else the
    seconds until the window ends (what ``Retry-After`` says).

    A refused hit is counted too; it changes nothing in its own window (already over) and
    keeps the check to one statement."""
    if limit.count <= 0:
        return None
    at = int(time.time() if now is None else now)
    start = at - at % limit.seconds
    end = start + limit.seconds
    who = hashlib.sha256(caller.encode("utf-8")).hexdigest()[:32]
    count = store.hit_counter(db, f"{limit.name}:{who}", start, end, at)
    return None if count <= limit.count else max(1, end - at)

"""Directory facts the kiosk's result pages show on every request, kept in the process.

Each is keyed on the database's (file, generation) (``store.snapshot``): any write moves the
generation, so nothing kept is ever stale, and a process that reads several databases (the
tests do) keeps them apart. Only facts about the directory are kept, never anything about the
person (their words, their commune).
"""

from __future__ import annotations

import datetime as dt

from sqlite_utils import Database

from orientation import hours, store
from orientation import slip as slips
from orientation.models import Service

#: (database file, generation) -> need id -> pictogram: reading the taxonomy on each card
#: page cost more than the search itself on the seed.
_PICTOGRAMS: dict[tuple[str, int], dict[str, str]] = {}

#: A service's "open now" and "when" sentence per minute: a result page computed them for
#: every card on every request, and they change only on the minute.
_STATUS = hours.PerMinute()


def pictograms(db: Database) -> dict[str, str]:
    """need id -> its pictogram's name."""
    key = store.snapshot(db)
    if not key[0]:  # an in-memory database: nothing to keep it under
        return {t.id: t.pictogram for t in store.list_terms(db) if t.pictogram}
    try:
        return _PICTOGRAMS[key]
    except KeyError:
        pass
    found = {t.id: t.pictogram for t in store.list_terms(db) if t.pictogram}
    if len(_PICTOGRAMS) >= 64:  # another thread may clear it too: harmless
        _PICTOGRAMS.clear()
    _PICTOGRAMS[key] = found
    return found


def status(service: Service, at: dt.datetime, snapshot: tuple[str, int],
           lang: str) -> tuple[bool, str]:
    """(open now for walk-in, the "when" sentence) of a service's card at ``at``;
    ``snapshot``: the ``store.snapshot`` the service was read at."""
    def compute() -> tuple[bool, str]:
        walk_in_rows = [s for s in service.schedules if s.attending_type == "walk_in"]
        open_now = hours.is_open(walk_in_rows, at, closures=service.closures,
                                 open_on_public_holidays=service.open_on_public_holidays)
        return open_now, slips.when(service, at, lang)

    if not snapshot[0]:  # an in-memory database: no name to keep it under
        return compute()
    return _STATUS.get((*snapshot, service.id, lang), at, compute)

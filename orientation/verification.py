"""Keeping the directory true: "vérifié le … par …" and the queue of records to check again.

A service or a contact is *stale* when no human has confirmed it for ``stale_months`` months
(the setting), or never. Editors see their organisation's stale records in a queue and confirm
one with a single click ("toujours correct"), which saves the record through the normal path:
the audit trail then says who checked and when. Staff see a stale flag in search results, so a
worker knows to double-check before sending someone.
"""

from __future__ import annotations

import datetime as dt

import msgspec
from sqlite_utils import Database

from . import store


class StaleRecord(msgspec.Struct, kw_only=True):
    entity: str  # "service" | "contact"
    id: str
    name: str
    organization_id: str
    assured_date: dt.date | None = None
    assured_by: str | None = None


def cutoff(months: int, today: dt.date | None = None) -> dt.date:
    """The day before which a verification is too old (same day of month, ``months`` back)."""
    today = today or dt.date.today()
    month = today.month - 1 - int(months)
    year, month = today.year + month // 12, month % 12 + 1
    # 31 March minus one month is the last day of February.
    for day in range(today.day, 0, -1):
        try:
            return dt.date(year, month, day)
        except ValueError:
            continue
    raise AssertionError("unreachable")


def is_stale(record: msgspec.Struct, months: int, today: dt.date | None = None) -> bool:
    assured = getattr(record, "assured_date", None)
    return assured is None or assured < cutoff(months, today)


def queue(db: Database, *, months: int, organization_id: str | None = None,
          today: dt.date | None = None) -> list[StaleRecord]:
    """Stale active services and contacts (of one organisation, or all), oldest first."""
    rows = store.stale_records(db, before=cutoff(months, today),
                               organization_id=organization_id)
    return [msgspec.convert({k: v for k, v in r.items() if v is not None}, StaleRecord,
                            strict=False) for r in rows]


def confirm(db: Database, entity: str, entity_id: str, *, actor: str,
            today: dt.date | None = None) -> msgspec.Struct:
    """"Toujours correct": set assured_date/assured_by, written to the audit trail."""
    return store.mark_verified(db, entity, entity_id, actor=actor,
                               day=today or dt.date.today())

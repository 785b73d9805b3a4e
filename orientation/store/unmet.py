"""Unmet searches as stored: cleaned search terms counted per ISO week and channel.

``orientation.unmet`` decides what may be kept (no digits, no names, nothing seen fewer than
three times); this module only adds to the weekly counters and reads them back.
"""

from __future__ import annotations

from typing import Any

from sqlite_utils import Database

from .connection import transaction


def add_unmet_search(db: Database, *, week: str, channel: str, terms: str, zero: int,
                     low: int) -> None:
    """Add to the counters of (week, channel, terms): ``zero`` searches that found nothing,
    ``low`` that found too little."""
    with transaction(db):
        db.execute(
            "insert into unmet_searches (week, channel, terms, zero, low) values (?, ?, ?, ?, ?) "
            "on conflict (week, channel, terms) do update set zero = zero + excluded.zero, "
            "low = low + excluded.low",
            [week, channel, terms, zero, low],
        )


def unmet_search_counts(db: Database, *, since_week: str | None = None,
                        channel: str | None = None, min_seen: int) -> list[dict[str, Any]]:
    """(week, terms, zero, low) summed over channels, for terms seen at least ``min_seen``
    times that week: newest week first, then most seen."""
    params: list[Any] = []
    where = []
    if since_week:
        where.append("week >= ?")
        params.append(since_week)
    if channel:
        where.append("channel = ?")
        params.append(channel)
    sql = (
        "select week, terms, sum(zero) as zero, sum(low) as low from unmet_searches"
        + (" where " + " and ".join(where) if where else "")
        + " group by week, terms having sum(zero) + sum(low) >= ?"
        " order by week desc, sum(zero) + sum(low) desc, terms"
    )
    return list(db.query(sql, [*params, min_seen]))

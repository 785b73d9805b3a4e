"""Rate counters kept in SQLite, so that every worker process shares one budget.

A counter is a (bucket, window start) row bumped by a single ``insert … on conflict do update
… returning`` statement: SQLite runs it atomically under the write lock, so two processes
hitting the same bucket at the same moment each get a distinct count and never both see room
for the last request. The policy (which buckets, how many, how long) is ``orientation.limits``.
"""

from __future__ import annotations

from sqlite_utils import Database

from .connection import transaction


def hit_counter(db: Database, bucket: str, window_start: int, expires: int, now: int) -> int:
    """Count one hit of ``bucket`` in the window starting at ``window_start`` (epoch seconds)
    and return the count including this hit; windows expired by ``now`` are dropped."""
    with transaction(db):
        db.execute("delete from rate_counters where expires <= ?", [now])
        row = db.execute(
            "insert into rate_counters (bucket, window_start, expires, count) "
            "values (?, ?, ?, 1) on conflict (bucket, window_start) "
            "do update set count = count + 1 returning count",
            [bucket, window_start, expires]).fetchall()[0]
    return row[0]

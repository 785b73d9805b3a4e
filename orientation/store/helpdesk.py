"""The kiosk help desk as stored: help requests sent from a kiosk, and who is on desk duty.

Kept apart from the directory because these rows are about people asking for help right now,
not about the services: they are not audited, and ``orientation.helpdesk`` decides what they
mean (who to alert, when a request is stale).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sqlite_utils import Database

from .connection import ids, row_by_id, transaction


def insert_help_request(db: Database, row: dict[str, Any]) -> None:
    db["help_requests"].insert(row)


def get_help_request(db: Database, request_id: str) -> dict[str, Any]:
    return row_by_id(db, "help_requests", "help_request", request_id)


def list_help_requests(db: Database, *, statuses: Iterable[str] = (),
                       kiosk: str | None = None) -> list[dict[str, Any]]:
    """Help requests, oldest first, optionally only some statuses or one kiosk."""
    statuses = list(statuses)
    clauses, params = [], []
    if statuses:
        clauses.append(f"status in ({','.join('?' * len(statuses))})")
        params += statuses
    if kiosk is not None:
        clauses.append("kiosk = ?")
        params.append(kiosk)
    where = (" where " + " and ".join(clauses)) if clauses else ""
    return list(db.query(f"select * from help_requests{where} order by created_at, id", params))


def update_help_request(db: Database, request_id: str, **fields: Any) -> None:
    with transaction(db):
        db["help_requests"].update(request_id, fields)


def touch_desk_duty(db: Database, user_id: str, at: str) -> None:
    with transaction(db):
        db.execute(
            "insert into desk_duty (user_id, since, last_seen) values (?, ?, ?) "
            "on conflict(user_id) do update set last_seen = excluded.last_seen",
            [user_id, at, at])


def end_desk_duty(db: Database, user_id: str) -> None:
    with transaction(db):
        db.execute("delete from desk_duty where user_id = ?", [user_id])


def desk_duty_seen_since(db: Database, cutoff: str) -> list[str]:
    """Ids of staff whose desk page checked in at or after ``cutoff`` (ISO UTC)."""
    return ids(db, "select user_id from desk_duty where last_seen >= ? order by since",
               [cutoff])


def on_desk_duty(db: Database, user_id: str) -> bool:
    return bool(db.execute("select 1 from desk_duty where user_id = ?", [user_id]).fetchone())

"""Saved searches of the staff console and the digest e-mails sent about them.

Rows are plain dicts: ``orientation.alerts`` turns them into Structs. None of this is directory
data, so none of it goes on the audit trail; what the alerts read from the trail is here too
(``service_changes``), so SQL stays in the store.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sqlite_utils import Database

from .connection import transaction

#: The service fields an alert speaks about (hours, closures, open or closed, phone).
WATCHED_FIELDS = ("schedules", "closures", "status", "phones")


def insert_saved_search(db: Database, row: dict[str, Any]) -> None:
    with transaction(db):
        db["saved_searches"].insert(row)


def saved_search_rows(db: Database, *, user_id: str | None = None,
                      emailed: bool = False) -> list[dict[str, Any]]:
    """One worker's saved searches (or everyone's), oldest first; ``emailed``: only those
    with a daily e-mail."""
    sql, params = "select * from saved_searches where 1 = 1", []
    if user_id is not None:
        sql += " and user_id = ?"
        params.append(user_id)
    if emailed:
        sql += " and email is not null and email != ''"
    return list(db.query(sql + " order by created_at, id", params))


def saved_search_row(db: Database, search_id: str) -> dict[str, Any] | None:
    return next(db.query("select * from saved_searches where id = ?", [search_id]), None)


def update_saved_search(db: Database, search_id: str, fields: dict[str, Any]) -> None:
    with transaction(db):
        db["saved_searches"].update(search_id, fields)


def delete_saved_search(db: Database, search_id: str) -> None:
    with transaction(db):
        db.execute("delete from saved_searches where id = ?", [search_id])


def service_changes(db: Database, since: int) -> list[dict[str, Any]]:
    """The audit rows of services after generation ``since`` that an alert may speak of:
    creations, deletions and updates of the watched fields, oldest first. ``id > ?`` walks
    the audit's primary key, so the cost is that of the rows written since."""
    marks = ",".join("?" * len(WATCHED_FIELDS))
    return list(db.query(
        "select id, at, action, entity_id, field, before, after from audit "
        f"where id > ? and entity = 'service' and (action != 'update' or field in ({marks})) "
        "order by id", [since, *WATCHED_FIELDS]))


def services_changed_since(db: Database, since: int) -> set[str]:
    """Every service with any audit row after generation ``since`` (a new match must have
    changed: a service that only moved in the ranking is not news)."""
    return {r["entity_id"] for r in db.query(
        "select distinct entity_id from audit where id > ? and entity = 'service'", [since])}


def service_names(db: Database, ids: Iterable[str]) -> dict[str, str]:
    ids = list(ids)
    if not ids:
        return {}
    marks = ",".join("?" * len(ids))
    return {r["id"]: r["name"] for r in db.query(
        f"select id, name from services where id in ({marks})", ids)}


def record_alert_mail(db: Database, row: dict[str, Any],
                      searches: dict[str, dict[str, Any]]) -> None:
    """Record a sent digest and move its searches' ``mailed_*`` marks, in one transaction."""
    with transaction(db):
        db["alert_mails"].insert(row)
        for search_id, fields in searches.items():
            db["saved_searches"].update(search_id, fields)


def alert_mail_rows(db: Database, *, user_id: str | None = None) -> list[dict[str, Any]]:
    sql, params = "select * from alert_mails", []
    if user_id is not None:
        sql, params = sql + " where user_id = ?", [user_id]
    return list(db.query(sql + " order by id", params))

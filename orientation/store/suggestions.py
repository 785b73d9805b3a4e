"""Verification links e-mailed to organisations, and suggested edits waiting for an editor.

A link row keeps only a hash of its token; ``use_link`` marks it used in one conditional
update, so two answers sent at the same moment cannot both get through. A suggestion is one
field of one record, its stored value and the proposed one (JSON); closing it records the
decision in the audit trail in the same transaction.
"""

from __future__ import annotations

import json
from typing import Any

from sqlite_utils import Database

from . import audit
from .connection import row_by_id, transaction, utcnow, where


# --- Links ----------------------------------------------------------------------------------


def insert_link(db: Database, row: dict[str, Any]) -> None:
    with transaction(db):
        db["verify_links"].insert(row)


def delete_link(db: Database, link_id: str) -> None:
    """Forget a link whose e-mail could not be sent (nobody can have it)."""
    with transaction(db):
        db.execute("delete from verify_links where id = ?", [link_id])


def link_by_hash(db: Database, token_hash: str) -> dict[str, Any] | None:
    return next(db.query("select * from verify_links where token_hash = ?", [token_hash]),
                None)


def use_link(db: Database, link_id: str, *, answer: str, at: str) -> bool:
    """Mark a link used; False when it already was (it is single-use)."""
    with transaction(db):
        cursor = db.execute(
            "update verify_links set used_at = ?, answer = ? where id = ? and used_at is null",
            [at, answer, link_id])
        return cursor.rowcount == 1


def link_rows(db: Database, organization_id: str | None = None) -> list[dict[str, Any]]:
    """Every link (of one organisation), oldest first."""
    clause, params = where({"organization_id": organization_id})
    return list(db.query(f"select * from verify_links{clause} order by created_at, id",
                         params))


# --- Suggestions ----------------------------------------------------------------------------


def _suggestion(row: dict[str, Any]) -> dict[str, Any]:
    return {**row, "before": json.loads(row["before"]) if row["before"] else None,
            "after": json.loads(row["after"]) if row["after"] else None}


def insert_suggestions(db: Database, rows: list[dict[str, Any]], *, actor: str) -> None:
    """Add suggested edits; each one is also a "create" row of the audit trail (who
    suggested what, from which link)."""
    with transaction(db):
        for row in rows:
            db["suggestions"].insert({**row, "before": json.dumps(row["before"], ensure_ascii=False),
                                      "after": json.dumps(row["after"], ensure_ascii=False)})
            audit.record(db, actor, "create", "suggestion", row["id"], "*", None,
                         {k: row[k] for k in ("entity", "entity_id", "field", "before",
                                              "after", "source", "status")})


def get_suggestion(db: Database, suggestion_id: str) -> dict[str, Any]:
    return _suggestion(row_by_id(db, "suggestions", "suggestion", suggestion_id))


def list_suggestions(db: Database, *, organization_id: str | None = None,
                     status: str | None = "open") -> list[dict[str, Any]]:
    """Suggested edits, oldest first (the order they should be handled in)."""
    clause, params = where({"organization_id": organization_id, "status": status})
    return [_suggestion(r) for r in db.query(
        f"select * from suggestions{clause} order by created_at, entity_id, field", params)]


def close_suggestion(db: Database, suggestion_id: str, *, status: str, by: str,
                     after: Any = None) -> bool:
    """Record an editor's decision (and the value applied, when it was edited); False when
    someone else decided first."""
    with transaction(db):
        row = get_suggestion(db, suggestion_id)
        sets, params = "status = ?, closed_at = ?, closed_by = ?", [status, utcnow(), by]
        if after is not None:
            sets += ", after = ?"
            params.append(json.dumps(after, ensure_ascii=False))
        cursor = db.execute(f"update suggestions set {sets} where id = ? and status = 'open'",
                            [*params, suggestion_id])
        if cursor.rowcount != 1:
            return False
        audit.record(db, by, "update", "suggestion", suggestion_id, "status", row["status"],
                     status)
        return True

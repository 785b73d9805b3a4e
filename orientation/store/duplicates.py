"""Likely duplicate pairs (``orientation.duplicates``): proposed, merged or dismissed, and the
source ids of merged records."""

from __future__ import annotations

import json
from typing import Any

from sqlite_utils import Database

from . import audit
from .connection import utcnow


def save_candidates(db: Database, entity: str, pairs: list[dict[str, Any]]) -> None:
    """Make the open pairs of ``entity`` exactly ``pairs`` (each: a_id < b_id, score,
    reasons); a pair already merged or dismissed keeps its decision and is not reopened."""
    now = utcnow()
    decided = {(r["a_id"], r["b_id"]) for r in db.query(
        "select a_id, b_id from duplicates where entity = ? and status != 'open'", [entity])}
    db.execute("delete from duplicates where entity = ? and status = 'open'", [entity])
    db["duplicates"].insert_all(
        ({"entity": entity, "a_id": p["a_id"], "b_id": p["b_id"], "score": p["score"],
          "reasons": json.dumps(p["reasons"], ensure_ascii=False), "status": "open",
          "found_at": now} for p in pairs if (p["a_id"], p["b_id"]) not in decided),
        pk=("entity", "a_id", "b_id"))


def duplicate_rows(db: Database, *, status: str = "open", entity: str | None = None
                   ) -> list[dict[str, Any]]:
    """Pairs with this status, likeliest first (reasons decoded)."""
    clause = " and entity = ?" if entity else ""
    rows = db.query(f"select * from duplicates where status = ?{clause} "
                    "order by score desc, entity, a_id, b_id",
                    [status, *([entity] if entity else [])])
    return [{**r, "reasons": json.loads(r["reasons"])} for r in rows]


def get_duplicate(db: Database, entity: str, a_id: str, b_id: str) -> dict[str, Any] | None:
    a_id, b_id = sorted((a_id, b_id))
    row = next(db.query("select * from duplicates where entity = ? and a_id = ? and b_id = ?",
                        [entity, a_id, b_id]), None)
    return {**row, "reasons": json.loads(row["reasons"])} if row else None


def decide_duplicate(db: Database, entity: str, a_id: str, b_id: str, *, status: str,
                     actor: str) -> None:
    """Record an editor's decision on a pair ('merged' or 'dismissed'), kept for good."""
    a_id, b_id = sorted((a_id, b_id))
    db.execute("update duplicates set status = ?, decided_at = ?, decided_by = ? "
               "where entity = ? and a_id = ? and b_id = ?",
               [status, utcnow(), actor, entity, a_id, b_id])


def add_merged_source(db: Database, entity: str, source_id: str, record_id: str) -> None:
    """Send a source id to the record a merge kept (``directory.id_by_source`` reads it)."""
    db["merged_sources"].upsert({"entity": entity, "source_id": source_id,
                                 "record_id": record_id}, pk=("entity", "source_id"))


def record_merge(db: Database, actor: str, entity: str, kept_id: str, merged_id: str) -> None:
    """The audit row on the kept record that names the record merged into it."""
    audit.record(db, actor, "update", entity, kept_id, "merged_from", None, merged_id)

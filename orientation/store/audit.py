"""The audit trail: who changed what and when, and the generation number derived from it.

Every write records its changes here, in the same transaction (one row per changed field, or
one row for a creation or deletion). The trail is also the directory's clock: its newest id is
the generation that search and caches compare to know what changed since they last looked.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterable
from typing import Any

import msgspec
from sqlite_utils import Database

from ..models import AuditEntry
from .connection import dump, utcnow


def record(db: Database, actor: str, action: str, entity: str, entity_id: str,
           field: str, before: Any, after: Any) -> None:
    """Add one audit row (call inside the write's transaction)."""
    db["audit"].insert(
        {
            "at": utcnow(), "actor": actor, "action": action, "entity": entity,
            "entity_id": entity_id, "field": field,
            "before": dump(before), "after": dump(after),
        }
    )


def record_diff(db: Database, actor: str, entity: str, before: msgspec.Struct | None,
                after: msgspec.Struct | None) -> None:
    """Audit rows for a record going from ``before`` to ``after`` (None: created or deleted):
    one row per changed field for an update."""
    if before is None and after is not None:
        record(db, actor, "create", entity, after.id, "*", None, after)
    elif after is None and before is not None:
        record(db, actor, "delete", entity, before.id, "*", before, None)
    else:
        old, new = msgspec.to_builtins(before), msgspec.to_builtins(after)
        for field in new:
            if old.get(field) != new.get(field):
                record(db, actor, "update", entity, after.id, field, old.get(field),
                       new.get(field))


def history(db: Database, entity: str, entity_id: str) -> list[AuditEntry]:
    """Every recorded change of one record, oldest first."""
    rows = db.query(
        "select * from audit where entity = ? and entity_id = ? order by id",
        [entity, entity_id],
    )
    return [
        AuditEntry(
            id=r["id"], at=dt.datetime.fromisoformat(r["at"]), actor=r["actor"],
            action=r["action"], entity=r["entity"], entity_id=r["entity_id"],
            field=r["field"] or "*",
            before=json.loads(r["before"]) if r["before"] else None,
            after=json.loads(r["after"]) if r["after"] else None,
        )
        for r in rows
    ]


def generation(db: Database) -> int:
    """A number that grows with every write: the id of the newest audit row."""
    row = next(db.query("select max(id) as g from audit"))
    return row["g"] or 0


def changes_since(db: Database, since: int) -> tuple[int, set[tuple[str, str]]]:
    """(current generation, the (entity, id) pairs written after generation ``since``)."""
    changed = set()
    top = since
    for row in db.query(
        "select id, entity, entity_id from audit where id > ? order by id", [since]
    ):
        changed.add((row["entity"], row["entity_id"]))
        top = row["id"]
    return top, changed


def audit_origin(db: Database) -> str:
    """What the first audit row says ("<time> <entity> <id>"): tells one database's history
    from another's, so a search index built from another database is not reused."""
    row = next(db.query("select at, entity, entity_id from audit order by id limit 1"), None)
    return f"{row['at']} {row['entity']} {row['entity_id']}" if row else ""


def last_modified(db: Database, entity: str, ids: Iterable[str] | None = None) -> dict[str, str]:
    """entity id -> ISO time of its newest audit row (HSDS ``last_modified``)."""
    sql = "select entity_id, max(at) from audit where entity = ?"
    params: list[Any] = [entity]
    if ids is not None:
        ids = list(ids)
        sql += f" and entity_id in ({','.join('?' * len(ids))})"
        params += ids
    return dict(db.execute(sql + " group by entity_id", params).fetchall())


def record_creations(db: Database, actor: str,
                     records: Iterable[tuple[str, Iterable[msgspec.Struct]]], *,
                     batch_size: int) -> None:
    """One "create" row per record, without the record's text: a bulk import writes tens of
    thousands of records, and the rows only need to move the generation and name the ids."""
    now = utcnow()
    db["audit"].insert_all(
        ({"at": now, "actor": actor, "action": "create", "entity": entity,
          "entity_id": r.id, "field": "*", "before": None, "after": None}
         for entity, batch in records for r in batch), batch_size=batch_size)

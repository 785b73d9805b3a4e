"""What ``orientation sync`` keeps: when each source was last copied, and which local records
were edited since the sync last wrote them (a local edit wins over the source)."""

from __future__ import annotations

import json
from typing import Any

from sqlite_utils import Database

from .connection import ids
from .directory import ENTITIES


def last_sync(db: Database, url: str) -> dict[str, Any] | None:
    """The row of the last successful sync from ``url`` (started_at, finished_at, report)."""
    return next(db.query("select * from sync_sources where url = ?", [url]), None)


def record_sync(db: Database, url: str, *, started_at: str, finished_at: str,
                report: dict[str, Any]) -> None:
    """Remember a successful sync (inside its transaction)."""
    db["sync_sources"].upsert({"url": url, "started_at": started_at,
                               "finished_at": finished_at,
                               "report": json.dumps(report, ensure_ascii=False)}, pk="url")


def edited_locally(db: Database, entity: str, entity_id: str, actor: str) -> bool:
    """Whether someone other than ``actor`` (the sync) changed the record after the sync
    last wrote it. Audit ids, not times: they order writes exactly, whatever the clocks."""
    row = db.execute(
        "select 1 from audit where entity = ? and entity_id = ? and actor != ? and id > "
        "coalesce((select max(id) from audit where entity = ? and entity_id = ? "
        "and actor = ?), 0) limit 1",
        [entity, entity_id, actor, entity, entity_id, actor]).fetchone()
    return row is not None


def synced_ids(db: Database, entity: str, prefix: str, *, status: str = "active"
               ) -> list[str]:
    """Ids of the records of ``entity`` whose source id starts with ``prefix`` (a source's)."""
    table = ENTITIES[entity][0]
    escaped = prefix.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return ids(db, f"select id from [{table}] where source_id like ? escape '\\' "
                   "and status = ?", [escaped + "%", status])


def written_by(db: Database, entity: str, actor: str) -> set[str]:
    """Ids of the records of ``entity`` that ``actor`` (a sync) ever wrote: for records
    without a source id (pathways), what tells a synced record from a local one."""
    return set(ids(db, "select distinct entity_id from audit where entity = ? and actor = ?",
                   [entity, actor]))

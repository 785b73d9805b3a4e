"""Directory-wide flags (is the sample directory loaded?) and the categories imported sources
used (for ``orientation check``)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sqlite_utils import Database

from .connection import transaction, utcnow

SAMPLE_DATA = "sample_data"


def get_flag(db: Database, name: str) -> str | None:
    if not db["directory_flags"].exists():  # a database not migrated yet
        return None
    row = db.execute("select value from directory_flags where name = ?", [name]).fetchone()
    return row[0] if row else None


def set_flag(db: Database, name: str, value: str | None, *, actor: str) -> None:
    """Set a flag (``None`` removes it)."""
    with transaction(db):
        if value is None:
            db.execute("delete from directory_flags where name = ?", [name])
        else:
            db.execute("insert into directory_flags (name, value, set_at, set_by) "
                       "values (?, ?, ?, ?) on conflict (name) do update set "
                       "value = excluded.value, set_at = excluded.set_at, "
                       "set_by = excluded.set_by", [name, value, utcnow(), actor])


def sample_data(db: Database) -> bool:
    """Whether the seed's fictional directory is loaded (the kiosk then says so)."""
    return get_flag(db, SAMPLE_DATA) is not None


def record_source_categories(db: Database, source: str,
                             counts: Iterable[tuple[str, str, str, int]]) -> None:
    """Replace what ``source`` is known to use: (scheme, code, name, services) rows."""
    now = utcnow()
    with transaction(db):
        db.execute("delete from source_categories where source = ?", [source])
        for scheme, code, name, services in counts:
            db.execute("insert into source_categories (source, scheme, code, name, services, "
                       "seen_at) values (?, ?, ?, ?, ?, ?)",
                       [source, scheme, code, name, services, now])


def source_categories(db: Database) -> list[dict[str, Any]]:
    """Every category recorded at import: source, scheme, code, name, services."""
    if not db["source_categories"].exists():
        return []
    cursor = db.execute("select source, scheme, code, name, services from source_categories "
                        "order by source, services desc, name")
    return [dict(zip(("source", "scheme", "code", "name", "services"), row)) for row in cursor]

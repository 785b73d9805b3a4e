"""The one write pipeline of every edge that changes the directory: permission, store write
(one transaction, audit rows), then search index sync.

The API writers and the staff editor both call these, so they fail the same way: a refused
permission or a broken rule raises before anything is written; once the write is committed,
nothing raises any more. A failed index sync is logged and left to the index, which follows the
audit generation and catches up at the next search or sync (a client that saw an error would
retry a write that worked).
"""

from __future__ import annotations

import logging
from typing import Any, Protocol

from sqlite_utils import Database

from . import store
from .access import Caller, check_change

log = logging.getLogger("orientation.writes")


class Index(Protocol):
    def sync(self, db: Database) -> Any: ...


def sync_index(index: Index, db: Database) -> None:
    """Bring the search index up to date after a committed write; never raises."""
    try:
        index.sync(db)
    except Exception:
        log.exception("search index sync after a write failed; the next search catches up")


def check(db: Database, caller: Caller, before: Any, after: Any) -> None:
    """Raise PermissionDenied unless ``caller`` may turn ``before`` into ``after``."""
    check_change(db, caller, before, after)


def save(db: Database, index: Index, caller: Caller, before: Any, record: Any) -> Any:
    """Create (``before`` None) or replace a record as ``caller``; returns it as stored."""
    check_change(db, caller, before, record)
    saved = store.save(db, record, actor=caller.actor)
    sync_index(index, db)
    return saved


def delete(db: Database, index: Index, caller: Caller, entity: str, before: Any) -> None:
    """Delete a record as ``caller`` (refused while another record still uses it)."""
    check_change(db, caller, before, None)
    store.delete(db, entity, before.id, actor=caller.actor)
    sync_index(index, db)


def dry_run(db: Database, caller: Caller, before: Any, record: Any) -> None:
    """Every check of :func:`save`, nothing written (the editor's live validation)."""
    check_change(db, caller, before, record)
    store.check_save(db, record, actor=caller.actor)

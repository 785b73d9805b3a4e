"""Backups that restore: SQLite's online backup API, and a restore that checks before it swaps.

Why not ``cp``: the database runs in WAL mode, so recent commits live in ``orientation.db-wal``
until a checkpoint; a plain copy of the main file silently misses them (79 of 79 writes in one
probe). The online backup API copies the database as one consistent snapshot, WAL included,
while the server keeps serving and writing. The copy holds everything: the directory, accounts,
API keys, sessions, the audit trail, help requests and follow-up codes.

A restore refuses a file that is not a sound Orientation database, and keeps the database it
replaces beside it (``<name>.before-restore-<time>``), WAL and shared-memory files included, so
a stale WAL is never replayed over the restored file and nothing is lost by a wrong restore.
"""

from __future__ import annotations

import datetime as dt
import os
import shutil
import sqlite3
from pathlib import Path

from ..errors import OrientationError

#: Tables whose presence makes a file an Orientation database worth restoring.
REQUIRED_TABLES = frozenset({"organizations", "services", "pathways", "audit"})


class BackupError(OrientationError):
    code = "backup-refused"
    status = 400


def _open_readonly(path: Path) -> sqlite3.Connection:
    return sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=30)


def verify(path: Path) -> dict[str, int]:
    """Check that ``path`` is a sound Orientation database; returns its row counts.

    Raises :class:`BackupError` naming what is wrong (not SQLite, corrupt, not ours).
    """
    path = Path(path)
    if not path.is_file():
        raise BackupError(f"{path}: no such file")
    try:
        conn = _open_readonly(path)
        try:
            result = conn.execute("pragma integrity_check").fetchone()[0]
            if result != "ok":
                raise BackupError(f"{path}: the database is damaged ({result})")
            tables = {row[0] for row in conn.execute(
                "select name from sqlite_master where type = 'table'")}
            missing = REQUIRED_TABLES - tables
            if missing:
                raise BackupError(f"{path}: not an Orientation database "
                                  f"(no {', '.join(sorted(missing))} table)")
            return {table: conn.execute(f"select count(*) from [{table}]").fetchone()[0]
                    for table in sorted(REQUIRED_TABLES | ({"users", "api_keys"} & tables))}
        finally:
            conn.close()
    except sqlite3.DatabaseError as exc:
        raise BackupError(f"{path}: not a database ({exc})") from None


def backup(db_path: Path, target: Path) -> dict[str, int]:
    """Copy the live database ``db_path`` to ``target`` as one consistent snapshot.

    Safe while the server is serving and writing. The copy is written beside ``target`` and
    renamed into place only once checked, so ``target`` is never a half-written file. Returns
    the copy's row counts.
    """
    db_path, target = Path(db_path), Path(target)
    if not db_path.is_file():
        raise BackupError(f"{db_path}: no database to back up")
    if target.exists() and target.is_dir():
        target = target / f"orientation-{dt.datetime.now():%Y%m%d-%H%M%S}.db"
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_name(target.name + ".partial")
    partial.unlink(missing_ok=True)
    source = sqlite3.connect(str(db_path), timeout=30)
    try:
        dest = sqlite3.connect(str(partial))
        try:
            # pages=-1: one step, under one read transaction, so the copy is the database as
            # it was at one instant even while other connections commit.
            source.backup(dest, pages=-1)
            # One self-contained file: no WAL beside the backup.
            dest.execute("pragma journal_mode=delete")
        finally:
            dest.close()
    finally:
        source.close()
    counts = verify(partial)
    os.replace(partial, target)
    return counts


def restore(backup_path: Path, db_path: Path) -> Path | None:
    """Replace the database at ``db_path`` with the backup; returns where the old one was kept.

    The server must be stopped first (a running server keeps its connections to the old file).
    The search index notices the restored database and rebuilds itself on the next start.
    """
    backup_path, db_path = Path(backup_path), Path(db_path)
    verify(backup_path)
    db_path.parent.mkdir(parents=True, exist_ok=True)
    incoming = db_path.with_name(db_path.name + ".restoring")
    shutil.copyfile(backup_path, incoming)
    kept = None
    if db_path.exists():
        stamp = dt.datetime.now().strftime("%Y%m%d-%H%M%S")
        kept = db_path.with_name(f"{db_path.name}.before-restore-{stamp}")
        # Keep the old database whole: fold its WAL in first, then move the files aside.
        try:
            conn = sqlite3.connect(str(db_path), timeout=30)
            conn.execute("pragma wal_checkpoint(truncate)")
            conn.close()
        except sqlite3.DatabaseError:
            pass  # a damaged database is kept aside as it is
        os.replace(db_path, kept)
    for suffix in ("-wal", "-shm"):
        stale = db_path.with_name(db_path.name + suffix)
        if stale.exists():
            if kept is not None:
                os.replace(stale, kept.with_name(kept.name + suffix))
            else:
                stale.unlink()
    os.replace(incoming, db_path)
    return kept

"""Backups taken while the server writes keep every acknowledged write; restores check first
and keep what they replace. Real SQLite files, real concurrent writers."""

from __future__ import annotations

import shutil
import sqlite3
import threading
import time

import msgspec
import pytest

from orientation import access, accounts, store
from orientation.store import backup as backups
from orientation.models import new_id


def _writer(db_path, stop: threading.Event, acknowledged: list[str], errors: list):
    """Keeps creating organisations; records each id once its write has committed."""
    db = store.connect(db_path, migrate=False)
    template = store.list_organizations(db)[0]
    n = 0
    try:
        while not stop.is_set():
            org = msgspec.structs.replace(template, id=new_id(), source_id=None,
                                          name=f"Organisation sauvegardée {n}")
            store.save_organization(db, org, actor="backup-test")
            acknowledged.append(org.id)
            n += 1
    except BaseException as exc:  # noqa: BLE001 - counted by the test
        errors.append(exc)
    finally:
        db.close()


def test_backup_under_concurrent_writes_keeps_every_acknowledged_write(db_path, tmp_path):
    db = store.connect(db_path)
    accounts.create_user(db, "ada", "correct horse battery", role="admin", actor="test")
    _, secret = access.create_api_key(db, name="Partner", organization_id=None, role="staff",
                                     actor="test")
    db.close()
    stop, acknowledged, errors = threading.Event(), [], []
    writers = [threading.Thread(target=_writer, args=(db_path, stop, acknowledged, errors))
               for _ in range(3)]
    for thread in writers:
        thread.start()
    time.sleep(0.5)
    before = list(acknowledged)  # every write acknowledged before the backup starts
    counts = backups.backup(db_path, tmp_path / "backups" / "copy.db")
    time.sleep(0.3)
    stop.set()
    for thread in writers:
        thread.join(timeout=30)
    assert errors == []
    assert len(before) > 10
    copy = sqlite3.connect(tmp_path / "backups" / "copy.db")
    kept = {row[0] for row in copy.execute("select id from organizations")}
    assert set(before) <= kept
    # Accounts, keys and history travel too (an export does not carry them).
    assert copy.execute("select count(*) from users").fetchone()[0] == 1
    assert copy.execute("select count(*) from api_keys").fetchone()[0] == 1
    assert copy.execute("select count(*) from audit").fetchone()[0] > 0
    assert copy.execute("pragma journal_mode").fetchone()[0] == "delete"
    copy.close()
    assert counts["organizations"] == len(kept)

    # Restore over the live file: every acknowledged write of the copy comes back, the old
    # database (with writes made after the backup) is kept aside whole.
    total_after = len(acknowledged)
    old = backups.restore(tmp_path / "backups" / "copy.db", db_path)
    assert old is not None and old.exists()
    restored = store.connect(db_path)
    ids = {o.id for o in store.list_organizations(restored)}
    assert set(before) <= ids
    assert restored.execute("pragma integrity_check").fetchone()[0] == "ok"
    assert restored["api_keys"].count == 1 and restored["users"].count == 1
    restored.close()
    aside = sqlite3.connect(old)
    assert aside.execute("select count(*) from organizations where name like "
                         "'Organisation sauvegardée %'").fetchone()[0] == total_after
    aside.close()


def test_a_plain_copy_misses_the_wal_but_a_backup_does_not(db_path, tmp_path):
    """Why the command exists: the live database keeps recent commits in its WAL."""
    db = store.connect(db_path)
    db.execute("pragma wal_autocheckpoint=0")
    org = store.list_organizations(db)[0]
    store.save_organization(db, msgspec.structs.replace(org, name="Nom tout neuf"), actor="t")
    shutil.copy(db_path, tmp_path / "cp.db")
    backups.backup(db_path, tmp_path / "backup.db")
    db.close()
    name = "select name from organizations where id = ?"
    assert sqlite3.connect(tmp_path / "cp.db").execute(name, [org.id]).fetchone()[0] != \
        "Nom tout neuf"
    assert sqlite3.connect(tmp_path / "backup.db").execute(name, [org.id]).fetchone()[0] == \
        "Nom tout neuf"


@pytest.mark.parametrize("content", [b"", b"not a database at all" * 100, "damaged"])
def test_restore_refuses_a_bad_file_and_changes_nothing(db_path, tmp_path, content):
    bad = tmp_path / "bad.db"
    if content == "damaged":
        backups.backup(db_path, bad)
        data = bytearray(bad.read_bytes())
        data[4096 * 3: 4096 * 3 + 2048] = b"\xff" * 2048  # scribble over a b-tree page
        bad.write_bytes(bytes(data))
    else:
        bad.write_bytes(content)
    before = db_path.read_bytes()
    with pytest.raises(backups.BackupError):
        backups.restore(bad, db_path)
    assert db_path.read_bytes() == before
    assert not list(tmp_path.glob("*.before-restore-*"))


def test_restore_refuses_a_database_that_is_not_ours(db_path, tmp_path):
    other = tmp_path / "other.db"
    conn = sqlite3.connect(other)
    conn.execute("create table notes (id integer primary key, text)")
    conn.commit()
    conn.close()
    with pytest.raises(backups.BackupError, match="not an Orientation database"):
        backups.restore(other, db_path)

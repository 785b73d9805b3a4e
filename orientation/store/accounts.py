"""Staff accounts and API keys as stored: users, sessions, login failures, keys, app secrets.

Only storage lives here. The policy (password hashing, new key secrets and their hashing, who
may do what) is in ``orientation.accounts`` and ``orientation.access``, which call these
functions with what they computed: a password hash, a key's hash. Neither a password hash nor
a key hash is ever copied into the audit trail.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

import msgspec
from sqlite_utils import Database

from ..errors import InvalidData, NotFound
from ..models import ApiKey, new_id
from . import audit
from .connection import transaction, utcnow
from .writes import check_id, require

# --- Users and sessions -------------------------------------------------------------------


def insert_user(db: Database, row: dict[str, Any], *, actor: str) -> None:
    with transaction(db):
        db["users"].insert(row)
        public = {k: v for k, v in row.items() if k != "password_hash"}
        audit.record(db, actor, "create", "user", row["id"], "*", None, public)


def get_user_row(db: Database, *, user_id: str | None = None,
                 username: str | None = None) -> dict[str, Any] | None:
    column, value = ("id", user_id) if user_id is not None else ("username", username)
    rows = list(db.query(f"select * from users where [{column}] = ?", [value]))
    return rows[0] if rows else None


def list_user_rows(db: Database) -> list[dict[str, Any]]:
    return list(db.query("select * from users order by username"))


def update_user(db: Database, user_id: str, fields: dict[str, Any], *,
                actor: str | None = None) -> None:
    """Change user columns; ``actor`` records the change in the audit trail (a password hash
    is never copied there)."""
    with transaction(db):
        before = get_user_row(db, user_id=user_id)
        db["users"].update(user_id, fields)
        if actor is not None and before is not None:
            for field, value in fields.items():
                if field != "password_hash" and before.get(field) != value:
                    audit.record(db, actor, "update", "user", user_id, field,
                                 before.get(field), value)
                elif field == "password_hash":
                    audit.record(db, actor, "update", "user", user_id, "password", None,
                                 "changed")
        if fields.get("active") == 0:
            db.execute("delete from sessions where user_id = ?", [user_id])


def insert_session(db: Database, row: dict[str, Any]) -> None:
    with transaction(db):
        db.execute("delete from sessions where expires_at < ?", [utcnow()])
        db["sessions"].insert(row)


def get_session_row(db: Database, token_hash: str) -> dict[str, Any] | None:
    rows = list(db.query("select * from sessions where token_hash = ?", [token_hash]))
    return rows[0] if rows else None


def delete_session(db: Database, token_hash: str) -> None:
    with transaction(db):
        db.execute("delete from sessions where token_hash = ?", [token_hash])


def app_secret(db: Database, name: str, factory: Callable[[], str]) -> str:
    """A server-generated secret, created by ``factory()`` on first use and kept."""
    with transaction(db):
        db.execute("insert or ignore into app_secrets (name, value) values (?, ?)",
                   [name, factory()])
        return db.execute("select value from app_secrets where name = ?", [name]).fetchone()[0]


# --- Login throttling ---------------------------------------------------------------------


def add_login_failure(db: Database, keys: Iterable[str], at: str, *, purge_before: str) -> None:
    with transaction(db):
        db.execute("delete from login_failures where at < ?", [purge_before])
        db["login_failures"].insert_all([{"key": k, "at": at} for k in keys])


def count_login_failures(db: Database, key: str, since: str) -> int:
    return db.execute("select count(*) from login_failures where key = ? and at >= ?",
                      [key, since]).fetchone()[0]


def clear_login_failures(db: Database, key: str) -> None:
    with transaction(db):
        db.execute("delete from login_failures where key = ?", [key])


# --- API keys -----------------------------------------------------------------------------


def _api_key(row: dict[str, Any]) -> ApiKey:
    return msgspec.convert({k: v for k, v in row.items() if k != "hash" and v is not None},
                           ApiKey, strict=False)


def insert_api_key(db: Database, *, name: str, role: str, organization_id: str | None,
                   prefix: str, secret_hash: str, actor: str) -> ApiKey:
    """Store a new key (``access.create_api_key`` makes its secret and checks its role):
    only ``secret_hash`` is kept, and the audit row leaves it out."""
    if organization_id is not None:
        check_id(organization_id, "organization_id")
        require(db, "organization", organization_id, "organization_id")
    row = {"id": new_id(), "name": name, "role": role, "organization_id": organization_id,
           "prefix": prefix, "hash": secret_hash, "created_at": utcnow(), "revoked_at": None}
    with transaction(db):
        db["api_keys"].insert(row)
        public = {k: v for k, v in row.items() if k != "hash"}
        audit.record(db, actor, "create", "api_key", row["id"], "*", None, public)
    return _api_key(row)


def list_api_keys(db: Database) -> list[ApiKey]:
    return [_api_key(r) for r in db.query("select * from api_keys order by created_at, name")]


def revoke_api_key(db: Database, key_id: str, *, actor: str) -> ApiKey:
    """Revoke a key by its id or its prefix (what listings show)."""
    rows = list(db.query("select * from api_keys where id = ? or prefix = ?", [key_id, key_id]))
    if not rows:
        raise NotFound("api_key", key_id)
    if len(rows) > 1:
        raise InvalidData(f"{key_id!r} matches several keys: use the id", field="id")
    row = rows[0]
    if row["revoked_at"] is None:
        with transaction(db):
            now = utcnow()
            db["api_keys"].update(row["id"], {"revoked_at": now})
            audit.record(db, actor, "update", "api_key", row["id"], "revoked_at", None, now)
        row["revoked_at"] = now
    return _api_key(row)


def live_api_key(db: Database, secret_hash: str) -> ApiKey | None:
    """The live (not revoked) key whose secret hashes to ``secret_hash``, or None."""
    rows = list(db.query("select * from api_keys where hash = ? and revoked_at is null",
                         [secret_hash]))
    return _api_key(rows[0]) if rows else None

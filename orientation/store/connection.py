"""Opening the database, write transactions, and the mapping between rows and Structs.

Everything the other store modules share lives here, so none of them reaches into another's
private names: how a connection is configured, how a write takes its lock, and how a msgspec
Struct becomes a row (nested value objects as JSON columns, booleans as integers) and back.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import sqlite3
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any, TypeVar

import msgspec
from sqlite_utils import Database

from ..errors import NotFound
from .migrations import migrations

T = TypeVar("T", bound=msgspec.Struct)


# --- Connection ---------------------------------------------------------------------------


def connect(path: str | Path, *, migrate: bool = True) -> Database:
    """Open the directory database (creating it), with WAL and foreign keys on.

    ``check_same_thread=False`` because the server hands a connection to a worker thread per
    request; each connection is still used by one thread at a time.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    conn = sqlite3.connect(str(path), check_same_thread=False, timeout=30)
    db = Database(conn)
    db.execute("PRAGMA journal_mode=WAL")
    db.execute("PRAGMA foreign_keys=ON")
    db.execute("PRAGMA busy_timeout=30000")
    db.execute("PRAGMA synchronous=NORMAL")
    if migrate:
        migrations.apply(db)
    return db


@contextlib.contextmanager
def transaction(db: Database) -> Iterator[Database]:
    """One write transaction that takes the write lock up front (``BEGIN IMMEDIATE``).

    sqlite-utils' ``atomic()`` starts with a deferred ``BEGIN``: our writes read first (the
    record before, the rules) and only then write. In WAL mode, once another connection has
    committed in between, SQLite cannot upgrade that read transaction to a write and fails at
    once with "database is locked" without waiting for the busy timeout. Taking the lock first
    makes concurrent writers queue on the busy timeout instead. Nested calls are savepoints.
    """
    if db.conn.in_transaction:
        with db.atomic():  # a savepoint inside the outer transaction
            yield db
        return
    db.conn.execute("BEGIN IMMEDIATE")
    try:
        yield db
    except BaseException:
        if db.conn.in_transaction:
            db.conn.execute("ROLLBACK")
        raise
    else:
        try:
            db.conn.execute("COMMIT")
        except BaseException:
            if db.conn.in_transaction:
                db.conn.execute("ROLLBACK")
            raise


def utcnow() -> str:
    """The current UTC time as stored in every timestamp column (ISO, to the second)."""
    return dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")


# --- Row <-> Struct -----------------------------------------------------------------------

_JSON_FIELDS: dict[type, frozenset[str]] = {}


def _json_fields(cls: type[msgspec.Struct]) -> frozenset[str]:
    if cls not in _JSON_FIELDS:
        info = msgspec.inspect.type_info(cls)
        names = set()
        for f in info.fields:
            types = f.type.types if isinstance(f.type, msgspec.inspect.UnionType) else (f.type,)
            if any(
                isinstance(t, (msgspec.inspect.ListType, msgspec.inspect.DictType,
                               msgspec.inspect.StructType))
                for t in types
            ):
                names.add(f.name)
        _JSON_FIELDS[cls] = frozenset(names)
    return _JSON_FIELDS[cls]


def to_row(obj: msgspec.Struct, exclude: Iterable[str] = ()) -> dict[str, Any]:
    """The row of a Struct: nested values (lists, dicts, Structs) as JSON, booleans as 0/1;
    ``exclude`` leaves out the fields kept in link tables."""
    json_fields = _json_fields(type(obj))
    row = {}
    for name, value in msgspec.structs.asdict(obj).items():
        if name in exclude:
            continue
        value = msgspec.to_builtins(value)
        if name in json_fields:
            value = json.dumps(value, ensure_ascii=False)
        elif isinstance(value, bool):
            value = int(value)
        row[name] = value
    return row


def from_row(cls: type[T], row: dict[str, Any], **extra: Any) -> T:
    """The Struct of a row (NULL columns take the Struct's default); ``extra`` adds the
    fields read from link tables."""
    json_fields = _json_fields(cls)
    data = {}
    for key, value in row.items():
        if value is None:
            continue  # let the Struct default apply
        if key in json_fields:
            # msgspec's decoder, not json.loads: the same values, several times faster, and
            # a result page decodes ten JSON columns for each of up to a hundred rows.
            value = msgspec.json.decode(value)
        data[key] = value
    data.update(extra)
    return msgspec.convert(data, cls, strict=False)


def dump(value: Any) -> str | None:
    """JSON text of any value (Structs included), or None."""
    return None if value is None else json.dumps(msgspec.to_builtins(value), ensure_ascii=False)


# --- Small query helpers ------------------------------------------------------------------


def row_by_id(db: Database, table: str, entity: str, record_id: str) -> dict[str, Any]:
    """The row of ``table`` with this id, or NotFound naming ``entity``."""
    rows = list(db.query(f"select * from [{table}] where id = ?", [record_id]))
    if not rows:
        raise NotFound(entity, record_id)
    return rows[0]


def ids(db: Database, sql: str, params: list[Any]) -> list[str]:
    """The first column of every row of a query (usually ids)."""
    return [row[0] for row in db.execute(sql, params).fetchall()]


def where(filters: dict[str, Any]) -> tuple[str, list[Any]]:
    """A ``where`` clause (or "") and its parameters for column = value, skipping Nones."""
    clauses, params = [], []
    for column, value in filters.items():
        if value is not None:
            clauses.append(f"[{column}] = ?")
            params.append(value)
    return (" where " + " and ".join(clauses)) if clauses else "", params


def links_by_owner(db: Database, sql: str) -> dict[str, list[str]]:
    """owner id -> target ids, from a two-column link query (in the query's order)."""
    result: dict[str, list[str]] = {}
    for owner, target in db.execute(sql).fetchall():
        result.setdefault(owner, []).append(target)
    return result

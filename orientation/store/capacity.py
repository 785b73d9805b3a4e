"""Capacity figures ("3 places ce soir"): the latest per service and unit."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sqlite_utils import Database

from . import audit


def put_capacity(db: Database, row: dict[str, Any], actor: str) -> None:
    """Replace the figure of (service, unit) and record it on the service's audit trail
    (call inside a transaction): a capacity change moves the generation, so kept kiosk pages
    and the HSDS ``modified_after`` of the service follow it."""
    before = next(db.query("select available, maximum, updated_at from service_capacities "
                           "where service_id = ? and unit = ?",
                           [row["service_id"], row["unit"]]), None)
    db["service_capacities"].upsert(row, pk=("service_id", "unit"))
    audit.record(db, actor, "update", "service", row["service_id"], f"capacity.{row['unit']}",
                 before, {k: row[k] for k in ("available", "maximum", "updated_at")})


def delete_capacity(db: Database, service_id: str, unit: str, actor: str) -> bool:
    """Withdraw a figure (the service no longer publishes it); False when there was none."""
    before = next(db.query("select available, maximum, updated_at from service_capacities "
                           "where service_id = ? and unit = ?", [service_id, unit]), None)
    if before is None:
        return False
    db.execute("delete from service_capacities where service_id = ? and unit = ?",
               [service_id, unit])
    audit.record(db, actor, "update", "service", service_id, f"capacity.{unit}", before, None)
    return True


def capacity_rows(db: Database, service_ids: Iterable[str] | None = None) -> list[dict]:
    """The figures of these services (all services: None), newest first."""
    sql = "select * from service_capacities"
    params: list[str] = []
    if service_ids is not None:
        params = list(service_ids)
        if not params:
            return []
        sql += f" where service_id in ({','.join('?' * len(params))})"
    return list(db.query(sql + " order by updated_at desc, unit", params))


def insert_capacity_link(db: Database, row: dict[str, Any]) -> None:
    db["capacity_links"].insert(row)


def capacity_link_by_hash(db: Database, token_hash: str) -> dict | None:
    return next(db.query("select * from capacity_links where token_hash = ?", [token_hash]),
                None)


def capacity_links_of(db: Database, organization_id: str) -> list[dict]:
    return list(db.query("select * from capacity_links where organization_id = ? "
                         "order by created_at desc", [organization_id]))


def touch_capacity_link(db: Database, link_id: str, at: str) -> None:
    db.execute("update capacity_links set used_at = ? where id = ?", [at, link_id])


def revoke_capacity_link(db: Database, link_id: str, at: str) -> None:
    db.execute("update capacity_links set revoked_at = ? where id = ? and revoked_at is null",
               [at, link_id])

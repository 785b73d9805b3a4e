"""What happens after a referral, as stored: problem reports, issued slips, referral outcomes.

These rows let staff see whether the directory serves people well: what the public reported
wrong about a service, which reference codes were printed or sent (counted per day and
channel, never per person) and what became of them. ``orientation.reports`` turns them into
the pages and figures managers read.
"""

from __future__ import annotations

import json
from typing import Any

from sqlite_utils import Database

from .connection import row_by_id, transaction, where

# --- Problem reports ----------------------------------------------------------------------


def insert_problem_report(db: Database, row: dict[str, Any]) -> None:
    with transaction(db):
        db["problem_reports"].insert(row)


def get_problem_report(db: Database, report_id: str) -> dict[str, Any]:
    return row_by_id(db, "problem_reports", "problem_report", report_id)


def _report_where(**filters: str | None) -> tuple[str, list[Any]]:
    columns = {"organization_id": "r.organization_id = ?", "status": "r.status = ?",
               "service_id": "r.service_id = ?", "since": "r.created_at >= ?"}
    clauses = [columns[k] for k, v in filters.items() if v is not None]
    params = [v for v in filters.values() if v is not None]
    return (" where " + " and ".join(clauses)) if clauses else "", params


def list_problem_reports(db: Database, *, organization_id: str | None = None,
                         status: str | None = None,
                         service_id: str | None = None) -> list[dict[str, Any]]:
    """Problem reports, newest first, with the service's name."""
    clause, params = _report_where(organization_id=organization_id, status=status,
                                   service_id=service_id)
    return list(db.query(
        "select r.*, s.name as service_name from problem_reports r "
        f"join services s on s.id = r.service_id{clause} "
        "order by r.created_at desc, r.rowid desc",
        params))


def problem_report_counts(db: Database, *, organization_id: str | None = None,
                          status: str | None = None,
                          since: str | None = None) -> list[dict[str, Any]]:
    """(service, kind) -> number of reports, most reported services first."""
    clause, params = _report_where(organization_id=organization_id, status=status,
                                   since=since)
    return list(db.query(
        "select r.service_id, s.name as service_name, r.organization_id, r.kind, "
        "count(*) as n from problem_reports r join services s on s.id = r.service_id"
        f"{clause} group by r.service_id, r.kind "
        "order by sum(count(*)) over (partition by r.service_id) desc, s.name, r.kind",
        params))


def close_problem_report(db: Database, report_id: str, *, status: str, by: str,
                         at: str) -> None:
    with transaction(db):
        db["problem_reports"].update(report_id, {"status": status, "closed_by": by,
                                                 "closed_at": at})


def set_problem_report_kind(db: Database, report_id: str, kind: str) -> None:
    with transaction(db):
        db["problem_reports"].update(report_id, {"kind": kind})


# --- Slips and outcomes -------------------------------------------------------------------


def add_issued_slip(db: Database, *, code: str, day: str, channel: str,
                    pathway_id: str | None, services: list[str]) -> None:
    with transaction(db):
        db.execute(
            "insert into issued_slips (code, day, channel, pathway_id, services, count) "
            "values (?, ?, ?, ?, ?, 1) on conflict (code, day, channel) "
            "do update set count = count + 1",
            [code, day, channel, pathway_id, json.dumps(services)])


def issued_slip_rows(db: Database, code: str) -> list[dict[str, Any]]:
    return [{**r, "services": json.loads(r["services"])} for r in db.query(
        "select * from issued_slips where code = ? order by day", [code])]


def insert_referral_outcome(db: Database, row: dict[str, Any]) -> None:
    with transaction(db):
        db["referral_outcomes"].insert(row)


def referral_outcome_rows(db: Database, *, code: str | None = None) -> list[dict[str, Any]]:
    clause, params = where({"code": code})
    return list(db.query(f"select * from referral_outcomes{clause} order by day, id", params))


def pathway_outcome_counts(db: Database, *, since: str | None = None) -> list[dict[str, Any]]:
    """Per pathway (None: slips made of services): slips issued and each outcome's count."""
    day = " and day >= ?" if since else ""
    params = [since] if since else []
    issued = db.query(
        f"select pathway_id, sum(count) as n from issued_slips where 1 = 1{day} "
        "group by pathway_id", params)
    outcomes = db.query(
        f"select pathway_id, outcome, reason, count(*) as n from referral_outcomes "
        f"where 1 = 1{day} group by pathway_id, outcome, reason", params)
    by_pathway: dict[str | None, dict[str, Any]] = {}
    for row in issued:
        by_pathway.setdefault(row["pathway_id"], {"issued": 0, "outcomes": {}})["issued"] = \
            row["n"]
    for row in outcomes:
        entry = by_pathway.setdefault(row["pathway_id"], {"issued": 0, "outcomes": {}})
        key = row["outcome"] + (f":{row['reason']}" if row["reason"] else "")
        entry["outcomes"][key] = entry["outcomes"].get(key, 0) + row["n"]
    return [{"pathway_id": pid, **data} for pid, data in by_pathway.items()]

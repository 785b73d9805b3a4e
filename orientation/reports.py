"""Where people get lost: dead-end reports, referral follow-up and the managers' report.

Three closed loops, all anonymous:

- **Problem reports.** A kiosk user taps "Cette information est fausse" on a service (and may
  say what is wrong in one more tap); a social worker reports a wrong number, outdated hours, a
  wrong address, a closed door or "on m'a renvoyé ailleurs".
  A report says which service and what is wrong, from which channel and on which day — never
  who reported. Reports wait in a queue for the editors of the service's organisation.
- **Referral follow-up.** Every slip carries a reference code derived from its content. When a
  slip is handed out, the code is counted for that day with what it points to (a pathway, or
  services); the receiving service types the code to mark "came", "helped" or "sent elsewhere"
  with a reason from a fixed list. No names, no free text, no time of day.
- **Report.** Per pathway: slips issued and what became of them; per service: problem reports;
  plus the unmet searches of ``orientation.unmet``. Everything can be downloaded as CSV.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
from collections.abc import Iterable, Sequence

import msgspec
from sqlite_utils import Database

from . import store
from .errors import InvalidData, NotFound
from .models import new_id

#: What can be wrong with a service: the one table of kinds the kiosk, the staff form, the
#: organisations' suggestions and the queue share. "wrong" is the kiosk's old one-tap kind,
#: kept so that reports recorded before the refine step still have a name.
PROBLEMS = ("wrong", "wrong_phone", "outdated_hours", "wrong_address", "closed",
            "sent_elsewhere", "other")
#: The kinds a person can choose at the kiosk or in the staff form, in the order shown.
CHOSEN_PROBLEMS = PROBLEMS[1:]
#: What a suggested edit from an organisation's link says is wrong, by the field it changes.
FIELD_PROBLEMS = {"phone": "wrong_phone", "hours": "outdated_hours", "closed": "closed",
                  "address": "wrong_address"}
CHANNELS = ("kiosk", "staff")
REPORT_STATUSES = ("open", "fixed", "dismissed", "forwarded")
#: How long after the one tap the kiosk may still say what is wrong: the person is still in
#: front of the screen; later, nobody can change what was reported.
REFINE_MINUTES = 10
OUTCOMES = ("came", "helped", "sent_elsewhere")
#: Why a person was sent elsewhere: a fixed list, so nothing personal can be typed in.
SENT_ELSEWHERE = ("not_eligible", "wrong_service", "full", "documents_missing",
                  "needs_appointment", "other")
NOTE_MAX = 200
# A note is about the service. Anything that looks like a national register number or an
# e-mail address is removed before it is stored (phone numbers of the service are allowed:
# "le bon numéro est le 02 …" is the most useful note there is).
_NATIONAL_NUMBER = re.compile(r"\b\d{2}[.\s]?\d{2}[.\s]?\d{2}[-.\s]?\d{3}[.\s]?\d{2}\b")
_EMAIL = re.compile(r"\S+@\S+")
_CODE = re.compile(r"^[A-Z0-9]{3}-?[A-Z0-9]{3}$")


class ProblemReport(msgspec.Struct, kw_only=True):
    id: str
    service_id: str
    service_name: str
    organization_id: str
    kind: str
    note: str | None
    channel: str
    created_at: dt.datetime
    status: str
    closed_at: dt.datetime | None = None
    closed_by: str | None = None


class ServiceCount(msgspec.Struct, kw_only=True):
    service_id: str
    service_name: str
    organization_id: str
    kinds: dict[str, int]

    @property
    def total(self) -> int:
        return sum(self.kinds.values())


class IssuedSlip(msgspec.Struct, kw_only=True):
    """What a reference code points to, and how many slips carried it."""

    code: str
    pathway_id: str | None
    services: list[str]
    first_day: dt.date
    last_day: dt.date
    count: int
    outcomes: dict[str, int]


class PathwayOutcomes(msgspec.Struct, kw_only=True):
    pathway_id: str | None
    label: str
    issued: int
    outcomes: dict[str, int]  # "came", "helped", "sent_elsewhere:full"…

    def count(self, outcome: str) -> int:
        return sum(n for key, n in self.outcomes.items() if key.split(":")[0] == outcome)


def _now(at: dt.datetime | None) -> dt.datetime:
    return (at or dt.datetime.now(dt.UTC)).astimezone(dt.UTC)


def _today(day: dt.date | None) -> dt.date:
    return day or dt.date.today()


def clean_note(note: str | None) -> str | None:
    """A short note about a service with national numbers and e-mail addresses removed."""
    if not note:
        return None
    note = " ".join(note.split())
    note = _EMAIL.sub("…", _NATIONAL_NUMBER.sub("…", note))
    return note[:NOTE_MAX] or None


# --- Problem reports --------------------------------------------------------------------------


def report_problem(db: Database, service_id: str, kind: str, *, channel: str,
                   note: str | None = None, at: dt.datetime | None = None) -> ProblemReport:
    """Record that something about a service is wrong (anonymous: nothing about the reporter)."""
    if kind not in PROBLEMS:
        raise InvalidData(f"kind must be one of {', '.join(PROBLEMS)}", field="kind")
    if channel not in CHANNELS:
        raise InvalidData(f"channel must be one of {', '.join(CHANNELS)}", field="channel")
    service = store.get_service(db, service_id)
    row = {
        "id": new_id(), "service_id": service.id, "organization_id": service.organization_id,
        "kind": kind, "note": clean_note(note) if channel == "staff" else None,
        "channel": channel, "created_at": _now(at).isoformat(timespec="seconds"),
        "status": "open", "closed_at": None, "closed_by": None,
    }
    store.insert_problem_report(db, row)
    return _report({**row, "service_name": service.name})


def _report(row: dict) -> ProblemReport:
    return msgspec.convert({k: v for k, v in row.items() if v is not None or k == "note"},
                           ProblemReport, strict=False)


def refine_problem(db: Database, report_id: str, kind: str, *,
                   at: dt.datetime | None = None) -> ProblemReport:
    """The kiosk's second tap: say what is wrong on the report the first tap made.

    Only an open kiosk report still of kind "other" and made in the last ``REFINE_MINUTES``
    can be refined, so a report id seen once cannot be used to rewrite other reports.
    """
    if kind not in CHOSEN_PROBLEMS:
        raise InvalidData(f"kind must be one of {', '.join(CHOSEN_PROBLEMS)}", field="kind")
    row = store.get_problem_report(db, report_id)
    made = dt.datetime.fromisoformat(row["created_at"])
    if (row["channel"] != "kiosk" or row["status"] != "open" or row["kind"] != "other"
            or _now(at) - made > dt.timedelta(minutes=REFINE_MINUTES)):
        raise InvalidData("this report can no longer be changed", field="kind")
    store.set_problem_report_kind(db, report_id, kind)
    return get_problem(db, report_id)


def problem_of_field(field: str) -> str:
    """The kind of problem a suggested edit of ``field`` corrects."""
    return FIELD_PROBLEMS.get(field, "other")


def get_problem(db: Database, report_id: str) -> ProblemReport:
    row = store.get_problem_report(db, report_id)
    return _report({**row, "service_name": store.get_service(db, row["service_id"]).name})


def problem_queue(db: Database, *, organization_id: str | None = None,
                  status: str | None = "open",
                  service_id: str | None = None) -> list[ProblemReport]:
    """Reports for the editors of one organisation (all organisations: None), newest first."""
    return [_report(r) for r in store.list_problem_reports(
        db, organization_id=organization_id, status=status, service_id=service_id)]


def problem_counts(db: Database, *, organization_id: str | None = None,
                   status: str | None = None, since: dt.date | None = None) -> list[ServiceCount]:
    """Reports per service and kind, most reported first."""
    counts: dict[str, ServiceCount] = {}
    for row in store.problem_report_counts(
            db, organization_id=organization_id, status=status,
            since=since.isoformat() if since else None):
        entry = counts.setdefault(row["service_id"], ServiceCount(
            service_id=row["service_id"], service_name=row["service_name"],
            organization_id=row["organization_id"], kinds={}))
        entry.kinds[row["kind"]] = row["n"]
    return list(counts.values())


def close_problem(db: Database, report_id: str, *, status: str, by: str,
                  at: dt.datetime | None = None) -> ProblemReport:
    """Mark a report fixed, dismissed (not a problem) or forwarded (sent to the organisation);
    ``by`` is the editor, recorded on the report."""
    if status not in REPORT_STATUSES[1:]:
        raise InvalidData("status must be fixed, dismissed or forwarded", field="status")
    store.get_problem_report(db, report_id)
    store.close_problem_report(db, report_id, status=status, by=by,
                               at=_now(at).isoformat(timespec="seconds"))
    return get_problem(db, report_id)


# --- Referral follow-up -----------------------------------------------------------------------


def normalise_code(code: str) -> str:
    """"kq4mxt", " KQ4 MXT " -> "KQ4-MXT"; InvalidData when it cannot be a slip code."""
    compact = "".join(ch for ch in code.upper() if ch.isalnum())
    if not _CODE.match(compact):
        raise InvalidData("a reference code has 6 letters or digits, like KQ4-MXT",
                          field="code")
    return f"{compact[:3]}-{compact[3:]}"


def issue(db: Database, code: str, *, channel: str, pathway_id: str | None,
          services: Sequence[str], day: dt.date | None = None) -> None:
    """Count a slip handed out (printed or downloaded) for the follow-up."""
    if channel not in CHANNELS:
        raise InvalidData(f"channel must be one of {', '.join(CHANNELS)}", field="channel")
    store.add_issued_slip(db, code=normalise_code(code), day=_today(day).isoformat(),
                          channel=channel, pathway_id=pathway_id, services=list(services))


def find(db: Database, code: str) -> IssuedSlip:
    """What a reference code points to (NotFound when no slip with that code was issued)."""
    code = normalise_code(code)
    rows = store.issued_slip_rows(db, code)
    if not rows:
        raise NotFound("slip", code)
    outcomes: dict[str, int] = {}
    for row in store.referral_outcome_rows(db, code=code):
        outcomes[row["outcome"]] = outcomes.get(row["outcome"], 0) + 1
    latest = rows[-1]
    return IssuedSlip(
        code=code, pathway_id=latest["pathway_id"], services=latest["services"],
        first_day=dt.date.fromisoformat(rows[0]["day"]),
        last_day=dt.date.fromisoformat(latest["day"]),
        count=sum(r["count"] for r in rows), outcomes=outcomes)


def record_outcome(db: Database, code: str, outcome: str, *, reason: str | None = None,
                   organization_id: str | None = None, day: dt.date | None = None) -> None:
    """The receiving service says what became of a referral (no personal data)."""
    if outcome not in OUTCOMES:
        raise InvalidData(f"outcome must be one of {', '.join(OUTCOMES)}", field="outcome")
    if outcome == "sent_elsewhere":
        if reason not in SENT_ELSEWHERE:
            raise InvalidData("say why the person was sent elsewhere", field="reason")
    else:
        reason = None
    issued = find(db, code)
    store.insert_referral_outcome(db, {
        "id": new_id(), "code": issued.code, "day": _today(day).isoformat(),
        "outcome": outcome, "reason": reason, "pathway_id": issued.pathway_id,
        "organization_id": organization_id,
    })


def pathway_outcomes(db: Database, *, since: dt.date | None = None) -> list[PathwayOutcomes]:
    """Per pathway: slips issued and outcomes, the pathways where people get lost first."""
    names = {p.id: p.need for p in store.list_pathways(db)}
    rows = []
    for row in store.pathway_outcome_counts(db, since=since.isoformat() if since else None):
        pid = row["pathway_id"]
        label = names.get(pid, "(parcours supprimé)") if pid else "(services choisis)"
        rows.append(PathwayOutcomes(pathway_id=pid, label=label, issued=row["issued"],
                                    outcomes=row["outcomes"]))
    # Lost = issued but not known to have been helped.
    return sorted(rows, key=lambda r: (-(r.issued - r.count("helped")), r.label))


# --- CSV --------------------------------------------------------------------------------------


def to_csv(header: Sequence[str], rows: Iterable[Sequence[object]]) -> str:
    """CSV text (comma, UTF-8 with BOM so spreadsheet programs read accents right)."""
    out = io.StringIO()
    out.write("\ufeff")
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(header)
    for row in rows:
        writer.writerow(["" if v is None else v for v in row])
    return out.getvalue()

"""The correction queue (/staff/queue): everything that says a record may be wrong, in one place.

Suggested edits from the organisations' links (a diff per field: value now → proposed value;
accept, accept an edited value, or reject) and the problem reports of the kiosk and the staff,
grouped by record, oldest first, each with its kind from the one table ``reports.PROBLEMS`` and
its channel (kiosk, staff, organisation); then reminders nobody answered for ``verify_escalate_days`` days, and the freshness of each
organisation (share of its records checked within their period). An admin sets an
organisation's data contact and whether its own changes apply without review.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from litestar import get, post
from litestar.di import NamedDependency
from litestar.params import FromPath
from litestar.plugins.htmx import HTMXRequest
from litestar.response import Redirect, Template
from sqlite_utils import Database

import msgspec

from orientation import reminders, reports, store, suggestions
from orientation.errors import InvalidData

from .console import FormBody, caller, lists, own_org, page, require_org, settings, sync

EDITOR = {"role": "editor"}
ADMIN = {"role": "admin"}
DB = NamedDependency[Database]


class Group(msgspec.Struct, kw_only=True):
    """Everything said about one record: reports and suggested edits, oldest first."""

    entity: str
    entity_id: str
    name: str
    items: list[Any] = msgspec.field(default_factory=list)
    counts: dict[str, int] = msgspec.field(default_factory=dict)


def kind_of(item: Any) -> str:
    """The item's kind of problem, from the one table (``reports.PROBLEMS``)."""
    if isinstance(item, suggestions.Suggestion):
        return reports.problem_of_field(item.field)
    return item.kind


def channel_of(item: Any) -> str:
    return "organization" if isinstance(item, suggestions.Suggestion) else item.channel


def fix_link(db: Database, item: Any) -> str:
    """The editor, opened on the field the item says is wrong."""
    if isinstance(item, suggestions.Suggestion):
        return f"/staff/edit/{item.entity}/{item.entity_id}"
    base = f"/staff/edit/service/{item.service_id}"
    if item.kind == "wrong_address":
        service = store.get_service(db, item.service_id)
        if service.location_ids:
            return f"/staff/edit/location/{service.location_ids[0]}#f-address_street"
        return f"{base}#f-main_contact"
    anchors = {"wrong_phone": "#row-phones-0", "outdated_hours": "#row-schedules-0",
               "closed": "#f-status"}
    return base + anchors.get(item.kind, "")


def group(problems: list[reports.ProblemReport],
          pending: list[suggestions.Suggestion]) -> list[Group]:
    """Reports and suggestions by record, each oldest first; the longest-waiting record first."""
    groups: dict[tuple[str, str], Group] = {}
    for item in [*problems, *pending]:
        if isinstance(item, suggestions.Suggestion):
            key, name = (item.entity, item.entity_id), item.record_name
        else:
            key, name = ("service", item.service_id), item.service_name
        entry = groups.setdefault(key, Group(entity=key[0], entity_id=key[1], name=name))
        entry.items.append(item)
        kind = kind_of(item)
        entry.counts[kind] = entry.counts.get(kind, 0) + 1
    for entry in groups.values():
        entry.items.sort(key=lambda i: i.created_at)
    return sorted(groups.values(), key=lambda g: (g.items[0].created_at, g.name))


@get("/queue", sync_to_thread=True, name="staff_queue", opt=EDITOR)
def queue_page(request: HTMXRequest, db: DB) -> Template:
    org = own_org(request)
    config = settings(request)
    problems = reports.problem_queue(db, organization_id=org)
    pending = suggestions.pending(db, organization_id=org)
    groups = group(problems, pending)
    totals: dict[str, int] = {}
    for entry in groups:
        for kind, n in entry.counts.items():
            totals[kind] = totals.get(kind, 0) + n
    return page(request, "staff/queue.html", groups=groups, has_pending=bool(pending),
                has_problems=bool(problems), kinds=reports.PROBLEMS, totals=totals,
                kind_of=kind_of, channel_of=channel_of,
                fix_link=lambda item: fix_link(db, item),
                escalated=reminders.escalations(db, escalate_days=config.verify_escalate_days,
                                                organization_id=org),
                freshness=reminders.freshness(db, default_months=config.stale_months,
                                              organization_id=org))


def _decide_suggestion(request: HTMXRequest, db: Database, item_id: str,
                       form: dict[str, list[str]]) -> None:
    found = suggestions.get(db, item_id)
    require_org(request, found.organization_id)
    action = (form.get("action") or [""])[-1]
    if action not in ("accept", "reject", "edit"):
        raise InvalidData("action must be accept, reject or edit", field="action")
    value = None
    if action == "edit" and found.kind != "note":
        value = suggestions.parse(found.entity, found.field, (form.get("value") or [""])[-1])
    suggestions.decide(db, caller(request), item_id, accept=action != "reject", value=value)
    sync(request, db)


def _close_problem(request: HTMXRequest, db: Database, item_id: str,
                   form: dict[str, list[str]]) -> None:
    found = reports.get_problem(db, item_id)
    require_org(request, found.organization_id)
    reports.close_problem(db, item_id, status=(form.get("status") or [""])[-1],
                          by=caller(request).actor)


def _decided(request: HTMXRequest, db: Database, item_id: str, data: dict,
             apply: Callable[[HTMXRequest, Database, str, dict[str, list[str]]], None]) -> Redirect:
    """A decision on a queue item: a suggested edit and a problem report are decided the same
    way (find it, check the editor's organisation, apply the form, back to the queue)."""
    apply(request, db, item_id, lists(data))
    return Redirect("/staff/queue", status_code=303)


# Two addresses (each names its own id, as the role matrix and the forms use them), one body.
@post("/queue/suggestion/{suggestion_id:str}", sync_to_thread=True,
      name="staff_queue_decide", opt=EDITOR)
def decide(request: HTMXRequest, db: DB, suggestion_id: FromPath[str],
           data: FormBody) -> Redirect:
    return _decided(request, db, suggestion_id, data, _decide_suggestion)


@post("/queue/problem/{report_id:str}", sync_to_thread=True, name="staff_queue_problem",
      opt=EDITOR)
def close_problem(request: HTMXRequest, db: DB, report_id: FromPath[str],
                  data: FormBody) -> Redirect:
    return _decided(request, db, report_id, data, _close_problem)


@post("/queue/organization/{organization_id:str}", sync_to_thread=True,
      name="staff_queue_organization", opt=ADMIN)
def set_organization(request: HTMXRequest, db: DB, organization_id: FromPath[str],
                     data: FormBody) -> Redirect:
    """An admin sets the data contact, its language and whether the organisation is trusted."""
    form = lists(data)
    before = store.get_organization(db, organization_id)
    lang = (form.get("data_contact_lang") or [before.data_contact_lang])[-1]
    if lang not in ("fr", "nl", "en", "ar"):
        raise InvalidData("language must be fr, nl, en or ar", field="data_contact_lang")
    after = msgspec.structs.replace(
        before, data_contact_email=(form.get("data_contact_email") or [""])[-1].strip() or None,
        data_contact_lang=lang, trusted=(form.get("trusted") or [""])[-1] == "on")
    store.save(db, after, actor=caller(request).actor)
    sync(request, db)
    return Redirect("/staff/queue", status_code=303)


route_handlers = [queue_page, decide, close_problem, set_organization]

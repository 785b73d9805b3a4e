"""The correction queue (/staff/queue): everything that says a record may be wrong, in one place.

Suggested edits from the organisations' links (a diff per field: value now → proposed value;
accept, accept an edited value, or reject), the problem reports of the kiosk and the staff,
reminders nobody answered for ``verify_escalate_days`` days, and the freshness of each
organisation (share of its records checked within their period). An admin sets an
organisation's data contact and whether its own changes apply without review.
"""

from __future__ import annotations

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


@get("/queue", sync_to_thread=True, name="staff_queue", opt=EDITOR)
def queue_page(request: HTMXRequest, db: DB) -> Template:
    org = own_org(request)
    config = settings(request)
    return page(request, "staff/queue.html",
                pending=suggestions.pending(db, organization_id=org),
                kinds={key: value[0] for key, value in suggestions.FIELDS.items()},
                problems=reports.problem_queue(db, organization_id=org),
                escalated=reminders.escalations(db, escalate_days=config.verify_escalate_days,
                                                organization_id=org),
                freshness=reminders.freshness(db, default_months=config.stale_months,
                                              organization_id=org))


@post("/queue/suggestion/{suggestion_id:str}", sync_to_thread=True,
      name="staff_queue_decide", opt=EDITOR)
def decide(request: HTMXRequest, db: DB, suggestion_id: FromPath[str],
           data: FormBody) -> Redirect:
    form = lists(data)
    found = suggestions.get(db, suggestion_id)
    require_org(request, found.organization_id)
    action = (form.get("action") or [""])[-1]
    if action not in ("accept", "reject", "edit"):
        raise InvalidData("action must be accept, reject or edit", field="action")
    value = None
    if action == "edit" and found.kind != "note":
        raw = (form.get("value") or [""])[-1]
        value = suggestions.parse(found.entity, found.field, raw)
    suggestions.decide(db, caller(request), suggestion_id, accept=action != "reject",
                       value=value)
    sync(request, db)
    return Redirect("/staff/queue", status_code=303)


@post("/queue/problem/{report_id:str}", sync_to_thread=True, name="staff_queue_problem",
      opt=EDITOR)
def close_problem(request: HTMXRequest, db: DB, report_id: FromPath[str],
                  data: FormBody) -> Redirect:
    found = reports.get_problem(db, report_id)
    require_org(request, found.organization_id)
    reports.close_problem(db, report_id, status=(lists(data).get("status") or [""])[-1],
                          by=caller(request).actor)
    return Redirect("/staff/queue", status_code=303)


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

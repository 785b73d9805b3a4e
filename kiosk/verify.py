"""The organisations' form (/verify/<token>): check and correct their own records, no login.

The link comes from the reminder e-mail (``orientation.reminders``); the token in the path is
the only credential, so the page is never cached, never indexed and never sends a Referer
to another site. A refused link (altered, expired, already used) gets a page in plain words with
status 410, never a stack trace. Posts go through the kiosk's same-origin guard.
"""

from __future__ import annotations

from typing import Any

from litestar import Request, Router, get, post
from litestar.di import NamedDependency
from litestar.params import FromPath, URLEncodedBody
from litestar.plugins.htmx import HTMXRequest
from litestar.response import Template
from sqlite_utils import Database

from orientation import reminders, store, suggestions, writes

from . import i18n
from .guards import post_guard

DB = NamedDependency[Database]
# same-origin, not no-referrer: with no-referrer Chromium posts the form with "Origin: null",
# which the same-origin guard rightly refuses; same-origin still never leaks the token.
HEADERS = {"Cache-Control": "no-store", "Referrer-Policy": "same-origin",
           "X-Robots-Tag": "noindex"}


def link_page(template: str, lang: str, status_code: int = 200, **context: Any) -> Template:
    """A page reached through a secret link (this form, the capacity form of kiosk/places.py):
    never cached, never indexed, no Referer to another site."""
    return Template(template, status_code=status_code, headers=HEADERS,
                    context={"lang": lang, "dir": i18n.direction(lang), **context})


def _refused(exc: reminders.LinkRefused) -> Template:
    return link_page("verify/refused.html", "fr", status_code=410, reason=exc.reason)


@get("/{token:str}", sync_to_thread=True, name="verify_form")
def verify_form(request: Request, db: DB, token: FromPath[str]) -> Template:
    try:
        link = reminders.open_link(db, token)
    except reminders.LinkRefused as exc:
        return _refused(exc)
    org = store.get_organization(db, link.organization_id)
    months = request.app.state.settings.stale_months
    return link_page("verify/form.html", org.data_contact_lang, org=org, token=token,
                 records=reminders.form(db, org.id, default_months=months),
                 kinds={key: value[0] for key, value in suggestions.FIELDS.items()},
                 field_name=reminders.field_name, expires=link.expires_at)


@post("/{token:str}", sync_to_thread=True, name="verify_answer", status_code=200)
def verify_answer(request: Request, db: DB, token: FromPath[str],
                  data: URLEncodedBody[dict[str, Any]]) -> Template:
    posted = {k: "\n".join(v) if isinstance(v, list) else v for k, v in (data or {}).items()}
    try:
        link = reminders.open_link(db, token)
        org = store.get_organization(db, link.organization_id)
        result = reminders.answer(db, token, posted,
                                  all_correct=posted.get("answer") == "all_correct")
    except reminders.LinkRefused as exc:
        return _refused(exc)
    writes.sync_index(request.app.state.index, db)
    return link_page("verify/done.html", org.data_contact_lang, org=org, result=result)


verify_router = Router(
    path="/verify",
    route_handlers=[verify_form, verify_answer],
    request_class=HTMXRequest,
    include_in_schema=False,
    guards=[post_guard],
)

"""Tonight's counts from a phone (/places/<token>): a shelter or a food aid service says how
many places are left, without an account.

The link is the organisation's lasting capacity link (``orientation.capacity``), made by an
editor in the staff console. The token in the path is the only credential, so the page is never
cached, never indexed and never sends a Referer. A refused link gets a page in plain words (410).
Posts go through the kiosk's same-origin guard. Nothing about any person is asked or kept.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from litestar import Request, Router, get, post
from litestar.di import NamedDependency
from litestar.params import FromPath, URLEncodedBody
from litestar.plugins.htmx import HTMXRequest
from litestar.response import Template
from sqlite_utils import Database

from orientation import capacity, store
from orientation.errors import InvalidData

from .guards import post_guard
from .verify import link_page

DB = NamedDependency[Database]


def _form(request: Request, db: Database, token: str, link: capacity.CapacityLink, *,
          error: str | None = None, saved: list | None = None, status_code: int = 200,
          posted: dict[str, Any] | None = None) -> Template:
    org = store.get_organization(db, link.organization_id)
    services = capacity.counted_services(db, org.id)
    kept = capacity.of_services(db, [s.id for s in services])
    hours = request.app.state.settings.capacity_fresh_hours
    now = dt.datetime.now(dt.UTC)
    rows = []
    for s in services:
        last = next(iter(kept.get(s.id, [])), None)
        rows.append({"service": s, "last": last,
                     "fresh": bool(last and last.fresh(now, hours)),
                     "unit": last.unit if last else capacity.unit_of(db, s)})
    return link_page("places/form.html", org.data_contact_lang or "fr", status_code=status_code,
                 org=org, token=token, rows=rows, error=error, saved=saved or [],
                 posted=posted or {}, fresh_hours=hours)


@get("/{token:str}", sync_to_thread=True, name="places_form")
def places_form(request: Request, db: DB, token: FromPath[str]) -> Template:
    try:
        link = capacity.open_link(db, token)
    except capacity.LinkRefused as exc:
        return link_page("places/refused.html", "fr", status_code=410, reason=exc.reason)
    return _form(request, db, token, link)


@post("/{token:str}", sync_to_thread=True, name="places_save", status_code=200)
def places_save(request: Request, db: DB, token: FromPath[str],
                data: URLEncodedBody[dict[str, Any]]) -> Template:
    posted = {k: v[-1] if isinstance(v, list) else v for k, v in (data or {}).items()}
    try:
        link = capacity.open_link(db, token)
    except capacity.LinkRefused as exc:
        return link_page("places/refused.html", "fr", status_code=410, reason=exc.reason)
    counts: dict[str, dict[str, object]] = {}
    for key, value in posted.items():
        kind, _, service_id = key.partition(":")
        if kind in ("available", "maximum", "unit") and service_id:
            counts.setdefault(service_id, {})[kind] = value
    # An empty "available" means "no news for this one": only the counts given are saved.
    counts = {sid: c for sid, c in counts.items() if str(c.get("available", "")).strip()}
    if not counts:
        return _form(request, db, token, link, error="empty", status_code=422, posted=posted)
    try:
        saved = capacity.publish_from_link(db, token, counts)
    except InvalidData as exc:
        return _form(request, db, token, link, error=exc.field or "available", status_code=422,
                     posted=posted)
    return _form(request, db, token, link, saved=saved)


places_router = Router(
    path="/places",
    route_handlers=[places_form, places_save],
    request_class=HTMXRequest,
    include_in_schema=False,
    guards=[post_guard],
)

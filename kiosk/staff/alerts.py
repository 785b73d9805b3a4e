"""Saved searches and their alerts in the staff console (``orientation.alerts``): save the
search on screen, list the changes since the worker last looked, mark them seen, the daily
e-mail, and the navigation's badge (a fragment htmx loads after the page, so no console page
waits for it).

Each worker sees only their own saved searches: another's id answers "not found".
"""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qs, urlencode

from litestar import Request, get, post
from litestar.di import NamedDependency
from litestar.plugins.htmx import HTMXRequest
from litestar.response import Redirect, Template
from sqlite_utils import Database

from orientation import alerts, communes, store
from orientation.errors import InvalidData
from orientation.search import Filters, SearchIndex

from .console import FormBody, language, lists, page, session

_FLAGS = ("walk_in", "free", "step_free", "no_digital")


def _filters(args: dict[str, list[str]]) -> tuple[str, Filters]:
    """(words, filters) of a console search's query string (``/staff/search?…``)."""
    def one(name: str) -> str:
        return (args.get(name) or [""])[-1].strip()

    def many(name: str) -> list[str]:
        return [v for v in args.get(name, []) if v]

    typed = " ".join(one("commune").split())[:60]
    located = one("located_in") or None
    kind = one("kind")
    return one("q"), Filters(
        needs=many("need"), commune=(communes.commune(typed) or typed) if typed else None,
        located_in=located, nearby=bool(located) and one("nearby") in ("1", "true", "on"),
        languages=many("language"), audiences=many("audience"),
        kind=kind if kind in ("service", "pathway") else None,
        **{f: one(f) in ("1", "true", "on") for f in _FLAGS})


def _search_args(search: alerts.SavedSearch) -> str:
    """The console search address of a saved search (to run it again)."""
    f = search.filters
    args: list[tuple[str, str]] = [("q", search.query)] if search.query else []
    args += [("need", n) for n in f.needs] + [("language", x) for x in f.languages]
    args += [("audience", a) for a in f.audiences]
    args += [("commune", f.commune)] if f.commune else []
    args += [("located_in", f.located_in)] if f.located_in else []
    args += [(name, "1") for name in ("nearby", *_FLAGS) if getattr(f, name)]
    args += [("kind", f.kind)] if f.kind else []
    return urlencode(args)


def _field(data: dict[str, Any] | None, name: str) -> str:
    values = lists(data).get(name) or [""]
    return str(values[-1])


def _own(db: Database, request: Request, data: dict[str, Any] | None) -> alerts.SavedSearch:
    search_id = _field(data, "search")
    if not search_id:
        raise InvalidData("choose a saved search", field="search")
    return alerts.get_own(db, session(request).user.id, search_id)


@post("/alerts/save", sync_to_thread=True, name="staff_alerts_save", opt={"role": "staff"},
      status_code=303)
def save_search(request: HTMXRequest, db: NamedDependency[Database],
                index: NamedDependency[SearchIndex], data: FormBody) -> Redirect:
    """Save the search on screen (its query string comes in the ``search`` field)."""
    query, filters = _filters(parse_qs(_field(data, "search")))
    email = _field(data, "email") if _field(data, "daily") else ""
    saved = alerts.save(db, index, session(request).user.id, name=_field(data, "name"),
                        query=query, filters=filters, email=email)
    return Redirect(f"/staff/alerts#search-{saved.id}", status_code=303)


@get("/alerts", sync_to_thread=True, name="staff_alerts", opt={"role": "staff"})
def alerts_page(request: HTMXRequest, db: NamedDependency[Database],
                index: NamedDependency[SearchIndex]) -> Template:
    lang = language(request)
    terms = {t.code: t for t in store.list_terms(db)}
    shown = []
    for search in alerts.saved_searches(db, session(request).user.id):
        found = alerts.unseen(db, index, search)
        shown.append({"search": search, "args": _search_args(search),
                      "changes": [(c, alerts.describe(c, lang)) for c in found.changes]})
    return page(request, "staff/alerts.html", searches=shown, terms=terms)


@get("/alerts/badge", sync_to_thread=True, name="staff_alerts_badge", opt={"role": "staff"})
def badge(request: HTMXRequest, db: NamedDependency[Database],
          index: NamedDependency[SearchIndex]) -> Template:
    count = alerts.unseen_count(db, index, session(request).user.id)
    return Template("staff/_alerts_badge.html", context={
        "count": count, "lang": language(request)})


@post("/alerts/seen", sync_to_thread=True, name="staff_alerts_seen", opt={"role": "staff"},
      status_code=303)
def mark_seen(request: Request, db: NamedDependency[Database],
              index: NamedDependency[SearchIndex], data: FormBody) -> Redirect:
    search = _own(db, request, data)
    alerts.mark_seen(db, index, search.user_id, search.id)
    return Redirect(f"/staff/alerts#search-{search.id}", status_code=303)


@post("/alerts/email", sync_to_thread=True, name="staff_alerts_email", opt={"role": "staff"},
      status_code=303)
def set_email(request: Request, db: NamedDependency[Database], data: FormBody) -> Redirect:
    search = _own(db, request, data)
    email = _field(data, "email") if _field(data, "daily") else None
    alerts.set_email(db, search.user_id, search.id, email)
    return Redirect(f"/staff/alerts#search-{search.id}", status_code=303)


@post("/alerts/delete", sync_to_thread=True, name="staff_alerts_delete", opt={"role": "staff"},
      status_code=303)
def delete_search(request: Request, db: NamedDependency[Database], data: FormBody) -> Redirect:
    search = _own(db, request, data)
    alerts.delete(db, search.user_id, search.id)
    return Redirect("/staff/alerts", status_code=303)


route_handlers = [save_search, alerts_page, badge, mark_seen, set_email, delete_search]

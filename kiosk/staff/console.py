"""The staff console's plumbing, shared by its pages (``pages.py``), editor (``edit.py``), slip
composer (``slip.py``) and the desk page: who is asking (one guard for the role matrix and
CSRF), how a console page is rendered, and how errors are shown.

The person's commune ("Commune de la personne", ``residence``) is asked once in the search form
and kept like the kiosk's "Où habitez-vous ?": in a browser-session cookie only, never in the
database or the logs. Search uses it as "serves the people of this commune" and to put the
person's region first; pathways and slips resolve their roles from it (le CPAS de votre
commune).

Every route declares the least role it needs in ``opt["role"]`` ("public" for the login page);
``staff_guard`` checks it, so a route without a role is refused rather than left open. Every
form carries the session's CSRF token (htmx sends it as ``X-CSRF-Token``), checked by the same
guard on every non-GET request.
"""

from __future__ import annotations

import datetime as dt
import logging
from typing import Any
from urllib.parse import urlencode

import anyio
from litestar import Request, Response
from litestar.connection import ASGIConnection
from litestar.exceptions import HTTPException, NotAuthorizedException, PermissionDeniedException
from litestar.handlers import BaseRouteHandler
from litestar.params import URLEncodedBody
from litestar.plugins.htmx import HTMXRequest
from litestar.response import Redirect, Template
from sqlite_utils import Database

from orientation import accounts, communes, store, verification, writes
from orientation.access import Caller
from orientation.errors import OrientationError, PermissionDenied, describe
from orientation.models import ROLES
from orientation.settings import Settings

from kiosk import i18n

LOG = logging.getLogger(__name__)
CSRF_FIELD = "csrf"
#: A posted form, as parsed by Litestar: one value is a string, a repeated field a list.
FormBody = URLEncodedBody[dict[str, Any]]


#: The person's commune of residence (or, without a home address, where they stay): a slug.
RESIDENCE_COOKIE = "staff_commune"
RESIDENCE_FIELD = "commune"
_BY_SLUG = {communes.slug(c): c for c in communes.COMMUNES}


def residence(request: Request) -> tuple[str | None, str]:
    """(the person's commune, canonical, or None; what was typed, for the form). A value in
    the query (the search form's field) wins over the cookie; an empty one forgets it."""
    if RESIDENCE_FIELD in request.query_params:
        typed = " ".join(request.query_params.get(RESIDENCE_FIELD, "").split())[:60]
        return communes.commune(typed) if typed else None, typed
    found = _BY_SLUG.get(request.cookies.get(RESIDENCE_COOKIE, ""))
    return found, found or ""


def keep_residence(request: Request, response: Response, commune: str | None) -> None:
    """Remember the person's commune for this browser session (no max-age: gone when the
    browser closes, or on log out), or forget it when the field was emptied."""
    if RESIDENCE_FIELD not in request.query_params:
        return
    if commune:
        response.set_cookie(RESIDENCE_COOKIE, communes.slug(commune), path="/staff",
                            httponly=True, samesite="strict",
                            secure=request.url.scheme == "https")
    elif request.cookies.get(RESIDENCE_COOKIE):
        response.delete_cookie(RESIDENCE_COOKIE, path="/staff")


def open_db(connection: ASGIConnection) -> Database:
    return store.connect(connection.app.state.db_path, migrate=False)


def read_session(connection: ASGIConnection) -> accounts.Session | None:
    db = open_db(connection)
    try:
        return accounts.read_session(db, connection.cookies.get(accounts.COOKIE))
    finally:
        db.close()


async def staff_guard(connection: ASGIConnection, handler: BaseRouteHandler) -> None:
    """The role matrix: each route's ``opt["role"]`` is the least role it needs."""
    role = handler.opt.get("role")
    if role == "public":
        return
    if role not in ROLES:
        raise PermissionDeniedException("this page declares no role")  # fail closed
    session = await anyio.to_thread.run_sync(read_session, connection)
    if session is None:
        raise NotAuthorizedException("log in first")
    if not accounts.has_role(session.user, role):
        raise PermissionDeniedException(f"this page needs the {role} role")
    connection.state.session = session
    if connection.scope["method"] not in ("GET", "HEAD"):
        token = connection.headers.get("x-csrf-token")
        if token is None and isinstance(connection, Request):
            token = (await connection.form()).get(CSRF_FIELD)
        if not accounts.csrf_ok(session, token):
            raise PermissionDeniedException("the form's security token is missing or wrong")


def lists(data: dict[str, Any] | None) -> dict[str, list[str]]:
    """Every field of a posted form as a list of values (blank fields are absent)."""
    return {k: v if isinstance(v, list) else [v] for k, v in (data or {}).items()}


def session(request: Request) -> accounts.Session:
    return request.state.session


def caller(request: Request) -> Caller:
    return accounts.caller(session(request).user)


def settings(request: Request) -> Settings:
    return request.app.state.settings


def stale_months(request: Request) -> int:
    return settings(request).stale_months


def language(request: Request) -> str:
    """The console's language: asked in the address (``?lang=``, the login page's links), else
    the account's own choice, else the browser's Accept-Language, else French."""
    asked = request.query_params.get("lang")
    if asked in i18n.STAFF_LANGUAGES:
        return asked
    session = getattr(request.state, "session", None)
    if session is not None and session.user.language in i18n.STAFF_LANGUAGES:
        return session.user.language
    return i18n.negotiate(request.headers.get("accept-language")) or i18n.DEFAULT


def page(request: HTMXRequest, template: str, *, fragment: str | None = None,
         status_code: int = 200, **context: Any) -> Template:
    """A console page, or only its fragment when htmx asks for it."""
    session = getattr(request.state, "session", None)
    user = session.user if session else None
    lang = language(request)
    context = {
        "lang": lang, "dir": i18n.direction(lang), "user": user,
        "csrf": session.csrf if session else "",
        "is_editor": bool(user and accounts.has_role(user, "editor")),
        "is_admin": bool(user and user.role == "admin"), "path": request.url.path,
        "today": dt.date.today(), **context,
    }
    name = fragment if fragment and request.htmx else template
    return Template(name, context=context, status_code=status_code)


def verified(record: Any, months: int) -> dict[str, Any]:
    return {"date": getattr(record, "assured_date", None),
            "by": getattr(record, "assured_by", None),
            "stale": verification.is_stale(record, months)}


def own_org(request: Request) -> str | None:
    """The organisation an editor works for (None for an admin: every organisation)."""
    user = session(request).user
    return None if user.role == "admin" else user.organization_id


def require_org(request: Request, organization_id: str) -> None:
    org = own_org(request)
    if org is not None and org != organization_id:
        raise PermissionDenied("this belongs to another organisation")


def org_names(db: Database) -> dict[str, str]:
    return {o.id: o.name for o in store.list_organizations(db)}


def sync(request: Request, db: Database) -> None:
    """Bring the search index up to date after a committed write (``writes.sync_index``:
    a failure is logged, never answered as an error; the next search catches up)."""
    writes.sync_index(request.app.state.index, db)


def staff_error(request: Request, exc: Exception) -> Response:
    """Errors in plain words; a missing login sends to the login page."""
    if not isinstance(request, HTMXRequest):
        request = HTMXRequest(request.scope, request.receive)
    if isinstance(exc, NotAuthorizedException):
        target = "/staff/login?" + urlencode({"next": request.url.path})
        if request.htmx:
            return Response("", status_code=401, headers={"HX-Redirect": target})
        return Redirect(target, status_code=303)
    if isinstance(exc, OrientationError):
        status, _ = describe(exc)
    elif isinstance(exc, HTTPException):
        status = exc.status_code
    else:
        status = 500
    kind = {403: "forbidden", 404: "not_found", 503: "unavailable"}.get(
        status, "server" if status >= 500 else "bad_request")
    if kind == "server":
        LOG.error("staff console error on %s", request.url.path, exc_info=exc)
    detail = ""
    if status < 500 or status == 503:
        detail = exc.detail if isinstance(exc, HTTPException) else str(exc)
    return page(request, "staff/error.html", fragment="staff/_error.html", status_code=status,
                kind=kind, detail=detail)

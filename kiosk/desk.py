"""The staff desk page (/desk): "Parler à une personne" requests from the kiosks, live.

Whoever keeps this page open and presses "Je suis à l'accueil" is on duty: the page polls every
2 seconds, each poll keeps them on duty, and the kiosks then send their requests here. Closing
the page (or "Je quitte l'accueil") ends the duty after ``helpdesk.ON_DUTY_SECONDS`` at most;
the kiosks then show where else a person can be reached.

Sign-in, roles and CSRF are the staff console's (``kiosk.staff``): one guard reads each
route's ``opt["role"]``, and a missing login sends to ``/staff/login``.
"""

from __future__ import annotations

import msgspec
from litestar import Request, Router, get, post
from litestar.di import NamedDependency
from litestar.params import FromPath, URLEncodedBody
from litestar.plugins.htmx import HTMXRequest
from litestar.response import Redirect, Template
from sqlite_utils import Database

from orientation import accounts, helpdesk, hours
from orientation.errors import InvalidData

from .staff.console import page, staff_error, staff_guard

STAFF = {"role": "staff"}
DB = NamedDependency[Database]


def _session(request: Request) -> accounts.Session:
    return request.state.session


def _desk(request: HTMXRequest, db: Database) -> Template:
    """The desk page (the console's layout), or only the live list for htmx."""
    session = _session(request)
    requests = helpdesk.open_requests(
        db, minutes=request.app.state.settings.help_request_minutes)
    now = hours.now()
    waiting = {r.id: max(0, int((now - r.created_at).total_seconds() // 60)) for r in requests}
    return page(request, "desk.html", fragment="_desk_requests.html", requests=requests,
                waiting=waiting, on_duty=helpdesk.on_duty(db, session.user.id),
                staffed=helpdesk.desk_staffed(db))


@get("/", sync_to_thread=True, name="desk", opt=STAFF)
def desk(request: HTMXRequest, db: DB) -> Template:
    helpdesk.check_in(db, _session(request).user.id)
    return _desk(request, db)


@get("/requests", sync_to_thread=True, name="desk_requests", opt=STAFF)
def desk_requests(request: HTMXRequest, db: DB) -> Template:
    """The live list (polled by htmx); each poll keeps the user on duty."""
    helpdesk.check_in(db, _session(request).user.id)
    return _desk(request, db)


class DutyForm(msgspec.Struct, kw_only=True):
    on: int = 0
    csrf: str = ""


@post("/duty", sync_to_thread=True, name="desk_duty", status_code=303, opt=STAFF)
def desk_duty(request: Request, db: DB, data: URLEncodedBody[DutyForm]) -> Redirect:
    user_id = _session(request).user.id
    if data.on:
        helpdesk.start_duty(db, user_id)
    else:
        helpdesk.stop_duty(db, user_id)
    return Redirect("/desk", status_code=303)


@post("/requests/{request_id:str}/{action:str}", sync_to_thread=True, name="desk_move",
      status_code=200, opt=STAFF)
def desk_move(request: HTMXRequest, db: DB, request_id: FromPath[str],
              action: FromPath[str]) -> Template | Redirect:
    """"J'arrive" (acknowledge) or "Terminé" (resolve)."""
    session = _session(request)
    moves = {"acknowledge": helpdesk.acknowledge, "resolve": helpdesk.resolve}
    if action not in moves:
        raise InvalidData(f"unknown action {action!r}", field="action")
    moves[action](db, request_id, by=session.user.display_name)
    if request.htmx:
        return _desk(request, db)
    return Redirect("/desk", status_code=303)


desk_router = Router(
    path="/desk",
    route_handlers=[desk, desk_requests, desk_duty, desk_move],
    guards=[staff_guard],
    request_class=HTMXRequest,
    include_in_schema=False,
    response_headers={"Vary": "HX-Request, Cookie", "Cache-Control": "no-store"},
    exception_handlers={Exception: staff_error},
)

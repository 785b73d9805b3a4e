""""Parler à une personne" on the kiosk: the call, its status, and where else to go.

A call lives ``help_request_minutes``; nobody answering in that time is said in plain words,
with the fallback (open social desks near the kiosk, free lines) and a slip of those numbers.
While a call is open the kiosk does not reset by itself; once it ended, it does, and the idle
reset cancels whatever is still open, so the next visitor starts clean.
"""

from __future__ import annotations

from litestar import Request, Response, Router, get, post
from litestar.di import NamedDependency
from litestar.params import FromPath, FromQuery
from litestar.plugins.htmx import HTMXRequest
from litestar.response import Redirect, Template
from sqlite_utils import Database

from orientation import helpdesk, hours, printing
from orientation import slip as slips

from . import i18n
from .public import language, screen, settings
from .slips import SLIP_CSS

DB = NamedDependency[Database]


def _kiosk_name(request: Request) -> str:
    return settings(request).kiosk_commune


def _minutes(request: Request) -> float:
    return settings(request).help_request_minutes


def _fallback(request: Request, db: Database) -> helpdesk.Fallback:
    return helpdesk.fallback(db, commune=_kiosk_name(request))


def _desk(request: Request, db: Database) -> dict:
    """Whether someone can come, known before the tap: on duty now, and the desk's hours."""
    spec = settings(request).desk_hours
    return {"staffed": helpdesk.desk_staffed(db),
            "desk_expected": helpdesk.desk_expected(spec),
            "desk_hours": hours.describe(helpdesk.desk_hours(spec), language(request))}


@get("/help", sync_to_thread=True, name="help")
def help_page(request: HTMXRequest, db: DB) -> Template:
    """Where a person can be reached (reached by a link, or after the kiosk was reset)."""
    desk = _desk(request, db)
    return screen(request, "help.html", call=None, **desk,
                  fallback=None if desk["staffed"] else _fallback(request, db))


@post("/help", sync_to_thread=True, name="help_ask", status_code=200, opt={"limit": "help"})
def help_ask(request: HTMXRequest, db: DB) -> Template | Redirect:
    """The call button: a request for the desk, or where to go when nobody is there."""
    desk = _desk(request, db)
    if not desk["staffed"]:
        return screen(request, "help.html", call=None, **desk, fallback=_fallback(request, db))
    asked = helpdesk.ask(db, _kiosk_name(request), minutes=_minutes(request))
    return Redirect(f"/help/{asked.id}", status_code=303)


@get("/help/{request_id:str}", sync_to_thread=True, name="help_status")
def help_status(request: HTMXRequest, db: DB, request_id: FromPath[str],
                seen: FromQuery[str] = "") -> Template | Response:
    """The request's status; the page polls it (htmx) and gets 204 while nothing changed."""
    asked = helpdesk.get(db, request_id, minutes=_minutes(request))
    staffed = helpdesk.desk_staffed(db)
    if request.htmx and seen == f"{asked.status}-{int(staffed)}":
        return Response(b"", status_code=204)
    fallback = None
    if asked.status == "expired" or (asked.status == "pending" and not staffed):
        fallback = _fallback(request, db)  # nobody came, or the desk emptied while waiting
    return screen(request, "help.html", fragment="_help_status.html", staffed=staffed,
                  call=asked, fallback=fallback)


@post("/help/{request_id:str}/cancel", sync_to_thread=True, name="help_cancel")
def help_cancel(db: DB, request_id: FromPath[str]) -> Redirect:
    """"Annuler l'appel", and the idle reset: a call never outlives the person who made it."""
    asked = helpdesk.get(db, request_id)
    if asked.open:
        helpdesk.cancel(db, request_id)
    return Redirect("/", status_code=303)


@post("/help/print", sync_to_thread=True, name="help_print", status_code=200,
      opt={"limit": "print"})
def help_print(request: HTMXRequest, db: DB) -> Template:
    """"Imprimer ces numéros": the fallback on paper, through the slips' printer."""
    config = settings(request)
    lang = language(request)
    now = hours.now()
    numbers = slips.numbers_to_call(
        helpdesk.fallback(db, commune=config.kiosk_commune, at=now), now, lang=lang)
    html = request.app.template_engine.get_template("help_numbers_print.html").render(
        lang=lang, dir=i18n.direction(lang), paper="80mm", numbers=numbers)
    # Chromium prints this page from set_content, never served: the slip CSS goes in its head
    # (the served templates keep no inline style, for the CSP).
    css = SLIP_CSS.read_text(encoding="utf-8")
    html = html.replace("</head>", f"<style>{css}</style>\n</head>", 1)
    try:
        printing.print_page(html, backend=config.printer, target=config.printer_target,
                            name="numeros", paper="80mm", chromium=config.chromium)
        problem = None
    except printing.PrinterError as exc:
        problem = exc.reason
    return screen(request, "help.html", fragment="_help_printed.html", call=None,
                  printed=True, problem=problem, status_code=503 if problem else 200,
                  **_desk(request, db), fallback=_fallback(request, db))


help_router = Router(path="/", route_handlers=[help_page, help_ask, help_print, help_status,
                                               help_cancel])

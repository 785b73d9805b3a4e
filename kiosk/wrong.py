"""'Cette information est fausse' on the kiosk: one tap makes an anonymous report for the
organisation's editors; an optional second tap says what is wrong, from a fixed list of kinds
(``orientation.reports``), on that same report. Nothing can be typed, so nothing personal is
kept. Both posts go through the kiosk's same-origin guard and the per-address report limit.
"""

from __future__ import annotations

import msgspec
from litestar import Router, post
from litestar.di import NamedDependency
from litestar.params import FromPath, URLEncodedBody
from litestar.plugins.htmx import HTMXRequest
from litestar.response import Redirect, Template
from sqlite_utils import Database

from orientation import reports, store
from orientation.errors import NotFound

from .public import screen

DB = NamedDependency[Database]


@post("/service/{service_id:str}/wrong", sync_to_thread=True, name="service_wrong",
      status_code=200, opt={"limit": "report"})
def service_wrong(request: HTMXRequest, db: DB, service_id: FromPath[str]) -> Template | Redirect:
    """"Cette information est fausse": one tap, anonymous, for the organisation's editors."""
    service = store.get_service(db, service_id)
    if service.status != "active":
        raise NotFound("service", service_id)
    # Recorded at once as "other": the second tap (what is wrong) is optional and refines
    # this same report, so leaving after one tap still reaches the editors.
    report = reports.report_problem(db, service.id, "other", channel="kiosk")
    if request.htmx:
        return screen(request, "_wrong.html", service=service, report=report,
                      kinds=_KIOSK_PROBLEMS)
    return Redirect(f"/service/{service.id}", status_code=303)


#: The kiosk's second tap: kind -> pictogram, in the order shown (labels: kiosk/labels.py).
_KIOSK_PROBLEMS = {"wrong_phone": "telephone", "outdated_hours": "horloge",
                   "wrong_address": "lieu", "closed": "arreter", "sent_elsewhere": "chemin",
                   "other": "attention"}


class WrongForm(msgspec.Struct, kw_only=True):
    kind: str = ""


@post("/service/{service_id:str}/wrong/{report_id:str}", sync_to_thread=True,
      name="service_wrong_refine", status_code=200, opt={"limit": "report"})
def service_wrong_refine(request: HTMXRequest, db: DB, service_id: FromPath[str],
                         report_id: FromPath[str],
                         data: URLEncodedBody[WrongForm]) -> Template | Redirect:
    """What is wrong, in one more tap: a choice from a fixed list, never typed text."""
    report = reports.get_problem(db, report_id)
    if report.service_id != service_id:
        raise NotFound("problem_report", report_id)
    reports.refine_problem(db, report.id, data.kind)
    if request.htmx:
        return screen(request, "_wrong.html", refined=True)
    return Redirect(f"/service/{service_id}", status_code=303)


wrong_router = Router(path="/", route_handlers=[service_wrong, service_wrong_refine])

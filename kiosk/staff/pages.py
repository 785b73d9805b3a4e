"""The social-worker console under /staff: find the path, know who to call now, compose a slip,
keep the directory true.

Same templates and slip as the kiosk, denser pages for a desktop screen, in French, Dutch or
English through the kiosk's catalogues (``console.language``: ``?lang=``, the account's choice,
the browser's); the slip itself can be composed in the person's language. The role matrix and CSRF live in
``console.py``; the editor pages in ``edit.py``, the slip composer in ``slip.py``.

Roles (``models.ROLES``): ``staff`` searches, compares, calls, composes slips, reports problems,
follows up reference codes and reads histories; an ``editor`` also edits their organisation's
records, works its problem and verification queues and reads the report; ``admin`` does all of
that for every organisation.
"""

from __future__ import annotations

import datetime as dt
import secrets
from typing import Any
from urllib.parse import urlencode

import msgspec
from litestar import Request, Response, get, post
from litestar.di import NamedDependency
from litestar.datastructures import Cookie
from litestar.exceptions import PermissionDeniedException
from litestar.params import FromPath, FromQuery
from litestar.plugins.htmx import HTMXRequest
from litestar.response import Redirect, Template
from sqlite_utils import Database

from orientation import (
    accounts,
    communes,
    competence,
    contacts,
    hours,
    reports,
    store,
    unmet,
    verification,
)
from orientation import slip as slips
from orientation.access import may_change
from orientation.errors import InvalidData, NotFound
from orientation.models import Service
from orientation.search import AUDIENCES, FLAGS, Filters, Results, SearchIndex

from kiosk import i18n

from . import capacity as capacity_view
from .console import (
    RESIDENCE_COOKIE,
    FormBody,
    caller,
    keep_residence,
    language,
    residence,
    lists,
    org_names,
    own_org,
    page,
    require_org,
    session,
    settings,
    stale_months,
    sync,
    verified,
)

PAGE_SIZE = 20
LOGIN_CSRF_COOKIE = "staff_login_csrf"
MAX_COMPARE = 3


# --- Small readers ------------------------------------------------------------------------------


def _multi(request: Request, name: str) -> list[str]:
    return [v for v in request.query_params.getall(name, []) if v]


def _flag(request: Request, name: str) -> bool:
    return request.query_params.get(name) in ("1", "true", "on")


# --- Log in, log out ---------------------------------------------------------------------------


def _safe_next(value: str | None) -> str:
    """Where to go after logging in: a console or desk page of this site, nothing else."""
    if not value or not value.startswith(("/staff", "/desk")) or "//" in value \
            or "\\" in value:
        return "/staff"
    return value


def _secure(request: Request) -> bool:
    """The cookie is Secure when the site is served over HTTPS (directly or via a proxy that
    uvicorn trusts for ``X-Forwarded-Proto``)."""
    return request.url.scheme == "https"


@get("/login", sync_to_thread=True, name="staff_login", opt={"role": "public"})
def login_page(request: HTMXRequest, next: FromQuery[str] = "/staff") -> Template:
    token = secrets.token_urlsafe(24)
    template = page(request, "staff/login.html", next=_safe_next(next), login_csrf=token,
                    problem=None)
    template.cookies.append(Cookie(key=LOGIN_CSRF_COOKIE, value=token, httponly=True,
                                   samesite="strict", path="/staff", secure=_secure(request)))
    return template


class LoginForm(msgspec.Struct, kw_only=True):
    username: str = ""
    password: str = ""
    next: str = "/staff"
    csrf: str = ""
    lang: str = ""  # the login page's language (``?lang=`` or the browser's)


@post("/login", sync_to_thread=True, name="staff_login_post", opt={"role": "public"},
      status_code=200)
def login(request: HTMXRequest, db: NamedDependency[Database], data: FormBody) -> Template | Redirect:
    form = msgspec.convert({k: v[-1] for k, v in lists(data).items()}, LoginForm,
                           strict=False)
    expected = request.cookies.get(LOGIN_CSRF_COOKIE)
    if not expected or not secrets.compare_digest(expected, form.csrf):
        raise PermissionDeniedException("the form's security token is missing or wrong")
    address = request.client.host if request.client else None
    config = settings(request)
    try:
        user = accounts.login(db, form.username, form.password, address=address,
                              per_account=config.login_failures_per_account,
                              per_address=config.login_failures_per_address)
        problem = None if user else "wrong"
    except accounts.Throttled as exc:
        user, problem = None, f"throttled:{exc.minutes}"
    if user is None:
        lang = form.lang if form.lang in i18n.STAFF_LANGUAGES else language(request)
        refused = page(request, "staff/login.html", next=_safe_next(form.next),
                       login_csrf=form.csrf, problem=problem, lang=lang,
                       status_code=429 if problem.startswith("throttled") else 401)
        if problem.startswith("throttled"):
            refused.headers["Retry-After"] = str(int(problem.split(":")[1]) * 60)
        return refused
    if user.language is None and form.lang in i18n.STAFF_LANGUAGES:
        # The language the login page was read in becomes the account's, until changed.
        accounts.set_language(db, user.id, form.lang)
    cookie, _ = accounts.open_session(db, user)
    response = Redirect(_safe_next(form.next), status_code=303)
    response.set_cookie(accounts.COOKIE, cookie, httponly=True, samesite="lax", path="/",
                        secure=_secure(request), max_age=accounts.SESSION_HOURS * 3600)
    response.delete_cookie(LOGIN_CSRF_COOKIE, path="/staff")
    return response


@post("/logout", sync_to_thread=True, name="staff_logout", opt={"role": "staff"})
def logout(request: Request, db: NamedDependency[Database]) -> Redirect:
    accounts.close_session(db, request.cookies.get(accounts.COOKIE))
    response = Redirect("/staff/login", status_code=303)
    response.delete_cookie(accounts.COOKIE, path="/")
    response.delete_cookie(RESIDENCE_COOKIE, path="/staff")  # the person's commune too
    return response


class LanguageForm(msgspec.Struct, kw_only=True):
    language: str = ""
    next: str = "/staff"
    csrf: str = ""


@post("/language", sync_to_thread=True, name="staff_language", opt={"role": "staff"},
      status_code=303)
def choose_language(request: Request, db: NamedDependency[Database], data: FormBody) -> Redirect:
    """The console's language, chosen in the header and remembered with the account."""
    form = msgspec.convert({k: v[-1] for k, v in lists(data).items()}, LanguageForm,
                           strict=False)
    accounts.set_language(db, session(request).user.id, form.language)
    return Redirect(_safe_next(form.next), status_code=303)


# --- Home and search ---------------------------------------------------------------------------


@get("/", sync_to_thread=True, name="staff_home", opt={"role": "staff"})
def home(request: HTMXRequest, db: NamedDependency[Database]) -> Template:
    user = session(request).user
    org = user.organization_id if user.role == "editor" else None
    counts = {}
    if accounts.has_role(user, "editor"):
        counts = {
            "problems": len(reports.problem_queue(db, organization_id=org)),
            "stale": len(verification.queue(db, months=stale_months(request),
                                            organization_id=org)),
        }
    needs = [t for t in store.list_terms(db) if t.parent_id is None]
    return page(request, "staff/home.html", needs=needs, counts=counts)


def _filters(request: Request, home: str | None, typed: str) -> Filters:
    """The form's filters; the person's commune (``home``, or what was typed when it is no
    commune: the search then says so) keeps what serves its people."""
    located = request.query_params.get("located_in") or None
    kind = request.query_params.get("kind")
    return Filters(
        needs=_multi(request, "need"), commune=home or typed or None, located_in=located,
        nearby=bool(located) and _flag(request, "nearby"),
        open_now=_flag(request, "open_now"), open_today=_flag(request, "open_today"),
        walk_in=_flag(request, "walk_in"), free=_flag(request, "free"),
        languages=_multi(request, "language"), step_free=_flag(request, "step_free"),
        no_digital=_flag(request, "no_digital"), audiences=_multi(request, "audience"),
        kind=kind if kind in ("service", "pathway") else None,
    )


class Row(msgspec.Struct, kw_only=True):
    """One search result as the console shows it."""

    kind: str
    id: str
    title: str
    snippet: str
    organization: str | None = None
    places: list[str] = []
    when: str | None = None
    open_now: bool = False
    phones: list[Any] = []  # the service's lines, staff-only ones included
    contact: Any = None  # the main contact, with every line
    verified: dict[str, Any] = {}
    steps: int = 0
    elsewhere: str | None = None  # another region than the person's (its slug)


def _service_row(db: Database, service: Service, hit, months: int, at: dt.datetime,
                 lang: str = "fr", read: dict[str, dict] | None = None) -> Row:
    """``read``: the page's locations, contacts and organisations read at once (by kind),
    else they are read here."""
    read = read or _read_for(db, [service])
    places = []
    for location_id in service.location_ids[:2]:
        location = read["locations"][location_id]
        if location.address:
            places.append(f"{location.address.street}, {location.address.postal_code} "
                          f"{location.address.city}".strip(", "))
    contact = read["contacts"][service.contact_ids[0]] if service.contact_ids else None
    return Row(kind="service", id=service.id, title=service.name, snippet=hit.snippet,
               organization=read["organizations"][service.organization_id].name,
               places=places, when=slips.when(service, at, lang), open_now=hit.open_now,
               phones=service.phones, contact=contact, verified=verified(service, months))


def _read_for(db: Database, services: list[Service]) -> dict[str, dict]:
    """What the rows of ``services`` show, one statement per kind for the whole page."""
    return {
        "locations": store.get_locations(db, [i for s in services for i in s.location_ids[:2]]),
        "contacts": store.get_contacts(db, [s.contact_ids[0] for s in services
                                            if s.contact_ids]),
        "organizations": store.get_organizations(db, [s.organization_id for s in services]),
    }


@get("/search", sync_to_thread=True, name="staff_search", opt={"role": "staff"})
def search(request: HTMXRequest, db: NamedDependency[Database], index: NamedDependency[SearchIndex],
           q: FromQuery[str] = "") -> Template:
    query = " ".join(q.split())[:200]
    home, typed = residence(request)
    filters = _filters(request, home, typed)
    raw_page = request.query_params.get("page", "1")
    page_number = max(1, min(int(raw_page) if raw_page.isdigit() else 1, 500))
    try:
        # Near the place asked for, else the person's commune; their region first.
        results = index.search(db, query, filters=filters,
                               near=filters.located_in or home, home=home,
                               limit=PAGE_SIZE, offset=(page_number - 1) * PAGE_SIZE,
                               facets=True)
        problem = None
    except InvalidData as exc:  # an unknown commune or need: say so next to the form
        results = Results(query=query, total=0, offset=0, limit=PAGE_SIZE, hits=[])
        problem = str(exc)
    if query and page_number == 1 and filters == Filters(commune=filters.commune) \
            and problem is None:
        unmet.record(db, query, results.total, channel="staff",
                     known=lambda word: index.knows(db, word))
    months, at = stale_months(request), hours.now()
    rows = []
    services = store.get_services(db, [h.id for h in results.hits if h.kind == "service"])
    pathways = store.get_pathways(db, [h.id for h in results.hits if h.kind != "service"])
    read = _read_for(db, list(services.values()))
    for hit in results.hits:
        if hit.kind == "service" and hit.id in services:
            rows.append(_service_row(db, services[hit.id], hit, months, at, language(request),
                                     read))
        elif hit.kind != "service" and hit.id in pathways:
            rows.append(Row(kind="pathway", id=hit.id, title=hit.title, snippet=hit.snippet,
                            steps=len(pathways[hit.id].steps), open_now=hit.open_now))
        else:
            continue  # removed since the index last looked
        rows[-1].elsewhere = hit.elsewhere
    terms = {t.code: t for t in store.list_terms(db)}
    args = [(k, v) for k, v in request.query_params.multi_items() if k != "page"]
    shown = page(request, "staff/search.html", fragment="staff/_results.html", q=query,
                filters=filters, results=results, rows=rows, terms=terms, problem=problem,
                residence=typed, residence_known=home, residences=communes.COMMUNES,
                audiences=list(AUDIENCES), flags=FLAGS, page_number=page_number,
                pages=max(1, -(-results.total // PAGE_SIZE)),
                base_query=urlencode(args), languages=("fr", "nl", "en", "ar", "de", "es",
                                                        "tr", "ru", "uk", "pt", "it", "ro"))
    keep_residence(request, shown, home)
    return shown


# --- A service, a pathway, compare ------------------------------------------------------------


def _service_view(db: Database, service: Service, request: Request) -> dict[str, Any]:
    months, lang = stale_months(request), language(request)
    people = []
    for contact_id in service.contact_ids:
        contact = store.get_contact(db, contact_id)
        people.append({"contact": contact, "verified": verified(contact, months),
                       "availability": hours.describe(contact.availability, lang)})
    return {
        "service": service,
        "organization": store.get_organization(db, service.organization_id),
        "locations": [store.get_location(db, i) for i in service.location_ids],
        "people": people, "verified": verified(service, months),
        "week": hours.describe(service.schedules, lang),
        "when": slips.when(service, hours.now(), lang),
        "needs": [store.get_term(db, t) for t in service.needs],
    }


@get("/service/{service_id:str}", sync_to_thread=True, name="staff_service",
     opt={"role": "staff"})
def service_page(request: HTMXRequest, db: NamedDependency[Database], service_id: FromPath[str]) -> Template:
    service = store.get_service(db, service_id)
    pathways = [store.get_pathway(db, p) for p in store.pathways_using(db, service_id=service.id)]
    return page(request, "staff/service.html", **_service_view(db, service, request),
                pathways=pathways, can_edit=may_change(db, caller(request), service),
                problems=reports.problem_queue(db, service_id=service.id),
                kinds=reports.CHOSEN_PROBLEMS, **capacity_view.service_context(request, db, service))


@get("/pathway/{pathway_id:str}", sync_to_thread=True, name="staff_pathway",
     opt={"role": "staff"})
def pathway_page(request: HTMXRequest, db: NamedDependency[Database], pathway_id: FromPath[str]) -> Template:
    # Each role (le CPAS de votre commune) resolved for the person's commune, once given.
    pathway = competence.localize(db, store.get_pathway(db, pathway_id), residence(request)[0])
    steps = [{"step": s, "service": store.get_service(db, s.service_id),
              "contact": store.get_contact(db, s.contact_id)} for s in pathway.steps]
    return page(request, "staff/pathway.html", pathway=pathway, steps=steps,
                can_edit=may_change(db, caller(request), pathway))


@get("/compare", sync_to_thread=True, name="staff_compare", opt={"role": "staff"})
def compare(request: HTMXRequest, db: NamedDependency[Database]) -> Template:
    ids = list(dict.fromkeys(_multi(request, "service")))
    if not 2 <= len(ids) <= MAX_COMPARE:
        raise InvalidData(f"choose 2 or {MAX_COMPARE} services to compare", field="service")
    columns = [_service_view(db, store.get_service(db, i), request) for i in ids]
    return page(request, "staff/compare.html", columns=columns)


# --- Who can I call now? ------------------------------------------------------------------------


@get("/call/service/{service_id:str}", sync_to_thread=True, name="staff_call_service",
     opt={"role": "staff"})
def call_service(request: HTMXRequest, db: NamedDependency[Database], service_id: FromPath[str]) -> Template:
    service = store.get_service(db, service_id)
    plan = contacts.who_to_call(db, [service.id], staff=True)
    return page(request, "staff/call.html", title=service.name, service=service, plan=plan,
                services={service.id: service}, term=None, commune="")


@get("/call/need/{code:str}", sync_to_thread=True, name="staff_call_need",
     opt={"role": "staff"})
def call_need(request: HTMXRequest, db: NamedDependency[Database], code: FromPath[str]) -> Template:
    """The people to call for a need, the best fit for the person's commune first (see
    ``contacts.who_to_call``): the offices competent for it, mainly about the need, near."""
    term = store.get_term_by_code(db, code)
    wanted = [term.id, *(t.id for t in store.list_terms(db) if t.parent_id == term.id)]
    home, typed = residence(request)
    if typed and home is None:
        raise InvalidData(f"unknown commune {typed!r}", field="commune")
    services = {s.id: s for s in store.iter_services(db, status="active")
                if set(wanted) & set(s.needs)}
    plan = contacts.who_to_call(db, list(services), staff=True, commune=home, needs=wanted)
    shown = page(request, "staff/call.html", title=i18n.term_label(term, language(request)), service=None,
                 plan=plan, services=services, term=term, commune=typed)
    keep_residence(request, shown, home)
    return shown


@get("/call", sync_to_thread=True, name="staff_call", opt={"role": "staff"})
def call_pick(request: HTMXRequest, db: NamedDependency[Database], need: FromQuery[str] = "",
              commune: FromQuery[str] = "") -> Template | Redirect:
    if need:
        query = f"?{urlencode({'commune': commune})}" if commune.strip() else ""
        return Redirect(f"/staff/call/need/{store.get_term_by_code(db, need).code}{query}",
                        status_code=303)
    needs = [t for t in store.list_terms(db) if t.parent_id is None]
    return page(request, "staff/call_pick.html", needs=needs)


# --- Problem reports ----------------------------------------------------------------------------


@post("/service/{service_id:str}/report", sync_to_thread=True, name="staff_report",
      opt={"role": "staff"}, status_code=200)
def report_problem(request: HTMXRequest, db: NamedDependency[Database], service_id: FromPath[str],
                   data: FormBody) -> Template:
    form = lists(data)
    kind = (form.get("kind") or [""])[-1]
    note = (form.get("note") or [""])[-1]
    reported = reports.report_problem(db, service_id, kind, channel="staff", note=note)
    return page(request, "staff/reported.html", fragment="staff/_reported.html",
                reported=reported)


@get("/problems", sync_to_thread=True, name="staff_problems", opt={"role": "editor"})
def problems(request: HTMXRequest, db: NamedDependency[Database], status: FromQuery[str] = "open") -> Template:
    org = own_org(request)
    status = status if status in reports.REPORT_STATUSES else "open"
    return page(request, "staff/problems.html", status=status,
                queue=reports.problem_queue(db, organization_id=org, status=status),
                counts=reports.problem_counts(db, organization_id=org, status="open"),
                orgs=org_names(db), kinds=reports.PROBLEMS)


@post("/problems/{report_id:str}", sync_to_thread=True, name="staff_problem_close",
      opt={"role": "editor"})
def problem_close(request: HTMXRequest, db: NamedDependency[Database], report_id: FromPath[str],
                  data: FormBody) -> Redirect:
    form = lists(data)
    found = reports.get_problem(db, report_id)
    require_org(request, found.organization_id)
    reports.close_problem(db, report_id, status=(form.get("status") or [""])[-1],
                          by=caller(request).actor)
    return Redirect("/staff/problems", status_code=303)


# --- Reference-code follow-up -------------------------------------------------------------------


@get("/followup", sync_to_thread=True, name="staff_followup", opt={"role": "staff"})
def followup(request: HTMXRequest, db: NamedDependency[Database], code: FromQuery[str] = "",
             done: FromQuery[str] = "") -> Template:
    issued, problem, services, pathway = None, None, [], None
    if code.strip():
        try:
            issued = reports.find(db, code)
            services = [store.get_service(db, s) for s in issued.services
                        if store.exists(db, "service", s)]
            if issued.pathway_id and store.exists(db, "pathway", issued.pathway_id):
                pathway = store.get_pathway(db, issued.pathway_id)
        except InvalidData:
            problem = "format"
        except NotFound:
            problem = "unknown"
    return page(request, "staff/followup.html", code=code.strip(), issued=issued,
                problem=problem, services=services, pathway=pathway, done=done == "1",
                outcomes=reports.OUTCOMES, reasons=reports.SENT_ELSEWHERE)


@post("/followup/{code:str}", sync_to_thread=True, name="staff_followup_post",
      opt={"role": "staff"})
def followup_mark(request: HTMXRequest, db: NamedDependency[Database], code: FromPath[str],
                  data: FormBody) -> Redirect:
    form = lists(data)
    reports.record_outcome(db, code, (form.get("outcome") or [""])[-1],
                           reason=(form.get("reason") or [None])[-1] or None,
                           organization_id=session(request).user.organization_id)
    return Redirect("/staff/followup?" + urlencode({"code": reports.normalise_code(code),
                                                    "done": "1"}), status_code=303)


# --- Verification, history ----------------------------------------------------------------------


@get("/verify", sync_to_thread=True, name="staff_verify", opt={"role": "editor"})
def verify_queue(request: HTMXRequest, db: NamedDependency[Database]) -> Template:
    months = stale_months(request)
    return page(request, "staff/verify.html", queue=verification.queue(
        db, months=months, organization_id=own_org(request)), months=months,
        orgs=org_names(db),
        to_translate=verification.to_translate(db, organization_id=own_org(request)))


@post("/verify/{entity:str}/{record_id:str}", sync_to_thread=True, name="staff_verify_post",
      opt={"role": "editor"}, status_code=200)
def verify_record(request: HTMXRequest, db: NamedDependency[Database], entity: FromPath[str],
                  record_id: FromPath[str]) -> Template | Redirect:
    if entity not in ("service", "contact"):
        raise NotFound(entity, record_id)
    record = store.get(db, entity, record_id)
    require_org(request, record.organization_id)
    saved = verification.confirm(db, entity, record_id, actor=caller(request).actor)
    sync(request, db)
    if request.htmx:
        return page(request, "staff/_verified.html", entity=entity, record=saved)
    return Redirect("/staff/verify", status_code=303)


HISTORY_ENTITIES = ("service", "organization", "location", "contact", "pathway")


@get("/history/{entity:str}/{record_id:str}", sync_to_thread=True, name="staff_history",
     opt={"role": "staff"})
def history(request: HTMXRequest, db: NamedDependency[Database], entity: FromPath[str],
            record_id: FromPath[str]) -> Template:
    if entity not in HISTORY_ENTITIES:
        raise NotFound(entity, record_id)
    record = store.get(db, entity, record_id)
    return page(request, "staff/history.html", entity=entity, record=record,
                entries=list(reversed(store.history(db, entity, record_id))))


# --- The report (unmet needs, dead ends, outcomes) ---------------------------------------------


def _since(weeks: int) -> dt.date:
    return dt.date.today() - dt.timedelta(weeks=max(1, min(weeks, 520)))


@get("/reports", sync_to_thread=True, name="staff_reports", opt={"role": "editor"})
def report_page(request: HTMXRequest, db: NamedDependency[Database], weeks: FromQuery[int] = 12) -> Template:
    since = _since(weeks)
    return page(request, "staff/reports.html", weeks=weeks, since=since,
                unmet_rows=unmet.report(db, since=since),
                problem_rows=reports.problem_counts(db, since=since), kinds=reports.PROBLEMS,
                outcome_rows=reports.pathway_outcomes(db, since=since), orgs=org_names(db),
                min_seen=unmet.MIN_SEEN)


@get("/reports/{filename:str}", sync_to_thread=True, name="staff_report_csv",
     opt={"role": "editor"}, media_type="text/csv")
def report_csv(db: NamedDependency[Database], filename: FromPath[str], weeks: FromQuery[int] = 12
               ) -> Response[str]:
    """unmet.csv, problems.csv, outcomes.csv: the report's tables for a spreadsheet."""
    name = filename.removesuffix(".csv") if filename.endswith(".csv") else ""
    since = _since(weeks)
    if name == "unmet":
        text = reports.to_csv(("week", "terms", "zero_results", "few_results", "total"), (
            (r.week, r.terms, r.zero, r.low, r.total) for r in unmet.report(db, since=since)))
    elif name == "problems":
        orgs = org_names(db)
        text = reports.to_csv(
            ("service", "organization", *reports.PROBLEMS, "total"),
            ((c.service_name, orgs.get(c.organization_id, ""),
              *(c.kinds.get(k, 0) for k in reports.PROBLEMS), c.total)
             for c in reports.problem_counts(db, since=since)))
    elif name == "outcomes":
        keys = ["came", "helped", *(f"sent_elsewhere:{r}" for r in reports.SENT_ELSEWHERE)]
        text = reports.to_csv(
            ("pathway", "slips_issued", *keys),
            ((r.label, r.issued, *(r.outcomes.get(k, 0) for k in keys))
             for r in reports.pathway_outcomes(db, since=since)))
    else:
        raise NotFound("report", name)
    return Response(text, media_type="text/csv", headers={
        "Content-Disposition": f'attachment; filename="orientation-{name}-{since}.csv"'})


route_handlers = [
    login_page, login, logout, choose_language, home, search, service_page, pathway_page, compare,
    call_service, call_need, call_pick, report_problem, problems, problem_close, followup,
    followup_mark, verify_queue, verify_record, history, report_page, report_csv,
]

"""The public kiosk: big, calm pages for a touch screen, in four languages.

Screens: home (ten needs), a need (pathways first, then services near the kiosk, open now and
walk-in first), search with an on-screen keyboard, a service, a pathway, the slip (preview and
print), and "Parler à une personne" (present on every screen). Pages are server-rendered; htmx
swaps a fragment (``_*.html``) where only part of a screen changes (result pages, the help
request's status, the print result), and every ``hx-get`` also has a real ``href``.

The kiosk calls ``orientation`` directly (never the HTTP API) and stores nothing about the
person: two cookies only, the language and the commune the person lives (or sleeps) in, both
cleared by the idle reset; never the database, never the logs.
"""

from __future__ import annotations

import datetime as dt
import math
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import msgspec
from litestar import Request, Response, Router, get, post
from litestar.datastructures import Cookie
from litestar.di import NamedDependency
from litestar.exceptions import HTTPException, NotFoundException
from litestar.params import FromPath, FromQuery, JSONBody, URLEncodedBody
from litestar.plugins.htmx import HTMXRequest
from litestar.plugins.jinja import JinjaTemplateEngine
from litestar.response import Redirect, Template
from litestar.static_files import create_static_files_router
from litestar.template.config import TemplateConfig
from sqlite_utils import Database

from orientation import (
    capacity,
    communes,
    geo,
    hours,
    printing,
    reports,
    speech,
    store,
    unmet,
)
from orientation import slip as slips
from orientation.competence import localize
from orientation.access import ANONYMOUS, view
from orientation.errors import InvalidData, NotFound, OrientationError, describe
from orientation.models import Location, Organization, Pathway, Service
from orientation.search import Filters, SearchIndex
from orientation.settings import Settings

from . import facts, i18n, place
from .guards import post_guard
from .slips import slip_context, slip_document

HERE = Path(__file__).parent
DB = NamedDependency[Database]
Index = NamedDependency[SearchIndex]
#: Cards per page: what fits a 1080 × 1920 portrait screen at 34 px text without scrolling.
PAGE_SIZE = 4
LANG_COOKIE = "lang"
IN_PERSON = ("walk_in", "appointment")


def template_config(*more_directories: Path) -> TemplateConfig:
    """Jinja templates of the kiosk (and of other HTML areas), with the languages installed."""
    return TemplateConfig(
        directory=[HERE / "templates", *more_directories], engine=JinjaTemplateEngine,
        engine_callback=lambda engine: i18n.install(engine.engine),
    )


# --- Request context ------------------------------------------------------------------------


def language(request: Request) -> str:
    """?lang= (a QR code opened on a phone) wins over the cookie; French by default."""
    asked = request.query_params.get("lang")
    if asked in i18n.LANGUAGES:
        return asked
    cookie = request.cookies.get(LANG_COOKIE)
    return cookie if cookie in i18n.LANGUAGES else i18n.DEFAULT


def settings(request: Request) -> Settings:
    return request.app.state.settings


def _here(request: Request) -> str:
    """The current page (path and query without lang) for the language links."""
    query = [(k, v) for k, v in request.query_params.multi_items() if k != "lang"]
    return request.url.path + (f"?{urlencode(query)}" if query else "")


def screen(request: HTMXRequest, template: str, *, fragment: str | None = None,
           status_code: int = 200, **context: Any) -> Template:
    """A kiosk page, or only its fragment when htmx asks for it."""
    lang = language(request)
    config = settings(request)
    px_per_mm = config.kiosk_px_per_mm
    context = {
        "lang": lang, "dir": i18n.direction(lang), "here": _here(request),
        # EN 301 549 5.1.4: capital height >= 6.1 mm; DejaVu Sans caps are 0.73 em tall.
        "text_px": max(24, math.ceil(6.1 * px_per_mm / 0.73)),
        "target_px": math.ceil(20 * px_per_mm), "gap_px": math.ceil(2 * px_per_mm),
        "idle_seconds": config.idle_seconds,
        "warning_seconds": config.idle_warning_seconds,
        "sample_data": _sample_data(request),
        **context,
    }
    name = fragment if fragment and request.htmx else template
    cookies = []
    if request.query_params.get("lang") in i18n.LANGUAGES:
        cookies.append(Cookie(key=LANG_COOKIE, value=lang, httponly=True, samesite="lax"))
    return Template(name, context=context, status_code=status_code, cookies=cookies)


def _sample_data(request: Request) -> bool:
    """Whether the seed's fictional directory is loaded (the footer then says so). Read from
    the database on each page: removing the sample data while the server runs must show."""
    db = store.connect(request.app.state.db_path, migrate=False)
    try:
        return store.sample_data(db)
    finally:
        db.close()


def _page(value: int) -> int:
    return max(1, min(int(value), 1000))


# --- Cards: one line in plain words per service or pathway ----------------------------------


class Card(msgspec.Struct, kw_only=True):
    kind: str  # "service" | "pathway"
    id: str
    title: str
    title_lang: str
    organization: str | None = None
    place: str | None = None  # commune of the nearest location
    when: str | None = None
    open_now: bool = False
    walk_in: bool = False
    free: bool = True
    near: bool = False
    distance_km: float | None = None
    pictogram: str | None = None
    elsewhere: str | None = None  # another region than the person's: its slug, shown
    outside: bool = False  # for residents only, and not of the person's commune
    #: Current counts of places left ("3 places libres ce soir"), only ones young enough.
    room: list[capacity.Capacity] = []


class Kiosk(msgspec.Struct, kw_only=True):
    """What ranking needs to know about where the kiosk stands, computed once per request."""

    commune: str
    near: set[str]
    origin: geo.Point | None
    at: dt.datetime
    #: Whose services come first: the person's commune once given, else the kiosk's.
    home: str
    region: str | None
    #: Hours a published count of places stays current (setting ``capacity_fresh_hours``).
    fresh_hours: float = 6.0
    #: (database file, generation): what per-process caches of directory facts key on.
    snapshot: tuple[str, int] = ("", 0)


def _kiosk(request: Request, db: DB) -> Kiosk:
    commune = settings(request).kiosk_commune
    home = place.person_commune(request) or communes.commune(commune) or commune
    return Kiosk(commune=commune, near=communes.near(commune),
                 origin=geo.locate_commune(db, commune), at=hours.now(), home=home,
                 region=communes.region(home), snapshot=store.snapshot(db),
                 fresh_hours=settings(request).capacity_fresh_hours)


def service_card(db: DB, service: Service, kiosk: Kiosk, lang: str,
                 pictograms: dict[str, str], *, locations: dict[str, Location] | None = None,
                 organizations: dict[str, Organization] | None = None) -> Card:
    """A service's card; ``locations`` and ``organizations`` read beforehand for a whole page
    (``_cards``), else read here."""
    if locations is None:
        locations = store.get_locations(db, service.location_ids)
    if organizations is None:
        organizations = store.get_organizations(db, [service.organization_id])
    places = [view(locations[i], ANONYMOUS) for i in service.location_ids if i in locations]
    location, distance = geo.nearest(places, kiosk.origin)
    town = None
    if location is not None and location.address is not None:
        town = communes.commune(location.address.city, location.address.postal_code) \
            or location.address.city
    open_now, when = facts.status(service, kiosk.at, kiosk.snapshot, lang)
    title, title_lang = service.texts("name", lang)
    return Card(
        kind="service", id=service.id, title=title, title_lang=title_lang,
        organization=organizations[service.organization_id].name,
        place=town, when=when, open_now=open_now,
        walk_in=any(s.attending_type == "walk_in" for s in service.schedules),
        free=service.access.cost_free,
        near=town in kiosk.near if town else False, distance_km=distance,
        pictogram=next((pictograms[n] for n in service.needs if n in pictograms), None),
    )


def pathway_card(pathway: Pathway, lang: str, pictograms: dict[str, str]) -> Card:
    title, title_lang = pathway.texts("need", lang)
    return Card(kind="pathway", id=pathway.id, title=title, title_lang=title_lang,
                pictogram=next((pictograms[t] for t in pathway.themes if t in pictograms), None))


def rank(cards: list[Card]) -> list[Card]:
    """The person's region first and what they may use first; then a service that said it
    has room tonight before one that did not say, and one that said it is full last; then
    near the kiosk, open now for walk-in, walk-in at all, closest."""
    return sorted(cards, key=lambda c: (c.elsewhere is not None, c.outside,
                                        capacity.has_room(c.room) is False,
                                        capacity.has_room(c.room) is not True, not c.near,
                                        not c.open_now, not c.walk_in,
                                        c.distance_km is None, c.distance_km or 0, c.title))


def _pictograms(db: DB) -> dict[str, str]:
    return facts.pictograms(db)


def _paged(items: list, page: int) -> tuple[list, int, int]:
    pages = max(1, -(-len(items) // PAGE_SIZE))
    page = min(page, pages)
    return items[(page - 1) * PAGE_SIZE: page * PAGE_SIZE], page, pages


# --- Screens --------------------------------------------------------------------------------


@get("/", sync_to_thread=True, name="home")
def home(request: HTMXRequest, db: DB) -> Template:
    needs = [t for t in store.list_terms(db) if t.parent_id is None]
    return screen(request, "home.html", needs=needs)


def _cards(db: DB, placed: list[place.Placed], kiosk: Kiosk, lang: str,
           pictograms: dict[str, str]) -> list[Card]:
    """The cards of placed hits, with every record they show read once for all of them."""
    pathways = store.get_pathways(db, [p.hit.id for p in placed
                                       if p.hit.kind == "pathway" and p.record is None])
    services = store.get_services(db, [p.hit.id for p in placed
                                       if p.hit.kind != "pathway" and p.record is None])
    records = {p.hit.id: p.record for p in placed if p.record is not None}
    records |= pathways | services
    shown = [view(r, ANONYMOUS) if isinstance(r, Service) else r for r in records.values()]
    records = {r.id: r for r in shown}
    kept = [r for r in shown if isinstance(r, Service)]
    locations = store.get_locations(db, [i for s in kept for i in s.location_ids])
    organizations = store.get_organizations(db, [s.organization_id for s in kept])
    cards = []
    for p in placed:
        record = records.get(p.hit.id)
        if record is None:
            continue  # deleted since the index looked
        if p.hit.kind == "pathway":
            card = pathway_card(record, lang, pictograms)
        else:
            card = service_card(db, record, kiosk, lang, pictograms, locations=locations,
                                organizations=organizations)
        card.elsewhere, card.outside = p.elsewhere, p.outside
        cards.append(card)
    # One read for every card's counts of places left (most services publish none).
    rooms = capacity.current(db, [c.id for c in cards if c.kind == "service"],
                             hours=kiosk.fresh_hours, at=kiosk.at)
    for card in cards:
        card.room = rooms.get(card.id, [])
    return cards


@get("/need/{code:str}", sync_to_thread=True, name="need")
def need(request: HTMXRequest, db: DB, index: Index, code: FromPath[str],
         page: FromQuery[int] = 1) -> Template:
    """Pathways for this need first, then services: near the kiosk, open now for walk-in,
    walk-in at all, closest (the kiosk's order, over what search finds for the need)."""
    lang = language(request)
    term = store.get_term_by_code(db, code)
    terms = store.list_terms(db)
    children = [t for t in terms if t.parent_id == term.id]
    parent = next((t for t in terms if t.id == term.parent_id), None)
    kiosk = _kiosk(request, db)
    pictograms = _pictograms(db)
    found = {kind: index.search(db, "", filters=Filters(needs=[term.code], kind=kind),
                                near=kiosk.commune, home=kiosk.home, at=kiosk.at, lang=lang,
                                limit=100)
             for kind in ("pathway", "service")}
    # The person's region first: another region's pathways go below, with its services.
    paths = place.placed(db, found["pathway"].hits, kiosk.home)
    pathways = _cards(db, [p for p in paths if not p.elsewhere][:3], kiosk, lang, pictograms)
    services = rank(_cards(db, place.placed(db, found["service"].hits, kiosk.home)
                           + [p for p in paths if p.elsewhere], kiosk, lang, pictograms))
    cards, page, pages = _paged(services, _page(page))
    return screen(request, "need.html", fragment="_services.html", term=term, parent=parent,
                  children=children, pathways=pathways, cards=cards, page=page,
                  pages=pages, total=len(services), page_url=f"/need/{term.code}",
                  place=place.current(request))


@get("/search", sync_to_thread=True, name="search")
def search(request: HTMXRequest, db: DB, index: Index, q: FromQuery[str] = "",
           page: FromQuery[int] = 1, edit: FromQuery[int] = 0) -> Template:
    """Words typed on the on-screen keyboard; pathways first, typos corrected by search."""
    lang = language(request)
    query = " ".join(q.split())[:100]
    page = _page(page)
    results = None
    cards: list[Card] = []
    if query:
        kiosk = _kiosk(request, db)
        # The best 100, reordered: the person's region first, then what they may use.
        results = index.search(db, query, near=kiosk.commune, home=kiosk.home, at=kiosk.at,
                               lang=lang, limit=100, pathways_first=True)
        ordered = place.own_first(place.placed(db, results.hits, kiosk.home),
                                  pathways_first=True)
        start = (page - 1) * PAGE_SIZE
        cards = _cards(db, ordered[start:start + PAGE_SIZE], kiosk, lang, _pictograms(db))
        if page == 1:  # counted once per search, words cleaned (see orientation/unmet.py)
            unmet.record(db, query, results.total, channel="kiosk",
                         known=lambda word: index.knows(db, word))
    total = results.total if results else 0
    pages = max(1, -(-min(total, 100) // PAGE_SIZE))
    needs = [t for t in store.list_terms(db) if t.parent_id is None] if query and not total \
        else []
    return screen(request, "search.html", fragment="_results.html", q=query, cards=cards,
                  page=min(page, pages), pages=pages, total=total, needs=needs,
                  corrected=results.corrected if results else None,
                  suggestion=results.did_you_mean if results else None,
                  broader=results.broader_need if results else None, editing=bool(edit),
                  understood=results.understood if results else True,
                  page_url="/search?" + urlencode({"q": query}), place=place.current(request))


def _open_week(service: Service, lang: str) -> list[str]:
    rows = [s for s in service.schedules if s.attending_type in (*IN_PERSON, "phone")]
    return hours.describe(rows, lang)


@get("/service/{service_id:str}", sync_to_thread=True, name="service")
def service_page(request: HTMXRequest, db: DB, service_id: FromPath[str]) -> Template:
    lang = language(request)
    service = view(store.get_service(db, service_id), ANONYMOUS)
    if service.status != "active":
        raise NotFound("service", service_id)
    composed = slips.for_services(db, [service.id], lang=lang) if service.contact_ids else None
    kiosk = _kiosk(request, db)
    locations = [view(store.get_location(db, i), ANONYMOUS) for i in service.location_ids]
    locations.sort(key=lambda loc: (geo.distance_km(kiosk.origin, geo.point_of(loc))
                                    if kiosk.origin and geo.point_of(loc) else 1e9))
    name, name_lang = service.texts("name", lang)
    description, text_lang = service.texts("description", lang)
    return screen(
        request, "service.html", service=service,
        organization=view(store.get_organization(db, service.organization_id), ANONYMOUS),
        name=name, name_lang=name_lang, description=description, text_lang=text_lang,
        documents=service.documents(lang),
        interpretation=service.texts("interpretation", lang),
        cost=service.texts("cost_description", lang), locations=locations[:2],
        digital_note=service.texts("digital_note", lang),
        when=slips.when(service, kiosk.at, lang), week=_open_week(service, lang),
        step=composed.steps[0] if composed else None,
        room=capacity.current(db, [service.id], hours=kiosk.fresh_hours,
                              at=kiosk.at).get(service.id, []),
    )


@get("/pathway/{pathway_id:str}", sync_to_thread=True, name="pathway")
def pathway_page(request: HTMXRequest, db: DB, pathway_id: FromPath[str]) -> Template:
    pathway = store.get_pathway(db, pathway_id)
    if pathway.status != "active":
        raise NotFound("pathway", pathway_id)
    where = place.current(request)
    slip = slips.for_pathway(db, localize(db, pathway, where.commune), lang=language(request))
    # A step at a shelter or food aid that said how many places it has left tonight.
    rooms = capacity.current(db, [step.service.id for step in slip.steps],
                             hours=settings(request).capacity_fresh_hours)
    return screen(request, "pathway.html", pathway=pathway, place=where,
                  asks=any(step.role for step in pathway.steps), slip=slip, rooms=rooms)


# --- Slip -----------------------------------------------------------------------------------


def _compose(request: Request, db: DB, pathway: str | None,
             services: list[str]) -> slips.Slip:
    lang = language(request)
    if pathway:
        # Steps naming a role point to the office of the person's commune (the kiosk's until
        # they answer), on the preview, the print, the PDF and the QR code alike.
        where = place.current(request)
        found = localize(db, store.get_pathway(db, pathway), where.commune)
        return place.for_qr(slips.for_pathway(db, found, lang=lang), where)
    if services:
        return slips.for_services(db, services[:4], lang=lang)
    raise InvalidData("say which pathway or service the slip is for", field="pathway")


@get("/slip", sync_to_thread=True, name="slip")
def slip_page(request: HTMXRequest, db: DB, pathway: FromQuery[str | None] = None,
              service: FromQuery[list[str] | None] = None) -> Template:
    composed = _compose(request, db, pathway, service or [])
    return screen(request, "slip.html", **slip_context(request, composed))


class PrintForm(msgspec.Struct, kw_only=True):
    pathway: str | None = None
    service: list[str] | str | None = None
    paper: str = "80mm"


def _form_services(value: list[str] | str | None) -> list[str]:
    if value is None:
        return []
    return [value] if isinstance(value, str) else list(value)


@post("/slip/print", sync_to_thread=True, name="slip_print", opt={"limit": "print"})
def slip_print(request: HTMXRequest, db: DB,
               data: URLEncodedBody[PrintForm]) -> Template:
    composed = _compose(request, db, data.pathway, _form_services(data.service))
    config = settings(request)
    paper = "a4" if data.paper == "a4" else "80mm"
    try:
        printing.print_page(slip_document(request, composed, paper),
                            backend=config.printer, target=config.printer_target,
                            name=composed.code, paper=paper, chromium=config.chromium)
        problem = None
        # Counted for the follow-up by reference code: what the slip points to, nothing else.
        reports.issue(db, composed.code, channel="kiosk", pathway_id=data.pathway or None,
                      services=[step.service.id for step in composed.steps])
    except printing.PrinterError as exc:
        problem = exc.reason
    return screen(request, "printed.html", fragment="_printed.html", problem=problem,
                  status_code=503 if problem else 200, **slip_context(request, composed))


@get("/slip.pdf", sync_to_thread=True, name="slip_pdf", media_type="application/pdf")
def slip_pdf(request: HTMXRequest, db: DB, pathway: FromQuery[str | None] = None,
             service: FromQuery[list[str] | None] = None,
             paper: FromQuery[str] = "80mm") -> Response[bytes]:
    """The slip as a PDF (80 mm roll or A4 for staff), rendered exactly like it prints."""
    composed = _compose(request, db, pathway, service or [])
    paper = "a4" if paper == "a4" else "80mm"
    try:
        rendered = printing.render(slip_document(request, composed, paper), paper=paper,
                                   chromium=settings(request).chromium)
    except printing.PrinterError as exc:
        raise HTTPException(status_code=503, detail=str(exc)) from None
    return Response(rendered.pdf, media_type="application/pdf", headers={
        "Content-Disposition": f'inline; filename="orientation-{composed.code}.pdf"'})


# --- Parler à une personne: kiosk/help.py (mounted on the kiosk router below) ------------


# --- Language, reset, speech ----------------------------------------------------------------


def _safe_next(value: str | None) -> str:
    if not value or not value.startswith("/") or value.startswith("//") or "\\" in value:
        return "/"
    return value


@get("/lang/{code:str}", name="set_language", sync_to_thread=False)
def set_language(code: FromPath[str], next: FromQuery[str] = "/") -> Redirect:
    if code not in i18n.LANGUAGES:
        raise NotFoundException(f"no language {code!r}")
    response = Redirect(_safe_next(next), status_code=303)
    response.set_cookie(LANG_COOKIE, code, httponly=True, samesite="lax")
    return response


@get("/reset", name="reset", sync_to_thread=False)
def reset() -> Redirect:
    """The idle reset: back home, in the default language, nothing kept."""
    response = Redirect("/", status_code=303)
    response.delete_cookie(LANG_COOKIE)
    response.delete_cookie(place.COOKIE)
    return response


# --- Où habitez-vous ? ----------------------------------------------------------------------


@get("/place", sync_to_thread=False, name="place")
def place_page(request: HTMXRequest, next: FromQuery[str] = "/",
               ask: FromQuery[str] = "home") -> Template:
    """"Où habitez-vous ?" (without an address: "Où dormez-vous en ce moment ?"): one tap on
    a commune, the kiosk's first, then its region's, then the other region's."""
    kiosk = place.current(request).kiosk
    own, other, other_region = place.choices(kiosk)
    return screen(request, "place.html", sleep=ask == "sleep", next=_safe_next(next),
                  first=kiosk, own=own, other=other, other_region=other_region,
                  slug=communes.slug)


@get("/place/set", sync_to_thread=False, name="set_place")
def set_place(commune: FromQuery[str], next: FromQuery[str] = "/") -> Redirect:
    """Keep the answer in the browser only (like the language), until the idle reset."""
    if commune not in place.BY_SLUG:
        raise NotFoundException(f"no commune {commune!r}")
    response = Redirect(_safe_next(next), status_code=303)
    response.set_cookie(place.COOKIE, commune, httponly=True, samesite="lax")
    return response


class SpeechRequest(msgspec.Struct):
    segments: list[tuple[str, str]]


@post("/speech", sync_to_thread=True, name="speech", status_code=200, opt={"limit": "speech"})
def speak(request: Request, data: JSONBody[SpeechRequest]) -> Response[bytes]:
    """WAV audio of on-screen text, each segment in its own language (espeak-ng, cached)."""
    audio = speech.speak(data.segments, Path(settings(request).speech_dir))
    return Response(audio, media_type="audio/wav", headers={"Cache-Control": "no-store"})


# --- Errors ---------------------------------------------------------------------------------


def error_page(request: Request, exc: Exception) -> Response:
    """Errors in plain words, with the call button like every screen."""
    if isinstance(exc, OrientationError):  # the voice being unavailable included (503)
        status, _ = describe(exc)
    elif isinstance(exc, HTTPException):
        status = exc.status_code
    else:
        status = 500
    kind = ("speech" if isinstance(exc, speech.SpeechError) else "not_found" if status == 404
            else "busy" if status == 429 else "forbidden" if status == 403
            else "server" if status >= 500 else "bad_request")
    # Retry-After of a 429 (and any header an HTTP error carries) stays on the answer.
    headers = dict(exc.headers or {}) if isinstance(exc, HTTPException) else {}
    # Errors raised before the handler (the POST guards) reach here as a plain Request.
    if not isinstance(request, HTMXRequest):
        request = HTMXRequest(request.scope, request.receive)
    htmx = bool(request.htmx)
    if request.url.path == "/speech":
        return Response({"error": str(exc) if status < 500 else kind}, status_code=status,
                        headers=headers)
    template = screen(request, "error.html", fragment="_error.html" if htmx else None,
                      status_code=status, kind=kind)
    template.headers.update(headers)
    return template


#: Paths whose errors are someone else's (problem+json for the API, the console's pages).
NOT_KIOSK = ("/api", "/hsds", "/schema", "/staff", "/desk")


def not_found(fallback):
    """App-level 404 (no route matched): the kiosk's page, except under ``NOT_KIOSK``."""

    def handler(request: Request, exc: Exception) -> Response:
        if request.url.path.startswith(NOT_KIOSK):
            return fallback(request, exc)
        return error_page(request, exc)

    return handler


# Imported here, not at the top: kiosk/help.py builds on screen() and settings() above.
from .help import help_router  # noqa: E402
from .wrong import wrong_router  # noqa: E402
from .cache import PageCacheMiddleware  # noqa: E402

kiosk_router = Router(
    path="/",
    route_handlers=[
        home, need, search, service_page, wrong_router, pathway_page, slip_page, slip_print,
        slip_pdf,
        help_router, set_language, reset, place_page, set_place, speak,
        create_static_files_router(path="/static", directories=[HERE / "static"],
                                   include_in_schema=False),
    ],
    request_class=HTMXRequest,
    include_in_schema=False,
    guards=[post_guard],
    response_headers={"Vary": "HX-Request"},
    exception_handlers={Exception: error_page},
    middleware=[PageCacheMiddleware()],  # read-only screens kept for the minute (cache.py)
)

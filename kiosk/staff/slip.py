"""The slip composer of the staff console (/staff/slip): the slip a social worker makes for
the person in front of them.

Start from a pathway or a few services, add, remove and reorder steps, add a short note (a
visible warning says: no personal data; national numbers and e-mail addresses are removed
anyway), choose the person's language and the paper, preview, then print (A4 or the 80 mm roll,
through the configured printer) or download the PDF. It is the kiosk's slip: the same
``orientation.slip.compose`` and the same template, so it always ends with a named person.

The composer's whole state travels in its form (nothing is stored; the note never goes into a
URL). Printing or downloading counts the slip's reference code for the follow-up.
"""

from __future__ import annotations

from urllib.parse import urlencode

import msgspec
from litestar import Response, get, post
from litestar.di import NamedDependency
from litestar.exceptions import HTTPException
from litestar.plugins.htmx import HTMXRequest
from litestar.response import Template
from sqlite_utils import Database

from orientation import communes, competence, printing, reports, store
from orientation import slip as slips
from orientation.errors import InvalidData
from orientation.models import Pathway, PathwayStep

from kiosk import i18n
from kiosk.slips import slip_context, slip_document

from .console import FormBody, lists, org_names, page, residence, settings

MAX_SLIP_STEPS = 6
NOTE_MAX = 200


class Composition(msgspec.Struct, kw_only=True):
    """The composer's state, carried in the form itself (nothing is stored on the server).

    ``steps`` are tokens in slip order: ``p<n>`` is the pathway's step n, ``s<id>`` a service
    with its main contact."""

    pathway_id: str | None = None
    steps: list[str] = []
    note: str = ""
    lang: str = "fr"
    paper: str = "a4"


def _composition(db: Database, data: dict[str, list[str]]) -> Composition:
    def one(name: str, default: str = "") -> str:
        values = data.get(name) or [default]
        return values[-1]

    pathway_id = one("pathway") or None
    steps = [s for s in data.get("step", []) if s]
    if pathway_id and not steps and "step" not in data:
        steps = [f"p{i}" for i in range(len(store.get_pathway(db, pathway_id).steps))]
    steps += [f"s{sid}" for sid in data.get("service", []) if sid]
    lang = one("lang", "fr")
    comp = Composition(pathway_id=pathway_id, steps=list(dict.fromkeys(steps)),
                       note=" ".join(one("note").split())[:NOTE_MAX],
                       lang=lang if lang in i18n.LANGUAGES else "fr",
                       paper="80mm" if one("paper") == "80mm" else "a4")
    action = one("action")
    verb, _, arg = action.partition(":")
    if verb == "pathway":
        picked = one("pathway_pick") or None
        comp.pathway_id = picked
        comp.steps = [f"p{i}" for i in range(len(store.get_pathway(db, picked).steps))] \
            if picked else [t for t in comp.steps if t.startswith("s")]
    elif verb in ("up", "down", "remove") and arg.isdigit() and int(arg) < len(comp.steps):
        i = int(arg)
        if verb == "remove":
            del comp.steps[i]
        else:
            j = i - 1 if verb == "up" else i + 1
            if 0 <= j < len(comp.steps):
                comp.steps[i], comp.steps[j] = comp.steps[j], comp.steps[i]
    elif verb == "add" and one("add_service"):
        token = f"s{one('add_service')}"
        if token not in comp.steps:
            comp.steps.append(token)
    if len(comp.steps) > MAX_SLIP_STEPS:
        raise InvalidData(f"a slip has {MAX_SLIP_STEPS} steps at most", field="step")
    return comp


def _pathway(db: Database, comp: Composition, commune: str | None) -> Pathway | None:
    """The composition's pathway, each role resolved for the person's commune (le CPAS de
    votre commune) once the console knows it."""
    if not comp.pathway_id:
        return None
    return competence.localize(db, store.get_pathway(db, comp.pathway_id), commune)


def _pathway_steps(db: Database, comp: Composition, commune: str | None = None
                   ) -> list[PathwayStep]:
    pathway = _pathway(db, comp, commune)
    steps = []
    for token in comp.steps:
        if token.startswith("p") and token[1:].isdigit() and pathway:
            n = int(token[1:])
            if n >= len(pathway.steps):
                raise InvalidData(f"the pathway has no step {n + 1}", field="step")
            steps.append(pathway.steps[n])
        elif token.startswith("s"):
            steps.extend(slips.service_steps(db, [token[1:]]))
        else:
            raise InvalidData(f"unknown step {token!r}", field="step")
    return steps


def _compose(db: Database, comp: Composition, commune: str | None = None) -> slips.Slip | None:
    if not comp.steps:
        return None
    steps = _pathway_steps(db, comp, commune)
    pathway = _pathway(db, comp, commune)
    whole = pathway is not None and comp.steps == [f"p{i}" for i in range(len(pathway.steps))]
    if whole:
        composed = slips.for_pathway(db, pathway, lang=comp.lang)
        if commune and any(step.role for step in pathway.steps):
            # The QR code leads to the same offices on a phone (the kiosk's ``?commune=``).
            composed = msgspec.structs.replace(composed, query=f"{composed.query}&" + urlencode(
                {"commune": communes.slug(commune)}))
    else:
        # The QR code and the reference code follow the services, in the order chosen.
        title, title_lang = pathway.texts("need", comp.lang) if pathway else (None, None)
        translated = pathway.step_translations(comp.lang) if pathway else []
        composed = slips.compose(db, steps, lang=comp.lang, title=title, title_lang=title_lang,
                                 translations=[translated[int(t[1:])] if t.startswith("p")
                                               else None for t in comp.steps],
                                 query=urlencode([("service", s.service_id) for s in steps]))
    # The form says "pas de nom": national numbers, e-mail addresses and anything that looks
    # like a person's name are removed; the directory's own names (services, organisations,
    # places) are kept.
    known = [*org_names(db).values(), *(s.name for s in store.iter_services(db)),
             *(step.location.name for step in composed.steps if step.location)]
    note = slips.screen_note(reports.clean_note(comp.note), known)
    return msgspec.structs.replace(composed, note=note) if note else composed


def _composer(request: HTMXRequest, db: Database, comp: Composition) -> Template:
    commune = residence(request)[0]
    composed = _compose(db, comp, commune)
    pathway = _pathway(db, comp, commune)
    labels = []
    for token in comp.steps:
        if token.startswith("p") and pathway:
            step = pathway.steps[int(token[1:])]
            labels.append(store.get_service(db, step.service_id).name)
        else:
            labels.append(store.get_service(db, token[1:]).name)
    orgs = org_names(db)
    choices = [(s.id, s.name, orgs.get(s.organization_id, ""))
               for s in store.iter_services(db, status="active") if s.contact_ids]
    preview = ""
    if composed:
        # The preview is the very template that is printed, in the slip's own language.
        preview = request.app.template_engine.get_template("_slip.html").render(
            lang=composed.lang, dir=i18n.direction(composed.lang),
            **slip_context(request, composed))
    return page(request, "staff/slip.html", fragment="staff/_composer.html", comp=comp,
                pathway=pathway, labels=labels, choices=choices, slip=composed,
                preview=preview, pathways=store.list_pathways(db, status="active"),
                note_max=NOTE_MAX, languages=i18n.LANGUAGES)


@get("/slip", sync_to_thread=True, name="staff_slip", opt={"role": "staff"})
def slip_page(request: HTMXRequest, db: NamedDependency[Database]) -> Template:
    data = {key: request.query_params.getall(key) for key in request.query_params}
    data.pop("note", None)  # a note never travels in a URL (URLs end up in logs)
    return _composer(request, db, _composition(db, data))


@post("/slip", sync_to_thread=True, name="staff_slip_post", opt={"role": "staff"},
      status_code=200)
def slip_update(request: HTMXRequest, db: NamedDependency[Database],
                data: FormBody) -> Template:
    return _composer(request, db, _composition(db, lists(data)))


def _issue(db: Database, comp: Composition, composed: slips.Slip) -> None:
    services = [s.service.id for s in composed.steps]
    reports.issue(db, composed.code, channel="staff", pathway_id=comp.pathway_id,
                  services=services)


@post("/slip/print", sync_to_thread=True, name="staff_slip_print", opt={"role": "staff"},
      status_code=200)
def slip_print(request: HTMXRequest, db: NamedDependency[Database],
               data: FormBody) -> Template:
    comp = _composition(db, lists(data))
    composed = _compose(db, comp, residence(request)[0])
    if composed is None:
        raise InvalidData("add at least one step to the slip", field="step")
    config = settings(request)
    try:
        printed = printing.print_page(
            slip_document(request, composed, comp.paper), backend=config.printer,
            target=config.printer_target, name=composed.code, paper=comp.paper,
            chromium=config.chromium)
        problem = None
        _issue(db, comp, composed)
    except printing.PrinterError as exc:
        printed, problem = None, exc.reason
    return page(request, "staff/printed.html", fragment="staff/_printed.html",
                printed=printed, problem=problem, slip=composed,
                status_code=503 if problem else 200)


@post("/slip/pdf", sync_to_thread=True, name="staff_slip_pdf", opt={"role": "staff"},
      media_type="application/pdf", status_code=200)
def slip_pdf(request: HTMXRequest, db: NamedDependency[Database],
             data: FormBody) -> Response[bytes]:
    comp = _composition(db, lists(data))
    composed = _compose(db, comp, residence(request)[0])
    if composed is None:
        raise InvalidData("add at least one step to the slip", field="step")
    try:
        rendered = printing.render(slip_document(request, composed, comp.paper),
                                   paper=comp.paper, chromium=settings(request).chromium)
    except printing.PrinterError as exc:
        raise HTTPException(status_code=503, detail=str(exc)) from None
    _issue(db, comp, composed)
    return Response(rendered.pdf, media_type="application/pdf", headers={
        "Content-Disposition": f'attachment; filename="orientation-{composed.code}.pdf"',
        "Cache-Control": "no-store"})


route_handlers = [slip_page, slip_update, slip_print, slip_pdf]

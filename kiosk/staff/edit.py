"""Editor pages of the console: an organisation's services, places, people, hours and pathways.

A form is read back into the domain Struct it edits (``*_from_form``) and saved through
``orientation.writes`` like the API's writes (permission, store write, index sync), so the same
checks, pathway invariants, audit rows and failure handling apply. While the editor types, htmx
posts the form to ``…/check``: the record is parsed and put through every check of a real save
inside a transaction that is rolled back (``writes.dry_run``), and the first problem is shown
next to the field, row or pathway step it names, in French (pathway refusals by their reason,
``PATHWAY_MESSAGES``). Rows (phones, opening hours, absences, steps) are numbered fields
(``phones-0-number``); a blank row is ignored, so there is always one empty row to add another.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

import msgspec
from litestar import Request, get, post
from litestar.di import NamedDependency
from litestar.params import FromPath, FromQuery
from litestar.plugins.htmx import HTMXRequest
from litestar.response import Redirect, Template
from sqlite_utils import Database

from orientation import slip as slips
from orientation import store, writes
from orientation.access import Caller, links_of, may_change, organizations_of
from orientation.errors import (
    InvalidData,
    NotFound,
    OrientationError,
    PathwayInvalid,
    PermissionDenied,
    describe,
)
from orientation.models import (
    LANGUAGES,
    Contact,
    Location,
    Pathway,
    Service,
    new_id,
)
from orientation.search import SearchIndex

from kiosk import i18n
from kiosk.slips import slip_context

from kiosk.labels import LABELS
from kiosk.labels import problem as problem_words

from . import translate
from .console import FormBody, caller, language, lists, page, session

Form = dict[str, list[str]]
ENTITIES = {"service": Service, "location": Location, "contact": Contact, "pathway": Pathway}
# Labels are msgids (kiosk/labels.py), translated by the templates.
DAYS = tuple((code, LABELS["day"][code]) for code in ("MO", "TU", "WE", "TH", "FR", "SA", "SU"))
ATTENDING = tuple(LABELS["attending"].items())
DIGITAL_WHAT = ("itsme", "eid-reader", "email", "smartphone", "app", "internet")
REGIONS = ("bruxelles", "brabant-wallon", "wallonie", "flandre", "belgique", "autre")
#: Top-level fields per entity, each with its own error slot next to it.
FIELDS = {
    "service": ("name", "alternate_name", "description", "url", "email", "needs", "keywords",
                "location_ids", "contact_ids", "languages", "interpretation", "access",
                "digital", "status", "organization_id", "translations"),
    "location": ("name", "description", "address", "latitude", "longitude", "transport",
                 "accessibility", "organization_id"),
    "contact": ("civility", "given_name", "family_name", "role", "email", "languages", "status",
                "organization_id"),
    "pathway": ("need", "summary", "region", "themes", "status", "translations"),
}
ROWS = {
    "service": ("phones", "schedules", "closures"),
    "location": ("phones",),
    "contact": ("phones", "availability", "absences"),
    "pathway": ("steps",),
}
_FIELD = re.compile(r"^\$?\.?(\w+)(?:\[(\d+)\])?")


# --- Reading a form -------------------------------------------------------------------------------


def _one(form: Form, key: str, default: str = "") -> str:
    values = form.get(key)
    return values[-1].strip() if values else default


def _opt(form: Form, key: str) -> str | None:
    return _one(form, key) or None


def _bool(form: Form, key: str) -> bool:
    return _one(form, key) in ("1", "on", "true")


def _lines(form: Form, key: str) -> list[str]:
    return [line.strip() for line in _one(form, key).splitlines() if line.strip()]


def _words(form: Form, key: str) -> list[str]:
    return [w.strip() for w in re.split(r"[,;]", _one(form, key)) if w.strip()]


def _rows(form: Form, prefix: str) -> list[tuple[int, dict[str, list[str]]]]:
    """Numbered rows ``prefix-<n>-<field>``, in number order, blank rows dropped."""
    rows: dict[int, dict[str, list[str]]] = {}
    pattern = re.compile(rf"^{prefix}-(\d+)-(\w+)$")
    for key, values in form.items():
        if m := pattern.match(key):
            rows.setdefault(int(m.group(1)), {})[m.group(2)] = [v.strip() for v in values]
    ignored = {"id", "visibility", "type", "attending_type", "position", "remove"}
    return [(n, row) for n, row in sorted(rows.items())
            if any(v for k, vs in row.items() if k not in ignored for v in vs)
            and not any(row.get("remove", []))]


def _row(row: dict[str, list[str]], key: str) -> str:
    return (row.get(key) or [""])[-1]


def _phones(form: Form, base: list[Any]) -> list[dict[str, Any]]:
    known = {p.id: p for p in base}
    phones = []
    for _, row in _rows(form, "phones"):
        old = known.get(_row(row, "id"))
        phone = msgspec.to_builtins(old) if old else {}
        phone.update(number=_row(row, "number"), description=_row(row, "description") or None,
                     visibility="staff" if _row(row, "visibility") == "staff" else "public",
                     voicemail=bool(_row(row, "voicemail")))
        if old is None:
            phone["id"] = new_id()
        phones.append(phone)
    return phones


def _schedules(form: Form, prefix: str, base: list[Any]) -> list[dict[str, Any]]:
    """Opening rows; what the form does not show (place, validity dates, note) is kept."""
    known = {s.id: s for s in base}
    rows = []
    for _, row in _rows(form, prefix):
        old = known.get(_row(row, "id"))
        schedule = msgspec.to_builtins(old) if old else {"id": new_id()}
        schedule.update(byday=",".join(row.get("days", [])), opens_at=_row(row, "opens_at"),
                        closes_at=_row(row, "closes_at"),
                        attending_type=_row(row, "attending_type") or "walk_in")
        rows.append(schedule)
    return rows


def _dated(form: Form, prefix: str, extra: tuple[str, ...] = ()) -> list[dict[str, Any]]:
    rows = []
    for _, row in _rows(form, prefix):
        item = {"date_from": _row(row, "date_from"), "date_to": _row(row, "date_to"),
                "reason": _row(row, "reason") or None}
        for key in extra:
            item[key] = _row(row, key) or None
        rows.append(item)
    return rows


def _float(form: Form, key: str) -> float | None:
    value = _one(form, key).replace(",", ".")
    if not value:
        return None
    try:
        return float(value)
    except ValueError:
        raise InvalidData(f"{key}: {value!r} is not a number", field=key) from None


def _convert(data: dict[str, Any], cls: type) -> Any:
    try:
        return msgspec.convert(data, cls, strict=False)
    except msgspec.ValidationError as exc:
        where = str(exc).rpartition(" - at `$.")[2].rstrip("`")
        raise InvalidData(str(exc).split(" - at ")[0], field=where or None) from None


def _status(form: Form) -> str:
    return "inactive" if _one(form, "status") == "inactive" else "active"


def _required(form: Form, *names: str) -> None:
    for name in names:
        if not _one(form, name):
            raise InvalidData("Ce champ est obligatoire.", field=name)


def _verified(form: Form, data: dict[str, Any], actor: str) -> None:
    if _bool(form, "verified"):
        data.update(assured_date=dt.date.today().isoformat(), assured_by=actor)


def service_from_form(form: Form, base: Service, actor: str) -> Service:
    _required(form, "name", "description")
    data = msgspec.to_builtins(base)
    data.update(
        name=_one(form, "name"), alternate_name=_opt(form, "alternate_name"),
        description=_one(form, "description"), url=_opt(form, "url"),
        email=_opt(form, "email"), phones=_phones(form, base.phones),
        needs=[v for v in form.get("needs", []) if v], keywords=_words(form, "keywords"),
        location_ids=[v for v in form.get("location_ids", []) if v],
        contact_ids=list(dict.fromkeys(
            v for v in [_one(form, "main_contact"), *form.get("contact_ids", [])] if v)),
        languages=_words(form, "languages") or ["fr"],
        interpretation=_opt(form, "interpretation"),
        access={"walk_in": _bool(form, "access_walk_in"),
                "appointment": _bool(form, "access_appointment"),
                "referral": _bool(form, "access_referral"),
                "documents": _lines(form, "access_documents"),
                "cost_free": _bool(form, "access_cost_free"),
                "cost_description": _opt(form, "access_cost_description"),
                "audience": _opt(form, "access_audience"),
                "eligibility": _opt(form, "access_eligibility")},
        digital={"level": _one(form, "digital_level", "none"),
                 "what": [v for v in form.get("digital_what", []) if v],
                 "note": _opt(form, "digital_note")},
        schedules=_schedules(form, "schedules", base.schedules), closures=_dated(form, "closures"),
        open_on_public_holidays=_bool(form, "open_on_public_holidays"),
        status=_status(form), translations=translate.from_form(form, data["translations"]),
    )
    _verified(form, data, actor)
    return _convert(data, Service)


def location_from_form(form: Form, base: Location, actor: str) -> Location:
    _required(form, "name")
    data = msgspec.to_builtins(base)
    street, city = _one(form, "address_street"), _one(form, "address_city")
    postal = _one(form, "address_postal_code")
    data.update(
        name=_one(form, "name"), description=_opt(form, "description"),
        address={"street": street, "postal_code": postal, "city": city,
                 "region": _one(form, "address_region", "bruxelles")}
        if (street or city or postal) else None,
        latitude=_float(form, "latitude"), longitude=_float(form, "longitude"),
        transport=_lines(form, "transport"),
        accessibility={"step_free": _bool(form, "step_free"),
                       "hearing_loop": _bool(form, "hearing_loop"),
                       "toilets": _bool(form, "toilets"),
                       "details": _opt(form, "accessibility_details")},
        confidential=_bool(form, "confidential"), phones=_phones(form, base.phones),
    )
    return _convert(data, Location)


def contact_from_form(form: Form, base: Contact, actor: str) -> Contact:
    _required(form, "given_name", "family_name", "role")
    data = msgspec.to_builtins(base)
    data.update(
        civility=_opt(form, "civility"), given_name=_one(form, "given_name"),
        family_name=_one(form, "family_name"), role=_one(form, "role"),
        phones=_phones(form, base.phones), email=_opt(form, "email"),
        languages=_words(form, "languages") or ["fr"],
        availability=_schedules(form, "availability", base.availability),
        absences=_dated(form, "absences", ("substitute_id",)),
        status=_status(form),
    )
    _verified(form, data, actor)
    return _convert(data, Contact)


def pathway_from_form(form: Form, base: Pathway, actor: str) -> Pathway:
    _required(form, "need")
    data = msgspec.to_builtins(base)
    steps = []
    for n, row in _rows(form, "steps"):
        position = _row(row, "position")
        steps.append((float(position) if re.fullmatch(r"\d+(\.\d+)?", position) else n, n, {
            "service_id": _row(row, "service_id"), "contact_id": _row(row, "contact_id"),
            "location_id": _row(row, "location_id") or None, "action": _row(row, "action"),
            "bring": [line.strip() for line in _row(row, "bring").splitlines() if line.strip()],
            "fallback": _row(row, "fallback") or None,
        }))
    steps.sort(key=lambda s: (s[0], s[1]))
    data.update(
        need=_one(form, "need"), summary=_opt(form, "summary"),
        region=_one(form, "region", "both"), themes=[v for v in form.get("themes", []) if v],
        steps=[step for _, _, step in steps], status=_status(form),
        # Each step's translation follows it (by its form row) when steps move.
        translations=translate.from_form(form, data["translations"], [n for _, n, _ in steps]),
    )
    return _convert(data, Pathway)


READERS = {"service": service_from_form, "location": location_from_form,
           "contact": contact_from_form, "pathway": pathway_from_form}


def slot(field: str | None, entity: str) -> str:
    """The error slot next to a field: "schedules[1].opens_at" -> "schedules-1"."""
    m = _FIELD.match(field or "")
    if not m:
        return "form"
    name, index = m.groups()
    if index is not None and name in ROWS[entity]:
        return f"{name}-{index}"
    return name if name in FIELDS[entity] or name in ROWS[entity] else "form"


def N_(message: str) -> str:
    """gettext_noop: marks a message for extraction (one of Babel's default keywords); it is
    translated when shown, by ``pathway_message``."""
    return message


#: Why a pathway is refused (``errors.PATHWAY_REASONS``), in the editor's words: the msgids are
#: French, the catalogue's source language, and take the refusal's ``params``.
PATHWAY_MESSAGES: dict[str, str] = {
    "no-steps": N_("Un parcours a au moins une étape."),
    "service-missing": N_("choisissez un service."),
    "service-inactive": N_("le service « %(service)s » est inactif."),
    "sends-back": N_("renvoie vers « %(service)s », déjà à l'étape %(earlier)s : un parcours "
                     "ne revient jamais en arrière."),
    "location-elsewhere": N_("ce lieu n'est pas un lieu de « %(service)s »."),
    "contact-missing": N_("choisissez la personne à demander."),
    "contact-inactive": N_("%(contact)s ne travaille plus ici."),
    "contact-absent": N_("%(contact)s est absent du %(date_from)s au %(date_to)s et n'a pas "
                         "de remplaçant."),
    "substitute-missing": N_("le remplaçant de %(contact)s n'existe pas."),
    "substitute-inactive": N_("le remplaçant %(substitute)s ne travaille plus ici."),
    "unreachable-end": N_("la dernière étape doit finir par une personne joignable : un "
                          "téléphone public ou une permanence sans rendez-vous."),
    "role-unresolved": N_("personne de joignable ne fait « %(role)s » pour les habitants de "
                          "%(commune)s : ajoutez ce service ou retirez cette commune du "
                          "parcours."),
}


def pathway_message(exc: PathwayInvalid, lang: str = "fr") -> str:
    """The refusal in the editor's language, from its reason and parameters."""
    params = {k: v.strftime("%d/%m/%Y") if isinstance(v, dt.date) else v
              for k, v in exc.params.items()}
    return i18n.gettext(lang, PATHWAY_MESSAGES[exc.reason], **params)


def problem_of(exc: OrientationError, entity: str, lang: str = "fr") -> tuple[str, str]:
    """(slot, message in the editor's words and language) for a failed check."""
    def _(message: str, **values: Any) -> str:
        return i18n.gettext(lang, message, **values)

    if isinstance(exc, PathwayInvalid):
        where = f"steps-{exc.step - 1}" if exc.step else "form"
        reason = pathway_message(exc, lang)
        return where, (_("Étape %(n)s : %(reason)s", n=exc.step, reason=reason) if exc.step
                       else reason)
    if isinstance(exc, PermissionDenied):
        return "form", _("Vous pouvez seulement modifier les fiches de votre organisation.")
    if isinstance(exc, InvalidData):
        return slot(exc.field, entity), problem_words(str(exc), _)
    return "form", problem_words(str(exc), _)


# --- Pages ----------------------------------------------------------------------------------------


def _organization_for(request: Request, db: Database, asked: str | None) -> str:
    user = session(request).user
    if user.role != "admin":
        if not user.organization_id:
            raise PermissionDenied("your account has no organisation")
        return user.organization_id
    if asked:
        store.get_organization(db, asked)
        return asked
    orgs = store.list_organizations(db)
    if not orgs:
        raise NotFound("organization", "")
    return orgs[0].id


@get("/edit", sync_to_thread=True, name="staff_edit_home", opt={"role": "editor"})
def edit_home(request: HTMXRequest, db: NamedDependency[Database],
              organization: FromQuery[str | None] = None) -> Template:
    org_id = _organization_for(request, db, organization)
    who = caller(request)
    pathways = []
    for pathway in store.list_pathways(db):
        if org_id in organizations_of(db, pathway):
            pathways.append((pathway, may_change(db, who, pathway)))
    return page(
        request, "staff/edit_home.html", organization=store.get_organization(db, org_id),
        organizations=store.list_organizations(db) if who.role == "admin" else [],
        services=store.list_services(db, organization_id=org_id),
        locations=store.list_locations(db, organization_id=org_id),
        contacts=store.list_contacts(db, organization_id=org_id), pathways=pathways)


def _blank(entity: str, organization_id: str | None) -> Any:
    if entity == "service":
        return Service(organization_id=organization_id, name="", description="")
    if entity == "location":
        return Location(organization_id=organization_id, name="")
    if entity == "contact":
        return Contact(organization_id=organization_id, given_name="", family_name="", role="")
    return Pathway(need="", steps=[])


def _load(request: Request, db: Database, entity: str, record_id: str,
          organization: str | None) -> tuple[Any, Any]:
    """(record as stored or None for a new one, the record the form starts from)."""
    if entity not in ENTITIES:
        raise NotFound(entity, record_id)
    if record_id == "new":
        org = None if entity == "pathway" else _organization_for(request, db, organization)
        return None, _blank(entity, org)
    record = store.get(db, entity, record_id)
    return record, record


def _choices(db: Database, entity: str, record: Any, who: Caller) -> dict[str, Any]:
    org = getattr(record, "organization_id", None)
    choices: dict[str, Any] = {"days": DAYS, "attending": ATTENDING, "languages": LANGUAGES}
    if entity == "service":
        choices.update(
            terms=store.list_terms(db), locations=store.list_locations(db, organization_id=org),
            contacts=store.list_contacts(db, organization_id=org), digital_what=DIGITAL_WHAT)
    elif entity == "location":
        choices["regions"] = REGIONS
    elif entity == "contact":
        choices["substitutes"] = [c for c in store.list_contacts(db, organization_id=org)
                                  if c.id != record.id]
    else:
        orgs = {o.id: o.name for o in store.list_organizations(db)}
        services = store.list_services(db, status="active")
        # An editor may link only their own organisation's people and places (access.py);
        # an admin may link any. Links already there (made by an admin) stay on offer.
        own = None if who.role == "admin" else who.organization_id
        kept = links_of(record)
        choices.update(
            terms=store.list_terms(db),
            services=[(s.id, f"{s.name} — {orgs.get(s.organization_id, '')}") for s in services],
            contacts=[(c.id, f"{c.name} — {c.role} — {orgs.get(c.organization_id, '')}")
                      for c in store.list_contacts(db, status="active")
                      if own is None or c.organization_id == own or ("contact", c.id) in kept],
            locations=[(loc.id, f"{loc.name} — {orgs.get(loc.organization_id, '')}")
                       for loc in store.list_locations(db)
                       if own is None or loc.organization_id == own
                       or ("location", loc.id) in kept])
    return choices


def _edit_page(request: HTMXRequest, db: Database, entity: str, record_id: str,
               record: Any, *, problem: tuple[str, str] | None = None,
               saved: bool = False, status_code: int = 200) -> Template:
    stored = None if record_id == "new" else store.get(db, entity, record_id)
    return page(request, f"staff/edit_{entity}.html", entity=entity, record=record,
                record_id=record_id, stored=stored, problem=problem, saved=saved,
                rows=ROWS[entity], status_code=status_code, translate=translate,
                **_choices(db, entity, record, caller(request)))


@get("/edit/{entity:str}/{record_id:str}", sync_to_thread=True, name="staff_edit",
     opt={"role": "editor"})
def edit_page(request: HTMXRequest, db: NamedDependency[Database], entity: FromPath[str],
              record_id: FromPath[str], organization: FromQuery[str | None] = None,
              saved: FromQuery[str] = "") -> Template:
    before, record = _load(request, db, entity, record_id, organization)
    who = caller(request)
    if before is not None:
        writes.check(db, who, before, before)
    return _edit_page(request, db, entity, record_id, record, saved=saved == "1")


def _parse(request: Request, db: Database, entity: str, record_id: str,
           data: dict[str, Any]) -> tuple[Any, Any, Form]:
    form = lists(data)
    before, start = _load(request, db, entity, record_id, _one(form, "organization_id") or None)
    who = caller(request)
    record = READERS[entity](form, start, who.actor)
    if before is None:
        record = msgspec.structs.replace(record, id=new_id())
    return before, record, form


@post("/edit/{entity:str}/{record_id:str}", sync_to_thread=True, name="staff_edit_save",
      opt={"role": "editor"}, status_code=200)
def edit_save(request: HTMXRequest, db: NamedDependency[Database],
              index: NamedDependency[SearchIndex], entity: FromPath[str],
              record_id: FromPath[str], data: FormBody) -> Template | Redirect:
    who = caller(request)
    before, record = None, None
    try:
        before, record, _ = _parse(request, db, entity, record_id, data)
        saved = writes.save(db, index, who, before, record)
    except (InvalidData, PermissionDenied) as exc:
        if record is None:
            record = before if before is not None else _load(request, db, entity, record_id,
                                                             None)[1]
        return _edit_page(request, db, entity, record_id, record,
                          problem=problem_of(exc, entity, language(request)),
                          status_code=describe(exc)[0])
    return Redirect(f"/staff/edit/{entity}/{saved.id}?saved=1", status_code=303)


@post("/edit/{entity:str}/{record_id:str}/check", sync_to_thread=True,
      name="staff_edit_check", opt={"role": "editor"}, status_code=200)
def edit_check(request: HTMXRequest, db: NamedDependency[Database], entity: FromPath[str],
               record_id: FromPath[str], data: FormBody) -> Template:
    """Live validation: every check of a real save, nothing written."""
    who = caller(request)
    form = lists(data)
    problem = None
    try:
        before, start = _load(request, db, entity, record_id,
                              _one(form, "organization_id") or None)
        record = READERS[entity](form, start, who.actor)
        if before is None:
            record = msgspec.structs.replace(record, id=new_id())
        writes.dry_run(db, who, before, record)
    except (InvalidData, PermissionDenied) as exc:
        problem = problem_of(exc, entity, language(request))
    slots = ["form", *FIELDS[entity]]
    for prefix in ROWS[entity]:
        slots += sorted({f"{prefix}-{m.group(1)}" for key in form
                         if (m := re.match(rf"^{prefix}-(\d+)-", key))})
    return page(request, "staff/_checks.html", problem=problem, slots=slots)


@post("/edit/{entity:str}/{record_id:str}/preview", sync_to_thread=True,
      name="staff_edit_preview", opt={"role": "editor"}, status_code=200)
def edit_preview(request: HTMXRequest, db: NamedDependency[Database], entity: FromPath[str],
                 record_id: FromPath[str], data: FormBody) -> Template:
    """The slip this pathway would print, from the form as it is now."""
    if entity != "pathway":
        raise NotFound(entity, record_id)
    try:
        _, pathway, _ = _parse(request, db, "pathway", record_id, data)
        composed = slips.for_pathway(db, pathway)
        return page(request, "staff/_preview.html", problem=None,
                     **slip_context(request, composed))
    except (OrientationError, ValueError) as exc:
        return page(request, "staff/_preview.html", problem=str(exc), slip=None)


route_handlers = [edit_home, edit_page, edit_save, edit_check, edit_preview]

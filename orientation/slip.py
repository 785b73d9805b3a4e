"""The slip: the paper a person takes away, composed from a list of steps.

A slip says, step by step, where to go, when, what to bring, in which languages and at what
cost, and it **ends with a named person**: name, role, phone, when and where to reach them, and
their substitute when they are away. It carries a short reference code, the date and a QR code
to the same page, and nothing about the person who printed it.

``compose(db, steps, …)`` is the one entry point: the kiosk feeds it a pathway's steps or one
service, the social-worker console feeds it the steps a worker picked. This module only gathers
data; the words around it live in the slip template (one template for preview and print).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re
from collections.abc import Sequence
from urllib.parse import urlencode

import msgspec
import segno
from sqlite_utils import Database

from . import helpdesk, hours, store
from .access import ANONYMOUS, view
from .errors import InvalidData
from .models import (
    Contact,
    DigitalRequirement,
    Location,
    Organization,
    Pathway,
    PathwayStep,
    Phone,
    Service,
)

#: Unambiguous characters only (no 0/O, 1/I/L, 2/Z, 5/S, 8/B): codes are read aloud and typed.
CODE_ALPHABET = "ACDEFGHJKMNPQRTUVWXY3479"
CIVILITIES = {"Mme": "Madame", "M.": "Monsieur", "Mlle": "Mademoiselle", "Dr": "Docteur"}


class Person(msgspec.Struct, kw_only=True):
    """A named human to ask for, as the public may see them."""

    name: str
    role: str
    organization: str
    phones: list[Phone]
    availability: list[str]  # plain sentences, one per group of days
    languages: list[str]
    location: Location | None = None
    absent_until: dt.date | None = None
    substitute: Person | None = None


class SlipStep(msgspec.Struct, kw_only=True):
    number: int
    service: Service
    name: str
    name_lang: str  # the language ``name`` is written in (French when not translated)
    organization: Organization
    location: Location | None
    action: str | None
    when: str  # next opening in words, with the way to attend
    walk_in: bool
    appointment: bool
    bring: list[str]
    languages: list[str]
    interpretation: str | None
    cost_free: bool
    cost: str | None
    digital: DigitalRequirement
    fallback: str | None
    person: Person


class Slip(msgspec.Struct, kw_only=True):
    code: str
    date: dt.date
    lang: str
    title: str
    title_lang: str
    summary: str | None
    steps: list[SlipStep]
    contact: Person  # the named person the slip ends with (the last step's)
    helpline: helpdesk.Line | None
    query: str  # what the slip was made from, as a URL query ("pathway=…" / "service=…")
    in_french: bool  # some content is only available in French
    #: A short note from the social worker who composed the slip (never personal data).
    note: str | None = None

    @property
    def date_words(self) -> str:
        return f"{hours.format_date(self.date, self.lang)} {self.date.year}"


_ABBREVIATIONS = (
    (re.compile(r"\bex\.\s*"), "par exemple "),
    (re.compile(r",?\s*\betc\.?"), ""),
    (re.compile(r"\btél\.\s*", re.I), "téléphone "),
    (re.compile(r"\bMr\.?\s+|\bM\.\s+(?=[A-ZÀ-Ý])"), "Monsieur "),
    (re.compile(r"\bMme\.?\s+"), "Madame "),
)


def tidy(text: str | None) -> str | None:
    """Directory text made fit for a slip (easy-to-read typography): no brackets, semicolons
    or ellipses, abbreviations written out. "à pied (métro 2)" -> "à pied, métro 2"."""
    if not text:
        return text
    text = re.sub(r"\s*[(\[]\s*", ", ", text)
    text = re.sub(r"\s*[)\]]", "", text)
    text = re.sub(r"\s*;\s*(\w)", lambda m: ". " + m.group(1).upper(), text)
    text = text.replace("…", ".").replace(";", ".")
    for pattern, replacement in _ABBREVIATIONS:
        text = pattern.sub(replacement, text)
    text = re.sub(r",\s*([,.:!?])", r"\1", text)
    text = re.sub(r"\s+([.,])", r"\1", re.sub(r"\.{2,}", ".", text))
    return re.sub(r"^,\s*", "", re.sub(r"\s{2,}", " ", text)).strip()


def reference_code(query: str) -> str:
    """A short, stable code for a slip's content ("KQ4-MXT"): same steps, same code."""
    number = int.from_bytes(hashlib.sha256(query.encode()).digest()[:8], "big")
    chars = []
    for _ in range(6):
        number, index = divmod(number, len(CODE_ALPHABET))
        chars.append(CODE_ALPHABET[index])
    return "".join(chars[:3]) + "-" + "".join(chars[3:])


def qr_svg(url: str) -> str:
    """An inline SVG QR code (no size attributes: the page's CSS sizes it)."""
    svg = segno.make(url, error="m").svg_inline(scale=4, omitsize=True, title="QR")
    return svg


def _person(db: Database, contact: Contact, service: Service, location: Location | None,
            lang: str, today: dt.date, *, depth: int = 0) -> Person:
    contact = view(contact, ANONYMOUS)
    organization = store.get_organization(db, contact.organization_id)
    absence = contact.absence_on(today)
    substitute = None
    if absence and absence.substitute_id and depth == 0:
        substitute = _person(db, store.get_contact(db, absence.substitute_id), service,
                             location, lang, today, depth=1)
    # Civilities written out: "Madame Dupont" reads and sounds better than "Mme Dupont".
    name = " ".join(p for p in (CIVILITIES.get(contact.civility or "", contact.civility),
                                contact.given_name, contact.family_name) if p)
    return Person(
        name=name, role=contact.role, organization=organization.name,
        phones=contact.public_phones(),
        availability=hours.describe(contact.availability, lang) if contact.availability else [],
        languages=contact.languages, location=location,
        absent_until=absence.date_to if absence else None, substitute=substitute,
    )


def when(service: Service, at: dt.datetime, lang: str) -> str:
    """"Ouvert maintenant jusqu'à 12 h, sans rendez-vous" / "Ouvre mardi 3 mars à 9 h, sur
    rendez-vous": the first way in person (walk-in, then appointment, then phone)."""
    words = hours.WORDS.get(lang, hours.WORDS["fr"])
    for attending in ("walk_in", "appointment", "phone", "online"):
        rows = [s for s in service.schedules if s.attending_type == attending]
        if rows:
            sentence = hours.describe_when(
                rows, at, lang, closures=service.closures,
                open_on_public_holidays=service.open_on_public_holidays)
            comma = "، " if lang == "ar" else ", "
            return f"{sentence}{comma}{words[attending]}"
    return words["closed"]


def compose(db: Database, steps: Sequence[PathwayStep], *, lang: str = "fr",
            at: dt.datetime | None = None, title: str | None = None,
            title_lang: str | None = None, summary: str | None = None,
            query: str | None = None) -> Slip:
    """Compose a slip from steps (service, optional location, contact, action, what to bring).

    ``title`` is the need in plain words (default: the first service's name); ``query`` says
    how to find the same slip again (default: the services, in order).
    """
    if not steps:
        raise InvalidData("a slip needs at least one step", field="steps")
    at = (at or hours.now()).astimezone(hours.TZ)
    composed: list[SlipStep] = []
    in_french = False
    for number, step in enumerate(steps, start=1):
        service = view(store.get_service(db, step.service_id), ANONYMOUS)
        organization = view(store.get_organization(db, service.organization_id), ANONYMOUS)
        location_id = step.location_id or (service.location_ids[0] if service.location_ids
                                           else None)
        location = view(store.get_location(db, location_id), ANONYMOUS) if location_id else None
        contact = store.get_contact(db, step.contact_id)
        translated = lang == "fr" or lang in service.translations
        in_french = in_french or not translated or bool(step.action)
        composed.append(SlipStep(
            number=number, service=service, name=service.text("name", lang),
            name_lang=lang if translated else "fr", organization=organization,
            location=location, action=step.action or None, when=when(service, at, lang),
            walk_in=service.access.walk_in, appointment=service.access.appointment,
            bring=list(step.bring) or list(service.access.documents),
            languages=service.languages, interpretation=service.interpretation,
            cost_free=service.access.cost_free, cost=service.access.cost_description,
            digital=service.digital, fallback=step.fallback,
            person=_person(db, contact, service, location, lang, at.date()),
        ))
    last = composed[-1]
    region = last.location.address.region if last.location and last.location.address else None
    lines = helpdesk.free_lines(db, region=region, at=at, open_first=False)
    query = query or urlencode([("service", s.service_id) for s in steps])
    if lang != "fr":
        in_french = in_french or title_lang == "fr"
    return Slip(
        code=reference_code(query), date=at.date(), lang=lang,
        title=title or last.name, title_lang=title_lang or (composed[0].name_lang),
        summary=summary, steps=composed, contact=last.person,
        helpline=lines[0] if lines else None, query=query, in_french=lang != "fr" and in_french,
    )


def service_steps(db: Database, service_ids: Sequence[str]) -> list[PathwayStep]:
    """One step per service, asking for its main contact."""
    steps = []
    for service_id in service_ids:
        service = store.get_service(db, service_id)
        if not service.contact_ids:
            raise InvalidData(f"service {service.name!r} has no contact person",
                              field="contact_ids")
        steps.append(PathwayStep(service_id=service.id, contact_id=service.contact_ids[0],
                                 action=""))
    return steps


def for_pathway(db: Database, pathway: Pathway, *, lang: str = "fr",
                at: dt.datetime | None = None) -> Slip:
    translated = lang == "fr" or bool(pathway.translations.get(lang)
                                      and pathway.translations[lang].need)
    return compose(db, pathway.steps, lang=lang, at=at, title=pathway.text("need", lang),
                   title_lang=lang if translated else "fr",
                   summary=pathway.text("summary", lang),
                   query=urlencode({"pathway": pathway.id}))


def for_services(db: Database, service_ids: Sequence[str], *, lang: str = "fr",
                 at: dt.datetime | None = None) -> Slip:
    return compose(db, service_steps(db, service_ids), lang=lang, at=at)


# --- Numbers to call (the help screen when nobody is at the desk) -------------------------


class NumberEntry(msgspec.Struct, kw_only=True):
    title: str
    number: str | None = None
    place: str | None = None
    when: list[str] = []


class NumbersSlip(msgspec.Struct, kw_only=True):
    """A slip of where a person can be reached, readable later: dates and hours in full,
    never "aujourd'hui" or "maintenant"."""

    lang: str
    printed_on: str  # "vendredi 4 décembre 2026 à 17 h 30"
    desks: list[NumberEntry]
    lines: list[NumberEntry]


def numbers_to_call(found: helpdesk.Fallback, at: dt.datetime, *,
                    lang: str = "fr") -> NumbersSlip:
    """The help screen's fallback as a slip: the open desks with the day and hour they close,
    the free lines with their weekly hours."""
    at = hours.local(at)
    printed_on = (f"{hours.format_date(at.date(), lang)} {at.year}, "
                  f"{hours.format_time(at.time(), lang)}")
    desks = []
    for desk in found.desks:
        closes = hours.local(desk.closes_at)
        address = desk.location.address if desk.location else None
        place = f"{address.street}, {address.postal_code} {address.city}" if address else None
        desks.append(NumberEntry(
            title=f"{desk.service.name} — {desk.organization.name}", place=place,
            number=next((p.number for p in desk.organization.phones
                         if p.visibility == "public"), None),
            when=[f"{hours.format_date(closes.date(), lang)}, "
                  f"{hours.format_time(closes.time(), lang)}"]))
    lines = [NumberEntry(title=line.label, number=line.phone.number,
                         when=hours.describe(line.schedules, lang))
             for line in found.lines]
    return NumbersSlip(lang=lang, printed_on=printed_on, desks=desks, lines=lines)

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
    StepTranslation,
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
    role_lang: str = "fr"  # the language ``role`` is written in (French when not translated)


class SlipStep(msgspec.Struct, kw_only=True):
    number: int
    service: Service
    name: str
    name_lang: str  # the language ``name`` is written in (French when not translated)
    organization: Organization
    location: Location | None  # None for a step done by phone: no address, no tram stop
    action: str | None
    action_lang: str  # the language each text is written in ("fr" when not translated)
    when: str  # the next opening as a full date and hours, with the way to attend
    by_phone: bool  # the service is reached only by phone
    phones: list[Phone]  # the numbers to call for a step done by phone
    hours: list[str]  # the weekly hours of a step done by phone, in plain sentences
    walk_in: bool
    appointment: bool
    bring: list[str]
    bring_lang: str
    languages: list[str]
    interpretation: str | None
    cost_free: bool
    cost: str | None
    cost_lang: str
    digital: DigitalRequirement
    fallback: str | None
    fallback_lang: str
    person: Person
    #: The step only applies if something happens ("Le CPAS refuse ? …"), read from the French.
    conditional: bool = False
    #: The service's name is a proper name, kept as written by its translation ("Infor
    #: Jeunes"): shown marked as a name, not as French left to translate.
    name_kept: bool = False
    digital_note: str | None = None
    digital_note_lang: str = "fr"


class Slip(msgspec.Struct, kw_only=True):
    code: str
    date: dt.date
    lang: str
    title: str
    title_lang: str
    summary: str | None
    summary_lang: str
    steps: list[SlipStep]
    contact: Person  # "your contact person": the human of the main step (see ``main_step``)
    main: int  # the number of that step
    helpline: helpdesk.Line | None
    query: str  # what the slip was made from, as a URL query ("pathway=…" / "service=…")
    in_french: bool  # some of the content (not names nor addresses) is only in French
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
    role, role_lang = contact.texts("role", lang)
    return Person(
        name=name, role=role, role_lang=role_lang, organization=organization.name,
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


def on_paper(service: Service, at: dt.datetime, lang: str) -> str:
    """"Lundi 7 décembre, de 8 h 30 à 12 h, sans rendez-vous": the current or next opening as
    a full date, never "now", "today" or "tomorrow" (a slip is read on another day than it is
    printed: the paper has to stay true). An opening of more than a day is said as weekly hours.
    """
    words = hours.WORDS.get(lang, hours.WORDS["fr"])
    for attending in ("walk_in", "appointment", "phone", "online"):
        rows = [s for s in service.schedules if s.attending_type == attending]
        if not rows:
            continue
        current, upcoming = hours.open_or_next(
            rows, at, closures=service.closures,
            open_on_public_holidays=service.open_on_public_holidays)
        opening = current or upcoming
        weekly = hours.describe(rows, lang)
        if opening is None or opening.end - opening.start >= dt.timedelta(hours=23):
            return weekly[0] if weekly else words["closed"]
        comma = "، " if lang == "ar" else ", "
        day = hours.format_date(opening.start.date(), lang)
        span = words["hours"].format(a=hours.format_time(opening.start.time(), lang),
                                     b=hours.format_time(opening.end.time(), lang))
        return f"{day[:1].upper()}{day[1:]}{comma}{span}{comma}{words[attending]}."
    return ""


#: Words that are true only on the day the slip is printed. Directory texts are written for a
#: person reading at the kiosk ("Aujourd'hui, allez manger…"); the paper is read later, so on
#: paper these words are dropped ("Allez manger…"), never replaced by a guess.
_RELATIVE = re.compile(
    r"(?i)(?:^|(?<=[.!?]\s))(?:aujourd'hui|maintenant|ce soir|today|tonight|vandaag|vanavond)"
    r",\s*|\s*\b(?:aujourd'hui|maintenant|ce soir|demain|tomorrow|today|tonight|vandaag|morgen"
    r"|vanavond)\b")


def timeless(text: str | None) -> str | None:
    """Directory text fit for paper: relative time words dropped, sentences still capitalised.
    "Aujourd'hui, allez manger." -> "Allez manger."."""
    if not text:
        return text
    text = _RELATIVE.sub("", text)
    return re.sub(r"(^|[.!?]\s+)([a-zà-ÿ])", lambda m: m.group(1) + m.group(2).upper(),
                  text).strip()


def first_sentences(text: str | None, n: int) -> str | None:
    """The first ``n`` sentences of a text ("Le CPAS refuse ? Allez au bureau …")."""
    if not text:
        return text
    return " ".join(re.split(r"(?<=[.!?؟])\s+", text.strip())[:n])


def _explaining(summary: str | None, steps: Sequence[SlipStep]) -> str | None:
    """Of the pathway's summary, only the sentences that explain an acronym the steps use
    ("Le CPAS, le service social de la commune, …"): the rest is behind the QR code."""
    if not summary:
        return None
    used = " ".join(f"{s.action or ''} {s.fallback or ''} {s.name} {s.organization.name} "
                    f"{s.person.organization}" for s in steps)
    kept = [sentence for sentence in re.split(r"(?<=[.!?])\s+", summary.strip())
            if any(re.search(rf"\b{re.escape(word)}\b", used)
                   for word in re.findall(r"\b[A-Z]{2,}\b", sentence))]
    return " ".join(kept) or None


def _in_person(service: Service) -> bool:
    # The hours say how people are received; the access flags only when there are no hours
    # ("sur rendez-vous" by phone is a phone step: no address, no tram stop).
    if service.schedules:
        return any(s.attending_type in ("walk_in", "appointment") for s in service.schedules)
    return service.access.walk_in or service.access.appointment


def _conditional(action: str | None) -> bool:
    """A step that only applies if something happens: "Le CPAS refuse ? …", "Si …"."""
    first = re.split(r"(?<=[.!?])\s", (action or "").strip(), maxsplit=1)[0]
    return first.endswith("?") or first.lower().startswith(("si ", "s'il", "en attendant"))


def main_step(steps: Sequence[SlipStep]) -> SlipStep:
    """The step whose person the slip names as "your contact person".

    Rule: the first step at a service the person goes to (walk-in or appointment) whose action
    is not conditional ("Le CPAS refuse ? …", "Si …", "En attendant …"): that is the person they
    will meet. A phone line or a fallback step is never the contact when such a step exists;
    without one, the first unconditional step, and failing that the first step.
    """
    for test in (lambda s: not s.by_phone and not s.conditional,
                 lambda s: not s.conditional):
        for step in steps:
            if test(step):
                return step
    return steps[0]


def _in(lang: str, french: str | None, translated: str | None) -> tuple[str | None, str]:
    """A text in ``lang`` when translated, else the French, with the language it is in."""
    if lang != "fr" and translated and french:
        return translated, lang
    return french, "fr"


def compose(db: Database, steps: Sequence[PathwayStep], *, lang: str = "fr",
            at: dt.datetime | None = None, title: str | None = None,
            title_lang: str | None = None, summary: str | None = None,
            summary_lang: str | None = None,
            translations: Sequence[StepTranslation | None] = (),
            query: str | None = None) -> Slip:
    """Compose a slip from steps (service, optional location, contact, action, what to bring).

    ``title`` is the need in plain words (default: the first service's name); ``query`` says
    how to find the same slip again (default: the services, in order). ``translations`` has
    one entry (or None) per step: its action, what to bring and fallback in ``lang``; what is
    not translated stays French and says so (``*_lang``), names and addresses stay as written.
    """
    if not steps:
        raise InvalidData("a slip needs at least one step", field="steps")
    at = (at or hours.now()).astimezone(hours.TZ)
    composed: list[SlipStep] = []
    for number, step in enumerate(steps, start=1):
        translated_step = translations[number - 1] if number <= len(translations) else None
        service = view(store.get_service(db, step.service_id), ANONYMOUS)
        organization = view(store.get_organization(db, service.organization_id), ANONYMOUS)
        location_id = step.location_id or (service.location_ids[0] if service.location_ids
                                           else None)
        location = view(store.get_location(db, location_id), ANONYMOUS) if location_id else None
        contact = store.get_contact(db, step.contact_id)
        name, name_lang = service.texts("name", lang)
        action, action_lang = _in(lang, step.action,
                                  translated_step.action if translated_step else None)
        fallback, fallback_lang = _in(lang, step.fallback,
                                      translated_step.fallback if translated_step else None)
        if step.bring:
            bring, bring_lang = list(step.bring), "fr"
            if lang != "fr" and translated_step and all(translated_step.bring) and \
                    len(translated_step.bring) == len(step.bring):
                bring, bring_lang = list(translated_step.bring), lang
        else:
            bring, bring_lang = service.documents(lang)
        cost, cost_lang = service.texts("cost_description", lang)
        note, note_lang = service.texts("digital_note", lang)
        by_phone = not _in_person(service)
        person = _person(db, contact, service, None if by_phone else location, lang, at.date())
        phone_rows = [s for s in service.schedules if s.attending_type == "phone"]
        composed.append(SlipStep(
            number=number, service=service, name=timeless(name), name_lang=name_lang,
            organization=organization, location=None if by_phone else location,
            action=timeless(action) or None, action_lang=action_lang,
            conditional=_conditional(step.action),
            when=on_paper(service, at, lang), by_phone=by_phone,
            phones=(service.phones or person.phones)[:2] if by_phone else [],
            hours=hours.describe(phone_rows, lang)[:2] if by_phone else [],
            walk_in=service.access.walk_in, appointment=service.access.appointment,
            bring=bring, bring_lang=bring_lang,
            languages=service.languages, interpretation=service.interpretation,
            cost_free=service.access.cost_free, cost=cost, cost_lang=cost_lang,
            digital=service.digital, fallback=timeless(fallback), fallback_lang=fallback_lang,
            person=person, name_kept=name_lang == lang != "fr" and name == service.name,
            digital_note=note, digital_note_lang=note_lang,
        ))
    main = main_step(composed)
    # Short enough to keep (one A4 page, about 40 cm of roll): the main step says what to do in
    # three sentences, what to bring, the price and its fallback in two; the other steps say
    # what to do in one sentence (two when the first is the condition: "Le CPAS refuse ?").
    # Everything else is on the page behind the QR code.
    composed = [msgspec.structs.replace(
        s, action=first_sentences(s.action, 3), fallback=first_sentences(s.fallback, 2))
        if s is main else msgspec.structs.replace(
        s, action=first_sentences(s.action, 2 if s.conditional else 1), fallback=None,
        bring=[]) for s in composed]
    last = composed[-1]
    region = last.location.address.region if last.location and last.location.address else None
    lines = helpdesk.free_lines(db, region=region, at=at, open_first=False)
    query = query or urlencode([("service", s.service_id) for s in steps])
    title_lang = (title_lang or lang) if title else last.name_lang
    summary = _explaining(timeless(summary), composed)
    summary_lang = summary_lang or title_lang
    # The notice "some of it is in French" only when some of the content shown is: a
    # service's name is a name, kept as written like the names of places and people.
    shown = [(title, title_lang), (summary, summary_lang),
             (main.person.role, main.person.role_lang)] + [
        pair for s in composed for pair in ((s.action, s.action_lang),
                                            (s.bring, s.bring_lang),
                                            (s.fallback, s.fallback_lang),
                                            (s.cost if s.number == main.number and not s.cost_free else None,
                                             s.cost_lang))]
    return Slip(
        code=reference_code(query), date=at.date(), lang=lang,
        title=timeless(title) or last.name, title_lang=title_lang,
        summary=summary, summary_lang=summary_lang, steps=composed, contact=main.person,
        main=main.number, helpline=lines[0] if lines else None, query=query,
        in_french=lang != "fr" and any(text and text_lang == "fr" for text, text_lang in shown),
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
    title, title_lang = pathway.texts("need", lang)
    summary, summary_lang = pathway.texts("summary", lang)
    return compose(db, pathway.steps, lang=lang, at=at, title=title, title_lang=title_lang,
                   summary=summary, summary_lang=summary_lang,
                   translations=pathway.step_translations(lang),
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


# --- The social worker's note: never a person's name --------------------------------------

_CIVILITY = (r"(?:Madame|Monsieur|Mademoiselle|Mme|Mlle|Mr|Mrs|Ms|Miss|M|Dr|Docteur|Maître|Me"
             r"|Mevrouw|Meneer|Mevr|Dhr|Juffrouw|Mister|Sir)")
_NAME_WORD = r"[A-ZÀ-Ý][a-zà-ÿ'’]+(?:-[A-ZÀ-Ý][a-zà-ÿ'’]+)?"
#: Family-name particles: "De Smet", "van der Berg", "El Idrissi", "d'Ursel".
_PARTICLE = r"(?:(?:[Vv]an|[Dd]e|[Dd]er|[Dd]en|[Dd]u|[Dd]es|[Ll]e|[Ll]a|[Ee]l|[Aa]l|[Bb]en|[Tt]er)\s+|d['’])"
_FAMILY = rf"(?:{_PARTICLE})*(?:{_NAME_WORD}|[A-ZÀ-Ý]{{2,}})"
_WITH_CIVILITY = re.compile(rf"\b{_CIVILITY}\.?\s+(?:{_NAME_WORD}\s+)?{_FAMILY}")
_FIRST_AND_FAMILY = re.compile(rf"\b({_NAME_WORD})\s+{_FAMILY}")
#: Capitalised words that start the name of a place, a service or an institution: the words
#: after them belong to that name ("Rue Haute", "Maison Médicale du Nord", "CPAS d'Ixelles").
_PLACE_WORDS = frozenset("""
rue avenue av boulevard place chaussée chemin square quai allée drève clos impasse parc gare
pont porte cité grand grand-place galerie centre maison service bureau office espace point
hôpital clinique palais hôtel mutualité mutuelle commune ville caisse banque ligue croix
entraide solidaris lire infor forem actiris onem capac cpas spf baj fgtb csc cgslb ocmw
saint sainte sint notre bruxelles brussel wallonie flandre brabant ixelles schaerbeek
anderlecht molenbeek etterbeek uccle forest jette evere wavre nivelles tubize ottignies
louvain jodoigne perwez waterloo koekelberg auderghem laeken ligne télé restaurant
""".split())
#: Capitalised words that start a sentence, never a first name: only that word is skipped
#: ("Demandez Marie Dupont" still loses "Marie Dupont").
_NOT_FIRST_NAMES = frozenset("""
lundi mardi mercredi jeudi vendredi samedi dimanche janvier février mars avril mai juin
juillet août septembre octobre novembre décembre
le la les un une des du de au aux ce cet cette ces il elle ils elles on nous vous je tu
son sa ses leur leurs mon ma mes votre vos notre nos pour avec sans chez dans par sur sous
si et ou mais donc car puis ensuite après avant bien merci bonjour attention important
allez venez appelez demandez apportez prenez donnez dites passez montrez voir voyez
the a an at to for with please call go ask bring de het een naar voor met bel ga vraag
""".split())


def screen_note(note: str | None, known: Sequence[str] = ()) -> str | None:
    """A note fit for a public slip: no one's name. Removes a civility and the words after it
    ("Mme Dupont", "Mevrouw De Smet") and a capitalised first name followed by a family name
    ("Marie Dupont"), and keeps a capitalised word that starts a sentence ("Venez lundi") and
    the names of places and services: common ones ("CPAS d'Ixelles", "Rue Haute") and those in
    ``known`` (the directory's organisation and service names: "Ligne Info Sociale")."""
    if not note:
        return note
    note = _WITH_CIVILITY.sub("…", note)
    known_text = " ".join(known)
    pos = 0
    while match := _FIRST_AND_FAMILY.search(note, pos):
        first = match.group(1)
        head = first.split("-")[0].lower()
        if first.lower() in _PLACE_WORDS or head in _PLACE_WORDS or \
                match.group(0) in known_text:
            pos = match.end()  # the whole name of a place or service
            continue
        if first.lower() in _NOT_FIRST_NAMES or head in _NOT_FIRST_NAMES:
            pos = match.start(1) + len(first)  # the next word may still start a name
            continue
        note = note[:match.start()] + "…" + note[match.end():]
        pos = match.start() + 1
    note = re.sub(r"…(?:\s*…)+", "…", note)
    return " ".join(note.split()) or None

"""What the search index holds for a service or a pathway, built from the store's records.

Text is analysed in Python (``analysis.py``) and indexed as space-separated stems,
so the index and the queries share exactly one pipeline. Fields:

- ``title``: name, alternate name, translated names, keywords and the labels of the most
  precise needs (or, for a pathway, the need in plain words and its themes' labels);
- ``body``: description and translations, audience, eligibility, interpretation, places,
  organisation, and the labels of broader needs also listed;
- ``words``: the folded, unstemmed words of both, the vocabulary for typo correction;
- ``tags``: filter values (``n:<need>``, ``c:<commune>`` has a place there, ``s:<commune>``
  serves its people (``s:*`` everyone), ``r:<region>``, ``l:<language>``, ``a:<audience>``,
  ``k:<kind>``, ``ro`` for its areas' residents only, ``walk_in``, ``free``, ``step_free``,
  ``no_digital``) and
  opening-hours tags (``d:mo`` open that day, ``o:mo:0900-1200`` open from 9:00 to 12:00
  on Mondays, ``hol`` open on public holidays, ``irr`` dated rules or closures, checked
  exactly at search time); their prefixes are named in ``Tag``;
- ``data`` (stored only): a ``Stored`` record as JSON (titles and descriptions per language,
  needs, communes and hours), what a hit shows and what the exact "open now" check reads.

A pathway's tags are those of its first step's service (where the person goes first), with
the communes of all its steps and its region(s); it serves the communes it covers (its
``communes``, else its region's) and only those (``ro``).
"""

from __future__ import annotations

from typing import Any

import msgspec
from sqlite_utils import Database
from whoosh.analysis import SpaceSeparatedTokenizer
from whoosh.fields import ID, KEYWORD, STORED, TEXT, Schema

from .. import communes, competence, hours, store
from ..errors import NotFound
from ..models import Closure, Pathway, Schedule, Service, TaxonomyTerm
from . import analysis
from .analysis import LANGS

#: Bumped whenever what the index holds changes: an index of another version is rebuilt on
#: open. 7: the stored record has named fields (``Stored``) instead of one-letter keys; 8: the
#: communes served (``s:``), residents only (``ro``) and the stored regions; 9: Arabic words and
#: Arabic-Indic digits are folded (orientation/text.py).
SCHEMA_VERSION = "9"
META_ID = "__meta__"

#: Audience keys derived from a service's audience and eligibility text (any of the words).
AUDIENCES = {
    "tous": ("tout le monde", "tous", "sans condition"),
    "habitants": ("habitant",),
    "jeunes": ("jeune", "moins de 25", "ado", "etudiant"),
    "seniors": ("senior", "plus de 60", "plus de 65", "personnes agees", "pensionn"),
    "familles": ("parent", "famille", "enfant", "eleve"),
    "femmes": ("femme",),
    "sans-papiers": ("sans papiers", "sans titre de sejour", "avec ou sans titre", "migrant",
                     "demandeur d'asile", "demandeurs d'asile"),
    "sans-abri": ("sans abri", "sans logement", "sans domicile"),
    "chomeurs": ("chomage", "demandeur d'emploi", "demandeurs d'emploi"),
    "membres": ("membre", "affili"),
}
FLAGS = ("walk_in", "free", "step_free", "no_digital")


class Tag:
    """What the ``tags`` field holds besides FLAGS: a prefix and a value ("n:logement"), or a
    flag of the opening hours. Ranking, filters and "open now" read them by these names."""

    NEED = "n:"  # + a taxonomy code (a need's ancestors are tagged too)
    COMMUNE = "c:"  # + communes.slug() of a commune: has a place there
    SERVES = "s:"  # + communes.slug() of a commune whose people it serves, or SERVES_ALL
    SERVES_ALL = "s:*"  # serves everyone (no area, or the whole country)
    RESIDENTS = "ro"  # only for the people of the communes it serves
    REGION = "r:"  # + a region ("bruxelles", "brabant-wallon")
    LANGUAGE = "l:"  # + an ISO 639-1 code
    AUDIENCE = "a:"  # + an AUDIENCES key
    KIND = "k:"  # + "service", "pathway" or "meta"
    OPEN_DAY = "d:"  # + a day ("mo"): has weekly opening hours that day
    OPENING = "o:"  # + a day and hours ("mo:0900-1200"): one weekly opening
    HOLIDAYS = "hol"  # open on public holidays
    IRREGULAR = "irr"  # dated rules or closures: checked exactly at search time


class Hours(msgspec.Struct, kw_only=True):
    """A document's opening hours, for the exact "open now" check (a pathway: its first
    step's)."""

    schedules: list[Schedule]
    closures: list[Closure]
    open_on_public_holidays: bool


class Stored(msgspec.Struct, kw_only=True):
    """A document's stored record (the ``data`` field): what a hit shows, without reading the
    database."""

    titles: dict[str, str]  # language -> the name (a pathway: the need in plain words)
    descriptions: dict[str, str]  # language -> the description (a pathway: its summary)
    needs: list[str]  # taxonomy codes of its needs (a pathway: its themes)
    communes: list[str]  # canonical commune names (a pathway: those of all its steps)
    regions: list[str] = []  # the regions of its places (a pathway: its declared region(s))
    hours: Hours


_STORED = msgspec.json.Decoder(Stored)


def stored(data: str | bytes) -> Stored:
    """A document's ``data`` field, decoded."""
    return _STORED.decode(data)


def schema() -> Schema:
    # Text is analysed in Python (analysis.py) and indexed as space-separated
    # stems, so the index and the queries use exactly the same pipeline.
    words = SpaceSeparatedTokenizer()
    return Schema(
        id=ID(stored=True, unique=True),
        kind=ID(stored=True),
        title=TEXT(analyzer=words, phrase=False),
        body=TEXT(analyzer=words, phrase=False),
        # scorable=True although never scored: whoosh 2.7 stats the disk once per posting at
        # commit time for a field without a length column (a million stats for 10k services).
        words=KEYWORD(scorable=True),  # folded unstemmed words: the typo vocabulary
        tags=KEYWORD(scorable=True),  # filter values: "n:energie", "c:ixelles", "walk_in"…
        data=STORED(),
    )


def serves_tags(served: set[str] | None) -> set[str]:
    """The ``s:`` tags of the communes served (None: everyone)."""
    if served is None:
        return {Tag.SERVES_ALL}
    return {f"{Tag.SERVES}{communes.slug(name)}" for name in served}


def hour_tokens(schedules: list[Schedule]) -> set[str]:
    """"d:mo" for each open day and "o:mo:0900-1200" for each weekly opening: few distinct
    values, so "open at 10:07" is the union of a handful of tags. Dated rules, closures and
    public holidays are checked at search time."""
    tokens = set()
    for row in schedules:
        opens = row.opens_at.replace(":", "").zfill(4)
        closes = row.closes_at.replace(":", "").zfill(4)
        for day in hours.parse_days(row.byday):
            name = hours.DAYS[day].lower()
            tokens |= {f"{Tag.OPEN_DAY}{name}", f"{Tag.OPENING}{name}:{opens}-{closes}"}
    return tokens


def audiences(*texts: str | None) -> set[str]:
    text = " ".join(analysis.words(" ".join(t for t in texts if t)))
    return {name for name, needles in AUDIENCES.items()
            if any(needle in text for needle in needles)}


class Context:
    """Records needed to build documents, read once per sync or rebuild."""

    def __init__(self, db: Database, *, bulk: bool = False) -> None:
        self.db = db
        self.terms: dict[str, TaxonomyTerm] = {t.id: t for t in store.list_terms(db)}
        self._orgs = {o.id: o for o in store.list_organizations(db)} if bulk else {}
        self._locations = {loc.id: loc for loc in store.list_locations(db)} if bulk else {}
        self._services: dict[str, Service] = {}

    def _memo(self, cache: dict, getter, key: str):
        if key not in cache:
            try:
                cache[key] = getter(self.db, key)
            except NotFound:
                cache[key] = None
        return cache[key]

    def organization(self, org_id: str):
        return self._memo(self._orgs, store.get_organization, org_id)

    def location(self, location_id: str):
        return self._memo(self._locations, store.get_location, location_id)

    def service(self, service_id: str) -> Service | None:
        return self._memo(self._services, store.get_service, service_id)

    def remember(self, service: Service) -> None:
        self._services[service.id] = service

    def split_needs(self, term_ids: list[str]) -> tuple[list[TaxonomyTerm], list[TaxonomyTerm]]:
        """(the most precise needs, the broader ones also listed): only the precise needs'
        labels count as title words ("Droits et aide juridique" is too broad for that)."""
        needs = [self.terms[t] for t in term_ids if t in self.terms]
        parents = {n.parent_id for n in needs}
        return [n for n in needs if n.id not in parents], [n for n in needs if n.id in parents]

    def codes_with_ancestors(self, term_ids: list[str]) -> list[str]:
        codes = []
        for term_id in term_ids:
            term = self.terms.get(term_id)
            while term is not None and term.code not in codes:
                codes.append(term.code)
                term = self.terms.get(term.parent_id) if term.parent_id else None
        return codes


def labels(terms: list[TaxonomyTerm]) -> list[tuple[str, str]]:
    return [(label, lang) for term in terms for lang, label in term.labels.items()
            if lang in LANGS]


def texts(parts: list[tuple[str | None, str]]) -> tuple[str, str]:
    """(stems, words) for the (text, language) parts of one field."""
    stems, words = [], []
    for text, lang in parts:
        if text:
            text_stems, text_words = analysis.index_terms(text, lang)
            stems += text_stems
            words += text_words
    return " ".join(stems), " ".join(words)


def service_facts(service: Service, ctx: Context) -> dict[str, Any]:
    """Filter tags, communes and hours of a service (shared by its pathways' first step)."""
    locations = [loc for loc in map(ctx.location, service.location_ids) if loc is not None]
    names = sorted({name for loc in locations if loc.address
                    for name in [communes.commune(loc.address.city, loc.address.postal_code)]
                    if name})
    tags = {f"{Tag.COMMUNE}{communes.slug(n)}" for n in names}
    regions = sorted({loc.address.region for loc in locations if loc.address})
    tags |= {f"{Tag.REGION}{r}" for r in regions}
    tags |= serves_tags(competence.served(service.areas))
    if service.access.residents_only:
        tags.add(Tag.RESIDENTS)
    tags |= {f"{Tag.LANGUAGE}{lang}" for lang in service.languages}
    tags |= {f"{Tag.AUDIENCE}{a}"
             for a in audiences(service.access.audience, service.access.eligibility)}
    if service.access.walk_in or any(s.attending_type == "walk_in" for s in service.schedules):
        tags.add("walk_in")
    if service.access.cost_free:
        tags.add("free")
    if any(loc.accessibility.step_free for loc in locations):
        tags.add("step_free")
    if service.digital.level != "required":
        tags.add("no_digital")
    tags |= hour_tokens(service.schedules)
    if service.open_on_public_holidays:
        tags.add(Tag.HOLIDAYS)
    if service.closures or any(s.valid_from or s.valid_to for s in service.schedules):
        tags.add(Tag.IRREGULAR)
    return {
        "tags": tags,
        "communes": names,
        "cities": [loc.address.city for loc in locations if loc.address],
        "regions": regions,
        "hours": Hours(schedules=service.schedules, closures=service.closures,
                       open_on_public_holidays=service.open_on_public_holidays),
    }


def service_document(service: Service, ctx: Context) -> dict[str, Any] | None:
    if service.status != "active":
        return None
    org = ctx.organization(service.organization_id)
    facts = service_facts(service, ctx)
    needs = [ctx.terms[t] for t in service.needs if t in ctx.terms]
    precise, broad = ctx.split_needs(service.needs)
    title = [(service.name, "fr"), (service.alternate_name, "fr"),
             (" ".join(service.keywords), "fr")]
    title += [(tr.name, lang) for lang, tr in service.translations.items() if lang in LANGS]
    title += labels(precise)
    body = labels(broad) + [(service.description, "fr"), (service.access.audience, "fr"),
            (service.access.eligibility, "fr"), (service.interpretation, "fr"),
            (" ".join(facts["communes"] + facts["cities"]), "fr")]
    body += [(tr.description, lang) for lang, tr in service.translations.items()
             if lang in LANGS]
    if org is not None:
        body += [(org.name, "fr"), (org.alternate_name, "fr")]
    title_stems, title_words = texts(title)
    body_stems, body_words = texts(body)
    tags = facts["tags"] | {f"{Tag.KIND}service"}
    tags |= {f"{Tag.NEED}{code}" for code in ctx.codes_with_ancestors(service.needs)}
    data = Stored(
        titles={"fr": service.name} | {lang: tr.name for lang, tr
                                       in service.translations.items() if tr.name},
        descriptions={"fr": service.description} | {
            lang: tr.description for lang, tr in service.translations.items() if tr.description},
        needs=[n.code for n in needs],
        communes=facts["communes"],
        regions=facts["regions"],
        hours=facts["hours"],
    )
    return {"id": service.id, "kind": "service", "title": title_stems, "body": body_stems,
            "words": f"{title_words} {body_words}", "tags": " ".join(sorted(tags)),
            "data": msgspec.json.encode(data).decode()}


def pathway_document(pathway: Pathway, ctx: Context) -> dict[str, Any] | None:
    if pathway.status != "active" or not pathway.steps:
        return None
    services = [s for s in (ctx.service(step.service_id) for step in pathway.steps) if s]
    if not services:
        return None
    first = service_facts(services[0], ctx)
    names = sorted({n for s in services for n in service_facts(s, ctx)["communes"]})
    themes = [ctx.terms[t] for t in pathway.themes if t in ctx.terms]
    precise, broad = ctx.split_needs(pathway.themes)
    title = [(pathway.need, "fr")]
    title += [(tr.need, lang) for lang, tr in pathway.translations.items() if lang in LANGS]
    title += labels(precise)
    body = labels(broad) + [(pathway.summary, "fr"), (" ".join(names), "fr")]
    body += [(tr.summary, lang) for lang, tr in pathway.translations.items() if lang in LANGS]
    body += [(step.action, "fr") for step in pathway.steps]
    body += [(s.name, "fr") for s in services]
    title_stems, title_words = texts(title)
    body_stems, body_words = texts(body)
    regions = ("bruxelles", "brabant-wallon") if pathway.region == "both" else (pathway.region,)
    tags = {t for t in first["tags"] if not t.startswith((Tag.COMMUNE, Tag.REGION, Tag.SERVES))
            and t != Tag.RESIDENTS}
    tags |= {f"{Tag.COMMUNE}{communes.slug(n)}" for n in names}
    tags |= {f"{Tag.REGION}{r}" for r in regions} | {f"{Tag.KIND}pathway"}
    # A pathway is for the communes it covers: its roles resolve there, its steps are there.
    tags |= serves_tags(set(competence.covered_communes(pathway))) | {Tag.RESIDENTS}
    tags |= {f"{Tag.NEED}{c}" for c in ctx.codes_with_ancestors(pathway.themes)}
    data = Stored(
        titles={"fr": pathway.need} | {lang: tr.need for lang, tr
                                       in pathway.translations.items() if tr.need},
        descriptions={"fr": pathway.summary or ""} | {
            lang: tr.summary for lang, tr in pathway.translations.items() if tr.summary},
        needs=[n.code for n in themes],
        communes=names,
        regions=list(regions),
        hours=first["hours"],
    )
    return {"id": pathway.id, "kind": "pathway", "title": title_stems, "body": body_stems,
            "words": f"{title_words} {body_words}", "tags": " ".join(sorted(tags)),
            "data": msgspec.json.encode(data).decode()}


def meta_document(generation: int, origin: str) -> dict[str, Any]:
    """The index's own record: the audit generation it reflects, of which database."""
    return {"id": META_ID, "kind": "meta", "tags": f"{Tag.KIND}meta",
            "data": msgspec.json.encode({"generation": generation, "origin": origin,
                                         "schema": SCHEMA_VERSION}).decode()}



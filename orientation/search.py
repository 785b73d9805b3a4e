"""Search over services and pathways: a whoosh index kept as a rebuildable cache of the database.

How a query is understood (text analysis is in ``orientation/analysis.py``):

- The query is folded and split into words; stop words (French, Dutch, English) and filler
  words ("besoin", "aide", "help") are dropped.
- A word the index does not know is corrected to the closest known word(s) within 1 edit (up
  to 7 letters) or 2 (longer); ``Results.corrected`` then shows the corrected query.
- Phrases from ``seed/synonyms.txt`` are recognised ("revenu d'intégration") and also find
  their synonyms ("RIS", "leefloon").
- Each remaining word (or synonym phrase) becomes one *group*: its stems in French, Dutch and
  English, its corrections and its synonyms, searched in the ``title`` and ``body`` fields.

Ranking rules, in order:

1. **Coverage.** Documents that match every group come first and form the result set. Only when
   fewer than ``MIN_RESULTS`` (3) do, documents matching all groups but one follow them, then
   those matching any group (``Results.relaxed`` is then true).
2. **Relevance** is BM25F, summed over groups. A match in ``title`` — the service's name, the
   pathway's need in plain words, the names of its needs (taxonomy labels) and its keywords —
   weighs ``TITLE_BOOST`` (3x) a match in ``body`` (description, organisation, audience,
   place). The typed word weighs 1, a synonym ``SYNONYM_WEIGHT`` (0.8), a typo correction
   ``TYPO_WEIGHT`` (0.7 for one edit, 0.5 for two).
3. **Where and when** (only when ``near`` is given, as the kiosk and console do): the score is
   multiplied by ``NEAR_BOOST`` (1.3) for a service in that commune, ``NEIGHBOUR_BOOST``
   (1.15) in a neighbouring one (``orientation/communes.py``), and ``OPEN_BOOST`` (1.2) when it
   is open at ``at``. These multiply, so a strong text match far away still beats a weak one
   next door. The boosted order is exact: candidates are re-fetched until no document outside
   them could overtake the last one shown.
4. **Pathways first** (``pathways_first=True``, the kiosk): matching pathways, which end with a
   named person, are listed before services, each part in the order above.
5. Ties: index order (alphabetical by name after a rebuild), so the order is stable.

A pathway's filters (open now, walk-in, free, language, step-free, digital) are those of its
first step's service: where the person goes first. Its communes are those of all its steps.

Freshness: every search first compares the database's audit generation (``store.generation``)
with the index's; any write since then is applied to the index (one writer at a time) and a new
searcher is opened before the search runs, so a search never misses a committed write. The
index also records the generation it reflects, so another process's writes are picked up too.

Concurrency: one writer (a lock in the process, whoosh's write lock across processes). Readers
share an immutable snapshot (searcher + filter sets + caches for one generation) and reopen a
new ``ix.searcher()`` when the generation changes; ``Searcher.refresh()`` is never used, because
in both whoosh forks it keeps returning old versions of updated documents. Searches on one
snapshot are serialised by a lock: whoosh readers share file positions, and pure-Python search
holds the GIL anyway, so a lock costs no throughput (scale with processes).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import heapq
import html
import re
import shutil
import threading
from collections import Counter, OrderedDict
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Literal

import msgspec
from sqlite_utils import Database
from whoosh import index as whoosh_index
from whoosh.analysis import SpaceSeparatedTokenizer
from whoosh.fields import ID, KEYWORD, STORED, TEXT, Schema
from whoosh.matching import DisjunctionMaxMatcher, NullMatcher
from whoosh.query import And, DisjunctionMax, Or, Query, Term

from . import analysis, communes, hours, store
from .analysis import LANGS, QUERY_STOP, FILLERS, Synonyms, Vocabulary
from .errors import InvalidData, NotFound
from .models import Closure, Pathway, Schedule, Service, TaxonomyTerm

SCHEMA_VERSION = "2"
META_ID = "__meta__"
DEFAULT_SYNONYMS = Path(__file__).resolve().parent.parent / "seed" / "synonyms.txt"

TITLE_BOOST = 3.0
SYNONYM_WEIGHT = 0.8
TYPO_WEIGHT = {1: 0.7, 2: 0.5}
NEAR_BOOST = 1.5
NEIGHBOUR_BOOST = 1.2
REGION_BOOST = 1.1
OPEN_BOOST = 1.15
MAX_BOOST = NEAR_BOOST * OPEN_BOOST
#: Fewer strict results than this and the next coverage tier is added after them.
MIN_RESULTS = 3
#: Optimise (merge every segment) after this many incremental commits.
OPTIMIZE_EVERY = 50
RESULT_CACHE_SIZE = 1024

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


# --- Public structs -----------------------------------------------------------------------


class Filters(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """What a result must be (combined with AND; the values of a list field with OR)."""

    needs: list[str] = []  # taxonomy codes (or ids); sub-needs of a need are included
    commune: str | None = None  # a commune, former commune or postal code
    nearby: bool = False  # with ``commune``: also the neighbouring communes
    open_now: bool = False  # open at ``at`` (schedules, closures, public holidays)
    open_today: bool = False  # has opening hours on ``at``'s day
    walk_in: bool = False  # can come without an appointment
    free: bool = False
    languages: list[str] = []  # speaks any of these (ISO 639-1)
    step_free: bool = False  # a place with step-free access
    no_digital: bool = False  # no digital requirement (level is not "required")
    audiences: list[str] = []  # any of AUDIENCES' keys
    kind: Literal["service", "pathway"] | None = None


class Need(msgspec.Struct, kw_only=True):
    code: str
    label: str


class Hit(msgspec.Struct, kw_only=True):
    kind: str  # "service" | "pathway"
    id: str
    score: float
    title: str  # in the requested language (French when not translated)
    snippet: str  # HTML-escaped text, matched words wrapped in <mark>…</mark>
    needs: list[str]  # taxonomy codes
    communes: list[str]
    near: bool  # in ``near``'s commune or a neighbouring one
    open_now: bool  # open at ``at`` (a pathway: its first step)


class FacetCount(msgspec.Struct, kw_only=True):
    value: str
    count: int


class Results(msgspec.Struct, kw_only=True):
    query: str
    total: int
    offset: int
    limit: int
    hits: list[Hit]
    #: filter name -> counts over the whole result set (only with ``facets=True``); names are
    #: needs, communes, languages, audiences, kind, open_now, open_today and FLAGS.
    facets: dict[str, list[FacetCount]] = {}
    corrected: str | None = None  # the query as typo correction understood it
    relaxed: bool = False  # not every word matched
    did_you_mean: str | None = None  # on zero results: a query that finds something
    broader_need: Need | None = None  # on zero results: the nearest broader need
    generation: int = 0


# --- Documents ----------------------------------------------------------------------------


def _schema() -> Schema:
    # Text is analysed in Python (orientation/analysis.py) and indexed as space-separated
    # stems, so the index and the queries use exactly the same pipeline.
    words = SpaceSeparatedTokenizer()
    return Schema(
        id=ID(stored=True, unique=True),
        kind=ID(stored=True),
        title=TEXT(analyzer=words, phrase=False),
        body=TEXT(analyzer=words, phrase=False),
        words=KEYWORD(scorable=False),  # folded unstemmed words: the typo vocabulary
        tags=KEYWORD(scorable=False),  # filter values: "n:energie", "c:ixelles", "walk_in"…
        data=STORED(),
    )


def _hour_tokens(schedules: list[Schedule]) -> set[str]:
    """"d:mo" for each open day; "h:mo09" for an hour open throughout, "p:mo09" for an hour
    open only partly (checked exactly at search time)."""
    tokens = set()
    for row in schedules:
        opens = hours.parse_time(row.opens_at) or dt.time(0)
        closes = hours.parse_time(row.closes_at)
        start = opens.hour * 60 + opens.minute
        end = 24 * 60 if closes is None else closes.hour * 60 + closes.minute
        for day in hours.parse_days(row.byday):
            name = hours.DAYS[day].lower()
            tokens.add(f"d:{name}")
            for hour in range(start // 60, (end + 59) // 60):
                full = start <= hour * 60 and end >= hour * 60 + 60
                tokens.add(f"{'h' if full else 'p'}:{name}{hour:02d}")
    return tokens


def _audiences(*texts: str | None) -> set[str]:
    text = " ".join(analysis.words(" ".join(t for t in texts if t)))
    return {name for name, needles in AUDIENCES.items()
            if any(needle in text for needle in needles)}


class _Context:
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


def _labels(terms: list[TaxonomyTerm]) -> list[tuple[str, str]]:
    return [(label, lang) for term in terms for lang, label in term.labels.items()
            if lang in LANGS]


def _texts(parts: list[tuple[str | None, str]]) -> tuple[str, str]:
    """(stems, words) for the (text, language) parts of one field."""
    stems, words = [], []
    for text, lang in parts:
        if text:
            stems += analysis.stems(text, lang)
            words += analysis.content_words(text, lang)
    return " ".join(stems), " ".join(words)


def _service_facts(service: Service, ctx: _Context) -> dict[str, Any]:
    """Filter tags, communes and hours of a service (shared by its pathways' first step)."""
    locations = [loc for loc in map(ctx.location, service.location_ids) if loc is not None]
    names = sorted({name for loc in locations if loc.address
                    for name in [communes.commune(loc.address.city, loc.address.postal_code)]
                    if name})
    tags = {f"c:{communes.slug(n)}" for n in names}
    tags |= {f"r:{loc.address.region}" for loc in locations if loc.address}
    tags |= {f"l:{lang}" for lang in service.languages}
    tags |= {f"a:{a}" for a in _audiences(service.access.audience, service.access.eligibility)}
    if service.access.walk_in or any(s.attending_type == "walk_in" for s in service.schedules):
        tags.add("walk_in")
    if service.access.cost_free:
        tags.add("free")
    if any(loc.accessibility.step_free for loc in locations):
        tags.add("step_free")
    if service.digital.level != "required":
        tags.add("no_digital")
    tags |= _hour_tokens(service.schedules)
    if service.open_on_public_holidays:
        tags.add("hol")
    if service.closures or any(s.valid_from or s.valid_to for s in service.schedules):
        tags.add("irr")  # dated rules: checked exactly at search time
    return {
        "tags": tags,
        "communes": names,
        "cities": [loc.address.city for loc in locations if loc.address],
        "hours": {"s": msgspec.to_builtins(service.schedules),
                  "c": msgspec.to_builtins(service.closures),
                  "p": service.open_on_public_holidays},
    }


def _service_document(service: Service, ctx: _Context) -> dict[str, Any] | None:
    if service.status != "active":
        return None
    org = ctx.organization(service.organization_id)
    facts = _service_facts(service, ctx)
    needs = [ctx.terms[t] for t in service.needs if t in ctx.terms]
    precise, broad = ctx.split_needs(service.needs)
    title = [(service.name, "fr"), (service.alternate_name, "fr"),
             (" ".join(service.keywords), "fr")]
    title += [(tr.name, lang) for lang, tr in service.translations.items() if lang in LANGS]
    title += _labels(precise)
    body = _labels(broad) + [(service.description, "fr"), (service.access.audience, "fr"),
            (service.access.eligibility, "fr"), (service.interpretation, "fr"),
            (" ".join(facts["communes"] + facts["cities"]), "fr")]
    body += [(tr.description, lang) for lang, tr in service.translations.items()
             if lang in LANGS]
    if org is not None:
        body += [(org.name, "fr"), (org.alternate_name, "fr")]
    title_stems, title_words = _texts(title)
    body_stems, body_words = _texts(body)
    tags = facts["tags"] | {"k:service"}
    tags |= {f"n:{code}" for code in ctx.codes_with_ancestors(service.needs)}
    data = {
        "t": {"fr": service.name} | {lang: tr.name for lang, tr in service.translations.items()
                                      if tr.name},
        "d": {"fr": service.description} | {lang: tr.description for lang, tr
                                             in service.translations.items() if tr.description},
        "n": [n.code for n in needs],
        "c": facts["communes"],
        "h": facts["hours"],
    }
    return {"id": service.id, "kind": "service", "title": title_stems, "body": body_stems,
            "words": f"{title_words} {body_words}", "tags": " ".join(sorted(tags)),
            "data": msgspec.json.encode(data).decode()}


def _pathway_document(pathway: Pathway, ctx: _Context) -> dict[str, Any] | None:
    if pathway.status != "active" or not pathway.steps:
        return None
    services = [s for s in (ctx.service(step.service_id) for step in pathway.steps) if s]
    if not services:
        return None
    first = _service_facts(services[0], ctx)
    names = sorted({n for s in services for n in _service_facts(s, ctx)["communes"]})
    themes = [ctx.terms[t] for t in pathway.themes if t in ctx.terms]
    precise, broad = ctx.split_needs(pathway.themes)
    title = [(pathway.need, "fr")]
    title += [(tr.need, lang) for lang, tr in pathway.translations.items() if lang in LANGS]
    title += _labels(precise)
    body = _labels(broad) + [(pathway.summary, "fr"), (" ".join(names), "fr")]
    body += [(tr.summary, lang) for lang, tr in pathway.translations.items() if lang in LANGS]
    body += [(step.action, "fr") for step in pathway.steps]
    body += [(s.name, "fr") for s in services]
    title_stems, title_words = _texts(title)
    body_stems, body_words = _texts(body)
    regions = ("bruxelles", "brabant-wallon") if pathway.region == "both" else (pathway.region,)
    tags = {t for t in first["tags"] if not t.startswith(("c:", "r:"))}
    tags |= {f"c:{communes.slug(n)}" for n in names} | {f"r:{r}" for r in regions}
    tags |= {"k:pathway"} | {f"n:{c}" for c in ctx.codes_with_ancestors(pathway.themes)}
    data = {
        "t": {"fr": pathway.need} | {lang: tr.need for lang, tr in pathway.translations.items()
                                     if tr.need},
        "d": {"fr": pathway.summary or ""} | {lang: tr.summary for lang, tr
                                              in pathway.translations.items() if tr.summary},
        "n": [n.code for n in themes],
        "c": names,
        "h": first["hours"],
    }
    return {"id": pathway.id, "kind": "pathway", "title": title_stems, "body": body_stems,
            "words": f"{title_words} {body_words}", "tags": " ".join(sorted(tags)),
            "data": msgspec.json.encode(data).decode()}


def _meta_document(generation: int) -> dict[str, Any]:
    return {"id": META_ID, "kind": "meta", "tags": "k:meta",
            "data": msgspec.json.encode({"generation": generation,
                                         "schema": SCHEMA_VERSION}).decode()}


# --- Snapshots ----------------------------------------------------------------------------


class _Snapshot:
    """One searcher on one index generation, with everything derived from it.

    Filter sets, bitmaps and open-now sets are keyed on docnums, which are only valid for this
    searcher, so they live and die with it.
    """

    def __init__(self, searcher, generation: int, terms: dict[str, TaxonomyTerm]) -> None:
        self.searcher = searcher
        self.reader = searcher.reader()
        self.generation = generation
        self.terms = terms
        self.lock = threading.RLock()
        self._sets: dict[str, frozenset[int]] = {}
        self._bits: dict[str, int] = {}
        self._hours: dict[int, tuple] = {}
        self._open: dict[tuple, frozenset[int]] = {}
        self._vocabulary: Vocabulary | None = None
        self.users = 0
        self.retired = False
        self.maxdoc = self.reader.doc_count_all()

    def close(self) -> None:
        self.searcher.close()

    def tagset(self, token: str) -> frozenset[int]:
        found = self._sets.get(token)
        if found is None:
            try:
                found = frozenset(self.reader.postings("tags", token).all_ids())
            except Exception:  # whoosh TermNotFound: nobody has this value
                found = frozenset()
            self._sets[token] = found  # (postings already skip deleted documents)
        return found

    def bits(self, docnums, token: str | None = None) -> int:
        if token is not None and token in self._bits:
            return self._bits[token]
        array = bytearray((self.maxdoc >> 3) + 1)
        for d in docnums:
            array[d >> 3] |= 1 << (d & 7)
        value = int.from_bytes(array, "little")
        if token is not None:
            self._bits[token] = value
        return value

    def tags(self, prefix: str) -> list[str]:
        return [t.decode() if isinstance(t, bytes) else t
                for t in self.reader.expand_prefix("tags", prefix)]

    @property
    def vocabulary(self) -> Vocabulary:
        if self._vocabulary is None:
            self._vocabulary = Vocabulary({
                (t.decode() if isinstance(t, bytes) else t): info.doc_frequency()
                for t, info in self.reader.iter_field("words")})
        return self._vocabulary

    def knows(self, word: str) -> bool:
        if word in self.vocabulary:
            return True
        return any(self.reader.doc_frequency(field, s)
                   for s in analysis.query_stems(word) for field in ("title", "body"))

    def data(self, docnum: int) -> dict[str, Any]:
        return msgspec.json.decode(self.searcher.stored_fields(docnum)["data"])

    def _hours_of(self, docnum: int) -> tuple:
        if docnum not in self._hours:
            h = self.data(docnum)["h"]
            self._hours[docnum] = (msgspec.convert(h["s"], list[Schedule]),
                                   msgspec.convert(h["c"], list[Closure]), h["p"])
        return self._hours[docnum]

    def is_open(self, docnum: int, at: dt.datetime) -> bool:
        schedules, closures, on_holidays = self._hours_of(docnum)
        return hours.is_open(schedules, at, closures=closures,
                             open_on_public_holidays=on_holidays)

    def open_set(self, at: dt.datetime, *, whole_day: bool = False) -> frozenset[int]:
        """Documents open at ``at`` (or on its day): coarse hour tags, exact checks only for
        hours open partly, dated rules and public holidays."""
        at = at.astimezone(hours.TZ) if at.tzinfo else at.replace(tzinfo=hours.TZ)
        cache_key = (at.date(), None if whole_day else (at.hour, at.minute))
        if cache_key in self._open:
            return self._open[cache_key]
        day = hours.DAYS[at.weekday()].lower()
        irregular = self.tagset("irr")
        if whole_day:
            full, partial = self.tagset(f"d:{day}"), frozenset()
        else:
            full = self.tagset(f"h:{day}{at.hour:02d}")
            partial = self.tagset(f"p:{day}{at.hour:02d}") - full
        fast = full - irregular
        if hours.public_holiday(at.date()):
            fast &= self.tagset("hol")
        exact = partial | (full & irregular)
        if whole_day:
            found = {d for d in exact if self._open_on(d, at.date())}
        else:
            found = {d for d in exact if self.is_open(d, at)}
        result = frozenset(fast | found)
        if len(self._open) > 64:
            self._open.clear()
        self._open[cache_key] = result
        return result

    def _open_on(self, docnum: int, day: dt.date) -> bool:
        schedules, closures, on_holidays = self._hours_of(docnum)
        return bool(hours.openings_on(day, schedules, closures=closures,
                                      open_on_public_holidays=on_holidays))


class _Plan(msgspec.Struct):
    groups: list[Query]
    highlight: set[str]
    corrected: str | None
    unknown: list[str]


# --- The index ----------------------------------------------------------------------------


class SearchIndex:
    """A whoosh index that mirrors the database (which stays the source of truth)."""

    def __init__(self, directory: Path, ix, *, synonyms_path: Path | None = None) -> None:
        self.directory = Path(directory)
        self._ix = ix
        self._write_lock = threading.Lock()
        self._swap_lock = threading.Lock()
        self._snapshot: _Snapshot | None = None
        self._commits = 0
        self._cache: OrderedDict[tuple, Results] = OrderedDict()
        self.synonyms_path = DEFAULT_SYNONYMS if synonyms_path is None else Path(synonyms_path)
        self._synonyms_mtime: float | None = None
        self._synonyms = Synonyms()
        self._load_synonyms()

    # -- opening and building

    @classmethod
    def create(cls, directory: Path, db: Database, *,
               synonyms_path: Path | None = None) -> SearchIndex:
        """Build a fresh index from the database (replaces any existing one)."""
        directory = Path(directory)
        _clear(directory)
        ix = whoosh_index.create_in(str(directory), _schema())
        index = cls(directory, ix, synonyms_path=synonyms_path)
        index.rebuild(db)
        return index

    @classmethod
    def open(cls, directory: Path, db: Database, *,
             synonyms_path: Path | None = None) -> SearchIndex:
        """Open the index, rebuilding it when missing, corrupt, of an older schema, or ahead
        of this database (an index built from another database)."""
        directory = Path(directory)
        try:
            ix = whoosh_index.open_dir(str(directory))
            with ix.searcher() as searcher:
                meta = _read_meta(searcher)
                if meta.get("schema") != SCHEMA_VERSION or set(ix.schema.names()) != set(
                        _schema().names()):
                    raise ValueError("index of an older schema")
                if meta["generation"] > store.generation(db):
                    raise ValueError("index ahead of the database")
                searcher.doc_count()
        except Exception:
            with contextlib.suppress(Exception):
                ix.close()
            return cls.create(directory, db, synonyms_path=synonyms_path)
        index = cls(directory, ix, synonyms_path=synonyms_path)
        index.sync(db)
        return index

    def rebuild(self, db: Database) -> None:
        """Re-index every active service and pathway (the index is a cache of the database)."""
        with self._write_lock:
            self._rebuild(db)

    def _rebuild(self, db: Database) -> None:
        generation = store.generation(db)
        ctx = _Context(db, bulk=True)
        writer = self._ix.writer(timeout=30.0, limitmb=256)
        try:
            writer.mergetype = _clear_segments
            for service in store.iter_services(db, status="active"):
                ctx.remember(service)
                doc = _service_document(service, ctx)
                if doc:
                    writer.add_document(**doc)
            for pathway in store.list_pathways(db, status="active"):
                doc = _pathway_document(pathway, ctx)
                if doc:
                    writer.add_document(**doc)
            writer.add_document(**_meta_document(generation))
            writer.commit(optimize=True)
        except BaseException:
            writer.cancel()
            raise
        self._swap(generation, ctx.terms)

    def sync(self, db: Database) -> int:
        """Apply every write made since the index's generation; returns the generation."""
        return self._current(db).generation

    def _current(self, db: Database) -> _Snapshot:
        generation = store.generation(db)
        snapshot = self._snapshot
        if snapshot is not None and snapshot.generation == generation:
            return snapshot
        with self._write_lock:
            snapshot = self._snapshot
            if snapshot is not None and snapshot.generation == generation:
                return snapshot
            with self._ix.searcher() as latest:  # another process may have written already
                indexed = _read_meta(latest).get("generation", 0)
            if indexed > generation:  # the database went back (restored from a copy)
                self._rebuild(db)
            else:
                if indexed < generation:
                    self._apply(db, indexed)
                self._swap(generation, {t.id: t for t in store.list_terms(db)})
            return self._snapshot

    def _apply(self, db: Database, since: int) -> None:
        top, changed = store.changes_since(db, since)
        ctx = _Context(db)
        services: set[str] = set()
        pathways: set[str] = set()
        for entity, entity_id in changed:
            if entity == "service":
                services.add(entity_id)
                pathways.update(store.pathways_using(db, service_id=entity_id))
            elif entity == "pathway":
                pathways.add(entity_id)
            elif entity == "organization":
                services.update(s.id for s in store.iter_services(db, organization_id=entity_id))
            elif entity == "location":
                services.update(store.services_at_location(db, entity_id))
                pathways.update(store.pathways_using(db, location_id=entity_id))
            elif entity == "taxonomy_term":  # labels are in every document: re-index all
                services.update(s.id for s in store.iter_services(db))
                pathways.update(p.id for p in store.list_pathways(db))
        for service_id in list(services):
            pathways.update(store.pathways_using(db, service_id=service_id))
        writer = self._ix.writer(timeout=30.0)
        try:
            for entity_id in sorted(services):
                service = ctx.service(entity_id)
                doc = _service_document(service, ctx) if service else None
                _put(writer, entity_id, doc)
            for entity_id in sorted(pathways):
                try:
                    doc = _pathway_document(store.get_pathway(db, entity_id), ctx)
                except NotFound:
                    doc = None
                _put(writer, entity_id, doc)
            writer.update_document(**_meta_document(top))
            self._commits += 1
            # Many small commits slow queries down until segments are merged.
            writer.commit(optimize=self._commits % OPTIMIZE_EVERY == 0)
        except BaseException:
            writer.cancel()
            raise

    def _swap(self, generation: int, terms: dict[str, TaxonomyTerm]) -> None:
        new = _Snapshot(self._ix.searcher(), generation, terms)
        with self._swap_lock:
            old, self._snapshot = self._snapshot, new
            self._cache.clear()
            if old is not None:
                old.retired = True
                if old.users == 0:
                    old.close()

    @contextlib.contextmanager
    def _use(self, db: Database) -> Iterator[_Snapshot]:
        while True:
            snapshot = self._current(db)
            with self._swap_lock:
                if not snapshot.retired:
                    snapshot.users += 1
                    break
        try:
            with snapshot.lock:
                yield snapshot
        finally:
            with self._swap_lock:
                snapshot.users -= 1
                if snapshot.retired and snapshot.users == 0:
                    snapshot.close()

    def _load_synonyms(self) -> Synonyms:
        try:
            mtime = self.synonyms_path.stat().st_mtime
        except OSError:
            mtime = None
        if mtime != self._synonyms_mtime:
            self._synonyms = Synonyms.load(self.synonyms_path if mtime else None)
            self._synonyms_mtime = mtime
            self._cache.clear()
        return self._synonyms

    # -- searching

    def search(
        self,
        db: Database,
        query: str = "",
        *,
        filters: Filters | None = None,
        near: str | None = None,
        at: dt.datetime | None = None,
        lang: str = "fr",
        limit: int = 10,
        offset: int = 0,
        facets: bool = False,
        pathways_first: bool = False,
        use_cache: bool = True,
    ) -> Results:
        """Search services and pathways; see the module docstring for the ranking rules.

        ``query`` may be empty to browse by filters (a kiosk tile). ``near`` is the commune
        where the person is (boosts, and ``Hit.near``); ``at`` the moment for "open now"
        (default: now, Europe/Brussels); ``lang`` the language of titles and snippets.
        Raises InvalidData for an unknown need, commune, language or a bad page.
        """
        filters = filters or Filters()
        if not 0 < limit <= 100 or offset < 0:
            raise InvalidData("limit must be 1 to 100 and offset 0 or more", field="limit")
        if len(query) > 500:
            raise InvalidData("the query is too long (500 characters at most)", field="q")
        at = at or hours.now()
        synonyms = self._load_synonyms()
        near_communes = self._near(near)
        with self._use(db) as snap:
            key = (snap.generation, query, msgspec.json.encode(filters), near, lang, limit,
                   offset, facets, pathways_first, at.replace(second=0, microsecond=0))
            if use_cache and key in self._cache:
                self._cache.move_to_end(key)
                return self._cache[key]
            results = self._search(snap, synonyms, query, filters, near_communes, at, lang,
                                   limit, offset, facets, pathways_first)
            if use_cache:
                self._cache[key] = results
                if len(self._cache) > RESULT_CACHE_SIZE:
                    self._cache.popitem(last=False)
            return results

    def _near(self, near: str | None) -> tuple[str, set[str]] | None:
        if not near:
            return None
        canonical = communes.commune(near)
        if canonical is None:
            raise InvalidData(f"unknown commune {near!r}", field="near")
        return canonical, communes.neighbours(canonical)

    def _search(self, snap: _Snapshot, synonyms: Synonyms, query: str, filters: Filters,
                near, at: dt.datetime, lang: str, limit: int, offset: int, facets: bool,
                pathways_first: bool) -> Results:
        allow = self._allowed(snap, filters, at)
        plan = self._plan(snap, synonyms, query)
        tiers: list[tuple[Query | None, set[int]]] = []
        matched: set[int] = set()
        relaxed = False
        if plan.groups:
            # Coverage tiers: every group, then all but one, then any, until enough results.
            attempts = _attempts(plan.groups)
            for attempt in attempts:
                found = set(snap.searcher.docs_for_query(attempt))
                new = (found & allow if allow is not None else found) - matched
                if new:
                    tiers.append((attempt, new))
                    matched |= new
                if len(matched) >= MIN_RESULTS:
                    break
            relaxed = bool(matched) and (bool(plan.unknown)
                                         or any(q is not attempts[0] for q, _ in tiers))
        elif not plan.unknown:  # no query words: browse by filters (a kiosk tile)
            docs = snap.tagset("k:service") | snap.tagset("k:pathway")
            matched = set(docs & allow if allow is not None else docs)
            tiers.append((None, matched))
        ranked = self._rank(snap, tiers, near, at, offset + limit, pathways_first)
        hits = [self._hit(snap, docnum, score, plan, near, at, lang)
                for docnum, score in ranked[offset:offset + limit]]
        results = Results(
            query=query, total=len(matched), offset=offset, limit=limit, hits=hits,
            corrected=plan.corrected, relaxed=relaxed, generation=snap.generation,
            facets=self._facets(snap, matched, at) if facets else {},
        )
        if not matched and query.strip():
            results.did_you_mean = self._did_you_mean(snap, synonyms, plan, query)
            about = results.did_you_mean or query
            results.broader_need = self._broader_need(
                snap, synonyms, self._plan(snap, synonyms, about), about, filters, lang)
        return results

    def _allowed(self, snap: _Snapshot, filters: Filters, at: dt.datetime) -> set[int] | None:
        sets: list[frozenset[int]] = []

        def any_of(tokens: list[str]) -> frozenset[int]:
            return frozenset().union(*(snap.tagset(t) for t in tokens))

        if filters.needs:
            sets.append(any_of([f"n:{self._need_code(snap, n)}" for n in filters.needs]))
        if filters.commune:
            canonical = communes.commune(filters.commune)
            if canonical is None:
                raise InvalidData(f"unknown commune {filters.commune!r}", field="commune")
            names = communes.near(canonical) if filters.nearby else {canonical}
            sets.append(any_of([f"c:{communes.slug(n)}" for n in names]))
        if filters.languages:
            for code in filters.languages:
                if not re.fullmatch(r"[a-z]{2,3}", code):
                    raise InvalidData(f"unknown language {code!r}", field="languages")
            sets.append(any_of([f"l:{code}" for code in filters.languages]))
        if filters.audiences:
            unknown = set(filters.audiences) - set(AUDIENCES)
            if unknown:
                raise InvalidData(f"unknown audience {sorted(unknown)[0]!r}; known: "
                                  + ", ".join(AUDIENCES), field="audiences")
            sets.append(any_of([f"a:{a}" for a in filters.audiences]))
        sets += [snap.tagset(flag) for flag in FLAGS if getattr(filters, flag)]
        if filters.kind:
            sets.append(snap.tagset(f"k:{filters.kind}"))
        if filters.open_now:
            sets.append(snap.open_set(at))
        if filters.open_today:
            sets.append(snap.open_set(at, whole_day=True))
        if not sets:
            return None
        sets.sort(key=len)
        allowed = set(sets[0])
        for other in sets[1:]:
            allowed &= other
        return allowed

    def _need_code(self, snap: _Snapshot, value: str) -> str:
        codes = {t.split(":", 1)[1] for t in snap.tags("n:")}
        if value in codes:
            return value
        if value in snap.terms:
            return snap.terms[value].code
        if any(t.code == value for t in snap.terms.values()):
            return value  # a real need nobody offers yet: no result, not an error
        raise InvalidData(f"unknown need {value!r}", field="needs")

    def _plan(self, snap: _Snapshot, synonyms: Synonyms, query: str) -> _Plan:
        typed = [w for w in analysis.words(query) if w not in QUERY_STOP]
        words, corrections = [], {}
        for word in typed:
            if word not in FILLERS and word not in synonyms.vocabulary \
                    and not snap.knows(word):
                found = snap.vocabulary.corrections(word)
                if found:
                    corrections[word] = [(w, d) for w, d in found if d == found[0][1]][:2]
                    word = found[0][0]
            words.append(word)
        # Each group is a list of alternatives (words of a phrase, weight).
        alternatives: list[list[tuple[tuple[str, ...], float]]] = []
        matches = {start: (end, found) for start, end, found in synonyms.match(words)}
        i = 0
        while i < len(words):
            if i in matches:
                end, expansions = matches[i]
                alternatives.append([(tuple(words[i:end]), 1.0)]
                                    + [(p, SYNONYM_WEIGHT) for p in sorted(expansions)])
                i = end
                continue
            word, original = words[i], typed[i]
            i += 1
            if word in FILLERS:
                continue
            if original in corrections:
                alternatives.append([((w,), TYPO_WEIGHT[d]) for w, d in corrections[original]])
            else:
                alternatives.append([((word,), 1.0)])
        groups, highlight, unknown = [], set(), []
        for group in alternatives:
            query_ = self._group_query(snap, group, highlight)
            if query_ is None:
                unknown.append(" ".join(group[0][0]))
            else:
                groups.append(query_)
        corrected = None
        if corrections:
            replaced = {w: c[0][0] for w, c in corrections.items()}
            corrected = " ".join(replaced.get(w, w) for w in analysis.words(query))
        return _Plan(groups=groups, highlight=highlight, corrected=corrected, unknown=unknown)

    @staticmethod
    def _group_query(snap: _Snapshot, group: list[tuple[tuple[str, ...], float]],
                     highlight: set[str]) -> Query | None:
        """One concept: the best of its alternatives (DisMax), each alternative scored with
        the concept's IDF — that of its most frequent alternative, like Lucene's synonym
        query — so that a rare synonym ("ONEM") does not outrank the word typed ("chômage").
        Terms absent from the index are left out; None when nothing is left."""
        searcher = snap.searcher
        df = {}
        for phrase, _ in group:
            for word in phrase:
                for s in analysis.query_stems(word):
                    for field in ("title", "body"):
                        df[field, s] = snap.reader.doc_frequency(field, s)
        def idf(field: str, phrase: tuple[str, ...]) -> float | None:
            # A phrase is as specific as its rarest word ("aide alimentaire": "alimentaire").
            found = [searcher.idf(field, s) for w in phrase for s in analysis.query_stems(w)
                     if df[field, s]]
            return max(found) if found else None

        concept = {field: min((v for p, _ in group if (v := idf(field, p)) is not None),
                              default=None) for field in ("title", "body")}
        options = []
        for phrase, weight in group:
            scale = {field: concept[field] / v for field in ("title", "body")
                     if (v := idf(field, phrase)) is not None}
            parts = []
            for word in phrase:
                terms = [Term(field, s, boost=weight / len(phrase) * scale[field]
                              * (TITLE_BOOST if field == "title" else 1.0))
                         for s in sorted(analysis.query_stems(word))
                         for field in ("title", "body") if df[field, s]]
                if not terms:
                    break
                parts.append(terms[0] if len(terms) == 1 else _or(terms))
            else:
                options.append(parts[0] if len(parts) == 1 else And(parts))
                highlight.update(s for word in phrase for s in analysis.query_stems(word))
        if not options:
            return None
        return options[0] if len(options) == 1 else _DisMax(options, tiebreak=0.1)

    def _rank(self, snap: _Snapshot, tiers: list[tuple[Query | None, set[int]]], near,
              at: dt.datetime, wanted: int, pathways_first: bool) -> list[tuple[int, float]]:
        """Tier by tier (pathways' tiers first with ``pathways_first``), best first."""
        pathways = snap.tagset("k:pathway")
        parts = [(True, pathways), (False, pathways)] if pathways_first else [(None, None)]
        ranked: list[tuple[int, float]] = []
        for inside, part in parts:
            for text_query, docs in tiers:
                if inside is not None:
                    docs = docs & part if inside else docs - part
                ranked += self._rank_part(snap, text_query, docs, near, at,
                                          wanted - len(ranked))
                if len(ranked) >= wanted:
                    return ranked
        return ranked

    def _rank_part(self, snap: _Snapshot, text_query: Query | None, docs: set[int], near,
                   at: dt.datetime, wanted: int) -> list[tuple[int, float]]:
        if not docs or wanted <= 0:
            return []
        boost = self._booster(snap, near, at)
        fetch = wanted if boost is None else max(2 * wanted, wanted + 20)
        while True:
            if text_query is None:
                scored = [(1.0, d) for d in docs]
                complete = True
            else:
                found = snap.searcher.search(text_query, limit=fetch, filter=docs,
                                             optimize=True)
                scored = list(found.top_n)
                complete = len(scored) >= len(docs) or len(scored) < fetch
            ranked = [(d, s * (boost(d) if boost else 1.0)) for s, d in scored]
            top = heapq.nsmallest(wanted, ranked, key=lambda item: (-item[1], item[0]))
            if complete or boost is None or len(top) < wanted:
                return [(d, round(s, 4)) for d, s in top]
            # A document not fetched scores at most the last fetched score times the biggest
            # boost; when the last shown one beats that, the order is exact.
            if top[-1][1] >= scored[-1][0] * MAX_BOOST:
                return [(d, round(s, 4)) for d, s in top]
            fetch *= 4

    def _booster(self, snap: _Snapshot, near, at: dt.datetime):
        if near is None:
            return None
        here, around = near
        same = snap.tagset(f"c:{communes.slug(here)}")
        close = frozenset().union(*(snap.tagset(f"c:{communes.slug(n)}") for n in around))
        region = snap.tagset(f"r:{communes.region(here)}")
        open_now = snap.open_set(at)

        def boost(docnum: int) -> float:
            factor = (NEAR_BOOST if docnum in same else NEIGHBOUR_BOOST if docnum in close
                      else REGION_BOOST if docnum in region else 1.0)
            return factor * (OPEN_BOOST if docnum in open_now else 1.0)

        return boost

    def _hit(self, snap: _Snapshot, docnum: int, score: float, plan: _Plan, near,
             at: dt.datetime, lang: str) -> Hit:
        stored = snap.searcher.stored_fields(docnum)
        data = msgspec.json.decode(stored["data"])
        names = set(data["c"])
        return Hit(
            kind=stored["kind"], id=stored["id"], score=score,
            title=data["t"].get(lang) or data["t"]["fr"],
            snippet=snippet(data["d"].get(lang) or data["d"]["fr"], plan.highlight),
            needs=data["n"], communes=data["c"],
            near=bool(near and names & {near[0], *near[1]}),
            open_now=docnum in snap.open_set(at),
        )

    def _facets(self, snap: _Snapshot, matched: set[int], at: dt.datetime
                ) -> dict[str, list[FacetCount]]:
        bits = snap.bits(matched)

        def count(token: str) -> int:
            return (bits & snap.bits(snap.tagset(token), token)).bit_count()

        def values(prefix: str, name: str) -> list[FacetCount]:
            found = [FacetCount(value=t[len(prefix):], count=count(t)) for t in snap.tags(prefix)]
            return sorted((f for f in found if f.count), key=lambda f: (-f.count, f.value))

        result = {
            "needs": values("n:", "needs"),
            "communes": [FacetCount(value=_commune_name(f.value), count=f.count)
                         for f in values("c:", "communes")],
            "languages": values("l:", "languages"),
            "audiences": values("a:", "audiences"),
            "kind": values("k:", "kind"),
        }
        for flag in FLAGS:
            result[flag] = [FacetCount(value="true", count=count(flag))]
        for name, docs in (("open_now", snap.open_set(at)),
                           ("open_today", snap.open_set(at, whole_day=True))):
            result[name] = [FacetCount(value="true", count=len(matched & docs))]
        return result

    def _did_you_mean(self, snap: _Snapshot, synonyms: Synonyms, plan: _Plan,
                      query: str) -> str | None:
        """A looser correction of the query that does find something, ignoring filters."""
        typed = analysis.words(query)
        suggestion, changed = [], False
        for word in typed:
            if word in QUERY_STOP or word in FILLERS or snap.knows(word) \
                    or word in synonyms.vocabulary:
                suggestion.append(word)
                continue
            found = snap.vocabulary.corrections(word, analysis.max_typos(word) + 1)
            if found:
                suggestion.append(found[0][0])
                changed = True
        if not changed:
            return None
        text = " ".join(suggestion)
        attempt = self._plan(snap, synonyms, text)
        if attempt.groups and any(True for _ in snap.searcher.docs_for_query(_or(attempt.groups))):
            return text
        return None

    def _broader_need(self, snap: _Snapshot, synonyms: Synonyms, plan: _Plan, query: str,
                      filters: Filters, lang: str) -> Need | None:
        """The top need the query is about: from the need filter, else from what the words
        find without filters, else from the need labels and descriptions."""
        terms = snap.terms
        by_code = {t.code: t for t in terms.values()}

        def top(term: TaxonomyTerm) -> TaxonomyTerm:
            while term.parent_id and term.parent_id in terms:
                term = terms[term.parent_id]
            return term

        def need(term: TaxonomyTerm) -> Need:
            return Need(code=term.code, label=term.label(lang))

        for value in filters.needs:
            term = by_code.get(value) or terms.get(value)
            if term is not None and term.parent_id:
                return need(top(term))
        counts: Counter[str] = Counter()
        if plan.groups:
            found = snap.searcher.search(_or(plan.groups), limit=20)
            for docnum in [d for _, d in found.top_n]:
                for code in snap.data(docnum)["n"]:
                    if code in by_code:
                        counts[top(by_code[code]).code] += 1
        if not counts:
            stems = plan.highlight | {s for w in analysis.words(query)
                                      for s in analysis.query_stems(w)}
            for term in terms.values():
                text = " ".join([*term.labels.values(), *term.descriptions.values()])
                overlap = stems & {s for w in analysis.words(text)
                                   for s in analysis.query_stems(w)}
                if overlap:
                    counts[top(term).code] += len(overlap)
        if not counts:
            return None
        code = max(sorted(counts), key=lambda c: counts[c])
        return need(by_code[code])

    # -- the rest of the interface

    def doc_count(self) -> int:
        """Services and pathways in the index."""
        with self._ix.searcher() as searcher:
            return searcher.doc_count() - (1 if _read_meta(searcher) else 0)

    def close(self) -> None:
        with self._swap_lock:
            if self._snapshot is not None:
                self._snapshot.retired = True
                if self._snapshot.users == 0:
                    self._snapshot.close()
                self._snapshot = None
        self._ix.close()


# --- Helpers ------------------------------------------------------------------------------


def _attempts(groups: list[Query]) -> list[Query]:
    """All groups; then all but one (3 groups or more); then any group."""
    if len(groups) == 1:
        return groups
    attempts = [And(groups)]
    if len(groups) >= 3:
        attempts.append(_or(groups, minmatch=len(groups) - 1))
    return attempts + [_or(groups)]


class _DisMaxMatcher(DisjunctionMaxMatcher):
    """whoosh's DisjunctionMaxMatcher has two bugs: score() takes the max of both sides even
    when one of them sits on another document, and replace() drops every match once one side
    is exhausted. This one scores only the sides on the current document (best + tiebreak x
    the others) and skips nothing."""

    def score(self):
        current = self.id()
        scores = [m.score() for m in (self.a, self.b) if m.is_active() and m.id() == current]
        best = max(scores)
        return best + self.tiebreak * (sum(scores) - best)

    def supports_block_quality(self):
        return False  # the inherited block skipping ignores the tiebreak share

    def replace(self, minquality=0):
        a_active, b_active = self.a.is_active(), self.b.is_active()
        if not (a_active or b_active):
            return NullMatcher()
        if not a_active:
            return self.b.replace(minquality)
        if not b_active:
            return self.a.replace(minquality)
        return self


class _DisMax(DisjunctionMax):
    """Score of the best alternative (plus ``tiebreak`` times the others)."""

    def _matcher(self, subs, searcher, context):
        reader = searcher.reader()
        return self._tree_matcher(subs, _DisMaxMatcher, searcher, context,
                                  lambda q: q.estimate_size(reader), tiebreak=self.tiebreak)


def _or(subqueries: list[Query], **kwargs) -> Or:
    # whoosh picks an array matcher for small indexes that clears a 2048-slot array in Python
    # for every sub-query; the binary tree of unions is much faster here.
    query = Or(subqueries, **kwargs)
    query.matcher_type = Or.DEFAULT_MATCHER
    return query


def _put(writer, entity_id: str, doc: dict[str, Any] | None) -> None:
    if doc is None:
        writer.delete_by_term("id", entity_id)
    else:
        writer.update_document(**doc)


def _read_meta(searcher) -> dict[str, Any]:
    stored = searcher.document(id=META_ID)
    return msgspec.json.decode(stored["data"]) if stored else {}


def _commune_name(slug: str) -> str:
    return next((c for c in communes.COMMUNES if communes.slug(c) == slug), slug)


def _clear_segments(writer, segments):
    """Merge policy for a rebuild: drop every existing segment."""
    return []


_WHOOSH_FILE = re.compile(r"^_?MAIN_|\.(toc|seg|pst|trm|fln|sto|vps|dci|dcz|lock)$")


def _clear(directory: Path) -> None:
    """Remove an index's files, and only those (the folder may be shared)."""
    directory.mkdir(parents=True, exist_ok=True)
    for path in directory.iterdir():
        if path.is_file() and (_WHOOSH_FILE.search(path.name)
                               or path.name in ("SCHEMA_VERSION", "GENERATION")):
            path.unlink()
        elif path.is_dir() and path.name.startswith("MAIN_"):
            shutil.rmtree(path)


_MARK = re.compile(r"[A-Za-zÀ-ÖØ-öø-ÿŒœ0-9]+")


def snippet(text: str, stems: set[str], *, words: int = 30) -> str:
    """About ``words`` words of ``text`` around its best match, HTML-escaped, with the words
    whose stem was searched wrapped in <mark>…</mark>."""
    tokens = list(_MARK.finditer(text))
    if not tokens:
        return html.escape(text)

    def hit(m: re.Match) -> bool:
        folded = analysis.fold(m.group())
        return any(analysis.stem(folded, lang) in stems for lang in LANGS)

    marks = [hit(m) for m in tokens]
    start = 0
    if len(tokens) > words and any(marks):
        best = max(range(len(tokens) - words + 1),
                   key=lambda i: (sum(marks[i:i + words]), -i))
        start = max(0, min(best, marks.index(True) if sum(marks[:words]) else best))
    end = min(len(tokens), start + words)
    begin = tokens[start].start() if start else 0
    finish = tokens[end - 1].end() if end < len(tokens) else len(text)
    out, pos = [], begin
    for m, marked in zip(tokens[start:end], marks[start:end]):
        out.append(html.escape(text[pos:m.start()]))
        word = html.escape(m.group())
        out.append(f"<mark>{word}</mark>" if marked else word)
        pos = m.end()
    out.append(html.escape(text[pos:finish]))
    prefix = "… " if begin else ""
    suffix = " …" if finish < len(text) else ""
    return prefix + "".join(out).strip() + suffix

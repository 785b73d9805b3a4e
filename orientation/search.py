"""Search over services and pathways: a whoosh index kept as a rebuildable cache of the database.

How a query is understood (text analysis is in ``orientation/analysis.py``):

- The query is folded and split into words; stop words (French, Dutch, English) and filler
  words ("besoin", "aide", "help", "lukt") are dropped. Negations ("pas", "plus", "geen",
  "no") are dropped too, but only after phrases are matched: inside a phrase they count.
- A word the index does not know is corrected to the closest known word(s) within 1 edit (up
  to 7 letters) or 2 (longer); ``Results.corrected`` then shows the corrected query.
- Phrases from ``seed/synonyms.txt`` are recognised ("revenu d'intégration") and also find
  their synonyms ("RIS", "leefloon"). A phrase's word may be replaced by a one-word synonym
  of its group and negations are interchangeable, so one rule "perdu mon travail, plus de
  travail => chômage" also understands "perdu mon boulot" and "geen werk" (``Synonyms``).
- Each remaining word (or synonym phrase) becomes one *group*: its stems in French, Dutch and
  English, its corrections and its synonyms, searched in the ``title`` and ``body`` fields.

Ranking rules, in order:

1. **Coverage.** Documents that match every group come first and form the result set. Only when
   fewer than ``MIN_RESULTS`` (3) do, documents matching all groups but one follow them, then
   those matching any group (``Results.relaxed`` is then true). *Weak* words
   (``analysis.WEAK``: price, "sent", "received", "personne") qualify a need without naming
   one: they are not counted for coverage (unless the query has nothing else) and weigh
   ``WEAK_WEIGHT`` (0.3), so "lunettes pas cher" is about glasses, and a document that only
   says "moins cher" cannot win because the need words are missing from it.
2. **Relevance** is BM25F (whoosh's formula and statistics, computed in
   ``orientation/scoring.py``), summed over groups (the weights are in
   ``orientation/query.py``). A match in ``title`` — the service's name, the
   pathway's need in plain words, the names of its needs (taxonomy labels) and its keywords —
   weighs ``TITLE_BOOST`` (3x) a match in ``body`` (description, organisation, audience,
   place). The typed word weighs 1, a synonym ``SYNONYM_WEIGHT`` (0.8), a typo correction
   ``TYPO_WEIGHT`` (0.7 for one edit, 0.5 for two). Within a group only the best alternative
   counts (plus a tenth of the others), and every alternative is scored with the group's
   IDF, so that a rare synonym does not outrank the common word typed.
3. **Where and when** (only when ``near`` is given, as the kiosk and console do): the score is
   multiplied by ``NEAR_BOOST`` (1.5) for a service in that commune, ``NEIGHBOUR_BOOST``
   (1.2) in a neighbouring one (``orientation/communes.py``), ``REGION_BOOST`` (1.1) elsewhere
   in the same region, and by ``OPEN_BOOST`` (1.15) when it is open at ``at``. Boosts
   multiply the text score, so a much better text match further away still comes first.
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
share a snapshot (``scoring.Snapshot``: a searcher and the arrays, filter masks and caches of
one generation) and a new ``ix.searcher()`` is opened when the generation changes;
``Searcher.refresh()`` is never used, because in both whoosh forks it keeps returning old
versions of updated documents. A retired snapshot is closed when its last reader leaves.
Searches on one snapshot are serialised by a lock: whoosh readers share file positions, and
search holds the GIL for most of its time anyway (scale with processes, not threads).

Speed: results are cached per (generation, query, filters, page, minute); a term's scored
postings, filter masks and open-now sets are cached per snapshot; every write invalidates all
of it by changing the generation.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import functools
import html
import logging
import re
import shutil
import threading
import time
from collections import Counter, OrderedDict
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Literal

import msgspec
import numpy as np
from sqlite_utils import Database
from whoosh import index as whoosh_index

from . import analysis, communes, documents, hours, store
from .analysis import FILLERS, LANGS, QUERY_STOP, Synonyms
from .query import Plan
from .query import plan as query_plan
from .documents import AUDIENCES, FLAGS, META_ID, SCHEMA_VERSION
from .errors import InvalidData, NotFound
from .models import TaxonomyTerm
from .scoring import Snapshot

__all__ = ["AUDIENCES", "FLAGS", "FacetCount", "Filters", "Hit", "Need", "Results",
           "SearchIndex", "snippet"]

log = logging.getLogger(__name__)

DEFAULT_SYNONYMS = Path(__file__).resolve().parent.parent / "seed" / "synonyms.txt"

NEAR_BOOST = 1.5
NEIGHBOUR_BOOST = 1.2
REGION_BOOST = 1.1
OPEN_BOOST = 1.15
#: Fewer strict results than this and the next coverage tier is added after them.
MIN_RESULTS = 3
#: Optimise (merge every segment) after this many incremental commits.
OPTIMIZE_EVERY = 50
RESULT_CACHE_SIZE = 1024

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


# --- The index ----------------------------------------------------------------------------


class SearchIndex:
    """A whoosh index that mirrors the database (which stays the source of truth)."""

    def __init__(self, directory: Path, ix, *, synonyms_path: Path | None = None) -> None:
        self.directory = Path(directory)
        self._ix = ix
        self._write_lock = threading.Lock()
        self._swap_lock = threading.Lock()
        self._snapshot: Snapshot | None = None
        self._commits = 0
        self._cache: OrderedDict[tuple, Results] = OrderedDict()
        self._cache_lock = threading.Lock()
        self.synonyms_path = DEFAULT_SYNONYMS if synonyms_path is None else Path(synonyms_path)
        self._synonyms_mtime: float | None = None
        self._synonyms_checked = float("-inf")
        self.synonyms_check_seconds = 2.0
        self._synonyms = Synonyms()
        self._load_synonyms()
        # The word list for typo correction (~2 s) and the holiday tables (~0.5 s) load once
        # per process: start now, off the first request.
        threading.Thread(target=_warm_up, daemon=True).start()

    # -- opening and building

    @classmethod
    def create(cls, directory: Path, db: Database, *,
               synonyms_path: Path | None = None) -> SearchIndex:
        """Build a fresh index from the database (replaces any existing one)."""
        directory = Path(directory)
        _clear(directory)
        ix = whoosh_index.create_in(str(directory), documents.schema())
        index = cls(directory, ix, synonyms_path=synonyms_path)
        index.rebuild(db)
        return index

    @classmethod
    def open(cls, directory: Path, db: Database, *,
             synonyms_path: Path | None = None) -> SearchIndex:
        """Open the index, rebuilding it when missing, corrupt, of an older schema, built from
        another database, or ahead of this one (a database restored from a copy)."""
        directory = Path(directory)
        try:
            ix = whoosh_index.open_dir(str(directory))
            with ix.searcher() as searcher:
                meta = _read_meta(searcher)
                if meta.get("schema") != SCHEMA_VERSION or set(ix.schema.names()) != set(
                        documents.schema().names()):
                    raise ValueError("index of an older schema")
                if meta.get("origin") != store.audit_origin(db):
                    raise ValueError("index of another database")
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
        ctx = documents.Context(db, bulk=True)
        writer = self._ix.writer(timeout=30.0, limitmb=256)
        try:
            writer.mergetype = _clear_segments
            for service in store.iter_services(db, status="active"):
                ctx.remember(service)
                doc = documents.service_document(service, ctx)
                if doc:
                    writer.add_document(**doc)
            for pathway in store.list_pathways(db, status="active"):
                doc = documents.pathway_document(pathway, ctx)
                if doc:
                    writer.add_document(**doc)
            writer.add_document(**documents.meta_document(generation, store.audit_origin(db)))
            writer.commit(optimize=True)
        except BaseException:
            writer.cancel()
            raise
        self._swap(generation, ctx.terms)

    def sync(self, db: Database) -> int:
        """Apply every write made since the index's generation; returns the generation."""
        return self._current(db).generation

    def _current(self, db: Database) -> Snapshot:
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
                if indexed < generation:  # (writes after ``generation`` may come along)
                    generation = self._apply(db, indexed)
                self._swap(generation, {t.id: t for t in store.list_terms(db)})
            return self._snapshot

    def _apply(self, db: Database, since: int) -> int:
        """Re-index what changed after generation ``since``; returns the new generation."""
        top, changed = store.changes_since(db, since)
        ctx = documents.Context(db)
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
                doc = documents.service_document(service, ctx) if service else None
                _put(writer, entity_id, doc)
            for entity_id in sorted(pathways):
                try:
                    doc = documents.pathway_document(store.get_pathway(db, entity_id), ctx)
                except NotFound:
                    doc = None
                _put(writer, entity_id, doc)
            writer.update_document(**documents.meta_document(top, store.audit_origin(db)))
            self._commits += 1
            # Many small commits slow queries down until segments are merged.
            writer.commit(optimize=self._commits % OPTIMIZE_EVERY == 0)
        except BaseException:
            writer.cancel()
            raise
        return top

    def _swap(self, generation: int, terms: dict[str, TaxonomyTerm]) -> None:
        new = Snapshot(self._ix.searcher(), generation, terms)
        with self._swap_lock:
            old, self._snapshot = self._snapshot, new
            with self._cache_lock:
                self._cache.clear()
            if old is not None:
                old.retired = True
                if old.users == 0:
                    old.close()

    @contextlib.contextmanager
    def _use(self, db: Database) -> Iterator[Snapshot]:
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
        # A stat() per search can stall for tens of milliseconds on a busy disk: look at the
        # file at most every ``synonyms_check_seconds``.
        now = time.monotonic()
        if now - self._synonyms_checked < self.synonyms_check_seconds:
            return self._synonyms
        self._synonyms_checked = now
        try:
            mtime = self.synonyms_path.stat().st_mtime
        except OSError:
            mtime = None
        if mtime != self._synonyms_mtime:
            self._synonyms_mtime = mtime
            try:
                self._synonyms = Synonyms.load(self.synonyms_path if mtime else None)
            except (ValueError, OSError, UnicodeDecodeError) as exc:
                # A mistake while editing the file must not stop search: keep the rules
                # already loaded and say what is wrong.
                log.warning("synonyms not reloaded from %s: %s", self.synonyms_path, exc)
            with self._cache_lock:
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
            if use_cache:
                with self._cache_lock:  # shared by the readers of every snapshot
                    cached = self._cache.get(key)
                    if cached is not None:
                        self._cache.move_to_end(key)
                        return cached
            results = self._search(snap, synonyms, query, filters, near_communes, at, lang,
                                   limit, offset, facets, pathways_first)
            if use_cache:
                with self._cache_lock:
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

    def _search(self, snap: Snapshot, synonyms: Synonyms, query: str, filters: Filters,
                near, at: dt.datetime, lang: str, limit: int, offset: int, facets: bool,
                pathways_first: bool) -> Results:
        allow = self._allowed(snap, filters, at)
        plan = query_plan(snap, synonyms, query)
        tier = np.zeros(snap.maxdoc, dtype=np.int8)
        score = np.zeros(snap.maxdoc)
        relaxed = False
        if plan.groups:
            count = np.zeros(snap.maxdoc, dtype=np.int16)
            # Weak words are not required, unless the query has nothing else.
            required = [not weak for weak in plan.weak] if not all(plan.weak) \
                else [True] * len(plan.groups)
            for group, counted in zip(plan.groups, required):
                scores = snap.group(group)
                if counted:
                    count += scores > 0
                score += scores
            # Coverage tiers: every group, then all but one, then any, until enough results.
            n = sum(required)
            levels = [(n, 3)] + ([(n - 1, 2)] if n >= 3 else []) + ([(1, 1)] if n > 1 else [])
            for needed, level in levels:
                tier[(count >= needed) & allow & (tier == 0)] = level
                if np.count_nonzero(tier) >= MIN_RESULTS:
                    break
            matched = tier > 0
            relaxed = bool(matched.any()) and (bool(plan.unknown)
                                              or bool((tier[matched] < 3).any()))
        elif not plan.unknown:  # no query words: browse by filters (a kiosk tile)
            matched = allow
            tier[matched] = 3
            score[matched] = 1.0
        else:  # words, none of them known: nothing matches
            matched = tier > 0
        if near is not None:
            score *= self._boosts(snap, near, at)
        ranked = _top(snap, matched, tier, score, offset + limit, pathways_first)
        hits = [self._hit(snap, int(d), float(score[d]), plan, near, at, lang)
                for d in ranked[offset:offset + limit]]
        results = Results(
            query=query, total=int(np.count_nonzero(matched)), offset=offset, limit=limit,
            hits=hits, corrected=plan.corrected, relaxed=relaxed, generation=snap.generation,
            facets=self._facets(snap, matched, at) if facets else {},
        )
        if not results.total and query.strip():
            results.did_you_mean = self._did_you_mean(snap, synonyms, query)
            about = results.did_you_mean or query
            results.broader_need = self._broader_need(
                snap, query_plan(snap, synonyms, about), about, filters, lang)
        return results

    def _allowed(self, snap: Snapshot, filters: Filters, at: dt.datetime) -> np.ndarray:
        """Services and pathways that pass every filter."""
        allowed = snap.any_of(["k:service", "k:pathway"]) & snap.live
        if filters.needs:
            allowed = allowed & snap.any_of([f"n:{self._need_code(snap, n)}"
                                             for n in filters.needs])
        if filters.commune:
            canonical = communes.commune(filters.commune)
            if canonical is None:
                raise InvalidData(f"unknown commune {filters.commune!r}", field="commune")
            names = communes.near(canonical) if filters.nearby else {canonical}
            allowed = allowed & snap.any_of([f"c:{communes.slug(n)}" for n in names])
        if filters.languages:
            for code in filters.languages:
                if not re.fullmatch(r"[a-z]{2,3}", code):
                    raise InvalidData(f"unknown language {code!r}", field="languages")
            allowed = allowed & snap.any_of([f"l:{code}" for code in filters.languages])
        if filters.audiences:
            unknown = set(filters.audiences) - set(AUDIENCES)
            if unknown:
                raise InvalidData(f"unknown audience {sorted(unknown)[0]!r}; known: "
                                  + ", ".join(AUDIENCES), field="audiences")
            allowed = allowed & snap.any_of([f"a:{a}" for a in filters.audiences])
        for flag in FLAGS:
            if getattr(filters, flag):
                allowed = allowed & snap.mask(flag)
        if filters.kind:
            allowed = allowed & snap.mask(f"k:{filters.kind}")
        if filters.open_now:
            allowed = allowed & snap.open_mask(at)
        if filters.open_today:
            allowed = allowed & snap.open_mask(at, whole_day=True)
        return allowed

    def _need_code(self, snap: Snapshot, value: str) -> str:
        if value in snap.terms:
            return snap.terms[value].code
        if any(t.code == value for t in snap.terms.values()):
            return value
        raise InvalidData(f"unknown need {value!r}", field="needs")

    def _boosts(self, snap: Snapshot, near: tuple[str, set[str]], at: dt.datetime
                ) -> np.ndarray:
        here, around = near
        factor = np.ones(snap.maxdoc)
        factor[snap.mask(f"r:{communes.region(here)}")] = REGION_BOOST
        factor[snap.any_of([f"c:{communes.slug(n)}" for n in around])] = NEIGHBOUR_BOOST
        factor[snap.mask(f"c:{communes.slug(here)}")] = NEAR_BOOST
        factor[snap.open_mask(at)] *= OPEN_BOOST
        return factor

    def _hit(self, snap: Snapshot, docnum: int, score: float, plan: Plan, near,
             at: dt.datetime, lang: str) -> Hit:
        stored = snap.searcher.stored_fields(docnum)
        data = msgspec.json.decode(stored["data"])
        return Hit(
            kind=stored["kind"], id=stored["id"], score=round(score, 4),
            title=data["t"].get(lang) or data["t"]["fr"],
            snippet=snippet(data["d"].get(lang) or data["d"]["fr"], plan.highlight),
            needs=data["n"], communes=data["c"],
            near=bool(near and set(data["c"]) & {near[0], *near[1]}),
            open_now=bool(snap.open_mask(at)[docnum]),
        )

    def _facets(self, snap: Snapshot, matched: np.ndarray, at: dt.datetime
                ) -> dict[str, list[FacetCount]]:
        def count(mask: np.ndarray) -> int:
            return int(np.count_nonzero(matched & mask))

        def values(prefix: str) -> list[FacetCount]:
            found = [FacetCount(value=t[len(prefix):], count=count(snap.mask(t)))
                     for t in snap.tags(prefix)]
            return sorted((f for f in found if f.count), key=lambda f: (-f.count, f.value))

        result = {
            "needs": values("n:"),
            "communes": [FacetCount(value=_commune_name(f.value), count=f.count)
                         for f in values("c:")],
            "languages": values("l:"),
            "audiences": values("a:"),
            "kind": values("k:"),
        }
        for flag in FLAGS:
            result[flag] = [FacetCount(value="true", count=count(snap.mask(flag)))]
        result["open_now"] = [FacetCount(value="true", count=count(snap.open_mask(at)))]
        result["open_today"] = [FacetCount(value="true", count=count(
            snap.open_mask(at, whole_day=True)))]
        return result

    def _did_you_mean(self, snap: Snapshot, synonyms: Synonyms, query: str) -> str | None:
        """A looser correction of the query that does find something, ignoring filters."""
        suggestion, changed = [], False
        for word in analysis.words(query):
            if word in QUERY_STOP or word in FILLERS or word in synonyms.vocabulary \
                    or snap.knows(word) or analysis.is_word(word):
                suggestion.append(word)
                continue
            found = snap.vocabulary.corrections(word, analysis.max_typos(word) + 1)
            if found:
                suggestion.append(found[0][0])
                changed = True
        if not changed:
            return None
        text = " ".join(suggestion)
        plan = query_plan(snap, synonyms, text)
        if plan.groups and any(np.any(snap.group(g) > 0) for g in plan.groups):
            return text
        return None

    def _broader_need(self, snap: Snapshot, plan: Plan, query: str, filters: Filters,
                      lang: str) -> Need | None:
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
            score = sum(snap.group(g) for g in plan.groups)
            for docnum in _top(snap, score > 0, (score > 0).astype(np.int8), score, 20, False):
                for code in snap.data(int(docnum))["n"]:
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


def _top(snap: Snapshot, matched: np.ndarray, tier: np.ndarray, score: np.ndarray,
         wanted: int, pathways_first: bool) -> list[int]:
    """Docnums of the ``wanted`` best matches: pathways first (if asked), then higher tier,
    then higher score, then index order."""
    docs = np.flatnonzero(matched)
    if not len(docs) or wanted <= 0:
        return []
    first = snap.mask("k:pathway")[docs] if pathways_first else np.zeros(len(docs), bool)
    keys = (docs, -score[docs], -tier[docs], ~first)
    if len(docs) > 4 * wanted:
        # Keep only the candidates that can make the top: rank by one composite number
        # (kind and tier dominate any score), then sort the few kept exactly.
        composite = first * 1e12 + tier[docs] * 1e9 + score[docs]
        cut = np.partition(composite, len(docs) - wanted)[len(docs) - wanted]
        keep = composite >= cut
        docs, keys = docs[keep], tuple(k[keep] for k in keys)
    order = np.lexsort(keys)
    return [int(d) for d in docs[order][:wanted]]


def _warm_up() -> None:
    analysis.dictionary()
    hours.public_holiday(hours.now().date())


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


@functools.lru_cache(maxsize=65536)
def _stems_of(word: str) -> frozenset[str]:
    folded = analysis.fold(word)
    return frozenset(analysis.stem(folded, lang) for lang in LANGS)


def snippet(text: str, stems: set[str], *, words: int = 30) -> str:
    """About ``words`` words of ``text``, HTML-escaped, with the words whose stem was searched
    wrapped in <mark>…</mark>: the beginning when it has a match, else the passage with the
    most matches."""
    tokens = list(_MARK.finditer(text))
    if not tokens:
        return html.escape(text)
    marks = [not _stems_of(m.group()).isdisjoint(stems) for m in tokens]
    start = 0
    if len(tokens) > words and any(marks) and not any(marks[:words]):
        start = max(range(len(tokens) - words + 1),
                    key=lambda i: (sum(marks[i:i + words]), -i))
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

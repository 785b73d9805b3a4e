"""Ranking: from a query plan and filters to one page of results, on one snapshot.

The ranking rules (coverage tiers, BM25F relevance, where and when, pathways first, ties) are
set out in the package docstring, ``orientation/search/__init__.py``.
"""

from __future__ import annotations

import datetime as dt
import re
from collections import Counter
from typing import Literal

import msgspec
import numpy as np

from .. import communes
from ..errors import InvalidData
from ..models import TaxonomyTerm
from . import analysis
from .analysis import FILLERS, QUERY_STOP, Synonyms
from .documents import AUDIENCES, FLAGS, Tag, stored
from .query import Plan, plan as query_plan
from .scoring import Snapshot
from .snippets import snippet

NEAR_BOOST = 1.5
NEIGHBOUR_BOOST = 1.2
REGION_BOOST = 1.1
OPEN_BOOST = 1.15
#: Fewer strict results than this and the next coverage tier is added after them.
MIN_RESULTS = 3

# --- Public structs -----------------------------------------------------------------------


class Filters(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """What a result must be (combined with AND; the values of a list field with OR)."""

    needs: list[str] = []  # taxonomy codes (or ids); sub-needs of a need are included
    #: Serves the people of this commune (a commune, former commune or postal code): its
    #: areas hold the commune, or it has none (it serves everyone).
    commune: str | None = None
    located_in: str | None = None  # has a place in this commune
    nearby: bool = False  # with ``located_in``: also the neighbouring communes
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
    #: With a ``home``: the region (slug) of a record of another region, shown as a label.
    elsewhere: str | None = None
    #: With a ``home``: for the people of other communes only (residents only, or a pathway
    #: that does not cover it).
    outside: bool = False


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
    #: False when the query has text but no word search knows (after folding, synonyms and
    #: typo correction): then nothing matches, whatever the filters, and the edges say so.
    understood: bool = True
    generation: int = 0


def home_commune(home: str | None) -> str | None:
    """The canonical name of the person's commune; InvalidData when unknown."""
    if not home:
        return None
    canonical = communes.commune(home)
    if canonical is None:
        raise InvalidData(f"unknown commune {home!r}", field="home")
    return canonical


def near_communes(near: str | None) -> tuple[str, set[str]] | None:
    """(the commune, its neighbours) of a commune name or postal code; InvalidData when
    unknown."""
    if not near:
        return None
    canonical = communes.commune(near)
    if canonical is None:
        raise InvalidData(f"unknown commune {near!r}", field="near")
    return canonical, communes.neighbours(canonical)


def rank(snap: Snapshot, synonyms: Synonyms, query: str, filters: Filters,
         near: tuple[str, set[str]] | None, at: dt.datetime, lang: str, limit: int,
         offset: int, facets: bool, pathways_first: bool, home: str | None = None) -> Results:
    """One page of results for ``query`` on ``snap``, ranked by the rules in the package
    docstring; ``near`` is what ``near_communes`` returns, ``home`` what ``home_commune``
    returns."""
    allow = _allowed(snap, filters, at)
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
    elif not query.strip():  # no query: browse by filters (a kiosk tile)
        matched = allow
        tier[matched] = 3
        score[matched] = 1.0
    else:  # text, but no word search knows: nothing matches (never the whole directory)
        matched = tier > 0
    if near is not None:
        score *= _boosts(snap, near, at)
    place, outside = _place(snap, home)
    ranked = _top(snap, matched, tier, score, offset + limit, pathways_first, place)
    hits = [_hit(snap, int(d), float(score[d]), plan, near, at, lang, home, bool(outside[d]))
            for d in ranked[offset:offset + limit]]
    results = Results(
        query=query, total=int(np.count_nonzero(matched)), offset=offset, limit=limit,
        hits=hits, corrected=plan.corrected, relaxed=relaxed, generation=snap.generation,
        understood=bool(plan.groups) or not query.strip(),
        facets=_facets(snap, matched, at) if facets else {},
    )
    if not results.total and query.strip():
        results.did_you_mean = _did_you_mean(snap, synonyms, query)
        about = results.did_you_mean or query
        results.broader_need = _broader_need(
            snap, query_plan(snap, synonyms, about), about, filters, lang)
    return results


def _allowed(snap: Snapshot, filters: Filters, at: dt.datetime) -> np.ndarray:
    """Services and pathways that pass every filter."""
    allowed = snap.any_of([f"{Tag.KIND}service", f"{Tag.KIND}pathway"]) & snap.live
    if filters.needs:
        allowed = allowed & snap.any_of([f"{Tag.NEED}{_need_code(snap, n)}"
                                         for n in filters.needs])
    if filters.commune:
        canonical = communes.commune(filters.commune)
        if canonical is None:
            raise InvalidData(f"unknown commune {filters.commune!r}", field="commune")
        allowed = allowed & _serves(snap, canonical)
    if filters.located_in:
        canonical = communes.commune(filters.located_in)
        if canonical is None:
            raise InvalidData(f"unknown commune {filters.located_in!r}", field="located_in")
        names = communes.near(canonical) if filters.nearby else {canonical}
        allowed = allowed & snap.any_of([f"{Tag.COMMUNE}{communes.slug(n)}" for n in names])
    if filters.languages:
        for code in filters.languages:
            if not re.fullmatch(r"[a-z]{2,3}", code):
                raise InvalidData(f"unknown language {code!r}", field="languages")
        allowed = allowed & snap.any_of([f"{Tag.LANGUAGE}{code}" for code in filters.languages])
    if filters.audiences:
        unknown = set(filters.audiences) - set(AUDIENCES)
        if unknown:
            raise InvalidData(f"unknown audience {sorted(unknown)[0]!r}; known: "
                              + ", ".join(AUDIENCES), field="audiences")
        allowed = allowed & snap.any_of([f"{Tag.AUDIENCE}{a}" for a in filters.audiences])
    for flag in FLAGS:
        if getattr(filters, flag):
            allowed = allowed & snap.mask(flag)
    if filters.kind:
        allowed = allowed & snap.mask(f"{Tag.KIND}{filters.kind}")
    if filters.open_now:
        allowed = allowed & snap.open_mask(at)
    if filters.open_today:
        allowed = allowed & snap.open_mask(at, whole_day=True)
    return allowed


def _serves(snap: Snapshot, commune: str) -> np.ndarray:
    """Records that serve the people of ``commune`` (a canonical name)."""
    return snap.any_of([f"{Tag.SERVES}{communes.slug(commune)}", Tag.SERVES_ALL])


def _elsewhere(snap: Snapshot, home: str) -> np.ndarray:
    """Records whose places (a pathway: its declared region) are all in another region than
    ``home``'s; a record without a place is nobody's elsewhere."""
    region = communes.region(home)
    placed = snap.any_of(snap.tags(Tag.REGION))
    return placed & ~snap.mask(f"{Tag.REGION}{region}") if region else np.zeros_like(placed)


def _place(snap: Snapshot, home: str | None) -> tuple[np.ndarray, np.ndarray]:
    """(where each record stands for a person of ``home``, whether it is for other communes'
    people only). Place 0: their region and for them; 1: their region but for other
    communes' residents; 2: another region, always below (the rule "never another region's
    content above the person's own")."""
    place = np.zeros(snap.maxdoc, dtype=np.int8)
    if home is None:
        return place, place.astype(bool)
    outside = snap.mask(Tag.RESIDENTS) & ~_serves(snap, home)
    place[outside] = 1
    place[_elsewhere(snap, home)] = 2
    return place, outside


def _need_code(snap: Snapshot, value: str) -> str:
    if value in snap.terms:
        return snap.terms[value].code
    if any(t.code == value for t in snap.terms.values()):
        return value
    raise InvalidData(f"unknown need {value!r}", field="needs")


def _boosts(snap: Snapshot, near: tuple[str, set[str]], at: dt.datetime) -> np.ndarray:
    here, around = near
    factor = np.ones(snap.maxdoc)
    factor[snap.mask(f"{Tag.REGION}{communes.region(here)}")] = REGION_BOOST
    factor[snap.any_of([f"{Tag.COMMUNE}{communes.slug(n)}" for n in around])] = NEIGHBOUR_BOOST
    factor[snap.mask(f"{Tag.COMMUNE}{communes.slug(here)}")] = NEAR_BOOST
    factor[snap.open_mask(at)] *= OPEN_BOOST
    return factor


def _hit(snap: Snapshot, docnum: int, score: float, plan: Plan, near,
         at: dt.datetime, lang: str, home: str | None = None, outside: bool = False) -> Hit:
    fields = snap.searcher.stored_fields(docnum)
    data = stored(fields["data"])
    region = communes.region(home) if home else None
    elsewhere = data.regions[0] if region and data.regions and region not in data.regions \
        else None
    return Hit(
        kind=fields["kind"], id=fields["id"], score=round(score, 4),
        title=data.titles.get(lang) or data.titles["fr"],
        snippet=snippet(data.descriptions.get(lang) or data.descriptions["fr"], plan.highlight),
        needs=data.needs, communes=data.communes,
        near=bool(near and set(data.communes) & {near[0], *near[1]}),
        open_now=bool(snap.open_mask(at)[docnum]), elsewhere=elsewhere, outside=outside,
    )


def _facets(snap: Snapshot, matched: np.ndarray, at: dt.datetime
            ) -> dict[str, list[FacetCount]]:
    def count(mask: np.ndarray) -> int:
        return int(np.count_nonzero(matched & mask))

    def values(prefix: str) -> list[FacetCount]:
        found = [FacetCount(value=t[len(prefix):], count=count(snap.mask(t)))
                 for t in snap.tags(prefix)]
        return sorted((f for f in found if f.count), key=lambda f: (-f.count, f.value))

    result = {
        "needs": values(Tag.NEED),
        "communes": [FacetCount(value=_commune_name(f.value), count=f.count)
                     for f in values(Tag.COMMUNE)],
        "languages": values(Tag.LANGUAGE),
        "audiences": values(Tag.AUDIENCE),
        "kind": values(Tag.KIND),
    }
    for flag in FLAGS:
        result[flag] = [FacetCount(value="true", count=count(snap.mask(flag)))]
    result["open_now"] = [FacetCount(value="true", count=count(snap.open_mask(at)))]
    result["open_today"] = [FacetCount(value="true", count=count(
        snap.open_mask(at, whole_day=True)))]
    return result


def _did_you_mean(snap: Snapshot, synonyms: Synonyms, query: str) -> str | None:
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


def _broader_need(snap: Snapshot, plan: Plan, query: str, filters: Filters, lang: str
                  ) -> Need | None:
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
            for code in snap.stored(int(docnum)).needs:
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


def _top(snap: Snapshot, matched: np.ndarray, tier: np.ndarray, score: np.ndarray,
         wanted: int, pathways_first: bool, place: np.ndarray | None = None) -> list[int]:
    """Docnums of the ``wanted`` best matches: the person's own first (``place``, see
    ``_place``), then pathways (if asked), then higher tier, then higher score, then index
    order."""
    docs = np.flatnonzero(matched)
    if not len(docs) or wanted <= 0:
        return []
    first = snap.mask(f"{Tag.KIND}pathway")[docs] if pathways_first else np.zeros(len(docs), bool)
    where = place[docs] if place is not None else np.zeros(len(docs), np.int8)
    keys = (docs, -score[docs], -tier[docs], ~first, where)
    if len(docs) > 4 * wanted:
        # Keep only the candidates that can make the top: rank by one composite number
        # (place, kind and tier dominate any score), then sort the few kept exactly.
        composite = (-where.astype(np.float64) * 1e15 + first * 1e12 + tier[docs] * 1e9
                     + score[docs])
        cut = np.partition(composite, len(docs) - wanted)[len(docs) - wanted]
        keep = composite >= cut
        docs, keys = docs[keep], tuple(k[keep] for k in keys)
    order = np.lexsort(keys)
    return [int(d) for d in docs[order][:wanted]]


def _commune_name(slug: str) -> str:
    return next((c for c in communes.COMMUNES if communes.slug(c) == slug), slug)


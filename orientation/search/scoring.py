"""Scoring on one index snapshot: BM25F over whoosh postings, with NumPy arrays.

whoosh stores the index (lexicon, postings, field lengths, stored fields) and its BM25F
formula and statistics are used unchanged; what is replaced is its query-matcher tree, a
Python object per posting per sub-query, which made a two-word query with synonyms cost
200–300 ms on 10 000 services. Here a term's postings are read block by block once per
snapshot (whoosh 2.7.5's ``W3LeafMatcher`` block arrays: the reason whoosh-reloaded is pinned
exactly), scored as arrays, and a query is a handful of array operations over all documents.

Everything here belongs to one searcher: docnums are only valid for it, so the arrays and
caches live and die with the snapshot.
"""

from __future__ import annotations

import datetime as dt
import threading
from collections import OrderedDict

import numpy as np

from .. import hours
from ..models import TaxonomyTerm
from . import analysis
from .analysis import Vocabulary
from .documents import Hours, Stored, Tag, stored
from .segments import SegmentCache

B, K1 = 0.75, 1.2  # whoosh's BM25F defaults
TIEBREAK = 0.1
FIELDS = ("title", "body")
#: Scored postings kept per snapshot, in bytes (least recently used terms go first).
POSTINGS_CACHE_BYTES = 64 * 2**20

#: One scored term: (field, stem, boost).
Term = tuple[str, str, float]
#: A word is the sum of its terms, a phrase needs every word, a group keeps its best phrase.
Word = list[Term]
Phrase = list[Word]
Group = list[Phrase]

class Snapshot:
    """One searcher on one index generation, with everything derived from it."""

    def __init__(self, searcher, generation: int, terms: dict[str, TaxonomyTerm],
                 segments: SegmentCache | None = None) -> None:
        self.searcher = searcher
        self.reader = searcher.reader()
        #: What each segment holds, shared with the other snapshots of the same index.
        self.segments = segments if segments is not None else SegmentCache()
        self.leaves = list(self.reader.leaf_readers())
        self._offsets = np.array([offset for _, offset in self.leaves], dtype=np.int64)
        self.generation = generation
        self.terms = terms
        self.lock = threading.RLock()
        self.toc: int | None = None  # the index version it reads (whoosh's TOC generation)
        self.indexed = 0  # the database generation that version reflects
        self.users = 0
        self.retired = False
        self.maxdoc = self.reader.doc_count_all()
        self.live = np.ones(self.maxdoc, dtype=bool)
        for leaf, offset in self.leaves:
            for docnum in leaf.deleted_docs_set:
                self.live[offset + docnum] = False
        self._lengths: dict[str, np.ndarray] = {}
        self._df: dict[tuple[str, str], int] = {}
        self._postings: OrderedDict[tuple[str, str], tuple[np.ndarray, np.ndarray]] = \
            OrderedDict()
        self._postings_bytes = 0
        self._masks: dict[str, np.ndarray] = {}
        self._open: dict[tuple, np.ndarray] = {}
        self._hours: dict[int, Hours] = {}
        self._vocabulary: Vocabulary | None = None

    def close(self) -> None:
        self.searcher.close()

    # -- term statistics and postings

    def doc_frequency(self, field: str, text: str) -> int:
        key = (field, text)
        if key not in self._df:
            self._df[key] = self.reader.doc_frequency(field, text)
        return self._df[key]

    def idf(self, field: str, text: str) -> float:
        return self.searcher.idf(field, text)

    def field_lengths(self, field: str) -> np.ndarray:
        if field not in self._lengths:
            parts = [self.segments.lengths(leaf, field) for leaf, _ in self.leaves]
            self._lengths[field] = np.concatenate(parts).astype(np.float64) if parts \
                else np.zeros(0)
        return self._lengths[field]

    def postings(self, field: str, text: str) -> tuple[np.ndarray, np.ndarray]:
        """(docnums, BM25F score without boost) of a term's live postings."""
        key = (field, text)
        found = self._postings.get(key)
        if found is not None:
            self._postings.move_to_end(key)
            return found
        docs, weights = [], []
        for leaf, offset in self.leaves:
            leaf_ids, leaf_tf = self.segments.postings(leaf, field, text)
            if len(leaf_ids):
                docs.append(leaf_ids.astype(np.int64) + offset)
                weights.append(leaf_tf.astype(np.float64))
        if docs:
            ids, tf = np.concatenate(docs), np.concatenate(weights)
            keep = self.live[ids]
            ids, tf = ids[keep], tf[keep]
        else:
            ids, tf = np.zeros(0, dtype=np.int64), np.zeros(0)
        if field in FIELDS and len(ids):
            avgfl = self.searcher.avg_field_length(field) or 1
            length = self.field_lengths(field)[ids]
            score = self.idf(field, text) * (tf * (K1 + 1)) / (
                tf + K1 * ((1 - B) + B * length / avgfl))
        else:
            score = tf
        found = (ids, score)
        self._postings[key] = found
        self._postings_bytes += ids.nbytes + score.nbytes
        while self._postings_bytes > POSTINGS_CACHE_BYTES and len(self._postings) > 1:
            _, (old_ids, old_score) = self._postings.popitem(last=False)
            self._postings_bytes -= old_ids.nbytes + old_score.nbytes
        return found

    # -- queries

    def word(self, word: Word) -> np.ndarray:
        scores = np.zeros(self.maxdoc)
        for field, text, boost in word:
            ids, base = self.postings(field, text)
            scores[ids] += base * boost  # a term lists each document once
        return scores

    def phrase(self, phrase: Phrase) -> np.ndarray:
        total = self.word(phrase[0])
        if len(phrase) > 1:
            every = total > 0
            for word in phrase[1:]:
                scores = self.word(word)
                every &= scores > 0
                total += scores
            total[~every] = 0.0
        return total

    def group(self, group: Group) -> np.ndarray:
        """The best phrase of the group, plus TIEBREAK times the others (DisMax)."""
        best = self.phrase(group[0])
        if len(group) == 1:
            return best
        total = best.copy()
        for phrase in group[1:]:
            scores = self.phrase(phrase)
            total += scores
            np.maximum(best, scores, out=best)
        return best + TIEBREAK * (total - best)

    # -- filters

    def mask(self, token: str) -> np.ndarray:
        """Documents whose ``tags`` hold ``token``, as a boolean array."""
        found = self._masks.get(token)
        if found is None:
            found = np.zeros(self.maxdoc, dtype=bool)
            found[self.postings("tags", token)[0]] = True
            self._masks[token] = found
        return found

    def any_of(self, tokens: list[str]) -> np.ndarray:
        result = np.zeros(self.maxdoc, dtype=bool)
        for token in tokens:
            result |= self.mask(token)
        return result

    def tags(self, prefix: str) -> list[str]:
        return [t.decode() if isinstance(t, bytes) else t
                for t in self.reader.expand_prefix("tags", prefix)]

    # -- opening hours

    def stored(self, docnum: int) -> Stored:
        """A document's stored record."""
        return stored(self.searcher.stored_fields(int(docnum))["data"])

    def _hours_of(self, docnum: int) -> Hours:
        if docnum not in self._hours:
            at = int(np.searchsorted(self._offsets, docnum, side="right")) - 1
            leaf, offset = self.leaves[at]
            self._hours[docnum] = self.segments.hours(
                leaf, docnum - offset, lambda: self.stored(docnum).hours)
        return self._hours[docnum]

    def is_open(self, docnum: int, at: dt.datetime) -> bool:
        h = self._hours_of(docnum)
        return hours.is_open(h.schedules, at, closures=h.closures,
                             open_on_public_holidays=h.open_on_public_holidays)

    def _open_on(self, docnum: int, day: dt.date) -> bool:
        h = self._hours_of(docnum)
        return bool(hours.openings_on(day, h.schedules, closures=h.closures,
                                      open_on_public_holidays=h.open_on_public_holidays))

    def open_mask(self, at: dt.datetime, *, whole_day: bool = False) -> np.ndarray:
        """Documents open at ``at`` (or on its day), from the hour tags; documents with dated
        rules or closures are checked exactly with ``orientation.hours``."""
        at = at.astimezone(hours.TZ) if at.tzinfo else at.replace(tzinfo=hours.TZ)
        key = (at.date(), None if whole_day else (at.hour, at.minute))
        if key in self._open:
            return self._open[key]
        day = hours.DAYS[at.weekday()].lower()
        if whole_day:
            weekly = self.mask(f"{Tag.OPEN_DAY}{day}")
        else:
            now = f"{at.hour:02d}{at.minute:02d}"
            prefix = f"{Tag.OPENING}{day}:"
            spans = {t: t[len(prefix):].split("-") for t in self.tags(prefix)}  # "0900-1200"
            weekly = self.any_of([t for t, (opens, closes) in spans.items()
                                  if opens <= now < closes])
        irregular = self.mask(Tag.IRREGULAR)
        result = weekly & ~irregular
        if hours.public_holiday(at.date()):
            result &= self.mask(Tag.HOLIDAYS)
        check = self._open_on if whole_day else self.is_open
        moment = at.date() if whole_day else at
        for docnum in np.flatnonzero(irregular & weekly & self.live):
            result[docnum] = check(int(docnum), moment)
        if len(self._open) > 64:
            self._open.clear()
        self._open[key] = result
        return result

    # -- vocabulary

    @property
    def vocabulary(self) -> Vocabulary:
        if self._vocabulary is None:
            parts = [self.segments.words(leaf) for leaf, _ in self.leaves]
            parts.sort(key=len, reverse=True)
            frequencies = dict(parts[0]) if parts else {}
            for part in parts[1:]:
                for found, count in part.items():
                    frequencies[found] = frequencies.get(found, 0) + count
            self._vocabulary = Vocabulary(dict(sorted(frequencies.items())))
        return self._vocabulary

    def knows(self, word: str) -> bool:
        if any(word in self.segments.words(leaf) for leaf, _ in self.leaves):
            return True
        return any(self.doc_frequency(field, s)
                   for s in analysis.query_stems(word) for field in FIELDS)

"""What a written segment holds, read once and kept across snapshots; and when to merge them.

A whoosh segment never changes once written: a write adds a new small segment and marks the
old version of the document deleted (deletions are kept in the index's table of contents, not
in the segment). So a term's postings within a segment (docnums in the segment and term
frequencies), its field lengths, its words (the typo vocabulary) and its documents' opening
hours can be read once and shared by every snapshot that still has the segment: after a write,
a new snapshot reads only the new small segment, and the first search after a write costs
about what any search costs, at 100 000 services as at 200. Scores are not kept here: they
depend on the whole index's statistics (IDF, average length), which every write changes;
``scoring.Snapshot`` computes them from these per snapshot.

Merging (``merge_plan``): every write commits its own segment without merging anything (a
merge on the request path would, at 100 000 services, rewrite the big segment: minutes).
Segments are grouped in size tiers (powers of ``MERGE_FANIN`` documents); once a tier holds
``MERGE_FANIN`` segments they are merged into one of the next tier, off the request path
(``SearchIndex`` does it in a thread after the write). The rebuild's big segment is never
merged by writes; a rebuild replaces it.
"""

from __future__ import annotations

import math
import threading
from collections import OrderedDict
from collections.abc import Callable
from typing import Any

import numpy as np
from whoosh.codec.whoosh3 import LENGTHS_COLUMN, _lenfield
from whoosh.util.numeric import byte_to_length

#: Raw postings kept for all segments, in bytes (least recently used terms go first).
RAW_POSTINGS_BYTES = 48 * 2**20
#: Segments of one size tier merged together (and the base of the tiers).
MERGE_FANIN = 4

_LENGTHS = np.array([byte_to_length(b) or 0 for b in range(256)], dtype=np.float32)
_EMPTY = (np.zeros(0, dtype=np.int32), np.zeros(0, dtype=np.float32))


def segment_id(leaf) -> str:
    return leaf.segment().segment_id()


class SegmentCache:
    """Per-segment data, shared by the snapshots of one ``SearchIndex`` (thread-safe)."""

    def __init__(self, max_bytes: int = RAW_POSTINGS_BYTES) -> None:
        self._lock = threading.Lock()
        self._postings: OrderedDict[tuple[str, str, str], tuple[np.ndarray, np.ndarray]] = \
            OrderedDict()
        self._bytes = 0
        self.max_bytes = max_bytes
        self._lengths: dict[tuple[str, str], np.ndarray] = {}
        self._words: dict[str, dict[str, int]] = {}
        self._hours: dict[tuple[str, int], Any] = {}

    def postings(self, leaf, field: str, text: str) -> tuple[np.ndarray, np.ndarray]:
        """(docnums within the segment, term frequencies) of a term, deleted ones included."""
        key = (segment_id(leaf), field, text)
        with self._lock:
            found = self._postings.get(key)
            if found is not None:
                self._postings.move_to_end(key)
                return found
        found = _read_postings(leaf, field, text)
        with self._lock:
            self._postings[key] = found
            self._bytes += found[0].nbytes + found[1].nbytes
            while self._bytes > self.max_bytes and len(self._postings) > 1:
                _, (ids, tf) = self._postings.popitem(last=False)
                self._bytes -= ids.nbytes + tf.nbytes
        return found

    def lengths(self, leaf, field: str) -> np.ndarray:
        """Each document's length in ``field`` (whoosh's one-byte approximation)."""
        key = (segment_id(leaf), field)
        found = self._lengths.get(key)
        if found is None:
            column = leaf._perdoc._cached_reader(_lenfield(field), LENGTHS_COLUMN)
            raw = np.zeros(leaf.doc_count_all(), dtype=np.uint8)
            if column is not None:  # one byte per document: read them in one go
                stored = column._dbfile.get(column._basepos, column._count)
                raw[:column._count] = np.frombuffer(stored, dtype=np.uint8)
            found = self._lengths[key] = _LENGTHS[raw]
        return found

    def words(self, leaf) -> dict[str, int]:
        """The segment's folded words and their document frequencies."""
        key = segment_id(leaf)
        found = self._words.get(key)
        if found is None:
            found = self._words[key] = {
                (t.decode() if isinstance(t, bytes) else t): info.doc_frequency()
                for t, info in leaf.iter_field("words")}
        return found

    def hours(self, leaf, docnum: int, read: Callable[[], Any]) -> Any:
        """A document's opening hours (``read()`` when not kept yet)."""
        key = (segment_id(leaf), docnum)
        found = self._hours.get(key)
        if found is None:
            found = self._hours[key] = read()
        return found

    def keep(self, segment_ids: set[str]) -> None:
        """Forget the segments that are gone (merged away or replaced by a rebuild)."""
        with self._lock:
            for key in [k for k in list(self._postings) if k[0] not in segment_ids]:
                ids, tf = self._postings.pop(key)
                self._bytes -= ids.nbytes + tf.nbytes
        # list(): a C-level copy, safe while a reader adds an entry
        for cache in (self._lengths, self._hours):
            for key in [k for k in list(cache) if k[0] not in segment_ids]:
                cache.pop(key, None)
        for key in [k for k in list(self._words) if k not in segment_ids]:
            self._words.pop(key, None)


def _read_postings(leaf, field: str, text: str) -> tuple[np.ndarray, np.ndarray]:
    btext = leaf._text_to_bytes(field, text)
    if (field, btext) not in leaf._terms:
        return _EMPTY
    docs, weights = [], []
    matcher = leaf._terms.matcher(field, btext, leaf.schema[field].format)
    while matcher.is_active():  # block by block, not posting by posting
        if matcher._ids is None:
            matcher._read_ids()
        if matcher._weights is None:
            matcher._read_weights()
        docs.append(np.asarray(matcher._ids, dtype=np.int32))
        weights.append(np.asarray(matcher._weights, dtype=np.float32))
        matcher._next_block()
    if not docs:
        return _EMPTY
    return np.concatenate(docs), np.concatenate(weights)


# --- Merging --------------------------------------------------------------------------------


def tier(segment) -> int:
    return int(math.log(max(1, segment.doc_count_all()), MERGE_FANIN))


def merge_plan(segments: list) -> list:
    """The segments to merge now: the smallest tier holding ``MERGE_FANIN`` segments (never
    the largest segment of the index), or nothing."""
    if len(segments) <= 1:
        return []
    biggest = max(segments, key=lambda s: s.doc_count_all())
    tiers: dict[int, list] = {}
    for segment in segments:
        if segment is not biggest:
            tiers.setdefault(tier(segment), []).append(segment)
    for level in sorted(tiers):
        if len(tiers[level]) >= MERGE_FANIN:
            return tiers[level]
    return []


def merge_policy(writer, segments: list) -> list:
    """A whoosh merge policy: merges ``merge_plan(segments)`` into the writer's new segment."""
    from whoosh.reading import SegmentReader

    chosen = merge_plan(segments)
    for segment in chosen:
        reader = SegmentReader(writer.storage, writer.schema, segment)
        writer.add_reader(reader)
        reader.close()
    return [s for s in segments if s not in chosen]

"""Unmet needs: what people searched for and did not find, made visible without tracking anyone.

The field reports ask to make non-recourse visible to managers and for advocacy. A search that
finds nothing (or fewer than ``LOW``) is recorded only as cleaned words counted per ISO week
and channel: digits, e-mail addresses, phone and national numbers, and words that look like a
person's name are removed before anything is stored, and a term is shown only once it has been
seen at least ``MIN_SEEN`` times — so a name typed once can never surface.

This module decides what may be kept and shown; the weekly counters themselves are read and
written by the store (``store.add_unmet_search``, ``store.unmet_search_counts``), which holds
every SQL statement.
"""

from __future__ import annotations

import datetime as dt
import re
import unicodedata
from collections.abc import Callable

import msgspec
from sqlite_utils import Database

from . import store

LOW = 3
MIN_SEEN = 3
MAX_WORDS = 6
CHANNELS = ("kiosk", "staff", "api")

_WORD = re.compile(r"[^\W\d_]+(?:['’-][^\W\d_]+)*", re.UNICODE)


def clean(query: str, known: Callable[[str], bool] | None = None) -> str:
    """The words of a query that are safe to keep: lowercase, no digits, no name-like words,
    and, given ``known``, only words it knows (a surname typed alone, lowercase and first,
    looks like any word: only a vocabulary tells it apart)."""
    kept = []
    for position, raw in enumerate(query.split()):
        if any(ch.isdigit() for ch in raw) or "@" in raw or raw.startswith("+"):
            continue  # phone, national number, address number, e-mail
        for word in _WORD.findall(raw):
            # A capitalised word after the first one is most often a name ("aide Dupont").
            if position > 0 and word[:1].isupper():
                continue
            word = unicodedata.normalize("NFC", word.lower())
            if known is not None and not known(word):
                continue
            if len(word) >= 2:
                kept.append(word)
    return " ".join(kept[:MAX_WORDS])


def iso_week(day: dt.date) -> str:
    year, week, _ = day.isocalendar()
    return f"{year}-W{week:02d}"


def record(db: Database, query: str, result_count: int, *, channel: str,
           day: dt.date | None = None, known: Callable[[str], bool] | None = None) -> bool:
    """Count a zero- or low-result search; returns whether anything was recorded. Callers
    pass ``known`` (the search index's ``knows``) so that only known words are kept."""
    if result_count >= LOW or channel not in CHANNELS:
        return False
    terms = clean(query, known)
    if not terms:
        return False
    week = iso_week(day or dt.date.today())
    zero, low = (1, 0) if result_count == 0 else (0, 1)
    store.add_unmet_search(db, week=week, channel=channel, terms=terms, zero=zero,
                           low=low)
    return True


class UnmetRow(msgspec.Struct, kw_only=True):
    week: str
    terms: str
    zero: int
    low: int

    @property
    def total(self) -> int:
        return self.zero + self.low


def report(db: Database, *, since: dt.date | None = None, channel: str | None = None,
           min_seen: int = MIN_SEEN) -> list[UnmetRow]:
    """Weekly counts of terms seen at least ``min_seen`` times (never fewer than MIN_SEEN)."""
    min_seen = max(min_seen, MIN_SEEN)
    rows = store.unmet_search_counts(db, since_week=iso_week(since) if since else None,
                                     channel=channel, min_seen=min_seen)
    return [UnmetRow(**row) for row in rows]

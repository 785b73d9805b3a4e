"""From the words typed to what is scored: typo corrections, synonyms, weights.

The weights below are part of the ranking rules documented in ``orientation/search/__init__.py``.
"""

from __future__ import annotations

import msgspec

from . import analysis, scoring
from .analysis import FILLERS, QUERY_STOP, WEAK, Synonyms
from .scoring import Snapshot

TITLE_BOOST = 3.0
SYNONYM_WEIGHT = 0.8
TYPO_WEIGHT = {1: 0.7, 2: 0.5}
#: A weak word ("cher", "gratis", "envoyé") weighs this much and is not required to match.
WEAK_WEIGHT = 0.3


class Plan(msgspec.Struct):
    """A query as search understands it."""

    groups: list[scoring.Group]
    weak: list[bool]  # per group: a weak word, not required for coverage
    highlight: set[str]
    corrected: str | None
    unknown: list[str]


def plan(snap: Snapshot, synonyms: Synonyms, query: str) -> Plan:
    """Words -> groups of scored alternatives: typo corrections, synonyms, fillers left out."""
    typed = [w for w in analysis.words(query) if w not in QUERY_STOP]
    words, corrections = [], {}
    for word in typed:
        # A word the index lacks is corrected, unless it is a real word: then it is
        # just a word no service uses, and it is left out (see ``unknown``). An Arabic word
        # is never in the index: it is corrected against the Arabic words of the synonyms.
        if word not in FILLERS and word not in WEAK and not synonyms.knows(word) \
                and not snap.knows(word) and not analysis.is_word(word):
            found = synonyms.arabic_corrections(word) if analysis.is_arabic(word) \
                else snap.vocabulary.corrections(word)
            if found:
                corrections[word] = [(w, d) for w, d in found if d == found[0][1]][:2]
                word = found[0][0]
        words.append(word)
    # Each group is a list of alternatives (words of a phrase, weight).
    alternatives: list[list[tuple[tuple[str, ...], float]]] = []
    weak: list[bool] = []
    matches = {start: (end, found) for start, end, found in synonyms.match(words)}
    i = 0
    while i < len(words):
        if i in matches:
            end, expansions = matches[i]
            alternatives.append([(tuple(words[i:end]), 1.0)]
                                + [(p, SYNONYM_WEIGHT) for p in sorted(expansions)])
            weak.append(False)
            i = end
            continue
        word, original = words[i], typed[i]
        i += 1
        if word in FILLERS:
            continue
        if original in corrections:
            alternatives.append([((w,), TYPO_WEIGHT[d]) for w, d in corrections[original]])
        else:
            alternatives.append([((word,), WEAK_WEIGHT if word in WEAK else 1.0)])
        weak.append(word in WEAK)
    groups, weak_groups, highlight, unknown = [], [], set(), []
    for options, is_weak in zip(alternatives, weak):
        scored = scored_group(snap, options, highlight)
        if scored:
            groups.append(scored)
            weak_groups.append(is_weak)
        elif not is_weak:
            unknown.append(" ".join(options[0][0]))
    corrected = None
    if corrections:
        replaced = {w: c[0][0] for w, c in corrections.items()}
        corrected = " ".join(replaced.get(w, w) for w in analysis.words(query))
    return Plan(groups=groups, weak=weak_groups, highlight=highlight, corrected=corrected,
                unknown=unknown)


def scored_group(snap: Snapshot, group: list[tuple[tuple[str, ...], float]],
           highlight: set[str]) -> scoring.Group:
    """One concept: the best of its alternatives (DisMax), each scored with the concept's
    IDF — that of its most frequent alternative, like Lucene's synonym query — so that a rare
    synonym ("ONEM") does not outrank the word typed ("chômage"). A phrase is as specific as
    its rarest word. Terms absent from the index are left out; empty when nothing is left."""
    df = {(field, s): snap.doc_frequency(field, s) for phrase, _ in group for word in phrase
          for s in analysis.query_stems(word) for field in scoring.FIELDS}

    def idf(field: str, phrase: tuple[str, ...]) -> float | None:
        found = [snap.idf(field, s) for w in phrase for s in analysis.query_stems(w)
                 if df[field, s]]
        return max(found) if found else None

    concept = {field: min((v for p, _ in group if (v := idf(field, p)) is not None),
                          default=None) for field in scoring.FIELDS}
    scored: scoring.Group = []
    for phrase, weight in group:
        scale = {field: concept[field] / v for field in scoring.FIELDS
                 if (v := idf(field, phrase)) is not None}
        words = []
        for word in phrase:
            terms = [(field, s, weight / len(phrase) * scale[field]
                      * (TITLE_BOOST if field == "title" else 1.0))
                     for s in sorted(analysis.query_stems(word))
                     for field in scoring.FIELDS if df[field, s]]
            if not terms:
                break
            words.append(terms)
        else:
            scored.append(words)
            highlight.update(s for word in phrase for s in analysis.query_stems(word))
    return scored

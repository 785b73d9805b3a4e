"""Snippets: a passage of a hit's text with the searched words marked."""

from __future__ import annotations

import functools
import html
import re

from . import analysis
from .analysis import LANGS

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

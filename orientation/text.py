"""Text folding shared by the search and the commune names: lowercase, accent-free words.

A module of its own, below both: ``orientation.communes`` needs the same folding as the search
but must not import the search package (whose index imports the communes back).
"""

from __future__ import annotations

import functools
import re
import unicodedata

WORD = re.compile(r"[a-z0-9]+")
_FOLD_EXTRA = str.maketrans({"œ": "oe", "æ": "ae", "ß": "ss", "’": "'", "ʼ": "'", "‘": "'"})


@functools.lru_cache(maxsize=65536)
def _fold_word(text: str) -> str:
    text = unicodedata.normalize("NFKD", text.lower().translate(_FOLD_EXTRA))
    return "".join(c for c in text if not unicodedata.combining(c))


def fold(text: str) -> str:
    """Lowercase, accent-free text: "Chômage, l’ONEM" -> "chomage, l'onem"."""
    return _fold_word(text) if len(text) < 64 else _fold_word.__wrapped__(text)


def words(text: str | None) -> list[str]:
    """Folded words of a text, stop words included (used for synonyms and highlighting)."""
    return WORD.findall(fold(text)) if text else []

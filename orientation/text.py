"""Text folding shared by the search and the commune names: lowercase, accent-free words.

A module of its own, below both: ``orientation.communes`` needs the same folding as the search
but must not import the search package (whose index imports the communes back).

Arabic script is folded the way Arabic search engines do, so that the spellings people type
(with or without hamza, diacritics or taa marbuta, Arabic-Indic digits, presentation forms from
an old keyboard) meet the spellings written in the synonyms files: alef with hamza or madda and
alef wasla -> bare alef (أ إ آ ٱ -> ا), ؤ -> و, ئ -> ي, alef maksura -> ya (ى -> ي), taa
marbuta -> ha (ة -> ه), diacritics (tashkeel) and tatweel removed, Arabic-Indic digits -> 0-9,
Arabic comma, semicolon and question mark -> their Latin forms (separators between words).
"""

from __future__ import annotations

import functools
import re
import unicodedata

#: A word: Latin letters and digits, or Arabic letters (after folding: ء to ي, and the
#: extended letters of Persian and Urdu keyboards that have no Arabic equivalent, such as ڤ).
WORD = re.compile(r"[a-z0-9]+|[\u0621-\u063a\u0641-\u064a\u066e-\u06d3]+")
_FOLD_EXTRA = str.maketrans({"œ": "oe", "æ": "ae", "ß": "ss", "’": "'", "ʼ": "'", "‘": "'"})
# Applied after NFKD, which already splits hamza and madda off their carrier (أ -> ا + U+0654,
# ؤ -> و + U+0654, ئ -> ي + U+0654) and turns presentation forms into letters (ﻻ -> لا); the
# split marks are then dropped with the other combining marks (the tashkeel).
_FOLD_ARABIC = str.maketrans({
    "ٱ": "ا", "ى": "ي", "ة": "ه", "ـ": "",  # alef wasla, alef maksura, taa marbuta, tatweel
    "ی": "ي", "ک": "ك", "ھ": "ه", "ۀ": "ه", "ە": "ه",  # Persian and Urdu keyboard letters
    "،": ",", "؛": ";", "؟": "?", "٪": "%",
    **{chr(0x0660 + n): str(n) for n in range(10)},  # Arabic-Indic digits
    **{chr(0x06F0 + n): str(n) for n in range(10)},  # Eastern (Persian) digits
})
_ARABIC = re.compile(r"[\u0600-\u06ff\ufb50-\ufdff\ufe70-\ufeff]")


@functools.lru_cache(maxsize=65536)
def _fold_word(text: str) -> str:
    text = unicodedata.normalize("NFKD", text.lower().translate(_FOLD_EXTRA))
    text = "".join(c for c in text if not unicodedata.combining(c))
    return text.translate(_FOLD_ARABIC) if _ARABIC.search(text) else text


def fold(text: str) -> str:
    """Lowercase, accent-free text: "Chômage, l’ONEM" -> "chomage, l'onem"; Arabic
    normalised: "البَطَالَة" -> "البطاله", "أوراق" -> "اوراق", "١٧١٨" -> "1718"."""
    return _fold_word(text) if len(text) < 64 else _fold_word.__wrapped__(text)


def is_arabic(word: str) -> bool:
    """Whether a folded word is written in Arabic script."""
    return bool(word) and "\u0621" <= word[0] <= "\u06d3"


def words(text: str | None) -> list[str]:
    """Folded words of a text, stop words included (used for synonyms and highlighting)."""
    return WORD.findall(fold(text)) if text else []

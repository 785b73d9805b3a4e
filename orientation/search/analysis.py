"""Text analysis for search: folding, words, stems, synonyms and typo candidates.

One pipeline serves the index and the queries, so both sides always agree:

1. **fold**: lowercase, accents removed (é -> e, œ -> oe), curly apostrophes made straight.
   Folding comes *before* stemming so "chômage" and "chomage" get the same stem.
2. **words**: runs of letters and digits. Apostrophes and hyphens split words, and the elided
   articles they leave (l', d', qu', j'…) are stop words, so "l'allocation" is "allocation".
3. **stop words**: French, Dutch and English lists (the query side drops the words of all
   three, since people mix languages; each indexed text drops its own language's), and
   Arabic ones on the query side (the directory is not written in Arabic: Arabic words find
   it through the synonyms files, ``seed/synonyms.ar.txt``).
4. **singular**: a final "s" is dropped before stemming (the French Snowball stemmer treats
   "loyer" and "loyers" differently); indexing and queries do it alike.
5. **stem**: Snowball stemmer of the text's language (French, Dutch or English). A query word
   is stemmed in all three languages, so a Dutch query finds Dutch translations. An Arabic
   word gets a light stem instead (``arabic_stem``: "and", the article and a few endings
   removed), so "البطالة" meets "بطالة" in the synonyms.

Fuzzy matching never runs on stems (a typo changes the stem); it runs on the folded,
unstemmed words kept in the index's ``words`` field (see ``Vocabulary``).
"""

from __future__ import annotations

import functools
import gzip
import json
import re
import threading
import unicodedata
from collections.abc import Iterable
from pathlib import Path

import spellchecker

from ..text import WORD, fold, is_arabic, words  # noqa: F401 - part of this module's API
from rapidfuzz import process
from rapidfuzz.distance import OSA
from whoosh.lang import stemmer_for_language
from whoosh.lang.stopwords import stoplists

LANGS = ("fr", "nl", "en")
# Folding lives below the search (orientation/text.py) so the communes can share it.
_WORD = WORD


def _folded_set(words: Iterable[str]) -> frozenset[str]:
    """Folded words; an Arabic word also with "and" (و) written onto it, as Arabic does."""
    folded = {fold(w) for w in words}
    return frozenset(folded | {"و" + w for w in folded if is_arabic(w)})


#: Elided forms and one-letter leftovers ("jusqu'à" -> "jusqu", "a") are stop words everywhere.
_ELISIONS = {"l", "d", "j", "m", "n", "s", "t", "c", "qu", "jusqu", "lorsqu", "puisqu",
             "quoiqu", "presqu", "a", "y"}
#: Everyday French words that say nothing about the need (whoosh's list lacks them).
_FRENCH_EXTRA = {"cette", "cet", "ceci", "cela", "ca", "tout", "tous", "toute", "toutes",
                 "tres", "aussi", "comme", "quand", "pourquoi", "parce", "donc", "alors",
                 "encore", "deja", "jamais", "toujours", "chez", "mais", "peu", "bien", "oui",
                 "non", "quoi", "les", "va", "vais", "vas", "vont"}
STOP = {lang: _folded_set(stoplists[lang]) | _ELISIONS for lang in LANGS}
STOP["fr"] = STOP["fr"] | _FRENCH_EXTRA
#: Arabic little words: prepositions (also with a pronoun attached), pronouns, demonstratives,
#: question words, "to have" ("عندي ديون" is about debts). Only queries are in Arabic.
ARABIC_STOP = _folded_set("""
    في من الى إلى على عن مع عند عندي عندنا عنده عندها لدي لدينا لديه لديها هل كيف ماذا
    لماذا متى أين اين اي أي هذا هذه ذلك تلك هنا هناك الذي التي الذين أنا انا أنت انت
    انتم نحن هو هي هم لي لك له لها لنا لكم بي بك به بها فيه فيها منه منها معي عليه عليها
    إليه كان كانت يكون أن ان إن قد كل او أو و ثم يا ايضا أيضا جدا فقط بعد قبل حتى
    كثير كثيرا شيء شي
    """.split())

#: Words that turn a phrase around ("plus de travail", "geen werk", "no job"). Alone they
#: say nothing about the need and are dropped, like fillers, but they count inside synonym
#: phrases, where they are all one word (``Synonyms``): "pas de boulot" = "geen werk".
NEGATIONS = _folded_set("""
    pas plus sans rien aucun aucune geen niet zonder no not without
    لا ليس ليست لست لسنا بدون بلا دون لم لن ما مافي ماعندي ماعنديش
    """.split())
QUERY_STOP = frozenset().union(*STOP.values(), ARABIC_STOP) - NEGATIONS

#: Words that say "I need help" rather than what with. They are dropped from queries unless
#: they belong to a synonym phrase ("aide juridique", "aide alimentaire").
FILLERS = _folded_set("""
    besoin cherche chercher recherche veux voudrais voudrait comment faire fait peux puis
    aider aide aidez svp merci bonjour quoi quel quelle quels trouver avoir obtenir urgent
    hulp nodig zoek zoeken wil help helpen graag hoe need want looking find get please
    arrive arriver lukt lukken manage
    أريد اريد نريد أحتاج احتاج نحتاج محتاج محتاجة بحاجة حاجة مساعدة المساعدة ساعدني
    ساعدوني أبحث ابحث نبحث فضلك شكرا مرحبا السلام عليكم ممكن يمكن يمكنني أستطيع استطيع
    نستطيع أقدر اقدر أعرف اعرف بغيت عاوز عايز يريد تريد يريدون
    """.split()) - {"recherche"} | NEGATIONS

#: Weak words qualify a need without naming one: price ("pas cher", "gratis"), sending and
#: receiving ("ils m'ont envoyé"), "personne". They are searched, but weigh little and are not
#: required to match (ranking rules in ``orientation/search/__init__.py``), so "lunettes pas
#: cher" is about glasses, not about the cheaper-housing pathway.
WEAK = _folded_set("""
    cher chere chers cheres moins gratuit gratuite gratuits gratuites free gratis goedkoop
    goedkope cheap duur expensive envoye envoyee envoyer envoie recu recue recois recevoir
    gekregen gestuurd sent received personne persoon person
    مجاني مجانا مجانية رخيص رخيصة غالي غالية ارسلوا أرسلوا وصلني وصلتني شخص
    """.split())


@functools.lru_cache(maxsize=4)
def _stemmer(lang: str):
    return stemmer_for_language(lang)


def singular(word: str) -> str:
    if len(word) > 3 and word.endswith("s") and not word.endswith("ss"):
        return word[:-1]
    return word


#: Light stemming of Arabic (after Larkey, Ballesteros and Connell's "light10", 2007): the
#: clitics and endings people attach to the words of the synonyms files. Prefixes: "and",
#: then the article alone or after "with", "as", "so", "for". Suffixes, each tried once in
#: this order: possessives and object pronouns ("my", "me", "her", "his"), duals and plurals,
#: the feminine ending (taa marbuta, folded to ه). "تي" comes first so that "مدرستي" (my
#: school) and "مدرسة" (school) share a stem. Each step keeps at least two or three letters.
_AR_ARTICLES = ("وال", "بال", "كال", "فال", "لل", "ال")
_AR_SUFFIXES = ("تي", "ني", "ها", "ان", "ات", "ون", "ين", "يه", "ه", "ي")


def arabic_stem(word: str) -> str:
    """Light stem of a folded Arabic word: "والبطاله" -> "بطال", "عملي" -> "عمل"."""
    if len(word) >= 4 and word[0] == "و":
        word = word[1:]
    for article in _AR_ARTICLES:
        if word.startswith(article) and len(word) - len(article) >= 2:
            word = word[len(article):]
            break
    for suffix in _AR_SUFFIXES:
        if word.endswith(suffix) and len(word) - len(suffix) >= (3 if suffix == "تي" else 2):
            word = word[:-len(suffix)]
    return word


@functools.lru_cache(maxsize=200_000)
def stem(word: str, lang: str = "fr") -> str:
    """The Snowball stem of a folded word (digits and short words are kept as they are); an
    Arabic word's light stem whatever ``lang``."""
    if len(word) < 3 or word.isdigit():
        return word
    if is_arabic(word):
        return arabic_stem(word)
    return _stemmer(lang)(singular(word))


def content_words(text: str | None, lang: str = "fr") -> list[str]:
    """Folded words without the stop words of ``lang`` (what the ``words`` field holds)."""
    stop = STOP.get(lang, STOP["fr"])
    return [w for w in words(text) if w not in stop]


def stems(text: str | None, lang: str = "fr") -> list[str]:
    """What an indexed text becomes: stems of its content words in its own language."""
    return [stem(w, lang) for w in content_words(text, lang)]


def index_terms(text: str | None, lang: str = "fr") -> tuple[list[str], list[str]]:
    """(``stems(text, lang)``, ``content_words(text, lang)``), computed once per distinct
    whitespace-separated piece of text: a rebuild analyses millions of words but only tens of
    thousands of distinct ones, and folding a long text character by character was a fifth
    of its time. The same result: folding never creates, removes or joins whitespace, and
    no word crosses it."""
    found_stems: list[str] = []
    found_words: list[str] = []
    if text:
        for piece in text.split():
            piece_stems, piece_words = _piece_terms(piece, lang)
            found_stems += piece_stems
            found_words += piece_words
    return found_stems, found_words


@functools.lru_cache(maxsize=262_144)
def _piece_terms(piece: str, lang: str) -> tuple[tuple[str, ...], tuple[str, ...]]:
    kept = tuple(content_words(piece, lang))
    return tuple(stem(w, lang) for w in kept), kept


def query_stems(word: str) -> set[str]:
    """A query word in all three languages: its French, Dutch and English stems."""
    return {stem(word, lang) for lang in LANGS}


def key(word: str) -> str:
    """Language-neutral matching key of a folded word (used to match synonym phrases)."""
    return stem(word, "fr")


# --- Synonyms -----------------------------------------------------------------------------

Phrase = tuple[str, ...]


class Synonyms:
    """Synonym rules from ``seed/synonyms.txt`` (format documented at the top of that file).

    ``expansions`` maps a phrase's key (the ``key()`` of each of its words) to the phrases it
    also finds, as tuples of folded words.

    Inside a phrase of two words or more, a word stands for every one-word synonym of its
    group (a group without "=>"; the first group a word appears in) and the ``NEGATIONS`` are
    one word: "perdu mon travail" also matches "perdu mon boulot", "plus de job" matches
    "pas de travail". A phrase's key is made of these canonical keys.
    """

    def __init__(self, rules: Iterable[tuple[list[Phrase], list[Phrase]]] = ()) -> None:
        rules = list(rules)
        self.expansions: dict[Phrase, set[Phrase]] = {}
        self.vocabulary: set[str] = set()
        self.canonical: dict[str, str] = {key(w): key("pas") for w in NEGATIONS}
        for finders, found in rules:
            singles = [p[0] for p in finders if len(p) == 1]
            if not found and len(singles) >= 2:
                for word in singles:
                    self.canonical.setdefault(key(word), key(singles[0]))
        for finders, found in rules:
            for phrase in finders:
                others = {p for p in [*finders, *found] if self._key(p) != self._key(phrase)}
                self.expansions.setdefault(self._key(phrase), set()).update(others)
            for phrase in [*finders, *found]:
                self.vocabulary.update(phrase)
        self.max_len = max((len(k) for k in self.expansions), default=0)

    def _key(self, phrase: Phrase) -> Phrase:
        if len(phrase) == 1:
            return (key(phrase[0]),)
        return tuple(self.canonical.get(key(w), key(w)) for w in phrase)

    @staticmethod
    def phrase(text: str) -> Phrase:
        return tuple(w for w in words(text) if w not in QUERY_STOP)

    @classmethod
    def parse(cls, text: str) -> Synonyms:
        return cls(cls.rules(text))

    @classmethod
    def rules(cls, text: str) -> list[tuple[list[Phrase], list[Phrase]]]:
        """The rules of one file's text; ValueError naming the first wrong line."""
        rules = []
        for number, line in enumerate(text.splitlines(), start=1):
            line = line.strip()
            if not line or line.startswith("#"):
                continue
            left, arrow, right = line.partition("=>")
            finders = [cls.phrase(t) for t in left.split(",") if cls.phrase(t)]
            found = [cls.phrase(t) for t in right.split(",") if cls.phrase(t)] if arrow else []
            if not finders or (arrow and not found) or (not arrow and len(finders) < 2):
                raise ValueError(f"synonyms line {number}: expected 'a, b, c' or 'a => b'")
            rules.append((finders, found))
        return rules

    @classmethod
    def load(cls, path: Path | None) -> Synonyms:
        """The rules of ``path`` and of its per-language files beside it (``synonyms.txt``,
        then ``synonyms.ar.txt``, ``synonyms.en.txt``…: ``files()``), as one set of rules."""
        rules = []
        for file in cls.files(path):
            try:
                rules += cls.rules(file.read_text(encoding="utf-8"))
            except ValueError as exc:
                raise ValueError(f"{file.name}: {exc}") from None
        return cls(rules)

    @staticmethod
    def files(path: Path | None) -> list[Path]:
        """``path`` and the per-language files beside it (``<name>.<lang>.txt``), existing
        ones only: the French file first, so its groups decide what a word stands for."""
        if path is None:
            return []
        path = Path(path)
        others = sorted(path.parent.glob(f"{path.stem}.*{path.suffix}"))
        return [p for p in [path, *others] if p.is_file()]

    def knows(self, word: str) -> bool:
        """Whether a folded word is a word of the rules, in any of its forms ("البطاله" is
        "بطاله" with the article)."""
        return word in self.vocabulary or key(word) in self.keys

    @functools.cached_property
    def keys(self) -> frozenset[str]:
        return frozenset(key(w) for w in self.vocabulary)

    @functools.cached_property
    def _arabic(self) -> tuple[dict[str, str], Vocabulary]:
        words = {}
        for word in sorted(self.vocabulary, key=lambda w: (len(w), w)):
            if is_arabic(word):
                words.setdefault(key(word), word)  # the shortest word of each stem
        return words, Vocabulary(dict.fromkeys(words, 1))

    def arabic_corrections(self, word: str) -> list[tuple[str, int]]:
        """Arabic words of the rules within the allowed edits of an Arabic word (compared
        without article and endings, so "البتاله" is one edit from "بطالة"), best first."""
        words, vocabulary = self._arabic
        return [(words[k], d) for k, d in vocabulary.corrections(key(word))]

    def match(self, query_words: list[str]) -> list[tuple[int, int, set[Phrase]]]:
        """Greedy longest matches: (start, end, expansions) over a list of folded words."""
        keys = [key(w) for w in query_words]
        canonical = [self.canonical.get(k, k) for k in keys]
        found, i = [], 0
        while i < len(keys):
            for length in range(min(self.max_len, len(keys) - i), 0, -1):
                expansions = self.expansions.get(
                    tuple((keys if length == 1 else canonical)[i:i + length]))
                if expansions is not None:
                    found.append((i, i + length, expansions))
                    i += length
                    break
            else:
                i += 1
        return found


# --- Typos --------------------------------------------------------------------------------

#: A word seen at least this often in pyspellchecker's French, Dutch or English frequency lists
#: is a real word: typo correction leaves it alone ("mari" must not become "mardi").
DICTIONARY_MIN_COUNT = 100
_dictionary: frozenset[str] | None = None
_dictionary_lock = threading.Lock()


def dictionary() -> frozenset[str]:
    """Folded French, Dutch and English words (loaded once per process, ~2 s)."""
    global _dictionary
    with _dictionary_lock:
        if _dictionary is None:
            resources = Path(spellchecker.__file__).parent / "resources"
            known = set()
            for lang in LANGS:
                with gzip.open(resources / f"{lang}.json.gz", "rt", encoding="utf-8") as f:
                    known.update(fold(w) for w, n in json.load(f).items()
                                 if n >= DICTIONARY_MIN_COUNT)
            _dictionary = frozenset(known)
        return _dictionary


def is_word(word: str) -> bool:
    """Whether a folded word is a real French, Dutch or English word."""
    return word in dictionary()



def max_typos(word: str) -> int:
    """Edits allowed for a word: none up to 3 letters, 1 up to 7, then 2; none for a word
    with digits (a form number such as "C4" or "281" is exact or wrong)."""
    if any(c.isdigit() for c in word):
        return 0
    return 0 if len(word) <= 3 else 1 if len(word) <= 7 else 2


class Vocabulary:
    """The folded words of the index, for typo correction and "did you mean"."""

    def __init__(self, frequencies: dict[str, int]) -> None:
        self.frequencies = frequencies
        self._words = list(frequencies)

    def __contains__(self, word: str) -> bool:
        return word in self.frequencies

    def corrections(self, word: str, max_distance: int | None = None,
                    limit: int = 3) -> list[tuple[str, int]]:
        """Closest known words within the allowed edits (transpositions count as one),
        best first: fewer edits, then same first letter, then more frequent."""
        allowed = max_typos(word) if max_distance is None else max_distance
        if allowed <= 0 or not self._words:
            return []
        found = process.extract(word, self._words, scorer=OSA.distance,
                                score_cutoff=allowed, limit=50)
        ranked = sorted(
            ((w, int(d)) for w, d, _ in found if w != word),
            key=lambda item: (item[1], item[0][:1] != word[:1], -self.frequencies[item[0]],
                              item[0]),
        )
        return ranked[:limit]

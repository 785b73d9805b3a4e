"""What the kiosk's voice is given to read: on-screen text rewritten, per language, into the
words a person expects to hear.

espeak-ng reads "0800 12 870" as "huit cents, douze, huit cent soixante-dix", "9 h 30" as
"neuf ache trente" and "CPAS" as "kpa"; these are exactly what a person who cannot read needs
right. Before synthesis (``speech.speak``) each segment is normalised in its own language:

- phone numbers digit by digit, in the groups they are written in ("zéro huit zéro zéro, un
  deux, huit sept zéro"), "+" said "plus";
- hours ("9 h 30", "9:30", "9.30 uur") and dates ("lundi 7 décembre", "7/12/2026") in words;
- acronyms from the editable lexicon ``seed/speech_lexicon.yaml``: spelled or said as a word,
  with the pronunciation that fits the voice of the text (CPAS in a Dutch sentence is said
  with Dutch letter names, in Arabic with Arabic letters, so the word is never handed to an
  English voice); an all-capitals word without a vowel that the lexicon lacks is spelled.

The result is what is synthesised and what the audio cache is keyed on, so a change here or
in the lexicon never serves audio made from the old reading.
"""

from __future__ import annotations

import functools
import re
from pathlib import Path

from . import hours

LEXICON = Path(__file__).resolve().parent.parent / "seed" / "speech_lexicon.yaml"
LANGS = ("fr", "nl", "en", "ar")

_UNITS = {
    "fr": ("zéro un deux trois quatre cinq six sept huit neuf dix onze douze treize quatorze "
           "quinze seize dix-sept dix-huit dix-neuf").split(),
    "nl": ("nul een twee drie vier vijf zes zeven acht negen tien elf twaalf dertien veertien "
           "vijftien zestien zeventien achttien negentien").split(),
    "en": ("zero one two three four five six seven eight nine ten eleven twelve thirteen "
           "fourteen fifteen sixteen seventeen eighteen nineteen").split(),
}
# Arabic compound teens hold a space: listed one by one.
_UNITS["ar"] = ["صفر", "واحد", "اثنان", "ثلاثة", "أربعة", "خمسة", "ستة", "سبعة", "ثمانية",
                "تسعة", "عشرة", "أحد عشر", "اثنا عشر", "ثلاثة عشر", "أربعة عشر", "خمسة عشر",
                "ستة عشر", "سبعة عشر", "ثمانية عشر", "تسعة عشر"]
_TENS = {
    "fr": {20: "vingt", 30: "trente", 40: "quarante", 50: "cinquante"},
    "nl": {20: "twintig", 30: "dertig", 40: "veertig", 50: "vijftig"},
    "en": {20: "twenty", 30: "thirty", 40: "forty", 50: "fifty"},
    "ar": {20: "عشرون", 30: "ثلاثون", 40: "أربعون", 50: "خمسون"},
}
_PLUS = {"fr": "plus", "nl": "plus", "en": "plus", "ar": "زائد"}
#: Between the groups of a phone number: a comma, so the voice pauses where the eye does.
_GROUP_SEPARATOR = {"fr": ", ", "nl": ", ", "en": ", ", "ar": "، "}
_EN_ORDINALS = ("first second third fourth fifth sixth seventh eighth ninth tenth eleventh "
                "twelfth thirteenth fourteenth fifteenth sixteenth seventeenth eighteenth "
                "nineteenth twentieth").split()
#: Arabic hours are said with the feminine ordinal ("الساعة التاسعة").
_AR_HOURS = ("الثانية عشرة", "الواحدة", "الثانية", "الثالثة", "الرابعة", "الخامسة", "السادسة",
             "السابعة", "الثامنة", "التاسعة", "العاشرة", "الحادية عشرة", "الثانية عشرة")


def number(n: int, lang: str) -> str:
    """A whole number from 0 to 99 in words ("vingt et un", "eenentwintig", "twenty-one")."""
    units, tens = _UNITS[lang], _TENS[lang]
    if n < 20:
        return units[n]
    ten, unit = n - n % 10, n % 10
    if ten not in tens:  # 60-99 never occur in hours or days; espeak reads them well itself
        return str(n)
    if unit == 0:
        return tens[ten]
    if lang == "fr":
        return f"{tens[ten]} et un" if unit == 1 else f"{tens[ten]}-{units[unit]}"
    if lang == "nl":
        # een-en-twintig; twee and drie take a diaeresis: tweeëntwintig, drieëntwintig
        joiner = "ën" if units[unit].endswith("e") else "en"
        return f"{units[unit]}{joiner}{tens[ten]}"
    if lang == "en":
        return f"{tens[ten]}-{units[unit]}"
    return f"{units[unit]} و{tens[ten]}"


# --- Phone numbers ---------------------------------------------------------------------------

# A run of digit groups separated by one space, dot or slash, maybe after "+": kept only if it
# starts like a Belgian or international number (0…, +…, 00…) and has at least 8 digits, so a
# postcode, a year or "12 places" stay numbers.
_PHONE = re.compile(r"(?<![\w+])(\+?)(\d+(?:[ ./](?=\d)\d+)*)(?![\w])")


def _groups(digits: str) -> list[str]:
    """A number written without spaces cut like a Belgian one: pairs from the end."""
    if len(digits) <= 4:
        return [digits]
    groups = []
    while len(digits) > 4:
        groups.insert(0, digits[-2:])
        digits = digits[:-2]
    return [digits, *groups]


def _phone(match: re.Match, lang: str) -> str:
    plus, body = match.group(1), match.group(2)
    groups = re.split(r"[ ./]", body)
    count = sum(len(g) for g in groups)
    if count < 8 or not (plus or body.startswith("0")):
        return match.group(0)
    if len(groups) == 1:
        groups = _groups(groups[0])
    units = _UNITS[lang]
    said = [" ".join(units[int(d)] for d in group) for group in groups]
    text = _GROUP_SEPARATOR[lang].join(said)
    return f"{_PLUS[lang]} {text}" if plus else text


# --- Hours --------------------------------------------------------------------------------------


def _hour(h: int, m: int, lang: str, *, short: bool = False) -> str:
    """An hour in words: "neuf heures trente", "negen uur dertig", "nine thirty", "الساعة التاسعة"."""
    minutes = number(m, lang) if m else ""
    if lang == "fr":
        if h in (0, 24) and not m:
            return "minuit"
        hour = "une" if h == 1 else "vingt et une" if h == 21 else number(h, lang)
        word = "heure" if h in (0, 1) else "heures"
        return f"{hour} {word} {minutes}".strip()
    if lang == "nl":
        return f"{number(h, lang)} uur {minutes}".strip()
    if lang == "en":
        if not m:
            return f"{number(h, lang)} o'clock"
        return f"{number(h, lang)} {'oh ' if m < 10 else ''}{minutes}"
    # Arabic: the ordinal hour, then the minutes, then the part of the day past noon.
    said = "الساعة " + _AR_HOURS[h % 12] if h % 24 else "منتصف الليل"
    if m:
        said += f" و{minutes} دقيقة"
    if 12 <= h < 18:
        said += " بعد الظهر"
    elif 18 <= h < 24:
        said += " مساءً"
    return said


_AROUND = r"(?<![\w:.,/])"  # not the end of a longer number or word
_HOUR_FR = re.compile(_AROUND + r"(\d{1,2}) ?[hH](?: ?(\d{2}))?(?!\w)")
_HOUR_COLON = re.compile(_AROUND + r"(\d{1,2}):(\d{2})(?![\d:])")
_HOUR_NL = re.compile(_AROUND + r"(\d{1,2})(?:[.:](\d{2}))? ?(?:uur|u)(?!\w)")
_ALWAYS_FR = re.compile(r"(?<!\w)24 ?h ?/ ?24|(?<!\w)7 ?j ?/ ?7(?!\d)")


def _hours(text: str, lang: str) -> str:
    def said(match: re.Match) -> str:
        h, m = int(match.group(1)), int(match.group(2) or 0)
        if h > 24 or m > 59:
            return match.group(0)
        return _hour(h, m, lang)

    if lang == "fr":
        text = _ALWAYS_FR.sub(lambda m: "vingt-quatre heures sur vingt-quatre"
                              if m.group(0).startswith("24") else "sept jours sur sept", text)
    if lang == "nl":
        text = _HOUR_NL.sub(said, text)
    text = _HOUR_FR.sub(said, text)
    text = _HOUR_COLON.sub(said, text)
    # "الساعة 9:30" already says "the hour" before the number.
    return text.replace("الساعة الساعة", "الساعة") if lang == "ar" else text


# --- Dates --------------------------------------------------------------------------------------


def _day(n: int, lang: str) -> str:
    if lang == "fr" and n == 1:
        return "premier"
    if lang == "en":
        ordinal = _EN_ORDINALS[n - 1] if n <= 20 else (
            number(n - n % 10, lang) + "-" + _EN_ORDINALS[n % 10 - 1] if n % 10 else "thirtieth")
        return f"the {ordinal} of"
    return number(n, lang)


@functools.cache
def _date_patterns(lang: str) -> tuple[re.Pattern, re.Pattern, tuple[str, ...]]:
    months = hours.WORDS[lang]["months"]
    names = "|".join(re.escape(m) for m in sorted(months, key=len, reverse=True))
    written = re.compile(_AROUND + rf"(\d{{1,2}})(?:er)? ({names})(?!\w)", re.IGNORECASE)
    numeric = re.compile(_AROUND + r"(\d{1,2})[/.](\d{1,2})[/.](\d{4})(?![\d/.]\d)")
    return written, numeric, months


def _dates(text: str, lang: str) -> str:
    written, numeric, months = _date_patterns(lang)

    def said_written(match: re.Match) -> str:
        day = int(match.group(1))
        if not 1 <= day <= 31:
            return match.group(0)
        return f"{_day(day, lang)} {match.group(2)}"

    def said_numeric(match: re.Match) -> str:
        day, month = int(match.group(1)), int(match.group(2))
        if not (1 <= day <= 31 and 1 <= month <= 12):
            return match.group(0)
        return f"{_day(day, lang)} {months[month - 1]} {match.group(3)}"

    return written.sub(said_written, numeric.sub(said_numeric, text))


# --- Acronyms -----------------------------------------------------------------------------------

_LETTERS = {
    "fr": "a bé cé dé e èf gé ache i ji ka èl èm ène o pé ku èr èss té u vé double-vé iks "
          "i-grec zèd",
    "nl": "aa bee cee dee ee ef gee haa ie jee kaa el em en oo pee kuu er es tee uu vee wee "
          "iks ei zet",
    "en": "ay bee see dee ee eff gee aitch eye jay kay ell em en oh pee cue ar ess tee you vee "
          "double-you ex why zed",
    "ar": "آ بي سي دي إ إف جي آش إي جي كا إل إم إن أو بي كو إر إس تي يو في دبليو إكس إي زد",
}
_LETTER_NAMES = {lang: dict(zip("ABCDEFGHIJKLMNOPQRSTUVWXYZ", names.split(), strict=True))
                 for lang, names in _LETTERS.items()}
_CAPITALS = re.compile(r"(?<![\w-])[A-Z][A-Z0-9]{1,5}(?![\w-])")


@functools.cache
def _load_lexicon(path: str, mtime: float) -> dict[str, dict[str, str]]:
    import yaml

    data = yaml.safe_load(Path(path).read_text(encoding="utf-8")) or {}
    lexicon: dict[str, dict[str, str]] = {lang: {} for lang in LANGS}
    for word, said in data.items():
        if isinstance(said, str):
            said = {lang: said for lang in LANGS}
        for lang, text in (said or {}).items():
            if lang in lexicon and text:
                lexicon[lang][str(word)] = " ".join(str(text).split())
    return lexicon


def lexicon(path: Path = LEXICON) -> dict[str, dict[str, str]]:
    """The acronym lexicon, per language: ``{"fr": {"CPAS": "cé pé a èss", …}, …}``. Read
    again when the file changes, so an edit is heard without a restart."""
    try:
        mtime = path.stat().st_mtime
    except OSError:
        return {lang: {} for lang in LANGS}
    return _load_lexicon(str(path), mtime)


def spell(word: str, lang: str) -> str:
    """An acronym letter by letter with the voice's own letter names (digits as numbers)."""
    names = _LETTER_NAMES[lang]
    return " ".join(names.get(c) or number(int(c), lang) for c in word if c.isalnum())


def _acronyms(text: str, lang: str, words: dict[str, str]) -> str:
    def said(match: re.Match) -> str:
        word = match.group(0)
        if word in words:
            return words[word]
        if not re.search(r"[AEIOUY]", word) and not word.isdigit():
            return spell(word, lang)
        return word

    return _CAPITALS.sub(said, text)


_ARABIC_DIGITS = str.maketrans("٠١٢٣٤٥٦٧٨٩۰۱۲۳۴۵۶۷۸۹", "0123456789" * 2)


def normalise(text: str, lang: str, *, lexicon_path: Path = LEXICON) -> str:
    """``text`` as the voice of ``lang`` should read it: phone numbers, hours, dates and
    acronyms in words (see the module's docstring). Other text is left as it is."""
    if lang not in LANGS:
        return text
    text = " ".join(text.translate(_ARABIC_DIGITS).split())
    text = _PHONE.sub(lambda m: _phone(m, lang), text)
    text = _hours(text, lang)
    text = _dates(text, lang)
    return _acronyms(text, lang, lexicon(lexicon_path)[lang])

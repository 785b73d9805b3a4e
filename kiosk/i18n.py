"""Languages of the public pages: gettext catalogues (Babel) wired into Jinja.

Source strings are the French interface itself (French is the default and the reference for
the easy-to-read rules); ``kiosk/locale/<lang>/LC_MESSAGES/messages.po`` hold Nederlands,
English and العربية. The compiled ``.mo`` files are committed, so a fresh clone runs without a
build step; ``make messages`` re-extracts, updates and compiles them, and a test checks that
the committed ``.mo`` files match their ``.po``.

Templates call ``_("Texte")`` or ``_("Bonjour %(name)s", name=…)``; the language comes from
the template context (``lang``), so one Jinja environment serves every language at once.
"""

from __future__ import annotations

import functools
import re
from pathlib import Path

from babel import Locale
from babel.lists import format_list as babel_format_list
from babel.support import NullTranslations, Translations
from jinja2 import Environment, pass_context
from markupsafe import Markup, escape

from orientation import accounts, fields, hours
from orientation import slip as slips
from orientation.models import TaxonomyTerm

from . import labels

LOCALE_DIR = Path(__file__).parent / "locale"
DEFAULT = "fr"
#: Each language written in its own name, in the order shown on screen (no flags).
LANGUAGES = {"fr": "Français", "nl": "Nederlands", "en": "English", "ar": "العربية"}
RTL = frozenset({"ar"})
#: The staff console and the desk: French and Dutch (Brussels' two official languages), English
#: and Arabic (right to left, like the kiosk).
STAFF_LANGUAGES = accounts.LANGUAGES
PICTOGRAMS = Path(__file__).parent / "static" / "pictograms"


@functools.cache
def translations(lang: str) -> NullTranslations:
    if lang == DEFAULT:
        return NullTranslations()
    return Translations.load(LOCALE_DIR, [lang], domain="messages")


def gettext(lang: str, message: str, **variables) -> str:
    text = translations(lang).gettext(message)
    return text % variables if variables else text


def ngettext(lang: str, singular: str, plural: str, n: int, **variables) -> str:
    text = translations(lang).ngettext(singular, plural, n)
    return text % {"n": n, **variables}


def format_list(items, lang: str) -> str:
    """Items joined the way ``lang`` writes a list (CLDR, through Babel): "a, b et c",
    "a, b en c", "أ وب". An Arabic list of three or more takes the Arabic comma, "أ، وب، وج"
    (CLDR's "unit-short" pattern: Babel 2.19 has no two-item form for it, so two items keep
    the standard "أ وب").
    """
    items = [str(item) for item in items if item]
    if len(items) < 3 or lang != "ar":
        return babel_format_list(items, locale=lang) if items else ""
    return babel_format_list(items, style="unit-short", locale=lang)


def negotiate(accept_language: str | None, allowed=STAFF_LANGUAGES) -> str | None:
    """The first of ``allowed`` the browser asks for (``Accept-Language``, by its q-values),
    or None: "nl-BE,nl;q=0.9,fr;q=0.8" -> "nl"."""
    wanted = []
    for position, part in enumerate((accept_language or "").split(",")):
        tag, _, params = part.strip().partition(";")
        quality = 1.0
        if params.strip().startswith("q="):
            try:
                quality = float(params.strip()[2:])
            except ValueError:
                continue
        if tag and quality > 0:
            wanted.append((-quality, position, tag.split("-")[0].lower()))
    for _, _, code in sorted(wanted):
        if code in allowed:
            return code
    return None


def label(code: str | None, kind: str, lang: str) -> str:
    """A code's words (``labels.LABELS``) in ``lang``; an unknown code is shown as it is."""
    words = labels.LABELS.get(kind, {}).get(code or "")
    return gettext(lang, words) if words else (code or "")


def direction(lang: str) -> str:
    return "rtl" if lang in RTL else "ltr"


@functools.cache
def language_name(code: str, lang: str) -> str:
    """The name of language ``code`` written in ``lang`` ("nl" in French: "néerlandais")."""
    try:
        return Locale.parse(lang).languages.get(code) or code
    except ValueError:
        return code


@functools.cache
def _pictogram_svg(name: str) -> str:
    path = PICTOGRAMS / f"{name}.svg"
    if not path.is_file():
        path = PICTOGRAMS / "aide.svg"
    return path.read_text(encoding="utf-8")


#: Pictograms that point somewhere, mirrored in right-to-left languages (and only these).
DIRECTIONAL = frozenset({"precedent", "suivant", "continuer"})


def pictogram(name: str | None, css: str = "picto") -> Markup:
    """An inline pictogram (decorative: the text next to it says the same)."""
    svg = _pictogram_svg(name or "aide")
    if name in DIRECTIONAL:
        css += " dir"
    return Markup(svg.replace("<svg ", f'<svg class="{escape(css)}" aria-hidden="true" '
                                      'focusable="false" ', 1))


def term_label(term: TaxonomyTerm, lang: str) -> str:
    """A need's name: the taxonomy's own translation, else the catalogue's, else French."""
    return term.labels.get(lang) or gettext(lang, term.labels["fr"])


def term_description(term: TaxonomyTerm, lang: str) -> str | None:
    french = term.descriptions.get("fr")
    return term.descriptions.get(lang) or (gettext(lang, french) if french else None)


#: A run of digits with what joins them in a phone number, an hour or a range ("+32 2 519 84 41",
#: "9:30", "9:00–12:00"): kept left-to-right inside right-to-left text.
_NUMBER_RUN = re.compile(r"\+?\d[\d :.\-–/]*\d|\d")


def ltr_numbers(lang: str, text: str | None) -> Markup:
    """``text`` escaped, its numbers isolated left-to-right (``<bdi dir="ltr">``) when the page
    is right-to-left, so "من 9:00 إلى 12:00" never reads "00:9"."""
    if text is None:
        return Markup("")
    if lang not in RTL:
        return escape(text)
    parts, pos = [], 0
    for match in _NUMBER_RUN.finditer(str(text)):
        number = match.group(0).rstrip(" ")
        parts += [escape(text[pos:match.start()]),
                  Markup('<bdi dir="ltr">%s</bdi>') % number]
        pos = match.start() + len(number)
    parts.append(escape(text[pos:]))
    return Markup("").join(parts)


def _problem(detail: str, lang: str) -> str:
    return labels.problem(detail, lambda message, **values: gettext(lang, message, **values))


def install(env: Environment) -> None:
    """Give a Jinja environment the language-aware helpers the templates use: ``_``, ``_n``
    (plural forms from CLDR through the catalogue's Plural-Forms), term labels, hours and
    dates in words, language names, lists (``format_list``), and ``pictogram``.

    Each helper reads ``lang`` from the template context."""

    def with_lang(function):
        @pass_context
        def wrapped(context, *args, **kwargs):
            return function(context.get("lang", DEFAULT), *args, **kwargs)
        return wrapped

    env.globals.update(
        _=with_lang(gettext),
        _n=with_lang(lambda lang, *a, **kw: ngettext(lang, *a, **kw)),
        term_label=with_lang(lambda lang, term: term_label(term, lang)),
        term_description=with_lang(lambda lang, term: term_description(term, lang)),
        describe=with_lang(lambda lang, rows: hours.describe(rows, lang)),
        describe_when=with_lang(lambda lang, rows: hours.describe_when(rows, hours.now(), lang)),
        format_date=with_lang(lambda lang, day: hours.format_date(day, lang)),
        format_time=with_lang(lambda lang, at: hours.format_time(
            at.astimezone(hours.TZ).time(), lang)),
        pictogram=pictogram, LANGUAGES=LANGUAGES, staff_languages=STAFF_LANGUAGES,
    )
    env.filters["term_label"] = with_lang(lambda lang, term: term_label(term, lang))
    env.filters["language_label"] = with_lang(lambda lang, code: language_name(code, lang))
    # Every list shown to a person: "a, b et c", in Arabic "أ، وب، وج" (never a Latin comma).
    env.filters["format_list"] = with_lang(lambda lang, items: format_list(items, lang))
    # code|label("audience"): a code in words, never shown raw; detail|problem: a refusal
    # from the core (English) in the reader's words.
    env.filters["label"] = with_lang(lambda lang, code, kind: label(code, kind, lang))
    env.filters["problem"] = with_lang(lambda lang, detail: _problem(detail, lang))
    # codes|map("lookup", labels): each code's label (the code itself only if none is known).
    env.filters["lookup"] = lambda code, table: table.get(code, code)
    env.filters["tidy"] = slips.tidy
    env.filters["ltr_numbers"] = with_lang(ltr_numbers)
    # Escape by scheme at render time too: a link is only made of an http(s) address or an
    # e-mail address, so a bad value already stored shows as text, never runs as a script.
    env.filters["web_url"] = fields.web_url
    env.tests["email"] = fields.is_email


def extract_taxonomy(fileobj, keywords, comment_tags, options):
    """Babel extractor for ``seed/taxonomy.yaml``: the French names and descriptions of the
    needs become catalogue entries, so languages the taxonomy lacks (Arabic) get them."""
    import yaml

    data = yaml.safe_load(fileobj.read().decode("utf-8")) or {}

    def walk(terms):
        for term in terms or ():
            yield term.get("labels", {}).get("fr")
            yield (term.get("description") or {}).get("fr")
            yield from walk(term.get("children"))

    for text in walk(data.get("terms")):
        if text:
            yield 0, "_", text, ["taxonomy"]

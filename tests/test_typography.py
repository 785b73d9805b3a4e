"""Arabic typography and plural forms: lists joined the way each language writes them (the
Arabic comma "،", never a Latin one), and counted nouns in CLDR's plural forms through gettext's
``ngettext`` (Arabic has six), on the kiosk's pages and its idle countdown."""

from __future__ import annotations

import html as htmllib
import re

import pytest
from babel.messages.plurals import get_plural
from babel.messages.pofile import read_po

from kiosk import i18n
from orientation import hours, store
from orientation.settings import DEFAULTS


def test_arabic_catalogue_has_cldr_six_plural_forms():
    po = read_po((i18n.LOCALE_DIR / "ar" / "LC_MESSAGES" / "messages.po").open("rb"),
                 locale="ar")
    assert po.plural_forms == get_plural("ar").plural_forms
    assert po.num_plurals == 6


@pytest.mark.parametrize(("n", "expected"), [
    (0, "0 ثانية"), (1, "ثانية واحدة"), (2, "ثانيتان"), (3, "3 ثوانٍ"), (10, "10 ثوانٍ"),
    (11, "11 ثانية"), (30, "30 ثانية"), (99, "99 ثانية"), (100, "100 ثانية"), (103, "103 ثوانٍ"),
])
def test_arabic_seconds_take_the_cldr_plural(n, expected):
    assert i18n.ngettext("ar", "%(n)s seconde", "%(n)s secondes", n) == expected


@pytest.mark.parametrize(("lang", "items", "expected"), [
    ("fr", ["français", "néerlandais", "anglais"], "français, néerlandais et anglais"),
    ("nl", ["Frans", "Nederlands", "Engels"], "Frans, Nederlands en Engels"),
    ("en", ["French", "Dutch"], "French and Dutch"),
    ("ar", ["الفرنسية", "الهولندية", "الإنجليزية"], "الفرنسية، والهولندية، والإنجليزية"),
    ("ar", ["الفرنسية", "الهولندية"], "الفرنسية والهولندية"),
    ("ar", ["CPAS"], "CPAS"),
])
def test_lists_are_joined_the_way_each_language_writes_them(lang, items, expected):
    assert i18n.format_list(items, lang) == expected


def test_arabic_opening_days_use_the_arabic_comma():
    assert hours._days_phrase([0, 2, 4], "ar") == "الاثنين، الأربعاء والجمعة"
    assert hours._days_phrase([0, 2, 4], "fr") == "Lundi, mercredi et vendredi"


def test_arabic_opening_hours_use_the_arabic_comma_and_attached_and():
    from orientation.models import Schedule
    rows = [Schedule(byday="MO,TU,WE,TH,FR", opens_at="08:30", closes_at="12:00",
                     attending_type="walk_in"),
            Schedule(byday="MO,TU,WE,TH,FR", opens_at="13:00", closes_at="15:00",
                     attending_type="walk_in")]
    [arabic] = hours.describe(rows, "ar")
    assert "," not in arabic and arabic.count("،") == 2, arabic
    assert " ومن 13:00" in arabic, arabic  # "and" written on the next word
    assert hours.describe(rows, "fr") == [
        "Du lundi au vendredi, de 8 h 30 à 12 h et de 13 h à 15 h, sans rendez-vous."]


def _text(html: str) -> str:
    return htmllib.unescape(re.sub(r"<[^>]+>", " ", html))


def test_arabic_service_page_lists_languages_with_the_arabic_comma(client, db):
    service = next(s for s in store.iter_services(db, status="active")
                   if len(s.languages) >= 3)
    page = client.get(f"/service/{service.id}", params={"lang": "ar"}).text
    section = page[page.index('id="lang-title"'):]
    section = _text(section[:section.index("</section>")])
    names = [i18n.language_name(code, "ar") for code in service.languages]
    assert i18n.format_list(names, "ar") in section
    assert "،" in section and "," not in section


def test_arabic_countdown_carries_every_plural_form(client):
    page = client.get("/", params={"lang": "ar"}).text
    warning = DEFAULTS["idle_warning_seconds"]
    counts = dict(re.findall(r'data-key="count_(\d+)">([^<]*)<', page))
    assert len(counts) == warning + 1
    assert counts["1"] == "ثانية واحدة" and counts["2"] == "ثانيتان"
    assert counts["3"] == "3 ثوانٍ" and counts["11"] == "11 ثانية"
    assert re.search(r'id="idle-count">' + re.escape(counts[str(warning)]) + "<", page)
    spoken = dict(re.findall(r'data-key="seconds_left_(\d+)">([^<]*)<', page))
    assert spoken["10"] == "العودة إلى البداية بعد 10 ثوانٍ."
    assert "secondes" not in page


def test_french_countdown_is_singular_for_one(client):
    page = client.get("/", params={"lang": "fr"}).text
    assert 'data-key="count_1">1 seconde<' in page
    assert 'data-key="count_2">2 secondes<' in page

"""Search in the kiosk's languages (issue #11): Arabic folding and stems, the per-language
synonyms files, "no known word" answering nothing (core, API and kiosk), and the on-screen
keyboards in a real Chromium. Relevance per language is in tests/relevance.yaml (the `lang`
key), checked by tests/test_search.py and printed by `python -m bench.relevance`."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest
import yaml
from conftest import local_settings
from litestar.testing import TestClient

from api.app import create_app
from bench.search import relevance
from orientation import store
from orientation.models import slug_id
from orientation.search import DEFAULT_SYNONYMS, Filters, SearchIndex, analysis, scoring
from orientation.search.analysis import Synonyms
from orientation.settings import DEFAULTS
from orientation.text import fold, words

UNEMPLOYMENT = {slug_id("pathway", s) for s in (
    "chomage-capac-brabant-wallon", "chomage-erreur-syndicat-bruxelles",
    "chomage-erreur-capac-bruxelles", "chomage-erreur-syndicat-brabant-wallon")}


@pytest.fixture(scope="module")
def seeded(seeded_template, seeded_index, tmp_path_factory):
    """One read-only database and index (a copy of the prebuilt one) for search-only tests."""
    folder = tmp_path_factory.mktemp("languages")
    shutil.copy(seeded_template, folder / "ro.db")
    shutil.copytree(seeded_index, folder / "index")
    db = store.connect(folder / "ro.db")
    index = SearchIndex.open(folder / "index", db)
    yield db, index
    index.close()
    db.close()


def ids(results) -> list[str]:
    return [hit.id for hit in results.hits]


# --- Arabic folding and stems -------------------------------------------------------------


@pytest.mark.parametrize("typed, folded", [
    ("أوراق", "اوراق"), ("إيجار", "ايجار"), ("آخر", "اخر"), ("ٱلعمل", "العمل"),  # alef forms
    ("مسؤول", "مسوول"), ("رئيس", "رييس"), ("مستشفى", "مستشفي"),  # ؤ ئ ى
    ("بطالة", "بطاله"),  # taa marbuta
    ("البَطَالَةُ", "البطاله"), ("عــمــل", "عمل"),  # tashkeel, tatweel
    ("١٧١٨", "1718"), ("۰۴", "04"),  # Arabic-Indic and Eastern digits
    ("ﻻ", "لا"),  # a presentation form (old keyboards)
    ("Chômage, l’ONEM", "chomage, l'onem"),  # Latin folding unchanged
])
def test_arabic_is_folded_like_arabic_search_engines_do(typed, folded):
    assert fold(typed) == folded


def test_arabic_punctuation_separates_words():
    assert words("سكن، عمل؛ طعام؟") == ["سكن", "عمل", "طعام"]
    assert words("CPAS مساعدة") == ["cpas", "مساعده"]


@pytest.mark.parametrize("forms", [
    ("بطالة", "البطالة", "والبطالة", "بالبطالة"),  # article, "and", "with the"
    ("مدرسة", "مدرستي", "المدرسة"),  # "my school": the taa comes back before a possessive
    ("عمل", "عملي", "العمل"),
    ("طرد", "طردني"),  # "evicted me"
])
def test_arabic_forms_share_a_stem(forms):
    assert len({analysis.stem(fold(form)) for form in forms}) == 1, forms


# --- Synonyms files -----------------------------------------------------------------------


def test_per_language_files_are_read_with_the_french_one():
    files = Synonyms.files(DEFAULT_SYNONYMS)
    assert files[0] == DEFAULT_SYNONYMS
    assert {f.name for f in files[1:]} >= {"synonyms.ar.txt", "synonyms.nl.txt",
                                          "synonyms.en.txt"}
    rules = Synonyms.load(DEFAULT_SYNONYMS)
    assert ("chomage",) in rules.expansions[(analysis.key("بطاله"),)]


def test_every_rule_reaches_words_of_the_directory(seeded):
    """A rule whose French side the directory never uses does nothing: a typo there would
    leave the Arabic, Dutch or English word finding nothing."""
    db, index = seeded
    with index.snapshot(db) as snap:
        def indexed(phrase) -> bool:
            return all(any(snap.doc_frequency(field, s) for field in scoring.FIELDS
                           for s in analysis.query_stems(word)) for word in phrase)

        for file in Synonyms.files(DEFAULT_SYNONYMS)[1:]:
            for finders, found in Synonyms.rules(file.read_text(encoding="utf-8")):
                targets = found or finders
                assert any(indexed(p) for p in targets), (file.name, finders[0], targets)


def test_a_language_file_is_reloaded_and_a_broken_one_names_itself(db, index_dir, tmp_path):
    synonyms = tmp_path / "synonyms.txt"
    shutil.copy(DEFAULT_SYNONYMS, synonyms)
    arabic = tmp_path / "synonyms.ar.txt"
    arabic.write_text("بطالة => chômage\n", encoding="utf-8")
    index = SearchIndex.open(index_dir, db, synonyms_path=synonyms)
    index.synonyms_check_seconds = 0
    assert index.search(db, "بطالة").total > 0
    assert index.search(db, "زلزال").total == 0  # not a rule yet
    arabic.write_text("بطالة => chômage\nزلزال => urgence\n", encoding="utf-8")
    stat = arabic.stat()
    os.utime(arabic, (stat.st_atime, stat.st_mtime + 5))
    assert index.search(db, "زلزال").total > 0  # the language file is reloaded too
    arabic.write_text("زلزال\n", encoding="utf-8")
    os.utime(arabic, (stat.st_atime, stat.st_mtime + 10))
    with pytest.raises(ValueError, match="synonyms.ar.txt: synonyms line 1"):
        Synonyms.load(synonyms)
    assert index.search(db, "زلزال").total > 0  # the rules already loaded are kept
    index.close()


# --- Searching in Arabic ------------------------------------------------------------------


def test_arabic_spellings_find_the_same(seeded):
    db, index = seeded
    found = [ids(index.search(db, q, pathways_first=True, limit=20))
             for q in ("بطالة", "البطالة", "البَطَالَة", "بطاله", "والبطالة")]
    assert found[0] and all(f == found[0] for f in found)
    assert found[0][0] in UNEMPLOYMENT


def test_arabic_phrases_generalise_and_typos_are_corrected(seeded):
    db, index = seeded
    lost = ids(index.search(db, "فقدت عملي", near="Ixelles", pathways_first=True, limit=5))
    assert lost == ids(index.search(db, "فقدت وظيفتي", near="Ixelles", pathways_first=True,
                                    limit=5))
    assert slug_id("pathway", "perte-emploi-bruxelles") in lost
    typo = index.search(db, "البتالة", pathways_first=True)
    assert typo.corrected == "بطاله" and typo.hits[0].id in UNEMPLOYMENT


def test_arabic_indic_digits_find_a_number(seeded):
    db, index = seeded
    assert slug_id("service", "spw-wallonie-1718-ligne") in ids(index.search(db, "١٧١٨"))


# --- No known word: nothing, never the whole directory ------------------------------------


@pytest.mark.parametrize("query", ["سيبسيب", "xyzzyq", "aide", "pas", "???", "ℵ∂"])
def test_a_query_with_no_known_word_finds_nothing(seeded, query):
    db, index = seeded
    results = index.search(db, query, facets=True)
    assert results.total == 0 and results.hits == [] and not results.understood
    assert all(not counts for name, counts in results.facets.items()
               if name in ("needs", "communes", "kind"))
    # Filters do not turn it into browsing either.
    filtered = index.search(db, query, filters=Filters(needs=["chomage"]))
    assert filtered.total == 0 and not filtered.understood


def test_an_empty_query_still_browses_by_filters(seeded):
    db, index = seeded
    everything = index.search(db, "")
    assert everything.understood and everything.total == index.doc_count()
    tile = index.search(db, "   ", filters=Filters(needs=["chomage"]))
    assert tile.understood and 0 < tile.total < everything.total
    assert UNEMPLOYMENT <= {h.id for h in index.search(
        db, "", filters=Filters(needs=["chomage"]), limit=100).hits}


def test_one_known_word_is_enough(seeded):
    db, index = seeded
    results = index.search(db, "بطالة سيبسيب")
    assert results.total > 0 and results.understood and results.relaxed


@pytest.fixture
def web(db_path, index_dir, tmp_path):
    settings = local_settings(tmp_path) | {"rate_limit": 0}
    with TestClient(create_app(db_path, index_dir, settings=settings)) as client:
        yield client


def test_the_apis_answer_an_empty_page_for_no_known_word(web):
    hsds = web.get("/hsds/services", params={"search": "سيبسيب"})
    assert hsds.status_code == 200 and hsds.json()["contents"] == []
    assert hsds.json()["total_items"] == 0
    found = web.get("/hsds/services", params={"search": "بطالة"}).json()
    assert found["total_items"] > 0
    assert any("chômage" in s["name"].lower() for s in found["contents"][:3])
    api = web.get("/api/v1/services", params={"q": "xyzzyq"})
    assert api.status_code == 200 and api.json()["total"] == 0 and api.json()["items"] == []


@pytest.mark.parametrize("lang, heading, message", [
    ("fr", "Pas de résultat.", "Nous ne comprenons pas ce que vous avez écrit."),
    ("ar", "لا توجد نتيجة.", "لم نفهم ما كتبته."),
])
def test_kiosk_says_it_did_not_understand_and_shows_the_needs(web, lang, heading, message):
    web.get(f"/lang/{lang}", follow_redirects=False)
    page = web.get("/search", params={"q": "سيبسيب"}).text
    assert heading in page and message in page
    assert page.count('class="chip"') >= 8  # the top needs, to touch instead
    # A word it knows: results, and no such message.
    found = web.get("/search", params={"q": "بطالة"}).text
    assert message not in found and 'class="card' in found


# --- The on-screen keyboards in Chromium --------------------------------------------------

PX_PER_MM = float(DEFAULTS["kiosk_px_per_mm"])


@pytest.fixture
def kiosk(browser, live_server):
    context = browser.new_context(viewport={"width": 1080, "height": 1920}, has_touch=True,
                                  locale="fr-BE", base_url=live_server.url)
    yield context.new_page()
    context.close()


def _visible_keys(page) -> list[dict]:
    return page.evaluate("""() => [...document.querySelectorAll('#keyboard .key')]
        .filter((k) => k.offsetParent !== null)
        .map((k) => { const r = k.getBoundingClientRect();
                      return {text: k.textContent.trim(), w: r.width, h: r.height, x: r.x}; })""")


def _type(page, text: str) -> None:
    for char in text:
        page.locator(f'#keyboard .key[data-key="{char}"]:visible').click()


@pytest.mark.browser
def test_arabic_keyboard_types_a_search_and_no_result_shows_the_needs(kiosk, screenshots):
    page = kiosk
    page.goto("/lang/ar?next=/search")
    arabic, latin = page.locator('[data-layout="arabic"]'), page.locator('[data-layout="latin"]')
    assert arabic.is_visible() and latin.is_hidden()
    keys = _visible_keys(page)
    assert [k["text"] for k in keys[:10]] == list("1234567890")  # a row of digits
    assert all(k["w"] >= 20 * PX_PER_MM - 0.5 and k["h"] >= 20 * PX_PER_MM - 0.5
               for k in keys), keys
    # Right to left: the first letter of the alphabet is the rightmost key of its row.
    alef, ba = (page.locator(f'.key[data-key="{c}"]').bounding_box() for c in "اب")
    assert alef["x"] > ba["x"]
    _type(page, "بطالة")
    assert page.locator("#q").input_value() == "بطالة"
    assert page.locator("#q").evaluate("(el) => getComputedStyle(el).direction") == "rtl"
    page.screenshot(path=screenshots / "keyboard-arabic-typed.png")
    page.locator(".key.go").click()
    page.wait_for_url("**/search?q=*")
    titles = page.locator("#results .card-title").all_inner_texts()
    # The pathways now carry their Arabic titles (seed/translations/ar): "unemployment".
    assert titles and "البطالة" in " ".join(titles[:3]), titles[:3]
    page.screenshot(path=screenshots / "keyboard-arabic-results.png", full_page=True)

    # Nonsense: "no result", in plain words, with the needs to touch instead.
    page.goto("/search")
    _type(page, "ثثثث")
    page.locator(".key.go").click()
    page.wait_for_url("**/search?q=*")
    assert page.get_by_role("heading", name="لا توجد نتيجة.").is_visible()
    assert page.get_by_text("لم نفهم ما كتبته.").is_visible()
    assert page.locator("#results a.chip").count() >= 8
    assert page.locator("#results a.card").count() == 0
    page.screenshot(path=screenshots / "keyboard-arabic-no-result.png", full_page=True)


@pytest.mark.browser
def test_one_key_switches_between_latin_and_arabic_letters(kiosk, screenshots):
    page = kiosk
    page.goto("/search")
    assert page.locator('[data-layout="latin"]').is_visible()
    assert page.locator('[data-layout="arabic"]').is_hidden()
    _type(page, "1718")  # digits on the French keyboard too
    page.locator('.key[data-switch="arabic"]').click()
    assert page.locator('[data-layout="arabic"]').is_visible()
    assert page.locator('[data-layout="latin"]').is_hidden()
    _type(page, " ب")
    page.locator('.key[data-switch="latin"]').click()
    _type(page, "a")
    assert page.locator("#q").input_value() == "1718 بa"
    keys = _visible_keys(page)
    assert all(k["w"] >= 20 * PX_PER_MM - 0.5 for k in keys), keys
    page.screenshot(path=screenshots / "keyboard-latin.png")
    # The choice lasts for this language in the session: back on the search page, the
    # person's layout is still there.
    page.locator('.key[data-switch="arabic"]').click()
    page.goto("/search")
    assert page.locator('[data-layout="arabic"]').is_visible()


def test_relevance_holds_in_every_language(seeded):
    """tests/test_search.py holds the floor over the whole set; each language holds it too,
    so that one language cannot sink unnoticed under the French queries' weight."""
    db, index = seeded
    cases = yaml.safe_load((Path(__file__).parent / "relevance.yaml").read_text(encoding="utf-8"))
    for lang in ("ar", "nl", "en"):
        group = [c for c in cases if c.get("lang") == lang]
        assert len(group) >= 15, lang
        report = relevance(index, db, group)
        assert report.precision_at_3 >= 0.9, (lang, report.misses)

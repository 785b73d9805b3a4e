"""No French left on the kiosk in Dutch, English and Arabic: a crawl in real Chromium.

For each language the kiosk is driven as a person would (the language button, a need tile, a
pathway card, "Recevoir un papier"), then every active pathway's page, its slip preview and the
page of each service its steps send to are read, with the same pages in French beside them. A
visible text node is a **French leak** when it is not inside ``[translate=no]`` (names of people,
organisations and places, addresses, phone numbers: kept as written) and either

- sits inside an element marked ``lang="fr"`` (content not translated yet, shown in French and
  marked so: see ``m.text_in``), or
- is identical, with at least two words with letters, to a text node of the same page in French
  (French that is not even marked).

The whole list is printed grouped by language, kind and page, so the content can be completed in
one pass. One browser, one server; each page's text nodes come from one ``page.evaluate``.
"""

from __future__ import annotations

import re
import shutil
from collections import defaultdict
from pathlib import Path

import pytest
from conftest import (
    TEST_TRANSLATIONS,
    LiveServer,
    _free_port,
    local_settings,
    translated_seed,
)

from api.app import create_app
from orientation import seed as seeding
from orientation import store
from orientation.models import slug_id

pytestmark = pytest.mark.browser

LANGS = ("nl", "en", "ar")
VIEWPORT = {"width": 1080, "height": 1920}

#: The page's language, then every visible text node: [text, nearest lang, in translate=no].
TEXT_NODES = """() => {
  const found = [document.documentElement.lang];
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  for (let node = walker.nextNode(); node; node = walker.nextNode()) {
    const text = node.nodeValue.replace(/\\s+/g, " ").trim();
    const el = node.parentElement;
    if (!text || !el || el.closest("script, style, noscript")) continue;
    if (!el.getClientRects().length || getComputedStyle(el).visibility === "hidden") continue;
    const marked = el.closest("[lang]");
    found.push([text, marked ? marked.getAttribute("lang") : "",
                !!el.closest('[translate="no"]')]);
  }
  return found;
}"""

WORD = re.compile(r"\w*[^\W\d_]\w*")


def _words(text: str) -> int:
    """Words with letters: "9 h 30" has one, "Carte d'identité" two."""
    return sum(1 for token in text.split() if WORD.search(token))


class Crawl:
    """One server and one browser context per language (the language chosen by its button,
    kept in the kiosk's cookie), plus one in French for the comparison."""

    def __init__(self, browser, url: str):
        self.contexts = {}
        self.pages = {}
        for lang in ("fr", *LANGS):
            context = browser.new_context(viewport=VIEWPORT, has_touch=True, base_url=url,
                                          locale="fr-BE")
            # Pictograms and styles do not change the words: skip images to go faster.
            context.route(re.compile(r".*\.(png|svg|jpg|woff2?)(\?.*)?$"),
                          lambda route: route.abort())
            self.contexts[lang] = context
            self.pages[lang] = context.new_page()
        self.french: dict[str, set[str]] = {}
        #: lang -> kind -> page kind -> text -> first URL where it was seen
        self.leaks: dict[str, dict[str, dict[str, dict[str, str]]]] = defaultdict(
            lambda: defaultdict(lambda: defaultdict(dict)))

    def close(self) -> None:
        for context in self.contexts.values():
            context.close()

    def _french_texts(self, path: str) -> set[str]:
        if path not in self.french:
            page = self.pages["fr"]
            page.goto(path, wait_until="domcontentloaded")
            self.french[path] = {text for text, _, _ in page.evaluate(TEXT_NODES)[1:]
                                 if _words(text) >= 2}
        return self.french[path]

    def read(self, lang: str, kind: str, path: str | None = None) -> None:
        """Read the page open in ``lang`` (after going to ``path`` if given)."""
        page = self.pages[lang]
        if path is not None:
            page.goto(path, wait_until="domcontentloaded")
        page_lang, *nodes = page.evaluate(TEXT_NODES)
        assert page_lang == lang, page.url
        here = page.url.split("://", 1)[1].split("/", 1)[1]
        french = self._french_texts("/" + here)
        for text, marked, kept in nodes:
            if kept:
                continue
            if marked == "fr":
                self.leaks[lang]["marked lang=fr"][kind].setdefault(text, "/" + here)
            elif text in french:
                self.leaks[lang]["same as the French page"][kind].setdefault(text, "/" + here)

    def journey(self, lang: str, pathway_id: str, tile: str, chip: str | None) -> None:
        """As a person: the language button, the need tile (and a more precise need), the
        pathway's card, then "Recevoir un papier"."""
        page = self.pages[lang]
        page.goto("/", wait_until="domcontentloaded")
        page.click(f'a.lang[hreflang="{lang}"]')
        page.click(f'a.tile[href="/need/{tile}"]')
        page.wait_for_load_state("domcontentloaded")
        card = page.locator(f'a.card[href="/pathway/{pathway_id}"]')
        if not card.count() and chip and page.locator(f'a.chip[href="/need/{chip}"]').count():
            page.click(f'a.chip[href="/need/{chip}"]')
            page.wait_for_load_state("domcontentloaded")
        if card.count():
            card.first.click()
        else:
            # A pathway of another region is not among the kiosk's cards: by its address.
            page.goto(f"/pathway/{pathway_id}", wait_until="domcontentloaded")
        page.wait_for_selector("ol.steps")
        self.read(lang, "pathway")
        page.click(f'a[href="/slip?pathway={pathway_id}"]')
        page.wait_for_selector("#slip")
        self.read(lang, "slip")

    def report(self) -> tuple[int, list[str]]:
        lines, total = [], 0
        for lang in LANGS:
            for kind, pages in sorted(self.leaks[lang].items()):
                for page_kind, texts in sorted(pages.items()):
                    total += len(texts)
                    lines.append(f"== {lang} · {kind} · {page_kind} page: {len(texts)} texts")
                    lines += [f"   {text[:160]!r}  ({url})" for text, url in texts.items()]
        counts = [f"{lang} {kind}: {sum(len(t) for t in pages.values())}"
                  for lang in LANGS for kind, pages in sorted(self.leaks[lang].items())]
        return total, [f"French leaks: {total} ({', '.join(counts) or 'none'})", *lines]


def _where(db, pathway) -> tuple[str, str | None]:
    """The home tile (a top-level need) and the more precise need leading to ``pathway``."""
    terms = {t.id: t for t in store.list_terms(db)}
    theme = terms[pathway.themes[0]]
    top = theme
    while top.parent_id:
        top = terms[top.parent_id]
    return top.code, theme.code if theme is not top else None


def _crawl(browser, db_path: Path, tmp_path: Path, pathway_ids: list[str] | None,
           langs=LANGS) -> tuple[int, list[str]]:
    db = store.connect(db_path)
    pathways = [p for p in store.list_pathways(db, status="active")
                if pathway_ids is None or p.id in pathway_ids]
    first = _where(db, pathways[0])
    services = list(dict.fromkeys(step.service_id for p in pathways for step in p.steps))
    db.close()
    app = create_app(db_path, tmp_path / "index", settings=local_settings(tmp_path))
    with LiveServer(app, _free_port()) as server:
        crawl = Crawl(browser, server.url)
        try:
            for lang in langs:
                crawl.journey(lang, pathways[0].id, *first)
                for pathway in pathways[1:]:
                    crawl.read(lang, "pathway", f"/pathway/{pathway.id}")
                    crawl.read(lang, "slip", f"/slip?pathway={pathway.id}")
                for service_id in services:
                    crawl.read(lang, "service", f"/service/{service_id}")
        finally:
            crawl.close()
    return crawl.report()


def _test_files_seed(target: Path) -> Path:
    """The seed with the test translation files (tests/data/translations) in place of the
    seed's own for the same organisation: what the tests below expect does not move when the
    seed's wording does."""
    seed_dir = translated_seed(target)
    for path in TEST_TRANSLATIONS.glob("*/organizations/*.yaml"):
        shutil.copy(path, seed_dir / path.relative_to(TEST_TRANSLATIONS.parent))
    return seed_dir


def test_a_pathway_translated_whole_shows_no_french(browser, tmp_path):
    """The legal aid pathway of the Brabant wallon and the organisation it sends to, translated
    in nl and ar by the test files (tests/data/translations): not one French text node."""
    seed_dir = _test_files_seed(tmp_path / "seed")
    db_path = tmp_path / "translated.db"
    db = store.connect(db_path)
    seeding.load(db, seed_dir)
    db.close()
    pathway_id = slug_id("pathway", "aide-juridique-brabant-wallon")
    total, report = _crawl(browser, db_path, tmp_path, [pathway_id], langs=("nl", "ar"))
    print("\n".join(report))
    assert total == 0, "\n".join(report)


def test_an_untranslated_text_is_found_both_ways(browser, tmp_path):
    """The crawl itself: a role left in French (marked) and an accessibility line equal to the
    French are both reported; a name kept as written is not."""
    seed_dir = _test_files_seed(tmp_path / "seed")
    path = seed_dir / "translations" / "nl" / "organizations" / "baj-brabant-wallon.yaml"
    text = path.read_text(encoding="utf-8")
    text = text.replace('  baj-brabant-wallon-rousseau: {role: "Advocaat, coördinator van de '
                        'permanenties"}\n', "")
    text = text.replace("Veiligheidscontrole aan de ingang. Bureau van het BJB op het "
                        "gelijkvloers: volg de borden « Aide juridique ».",
                        "Contrôle de sécurité à l'entrée. Bureau du BAJ au rez-de-chaussée, "
                        "suivez les panneaux « Aide juridique ».")
    path.write_text(text, encoding="utf-8")
    db_path = tmp_path / "translated.db"
    db = store.connect(db_path)
    seeding.load(db, seed_dir)
    db.close()
    pathway_id = slug_id("pathway", "aide-juridique-brabant-wallon")
    total, report = _crawl(browser, db_path, tmp_path, [pathway_id], langs=("nl",))
    text = "\n".join(report)
    assert "nl · marked lang=fr" in text and "'Avocat, coordinateur des permanences'" in text
    assert "nl · same as the French page · service page" in text
    assert "Contrôle de sécurité à l'entrée." in text
    assert "Rousseau" not in text  # his name is his name
    assert total >= 2


@pytest.mark.timeout(900)
def test_no_french_on_the_seed_kiosk_in_nl_en_ar(browser, db_path, tmp_path):
    """Every active pathway's page and slip, and every service its steps send to, on the
    product's seed: the list of what is left is printed whole. About 800 page loads (each
    page in nl, en, ar and once in French): minutes, hence its own timeout."""
    total, report = _crawl(browser, db_path, tmp_path, None)
    print("\n".join(report))
    assert total == 0, "\n".join(report[:200])

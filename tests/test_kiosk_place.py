"""Where the person lives: "Où habitez-vous ?", the office of their commune on pathways and
slips, and the kiosk's own region first on need pages and in search.

The commune is kept like the language (a cookie, cleared by the idle reset) and never reaches
the database. The ordering test crawls every need page and a set of searches at a Brussels
kiosk (Ixelles) and at a Brabant wallon kiosk (Wavre), and reads each card's region from the
database, not from the page's labels.
"""

from __future__ import annotations

import re

import pytest
from litestar.testing import TestClient

from api.app import create_app
from orientation import communes, store
from orientation.models import slug_id

from conftest import local_settings

CPAS_PATHWAY = "revenu-integration-cpas-bruxelles"
ORIGIN = {"Origin": "http://testserver.local"}
CARD = re.compile(r'<a class="card" href="/(service|pathway)/([^"]+)"')
SEARCHES = ["inscription chomage", "cpas aide", "logement", "facture energie", "dettes",
            "avocat gratuit", "itsme", "aide alimentaire"]


@pytest.fixture
def cpas():
    return slug_id("pathway", CPAS_PATHWAY)


def test_picker_lists_the_kiosks_commune_then_its_region_then_the_other(client):
    text = client.get("/place", params={"next": "/pathway/x"}).text
    chosen = re.findall(r'href="/place/set\?commune=([^&"]+)&amp;next=[^"]*pathway[^"]*x"', text)
    assert chosen[0] == "ixelles"
    brussels = [communes.slug(c) for c in communes.BRUSSELS]
    assert set(chosen[1:19]) == set(brussels) - {"ixelles"}
    assert set(chosen[19:]) == {communes.slug(c) for c in communes.BRABANT_WALLON}
    assert "En Brabant wallon" in text and "Je n&#39;ai pas d&#39;adresse" in text
    sleep = client.get("/place", params={"ask": "sleep", "next": "/"}).text
    assert "Où dormez-vous en ce moment ?" in sleep and "Je n&#39;ai pas d&#39;adresse" not in sleep


def test_a_pathway_with_a_role_asks_and_shows_the_office_of_the_commune(client, cpas):
    first = client.get(f"/pathway/{cpas}").text
    assert "Où habitez-vous ?" in first and "CPAS d&#39;Ixelles" in first
    answer = client.get("/place/set", params={"commune": "schaerbeek",
                                              "next": f"/pathway/{cpas}"},
                        follow_redirects=False)
    assert answer.status_code == 303 and answer.headers["location"] == f"/pathway/{cpas}"
    assert answer.cookies["commune"] == "schaerbeek"
    page = client.get(f"/pathway/{cpas}").text
    assert "Où habitez-vous ?" not in page
    assert "Votre commune :" in page and "CPAS de Schaerbeek" in page
    assert "CPAS d&#39;Ixelles" not in page


def test_the_slip_preview_and_print_name_the_same_office(client, cpas, tmp_path):
    assert "CPAS d&#39;Ixelles" in client.get("/slip", params={"pathway": cpas}).text
    client.get("/place/set", params={"commune": "schaerbeek"})
    preview = client.get("/slip", params={"pathway": cpas}).text
    assert "CPAS de Schaerbeek" in preview and "CPAS d&#39;Ixelles" not in preview
    printed = client.post("/slip/print", data={"pathway": cpas}, headers=ORIGIN)
    assert printed.status_code == 200, printed.text
    assert "CPAS de Schaerbeek" in printed.text


def test_the_slips_qr_code_leads_to_the_same_office_on_a_phone(client, db, cpas):
    from orientation import slip as slips

    client.get("/place/set", params={"commune": "schaerbeek"})
    preview = client.get("/slip", params={"pathway": cpas}).text
    code = slips.for_pathway(db, store.get_pathway(db, cpas)).code
    assert code in preview  # the reference code stays the pathway's
    client.cookies.clear()  # a phone that scanned the code has no cookie
    phone = client.get("/slip", params={"pathway": cpas, "commune": "schaerbeek"}).text
    assert "CPAS de Schaerbeek" in phone and "commune" not in client.cookies


def test_no_address_asks_where_they_sleep_and_uses_that_commune(client, cpas):
    page = client.get(f"/pathway/{cpas}").text
    link = re.search(r'href="(/place\?ask=sleep&amp;next=[^"]+)"', page).group(1)
    asked = client.get(link.replace("&amp;", "&")).text
    assert "Où dormez-vous en ce moment ?" in asked
    client.get("/place/set", params={"commune": "saint-gilles", "next": f"/pathway/{cpas}"})
    assert "CPAS de Saint-Gilles" in client.get(f"/pathway/{cpas}").text


def test_reset_forgets_the_commune(client, cpas):
    client.get("/place/set", params={"commune": "schaerbeek"})
    reset = client.get("/reset", follow_redirects=False)
    assert 'commune=""' in reset.headers.get("set-cookie", "") or "commune" not in client.cookies
    assert "commune" not in client.cookies
    assert "Où habitez-vous ?" in client.get(f"/pathway/{cpas}").text


def test_unknown_commune_and_foreign_next_are_refused(client):
    assert client.get("/place/set", params={"commune": "paris"},
                      follow_redirects=False).status_code == 404
    for bad in ("https://evil.example", "//evil.example", "/\\evil"):
        answer = client.get("/place/set", params={"commune": "uccle", "next": bad},
                            follow_redirects=False)
        assert answer.headers["location"] == "/"


def test_the_commune_never_reaches_the_database(client, db_path, cpas):
    def dump() -> list[str]:
        db = store.connect(db_path)
        try:
            return [line for line in db.conn.iterdump()]
        finally:
            db.close()

    before = dump()
    client.get("/place/set", params={"commune": "jette"})
    client.get(f"/pathway/{cpas}")
    client.get("/slip", params={"pathway": cpas})
    assert dump() == before


def test_need_and_search_pages_show_the_commune_control(client):
    client.get("/place/set", params={"commune": "uccle"})
    for url in ("/need/logement", "/search?q=logement"):
        text = client.get(url).text
        assert "Votre commune :" in text and ">Uccle</bdi>" in text, url


# --- Own region first -----------------------------------------------------------------------


def _region_of(db, kind: str, item_id: str, cache: dict) -> set[str]:
    """The regions a card is for, from the database: a pathway's declared region, a service's
    places. Empty when it has no place (a phone line is for everyone)."""
    key = (kind, item_id)
    if key not in cache:
        if kind == "pathway":
            declared = store.get_pathway(db, item_id).region
            regions = {"bruxelles", "brabant-wallon"} if declared == "both" else {declared}
        else:
            regions = set()
            for location_id in store.get_service(db, item_id).location_ids:
                address = store.get_location(db, location_id).address
                if address:
                    regions.add(communes.region(
                        communes.commune(address.city, address.postal_code)))
            regions.discard(None)
        cache[key] = regions
    return cache[key]


def _all_cards(client, url: str) -> list[tuple[str, str]]:
    """Every card of a paged list, in the order shown, over all its pages (a need's pathways
    head every page: each card counts where it first shows)."""
    cards, page = [], 1
    while True:
        sep = "&" if "?" in url else "?"
        text = client.get(f"{url}{sep}page={page}").text
        cards += [c for c in CARD.findall(text) if c not in cards]
        pages = re.search(r"Page \d+ sur (\d+)", text)
        if not pages or page >= int(pages.group(1)):
            return cards
        page += 1


@pytest.mark.parametrize("kiosk_commune,own", [("Ixelles", "bruxelles"),
                                                ("Wavre", "brabant-wallon")])
def test_no_other_region_card_ranks_above_an_own_region_one(db_path, db, tmp_path,
                                                            kiosk_commune, own):
    settings = {**local_settings(tmp_path), "kiosk_commune": kiosk_commune}
    app = create_app(db_path, tmp_path / "index", settings=settings)
    needs = [t.code for t in store.list_terms(db)]
    urls = [f"/need/{code}" for code in needs] + [f"/search?q={q}" for q in SEARCHES]
    cache: dict = {}
    seen_other = 0
    with TestClient(app) as client:
        for url in urls:
            cards = _all_cards(client, url)
            regions = [_region_of(db, kind, item, cache) for kind, item in cards]
            other = [bool(r) and own not in r for r in regions]
            seen_other += sum(other)
            if True in other:
                first_other = other.index(True)
                later_own = [cards[n] for n in range(first_other, len(cards))
                             if own in regions[n]]
                assert not later_own, (kiosk_commune, url, cards[first_other], later_own)
            # Another region's cards say so.
            text = client.get(url).text
            for (kind, item), is_other in zip(CARD.findall(text), other):
                if is_other:
                    card = text[text.index(f'href="/{kind}/{item}"'):]
                    card = card[:card.index("</a>")]
                    assert "En Brabant wallon" in card or "À Bruxelles" in card, (url, item)
    assert seen_other, "the crawl never met another region's card: it measured nothing"


def test_a_wavre_person_at_ixelles_sees_brabant_wallon_first(client, db):
    client.get("/place/set", params={"commune": "wavre"})
    cards = CARD.findall(client.get("/search", params={"q": "cpas aide"}).text)
    assert cards
    assert "brabant-wallon" in _region_of(db, *cards[0], {})


def test_residents_only_services_of_other_communes_go_below_labelled(client):
    cards = [item for kind, item in _all_cards(client, "/need/ris") if kind == "service"]
    ixelles = slug_id("service", "cpas-ixelles-social")
    schaerbeek = slug_id("service", "cpas-schaerbeek-social")
    assert cards.index(ixelles) < cards.index(schaerbeek)
    page = len(cards[:cards.index(schaerbeek)]) // 4 + 1
    text = client.get("/need/ris", params={"page": page}).text
    card = text[text.index(f'href="/service/{schaerbeek}"'):]
    assert "Pour les habitants d&#39;autres communes" in card[:card.index("</a>")]


# --- In Chromium ----------------------------------------------------------------------------


def _accessible(page) -> None:
    """axe-core (WCAG 2.0-2.2 A to AAA) finds nothing, and every link is a 20 mm target."""
    from axe_playwright_python.sync_playwright import Axe

    from orientation.settings import DEFAULTS

    tags = ["wcag2a", "wcag2aa", "wcag21aa", "wcag22aa", "wcag2aaa"]
    results = Axe().run(page, options={"runOnly": {"type": "tag", "values": tags}})
    assert results.violations_count == 0, results.generate_report()
    smallest = int(20 * float(DEFAULTS["kiosk_px_per_mm"]))
    sizes = page.eval_on_selector_all(
        "main a", "els => els.map(e => [e.textContent.trim(), e.getBoundingClientRect().width,"
        " e.getBoundingClientRect().height])")
    assert sizes and all(min(w, h) >= smallest for _, w, h in sizes), sizes


@pytest.mark.browser
def test_journey_pick_a_commune_sleep_elsewhere_then_reset(browser, live_server, db_path,
                                                           screenshots):
    cpas = slug_id("pathway", CPAS_PATHWAY)
    back = re.compile(rf"^{re.escape(live_server.url)}/pathway/{cpas}$")
    context = browser.new_context(viewport={"width": 1080, "height": 1920}, has_touch=True,
                                  locale="fr-BE", base_url=live_server.url)
    page = context.new_page()
    try:
        page.goto(f"/pathway/{cpas}")
        assert page.get_by_role("heading", name="Où habitez-vous ?").is_visible()
        assert page.get_by_text("CPAS d'Ixelles").first.is_visible()
        _accessible(page)
        page.get_by_role("link", name="Une autre commune").tap()
        page.wait_for_url(re.compile(r"/place\?"))
        _accessible(page)
        page.get_by_role("link", name="Schaerbeek", exact=True).tap()
        page.wait_for_url(back)
        assert page.get_by_text("CPAS de Schaerbeek").first.is_visible()
        assert page.get_by_text("Votre commune :").is_visible()
        page.screenshot(path=str(screenshots / "pathway-schaerbeek.png"))

        page.get_by_role("link", name=re.compile("Changer")).tap()
        page.wait_for_url(re.compile(r"/place\?next="))
        page.get_by_role("link", name="Je n'ai pas d'adresse").tap()
        page.wait_for_url(re.compile(r"/place\?ask=sleep"))
        assert page.get_by_role("heading", name="Où dormez-vous en ce moment ?").is_visible()
        page.screenshot(path=str(screenshots / "place-sleep.png"))
        page.get_by_role("link", name="Saint-Gilles", exact=True).tap()
        page.wait_for_url(back)
        assert page.get_by_text("CPAS de Saint-Gilles").first.is_visible()

        page.goto("/reset")
        assert not [c for c in context.cookies() if c["name"] == "commune"]
        page.goto(f"/pathway/{cpas}")
        assert page.get_by_role("heading", name="Où habitez-vous ?").is_visible()
        assert page.get_by_text("CPAS d'Ixelles").first.is_visible()
    finally:
        context.close()

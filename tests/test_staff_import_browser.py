"""The partner-list import in a real browser (Debian's Chromium through Playwright, against
the app served by uvicorn): an admin uploads the CPAS's list as Excel saves it on a Belgian
Windows (Windows-1252, ``;``), reads the preview, confirms, and finds the imported service in
the console's search. Every screen passes axe-core at WCAG 2.2 AA."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from test_staff_browser import check_axe, log_in, page, site  # noqa: F401  (fixtures)

pytestmark = pytest.mark.browser

LIST = Path(__file__).parent / "data" / "spreadsheet" / "partenaires.csv"


def test_upload_preview_confirm_then_search_finds_the_service(page, site, screenshots):
    log_in(page, site)
    page.get_by_role("link", name="Importer").click()
    page.wait_for_url(site.url + "/staff/import")
    check_axe(page, "import form")
    page.get_by_label("Fichier CSV ou XLSX").set_input_files(str(LIST))
    page.screenshot(path=str(screenshots / "staff-import-form.png"), full_page=True)
    page.get_by_role("button", name="Voir l'aperçu").click()
    page.wait_for_url(site.url + "/staff/import/preview")
    assert page.get_by_role("heading", name="3 lignes prêtes").is_visible()
    ready = page.locator("table.import-ready tbody tr")
    assert ready.count() == 3
    # Read as Windows-1252: the guillemets and accents are right.
    assert page.get_by_role("rowheader", name="Épicerie sociale « Le Panier »").is_visible()
    assert page.get_by_text("Rien n'a encore été enregistré.").is_visible()
    check_axe(page, "import preview")
    page.screenshot(path=str(screenshots / "staff-import-preview.png"), full_page=True)
    page.get_by_role("button", name="Confirmer l'import").click()
    page.wait_for_url(site.url + "/staff/import/confirm")
    assert page.get_by_role("heading", name="Import terminé").is_visible()
    check_axe(page, "import report")
    page.screenshot(path=str(screenshots / "staff-import-done.png"), full_page=True)
    link = page.get_by_role("link", name="Colis alimentaires", exact=True)
    href = link.get_attribute("href")
    link.click()
    page.wait_for_url(re.compile(r"/staff/service/"))
    assert page.get_by_role("heading", name="Colis alimentaires").is_visible()
    # The console's search finds it (the index was brought up to date after the import).
    page.goto(site.url + "/staff")
    page.get_by_label("Que cherche la personne ?").fill("épicerie sociale panier")
    page.get_by_role("button", name="Chercher").click()
    page.wait_for_url(re.compile(r"/staff/search\?q="))
    # (the seed has a service of that name too: the imported one is found by its address)
    found = page.locator(f'.result-head h3 a[href="{href}"]')
    assert found.count() == 1
    assert found.locator("xpath=../..").get_by_text("Épicerie sociale « Le Panier »").is_visible()
    page.screenshot(path=str(screenshots / "staff-import-search.png"))

"""The staff console in a real browser: Debian's Chromium through Playwright against the app
served by uvicorn (``live_server``), on a desktop screen.

A social worker logs in, searches, picks services, composes, reorders, prints and downloads a
slip; an editor sees the pathway invariant next to the step while typing. Every console screen
(and the screens htmx changes) passes axe-core at WCAG 2.2 AA with zero violations.
Screenshots: docs/screenshots/staff-*.png with `make screenshots`, else the test's tmp_path.
"""

from __future__ import annotations

import datetime as dt
import re
import subprocess
from pathlib import Path
from types import SimpleNamespace

import msgspec
import pytest
from axe_playwright_python.sync_playwright import Axe

from orientation import accounts, reports, store, unmet

pytestmark = pytest.mark.browser

VIEWPORT = {"width": 1366, "height": 900}
AXE_TAGS = ["wcag2a", "wcag2aa", "wcag21aa", "wcag22aa"]
PASSWORD = "correct horse battery"
#: Where screenshots go: set for each test by ``_screenshots_folder``.
SHOTS: Path


@pytest.fixture(autouse=True)
def _screenshots_folder(screenshots, monkeypatch):
    """Screenshots go where the ``screenshots`` fixture says (docs/ only when asked)."""
    monkeypatch.setitem(globals(), "SHOTS", screenshots)


_axe = Axe()


@pytest.fixture
def site(db_path, tmp_path, index_dir, live_server):
    """The live console with an admin and an editor, two stale records and a problem report."""
    db = store.connect(db_path)
    org = next(db.query("select organization_id from services group by organization_id "
                        "order by count(*) desc, organization_id limit 1"))["organization_id"]
    accounts.create_user(db, "ada", PASSWORD, role="admin", display_name="Ada Admin",
                         actor="test")
    accounts.create_user(db, "eddy", PASSWORD, role="editor", organization_id=org,
                         display_name="Eddy Éditeur", actor="test")
    services = store.list_services(db, organization_id=org, status="active")
    for service in services[:2]:
        store.save(db, msgspec.structs.replace(service, assured_date=dt.date(2025, 1, 6)),
                   actor="test")
    reports.report_problem(db, services[0].id, "wrong_phone", channel="staff",
                           note="Le numéro sonne dans le vide le matin.")
    reports.report_problem(db, services[0].id, "wrong", channel="kiosk")
    pathway = next(p for p in store.list_pathways(db, status="active") if len(p.steps) >= 2)
    reports.issue(db, "KQ4-MXT", channel="staff", pathway_id=pathway.id,
                  services=[s.service_id for s in pathway.steps])
    for terms, n, found in (("garde d'enfants le soir", 4, 0), ("cours de néerlandais", 3, 1),
                            ("réparer mon vélo", 2, 0)):
        for _ in range(n):
            unmet.record(db, terms, found, channel="kiosk")
    contact = store.get_contact(db, services[0].contact_ids[0])
    location = store.get_location(db, services[0].location_ids[0]) \
        if services[0].location_ids else store.list_locations(db, organization_id=org)[0]
    db.close()
    return SimpleNamespace(url=live_server.url, org=org, services=services, pathway=pathway,
                           contact=contact, location=location, slips=tmp_path / "slips",
                           tmp_path=tmp_path)


@pytest.fixture
def page(browser, site):
    context = browser.new_context(viewport=VIEWPORT, locale="fr-BE", accept_downloads=True)
    tab = context.new_page()
    yield tab
    context.close()


def log_in(page, site, username: str = "ada") -> None:
    page.goto(site.url + "/staff")
    assert "/staff/login" in page.url
    page.get_by_label("Nom d'utilisateur").fill(username)
    page.get_by_label("Mot de passe").fill(PASSWORD)
    page.get_by_role("button", name="Se connecter").click()
    page.wait_for_url(site.url + "/staff")


def check_axe(page, name: str) -> None:
    results = _axe.run(page, options={"runOnly": {"type": "tag", "values": AXE_TAGS}})
    assert results.response["passes"], name  # axe did run its rules
    violations = [(v["id"], v["help"], [n["target"] for n in v["nodes"]][:3])
                  for v in results.response["violations"]]
    assert not violations, (name, violations)


def shot(page, name: str, *, full: bool = False) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"staff-{name}.png"), full_page=full)


def test_log_in_search_compose_print_journey(page, site):
    log_in(page, site)
    page.get_by_label("Que cherche la personne ?").fill("loyer")
    page.get_by_role("button", name="Chercher").click()
    page.wait_for_url(re.compile(r"/staff/search\?q=loyer"))
    assert page.get_by_role("heading", name=re.compile(r"\d+ résultats?")).is_visible()
    # A filter narrows the results in place (htmx), focus stays on the checkbox.
    walk_in = page.locator("#f-walk_in")
    walk_in.check()
    page.wait_for_url(re.compile(r"walk_in=1"))
    assert page.locator("#f-walk_in").is_checked()
    shot(page, "search")
    picks = page.locator("input[form=pick]")
    assert picks.count() >= 2
    names = [page.locator(".result-head h3").nth(i).inner_text()
             for i in range(2)]
    picks.nth(0).check()
    picks.nth(1).check()
    page.get_by_role("button", name="Composer un papier").click()
    page.wait_for_url(re.compile(r"/staff/slip\?service="))
    steps = page.locator(".compose-steps .step-label")
    assert [steps.nth(i).inner_text() for i in range(2)] == names
    # Reorder: the second service goes first (htmx swap of the composer).
    page.get_by_role("button", name=f"Monter l'étape 2 : {names[1]}").click()
    page.wait_for_function(
        "(n) => document.querySelector('.compose-steps .step-label').textContent === n",
        arg=names[1])
    page.get_by_label("Note courte").fill("Venez le matin, avec la lettre reçue.")
    assert page.get_by_text("Attention : aucune donnée personnelle.").is_visible()
    page.get_by_role("button", name="Mettre à jour l'aperçu").click()
    page.wait_for_selector(".slip-preview .slip-note")
    preview = page.locator(".slip-preview .slip")
    assert "Venez le matin" in preview.inner_text()
    assert preview.locator(".slip-contact").is_visible()
    shot(page, "compose")
    page.get_by_label("Ticket 80 mm").check()
    page.get_by_role("button", name="Imprimer").click()
    page.wait_for_selector("#print-result .message")
    assert "envoyé à l'impression" in page.locator("#print-result").inner_text()
    printed = list(site.slips.glob("*.pdf"))
    assert len(printed) == 1
    # The PDF download: the same slip, ending with the named person.
    with page.expect_download() as download:
        page.get_by_role("button", name="Télécharger le PDF").click()
    pdf = site.tmp_path / "download.pdf"
    download.value.save_as(pdf)
    text = " ".join(subprocess.run(["pdftotext", str(pdf), "-"], capture_output=True,
                                   text=True, check=True).stdout.split())
    contact_name = page.locator(".slip-preview .slip-contact .person-name").inner_text()
    assert text.split("Votre personne de contact")[-1].strip().startswith(contact_name)
    assert "Venez le matin, avec la lettre reçue." in text


def test_every_staff_screen_passes_axe(page, site):
    log_in(page, site)
    service, pathway = site.services[0], site.pathway
    screens = {
        "home": "/staff",
        "search": "/staff/search?q=logement",
        "search-filtered": "/staff/search?q=logement&free=1&need=logement",
        "search-empty": "/staff/search?q=zzzzqqqq",
        "service": f"/staff/service/{service.id}",
        "pathway": f"/staff/pathway/{pathway.id}",
        "compare": f"/staff/compare?service={site.services[0].id}&service={site.services[1].id}",
        "call-pick": "/staff/call",
        "call-service": f"/staff/call/service/{service.id}",
        "call-need": "/staff/call/need/logement",
        "compose-empty": "/staff/slip",
        "compose": f"/staff/slip?pathway={pathway.id}",
        "followup": "/staff/followup?code=KQ4-MXT",
        "followup-unknown": "/staff/followup?code=ZZZ-ZZZ",
        "verify": "/staff/verify",
        "problems": "/staff/problems",
        "reports": "/staff/reports",
        "edit-home": f"/staff/edit?organization={site.org}",
        "edit-service": f"/staff/edit/service/{service.id}",
        "edit-location": f"/staff/edit/location/{site.location.id}",
        "edit-contact": f"/staff/edit/contact/{site.contact.id}",
        "edit-pathway": f"/staff/edit/pathway/{pathway.id}",
        "new-service": f"/staff/edit/service/new?organization={site.org}",
        "history": f"/staff/history/service/{service.id}",
        "not-found": "/staff/service/00000000-0000-4000-8000-000000000000",
    }
    for name, path in screens.items():
        response = page.goto(site.url + path)
        assert response.status in (200, 404), (name, response.status)
        check_axe(page, name)
        if name in ("call-need", "reports", "verify", "problems", "service"):
            shot(page, name)
        if name == "reports":  # terms seen 3 times or more only, never a digit
            table = page.locator("table").first.inner_text()
            assert "garde d'enfants le soir" in table and "cours de néerlandais" in table
            assert "vélo" not in page.content()
    # Screens htmx changes: a report sent, a record confirmed, a live check.
    page.goto(site.url + f"/staff/service/{service.id}")
    page.get_by_label("Mauvais numéro", exact=True).check()
    page.get_by_role("button", name="Envoyer le signalement").click()
    page.wait_for_selector("#reported")
    check_axe(page, "reported")
    page.goto(site.url + "/staff/verify")
    page.get_by_role("button", name=re.compile("^Toujours correct")).first.click()
    page.wait_for_selector(".queue-item [role=status]")
    check_axe(page, "verified")
    page.goto(site.url + "/staff/login")
    check_axe(page, "login")
    page.goto(site.url + "/staff")
    page.get_by_role("button", name="Se déconnecter").click()
    page.wait_for_url(re.compile(r"/staff/login"))
    check_axe(page, "logged-out")
    page.get_by_label("Nom d'utilisateur").fill("ada")
    page.get_by_label("Mot de passe").fill("wrong password")
    page.get_by_role("button", name="Se connecter").click()
    page.wait_for_selector("[role=alert]")
    check_axe(page, "login-failed")


def test_pathway_problem_shows_next_to_the_step_while_typing(page, site):
    log_in(page, site)
    pathway = site.pathway
    page.goto(site.url + f"/staff/edit/pathway/{pathway.id}")
    first = page.locator("#steps-0-service_id").input_value()
    page.locator("#steps-1-service_id").select_option(first)
    error = page.locator("#err-steps-1")
    error.wait_for(state="visible")
    assert error.inner_text().startswith("Étape 2 : renvoie vers")
    assert page.locator("#err-steps-0").inner_text() == ""
    check_axe(page, "edit-pathway-problem")
    page.locator("#row-steps-1").scroll_into_view_if_needed()
    shot(page, "edit-pathway-check")
    # Put it back: the problem goes away, and the slip preview shows the named person.
    page.locator("#steps-1-service_id").select_option(pathway.steps[1].service_id)
    page.wait_for_function("() => !document.querySelector('#err-steps-1').textContent")
    page.get_by_role("button", name="Voir le papier").click()
    page.wait_for_selector("#preview .slip-contact")
    check_axe(page, "edit-pathway-preview")


def test_an_editor_only_sees_their_organisation(page, site):
    log_in(page, site, "eddy")
    page.goto(site.url + "/staff/edit")
    assert page.locator("#f-organization").count() == 0  # no organisation picker
    assert page.get_by_role("heading", level=1).inner_text().startswith("Fiches de")
    page.goto(site.url + "/staff/problems")
    assert "Le numéro sonne dans le vide le matin." in page.content()
    shot(page, "problems-editor")

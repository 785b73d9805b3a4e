"""The correction queue in real Chromium: the kiosk's second tap (French and Arabic, right to
left) and axe-core with zero violations on the kiosk's refine buttons, /staff/queue, the
organisations' form (/verify/<token>) and the capacity form (/places/<token>).
"""

from __future__ import annotations

import datetime as dt

import msgspec
import pytest
from axe_playwright_python.sync_playwright import Axe

import test_kiosk_browser as kb
from orientation import accounts, capacity, reminders, reports, store
from orientation.access import Caller

pytestmark = pytest.mark.browser

PASSWORD = "correct horse battery"
WRONG = {"fr": "Cette information est fausse", "ar": None}
ADDRESS = {"fr": "L'adresse n'est pas bonne", "ar": "العنوان غير صحيح"}
_axe = Axe()


@pytest.fixture(autouse=True)
def _screenshots_folder(screenshots, monkeypatch):
    monkeypatch.setattr(kb, "SHOTS", screenshots, raising=False)


def _axe_clean(page, name: str) -> None:
    page.wait_for_load_state("networkidle")
    results = _axe.run(page, options={"runOnly": {"type": "tag", "values": kb.AXE_TAGS}})
    assert results.response["passes"], name  # axe did run its rules
    violations = [(v["id"], v["help"], [n["target"] for n in v["nodes"]][:3])
                  for v in results.response["violations"]]
    assert not violations, (name, violations)


@pytest.mark.parametrize("lang", ["fr", "ar"])
def test_the_kiosk_second_tap_is_big_accessible_and_refines_the_report(
        browser, live_server, db_path, lang):
    db = store.connect(db_path)
    service = next(s for s in store.iter_services(db, status="active") if s.contact_ids)
    context = browser.new_context(viewport=kb.VIEWPORT, has_touch=True, locale="fr-BE",
                                  base_url=live_server.url)
    page = context.new_page()
    try:
        page.goto(f"/lang/{lang}?next=/service/{service.id}")
        call_box = page.get_by_role("button", name=kb.CALL[lang], exact=True).bounding_box()
        page.locator("form#wrong button").click()
        address = page.get_by_role("button", name=ADDRESS[lang], exact=True)
        address.wait_for()
        assert page.locator("form#wrong button[name=kind]").count() == 6
        assert page.locator("form#wrong textarea, form#wrong input[type=text]").count() == 0
        [report] = reports.problem_queue(db, service_id=service.id)
        assert (report.kind, report.channel) == ("other", "kiosk")
        address.scroll_into_view_if_needed()
        kb._check_screen(page, "service-wrong-refine", lang, call_box)
        address.click()
        page.locator("div#wrong.message.done").wait_for()
        kb._check_screen(page, "service-wrong-refined", lang, call_box)
        assert [(r.id, r.kind) for r in reports.problem_queue(db, service_id=service.id)] \
            == [(report.id, "wrong_address")]
    finally:
        context.close()
        db.close()


@pytest.mark.parametrize("lang", ["fr", "ar"])
def test_queue_verify_and_places_forms_pass_axe(browser, live_server, db_path, screenshots,
                                                lang):
    db = store.connect(db_path)
    accounts.create_user(db, "ada", PASSWORD, role="admin", display_name="Ada Admin",
                         actor="test")
    services = list(store.list_services(db, status="active"))
    now = dt.datetime.now(dt.UTC)
    reports.report_problem(db, services[0].id, "sent_elsewhere", channel="staff",
                           note="Envoyée au guichet d'à côté.", at=now - dt.timedelta(days=2))
    reports.report_problem(db, services[0].id, "wrong_address", channel="kiosk")
    reports.report_problem(db, services[1].id, "wrong_phone", channel="staff")
    # The forms speak the organisation's data-contact language.
    org = store.get_organization(db, services[0].organization_id)
    store.save(db, msgspec.structs.replace(org, data_contact_lang=lang), actor="test")
    verify_token = reminders.new_link(db, org.id, days=7)
    homeless = store.get_term_by_code(db, "sans-abri").id
    shelter = next(s for s in services if homeless in s.needs)
    shelter_org = store.get_organization(db, shelter.organization_id)
    store.save(db, msgspec.structs.replace(shelter_org, data_contact_lang=lang), actor="test")
    places_token = capacity.new_link(db, Caller(role="admin", actor="test"),
                                     shelter.organization_id)
    db.close()
    context = browser.new_context(viewport={"width": 1280, "height": 900}, locale="fr-BE",
                                  base_url=live_server.url)
    page = context.new_page()
    try:
        for name, url in (("verify-form", f"/verify/{verify_token}"),
                          ("places-form", f"/places/{places_token}")):
            page.goto(url)
            assert page.locator("html").get_attribute("dir") == \
                ("rtl" if lang == "ar" else "ltr"), name
            _axe_clean(page, f"{name}-{lang}")
            page.screenshot(path=str(screenshots / f"{name}-{lang}.png"), full_page=True)
        page.goto("/staff/login")
        page.get_by_label("Nom d'utilisateur").fill("ada")
        page.get_by_label("Mot de passe").fill(PASSWORD)
        page.get_by_role("button", name="Se connecter").click()
        page.wait_for_url("**/staff")
        page.goto(f"/staff/queue?lang={lang}")
        page.locator("li.queue-item.problem").first.wait_for()
        _axe_clean(page, f"staff-queue-{lang}")
        page.screenshot(path=str(screenshots / f"staff-queue-{lang}.png"), full_page=True)
    finally:
        context.close()

"""Saved-search alerts in a real browser (Chromium through Playwright, the app under uvicorn):
a worker saves the search on screen, an editor changes a matching service's hours, and the
navigation's badge shows it on the next page; the alerts page passes axe-core."""

from __future__ import annotations

import re

import msgspec
import pytest
from test_staff_browser import check_axe, log_in, page, site  # noqa: F401 (fixtures)

from orientation import alerts, store, writes
from orientation.access import Caller
from orientation.models import Schedule

pytestmark = pytest.mark.browser


def test_save_a_search_then_see_the_badge_after_a_change(page, site, live_server, db_path,  # noqa: F811
                                                        screenshots):
    log_in(page, site)
    page.goto(site.url + "/staff/search?need=aide-alimentaire")
    page.get_by_text("Enregistrer cette recherche").click()
    assert page.get_by_text("pas de nom de personne").is_visible()
    page.get_by_label("Nom de la recherche").fill("Colis alimentaires")
    page.get_by_role("button", name="Enregistrer", exact=True).click()
    page.wait_for_url(re.compile(r"/staff/alerts#search-"))
    assert page.get_by_role("heading", name="Colis alimentaires").is_visible()
    assert page.locator("#alerts-badge .badge").count() == 0
    # An editor changes the hours of a service the search finds.
    db = store.connect(db_path)
    try:
        found = alerts.matches(db, live_server.app.state.index, "",
                               alerts.Filters(needs=["aide-alimentaire"]))[1]
        before = store.get_service(db, found[0])
        writes.save(db, live_server.app.state.index, Caller(role="admin", actor="test"), before,
                    msgspec.structs.replace(before, schedules=[
                        Schedule(byday="MO,WE", opens_at="10:00", closes_at="12:00")]))
    finally:
        db.close()
    page.goto(site.url + "/staff/search?need=aide-alimentaire")
    badge = page.locator("#alerts-badge .badge")
    badge.wait_for()
    assert badge.inner_text() == "1"
    page.screenshot(path=str(screenshots / "staff-alerts-badge.png"))
    page.get_by_role("link", name=re.compile("Mes alertes")).click()
    page.wait_for_url(site.url + "/staff/alerts")
    assert page.get_by_role("link", name=before.name).is_visible()
    assert page.get_by_text("horaires changés").is_visible()
    check_axe(page, "alerts")
    page.screenshot(path=str(screenshots / "staff-alerts.png"), full_page=True)
    page.get_by_role("button", name=re.compile("Marquer comme vu")).click()
    page.wait_for_url(re.compile(r"/staff/alerts"))
    assert page.get_by_text("Rien de nouveau depuis votre dernière visite.").is_visible()
    page.locator("#alerts-badge").wait_for(state="attached")
    assert page.locator("#alerts-badge .badge").count() == 0

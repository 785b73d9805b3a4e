""""Parler à une personne" that never strands anyone, in real Chromium: a call expires and the
kiosk says so in plain words, the idle reset works again and the next visitor starts clean; the
desk hears, sees (title, banner) a call; the fallback stays in the kiosk's region, names the
violence line, and prints as a slip whose text has no relative time words."""

from __future__ import annotations

import datetime as dt
import re
import socket
import subprocess
import time
from pathlib import Path

import pytest
from playwright.sync_api import expect

from api.app import create_app
from orientation import accounts, helpdesk, hours, store
from conftest import LiveServer, local_settings

pytestmark = pytest.mark.browser

VIEWPORT = {"width": 1080, "height": 1920}
#: A call lives 3 s here, so expiry happens in real time within the test.
SHORT = {"help_request_minutes": 0.05, "idle_seconds": 20, "idle_warning_seconds": 20}


def _port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def server(db_path, tmp_path):
    settings = local_settings(tmp_path) | SHORT
    app = create_app(db_path, tmp_path / "index", settings=settings)
    with LiveServer(app, _port()) as running:
        yield running


@pytest.fixture
def staff(db_path):
    db = store.connect(db_path)
    user = accounts.create_user(db, "accueil", "un mot de passe long", role="staff",
                                display_name="Aïcha Accueil", actor="test")
    yield db, user
    db.close()


def _kiosk(browser, server):
    context = browser.new_context(viewport=VIEWPORT, has_touch=True, locale="fr-BE",
                                  base_url=server.url)
    return context, context.new_page()


def test_unanswered_call_expires_says_so_and_the_next_visit_starts_clean(
        browser, server, staff, tmp_path):
    db, user = staff
    helpdesk.start_duty(db, user.id)  # someone on duty who does not answer
    context, page = _kiosk(browser, server)
    try:
        page.clock.install()
        page.goto("/")
        page.get_by_role("button", name="Parler à une personne").click()
        page.get_by_text("Nous appelons une personne.").wait_for()
        first = page.url
        # No reset while the call is pending.
        page.clock.run_for(45_000)
        assert page.locator("#idle-warning").is_hidden() and "/help/" in page.url
        # 3 s of real time later the server closes the call; the next poll says so.
        time.sleep(3.5)
        page.clock.run_for(4_000)
        page.get_by_text("Personne n'a pu venir.").wait_for(timeout=20_000)
        assert page.get_by_text("Des numéros gratuits").is_visible()
        assert page.get_by_role("button", name="Imprimer ces numéros").is_visible()
        page.screenshot(path=str(tmp_path / "expired.png"))
        call_id = first.rsplit("/", 1)[1]
        assert helpdesk.get(db, call_id).status == "expired"
        assert not helpdesk.open_requests(db)  # the desk sees no ghost
        # The idle reset works again.
        page.clock.run_for(21_000)
        page.locator("#idle-warning").wait_for(state="visible")
        page.clock.run_for(21_000)
        page.wait_for_url(re.compile(r"/$"))
        # A new visitor's call is a new one.
        helpdesk.check_in(db, user.id)
        page.get_by_role("button", name="Parler à une personne").click()
        page.get_by_text("Nous appelons une personne.").wait_for()
        assert page.url != first
    finally:
        context.close()


def test_idle_reset_cancels_an_open_call(browser, server, staff):
    db, user = staff
    helpdesk.start_duty(db, user.id)
    call = helpdesk.ask(db, "Ixelles", minutes=5)
    helpdesk.acknowledge(db, call.id, by="Aïcha Accueil")
    context, page = _kiosk(browser, server)
    try:
        page.goto(f"/help/{call.id}")
        page.get_by_text("Une personne arrive.").wait_for()
        page.evaluate("document.querySelector('#help-status').removeAttribute('data-call-pending')")
        page.clock.install()
        page.clock.run_for(45_000)
        page.wait_for_url(re.compile(r"/$"))
        deadline = time.monotonic() + 5
        while helpdesk.get(db, call.id).status != "cancelled" and time.monotonic() < deadline:
            time.sleep(0.1)
        assert helpdesk.get(db, call.id).status == "cancelled"
    finally:
        context.close()


def test_desk_shows_banner_and_title_when_a_call_arrives(browser, server, staff, tmp_path):
    db, user = staff
    cookie, _ = accounts.open_session(db, user)
    desk_context = browser.new_context(base_url=server.url, locale="fr-BE")
    desk_context.add_cookies([{"name": accounts.COOKIE, "value": cookie, "url": server.url}])
    kiosk_context, page = _kiosk(browser, server)
    desk = desk_context.new_page()
    try:
        desk.goto("/desk")
        desk.get_by_role("button", name="Je suis à l'accueil").click()
        desk.get_by_text("Vous êtes à l'accueil.").wait_for()
        assert not desk.title().startswith("(")
        assert desk.evaluate("sessionStorage.getItem('desk-sound')") == "1"
        page.goto("/")
        page.get_by_role("button", name="Parler à une personne").click()
        page.get_by_text("Nous appelons une personne.").wait_for()
        desk.locator("#desk-alert").wait_for(timeout=20_000)
        assert "une personne attend à la borne Ixelles" in desk.locator("#desk-alert").inner_text()
        expect(desk).to_have_title("(1) Appel — Orientation", timeout=15_000)
        desk.screenshot(path=str(tmp_path / "desk-call.png"))
        # The chime is our own small file.
        response = desk.request.get("/static/desk-alert.wav")
        assert response.ok and response.body()[:4] == b"RIFF" and len(response.body()) < 50_000
        desk.get_by_role("button", name="J'arrive").click()
        expect(desk).not_to_have_title(re.compile(r"^\("), timeout=15_000)
    finally:
        desk_context.close()
        kiosk_context.close()


def _other_region_names(db) -> list[str]:
    """Organisations whose every place is in Brabant wallon (never shown at Ixelles)."""
    places: dict[str, set[str]] = {}
    for location in store.list_locations(db):
        if location.address:
            places.setdefault(location.organization_id, set()).add(location.address.region)
    return [org.name for org in store.list_organizations(db)
            if places.get(org.id) == {"brabant-wallon"}]


def test_fallback_at_ixelles_stays_in_brussels_and_labels_the_violence_line(
        browser, server, db, tmp_path):
    # The rule, at a time when desks are open: only social walk-in desks, in Brussels, near.
    tuesday = dt.datetime(2026, 3, 3, 10, 0, tzinfo=hours.TZ)
    found = helpdesk.fallback(db, commune="Ixelles", at=tuesday, desks=10)
    assert found.desks
    for desk in found.desks:
        assert helpdesk.is_accueil(desk.service, desk.organization), desk.service.name
        assert desk.location.address.region == "bruxelles"
    context, page = _kiosk(browser, server)
    try:
        page.goto("/help")
        page.get_by_text("Il n'y a personne à l'accueil maintenant.").wait_for()
        text = page.locator("#main").inner_text()
        for name in _other_region_names(db):
            assert name not in text, name
        line = page.locator(".free-line", has_text="0800 30 030")
        assert "Écoute violences conjugales" in line.inner_text()
        assert "Un numéro gratuit" not in text
        page.screenshot(path=str(tmp_path / "fallback.png"))
    finally:
        context.close()


def test_print_these_numbers_gives_a_slip_without_relative_time_words(
        browser, server, tmp_path):
    context, page = _kiosk(browser, server)
    try:
        page.goto("/help")
        page.get_by_role("button", name="Imprimer ces numéros").click()
        page.get_by_text("Votre papier est imprimé.").wait_for(timeout=30_000)
    finally:
        context.close()
    [pdf] = sorted((tmp_path / "slips").glob("*numeros*.pdf"))
    text = " ".join(subprocess.run(["pdftotext", str(pdf), "-"], capture_output=True,
                                   text=True, check=True).stdout.split())
    for number in ("0800 30 030", "107"):
        assert number in text
    assert "Écoute violences conjugales" in text
    assert "Imprimé le" in text and str(dt.date.today().year) in text
    for word in ("aujourd'hui", "maintenant", "demain", "ce soir"):
        assert word not in text.casefold(), word


def test_desk_hours_say_before_the_tap_when_someone_is_there(db_path, tmp_path):
    from litestar.testing import TestClient

    friday_noon = dt.datetime(2026, 12, 4, 12, 0, tzinfo=hours.TZ)
    assert helpdesk.desk_expected("MO-FR 09:00-17:00", at=friday_noon) is True
    assert helpdesk.desk_expected("MO-FR 09:00-17:00", at=friday_noon.replace(hour=18)) is False
    assert helpdesk.desk_expected("", at=friday_noon) is None
    settings = local_settings(tmp_path) | {"desk_hours": "MO-FR 09:00-17:00; SA 09:00-12:00"}
    with TestClient(create_app(db_path, tmp_path / "index", settings=settings)) as client:
        text = client.get("/help").text
    assert 'id="desk-hours"' in text
    assert "Du lundi au vendredi, de 9 h à 17 h" in text

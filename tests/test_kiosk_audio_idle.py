"""Listening counts as activity: a page read aloud is not cut off by the idle reset (real
Chromium, real server, real espeak-ng audio, a 2-second idle delay so it runs in real time)."""

from __future__ import annotations

import time

import pytest

from conftest import LiveServer, _free_port, local_settings
from api.app import create_app
from orientation.settings import DEFAULTS

pytestmark = pytest.mark.browser

IDLE = 2


@pytest.fixture
def quick_kiosk(browser, db_path, tmp_path):
    settings = {**local_settings(tmp_path), "idle_seconds": IDLE, "idle_warning_seconds": 30}
    app = create_app(db_path, tmp_path / "index", settings=settings)
    with LiveServer(app, _free_port()) as server:
        context = browser.new_context(viewport={"width": 1080, "height": 1920}, has_touch=True,
                                      locale="fr-BE", base_url=server.url)
        yield context.new_page()
        context.close()


def test_audio_playing_postpones_the_idle_reset(quick_kiosk):
    page = quick_kiosk
    page.goto("/need/logement")
    page.get_by_role("button", name="Écouter").click()
    # Wait until the voice really speaks (the audio clock moves). Polled from here: the
    # kiosk's CSP forbids wait_for_function's eval.
    deadline = time.monotonic() + 20
    while page.evaluate("document.querySelector('#speech-audio').currentTime") < 0.5:
        assert time.monotonic() < deadline, "the audio never started"
        time.sleep(0.2)
    started = page.evaluate("document.querySelector('#speech-audio').duration")
    assert started > 3 * IDLE  # long enough for the idle delay to pass while it plays
    time.sleep(2 * IDLE + 1)
    assert page.evaluate("!document.querySelector('#speech-audio').paused")
    assert page.locator("#idle-warning").is_hidden()
    # The voice stops (without a touch): the idle delay counts again, from then on.
    page.evaluate("document.querySelector('#speech-audio').pause()")
    page.locator("#idle-warning").wait_for(state="visible", timeout=(IDLE + 3) * 1000)


def test_arabic_countdown_shows_the_plural_forms(browser, live_server):
    context = browser.new_context(viewport={"width": 1080, "height": 1920}, has_touch=True,
                                  locale="ar", base_url=live_server.url)
    page = context.new_page()
    try:
        page.clock.install()
        page.goto("/lang/ar?next=/")
        page.clock.fast_forward(DEFAULTS["idle_seconds"] * 1000 + 1000)
        count = page.locator("#idle-count")
        count.wait_for(state="visible")
        # The last seconds, one tick at a time: "3 ثوانٍ", "ثانيتان", "ثانية واحدة".
        page.clock.fast_forward((DEFAULTS["idle_warning_seconds"] - 6) * 1000)
        seen = []
        for _ in range(3):
            page.clock.fast_forward(1000)
            seen.append(count.inner_text().strip())
        assert seen in (["4 ثوانٍ", "3 ثوانٍ", "ثانيتان"], ["3 ثوانٍ", "ثانيتان", "ثانية واحدة"]), seen
    finally:
        context.close()

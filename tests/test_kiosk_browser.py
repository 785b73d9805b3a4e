"""The kiosk in a real browser: Debian's Chromium through Playwright, against the app served by
uvicorn on 127.0.0.1 (the ``live_server`` fixture), one browser for the whole session.

Screen size: 1080 x 1920 portrait, touch. Every screen, in French and in Arabic, must pass
axe-core (WCAG 2.0-2.2 A, AA and AAA rules) with zero violations, keep every target at least
20 mm wide and high and 2 mm apart at the configured px/mm, show no text smaller than the
EN 301 549 minimum, keep the call button in exactly the same box, and not scroll sideways,
also in the large-text mode. Each screen is photographed (docs/screenshots/ with
`make screenshots`, else the test's tmp_path: see the ``screenshots`` fixture).
"""

from __future__ import annotations

import io
import re
import subprocess
import wave
from pathlib import Path

import pytest
from axe_playwright_python.sync_playwright import Axe
from PIL import Image

from orientation import accounts, helpdesk, slip, store
from orientation.settings import DEFAULTS

pytestmark = pytest.mark.browser

VIEWPORT = {"width": 1080, "height": 1920}
AXE_TAGS = ["wcag2a", "wcag2aa", "wcag21aa", "wcag22aa", "wcag2aaa"]
PX_PER_MM = float(DEFAULTS["kiosk_px_per_mm"])
MIN_TARGET = 20 * PX_PER_MM
MIN_GAP = 2 * PX_PER_MM
MIN_TEXT = 6.1 * PX_PER_MM / 0.73
CALL = {"fr": "Parler à une personne", "ar": "تحدث مع شخص"}
#: Where screenshots go: set for each test by ``_screenshots_folder``.
SHOTS: Path


@pytest.fixture(autouse=True)
def _screenshots_folder(screenshots, monkeypatch):
    """Screenshots go where the ``screenshots`` fixture says (docs/ only when asked)."""
    monkeypatch.setitem(globals(), "SHOTS", screenshots)


_axe = Axe()

MEASURE = """([minTarget, minGap, minText]) => {
  const visible = (el) => {
    if (el.closest("[hidden], [inert]") && !el.closest("#idle-warning:not([hidden])")) return false;
    const r = el.getBoundingClientRect();
    const s = getComputedStyle(el);
    return r.width > 0 && r.height > 0 && s.visibility !== "hidden" && s.display !== "none";
  };
  const overlay = document.querySelector("#idle-warning:not([hidden])");
  const scope = (el) => !overlay || overlay.contains(el) || el.closest(".bottom");
  const targets = [...document.querySelectorAll("a[href], button, input, select, textarea")]
    .filter((el) => visible(el) && scope(el));
  const small = targets.map((el) => [el, el.getBoundingClientRect()])
    .filter(([, r]) => r.width < minTarget - 0.5 || r.height < minTarget - 0.5)
    .map(([el, r]) => `${el.tagName} "${el.textContent.trim().slice(0, 30)}" ${r.width.toFixed(0)}x${r.height.toFixed(0)}`);
  // Gaps are measured between targets a finger can reach now: on screen, not under the
  // fixed bottom bar (the page scrolls under it).
  const reachable = (el) => {
    const r = el.getBoundingClientRect();
    const x = r.left + r.width / 2, y = r.top + r.height / 2;
    if (x < 0 || y < 0 || x > innerWidth || y > innerHeight) return false;
    const hit = document.elementFromPoint(x, y);
    return !!hit && (el === hit || el.contains(hit));
  };
  const footerTop = document.querySelector(".bottom").getBoundingClientRect().top;
  const seen = (el) => {
    const r = el.getBoundingClientRect();
    if (el.closest(".bottom")) return r;
    return {left: r.left, right: r.right, top: r.top, bottom: Math.min(r.bottom, footerTop)};
  };
  const close = [];
  const boxes = targets.filter(reachable).map((el) => [el, seen(el)]);
  for (let i = 0; i < boxes.length; i++) for (let j = i + 1; j < boxes.length; j++) {
    const [a, ra] = boxes[i], [b, rb] = boxes[j];
    if (a.contains(b) || b.contains(a)) continue;
    const dx = Math.max(0, Math.max(ra.left, rb.left) - Math.min(ra.right, rb.right));
    const dy = Math.max(0, Math.max(ra.top, rb.top) - Math.min(ra.bottom, rb.bottom));
    if (Math.max(dx, dy) < minGap - 0.5) close.push(`"${a.textContent.trim().slice(0, 20)}" / "${b.textContent.trim().slice(0, 20)}"`);
  }
  const tiny = [];
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  for (let node = walker.nextNode(); node; node = walker.nextNode()) {
    const el = node.parentElement;
    if (!node.textContent.trim() || el.closest("svg, script, style, template, .visually-hidden")) continue;
    if (!visible(el) || !scope(el)) continue;
    const size = parseFloat(getComputedStyle(el).fontSize);
    if (size < minText - 0.01) tiny.push(`"${node.textContent.trim().slice(0, 30)}" ${size}px`);
  }
  const root = document.documentElement;
  return {small, close, tiny, sideways: root.scrollWidth > root.clientWidth + 1};
}"""


def _measure(page) -> dict:
    return page.evaluate(MEASURE, [MIN_TARGET, MIN_GAP, MIN_TEXT])


def _shoot(page, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    image = Image.open(io.BytesIO(page.screenshot()))
    image.thumbnail((540, 960))
    image.convert("RGB").quantize(colors=64).save(SHOTS / f"{name}.png", optimize=True)


@pytest.fixture
def kiosk(browser, live_server):
    context = browser.new_context(viewport=VIEWPORT, has_touch=True, locale="fr-BE",
                                  base_url=live_server.url)
    page = context.new_page()
    yield page
    context.close()


@pytest.fixture
def facts(db_path):
    """What the screens show, read from the test's own database."""
    db = store.connect(db_path)
    pathway = next(p for p in store.list_pathways(db, status="active") if len(p.steps) > 1)
    service = next(s for s in store.iter_services(db, status="active") if s.contact_ids
                   and s.access.documents)
    user = accounts.create_user(db, "accueil", "un mot de passe long", role="staff",
                                display_name="Aïcha Accueil", actor="test")
    yield {"db": db, "pathway": pathway, "service": service, "user": user}
    db.close()


def _check_screen(page, name: str, lang: str, call_box: dict | None) -> dict:
    page.wait_for_load_state("networkidle")
    results = _axe.run(page, options={"runOnly": {"type": "tag", "values": AXE_TAGS}})
    violations = [(v["id"], [n["target"] for n in v["nodes"]][:3])
                  for v in results.response["violations"]]
    assert not violations, (name, lang, violations)
    measured = _measure(page)
    assert not measured["small"], (name, lang, "targets under 20 mm", measured["small"])
    assert not measured["close"], (name, lang, "targets under 2 mm apart", measured["close"])
    assert not measured["tiny"], (name, lang, "text under 6.1 mm caps", measured["tiny"])
    assert not measured["sideways"], (name, lang, "horizontal scrolling")
    call = page.get_by_role("button", name=CALL[lang], exact=True)
    assert call.count() == 1, (name, lang)
    box = call.bounding_box()
    if call_box is not None:
        for key in ("x", "y", "width", "height"):
            assert abs(box[key] - call_box[key]) < 0.5, (name, lang, key, box, call_box)
    _shoot(page, f"{name}-{lang}")
    return box


@pytest.mark.parametrize("lang", ["fr", "ar"])
def test_every_screen_is_accessible_and_keeps_the_call_button(kiosk, facts, lang):
    page = kiosk
    pathway, service = facts["pathway"], facts["service"]
    page.goto(f"/lang/{lang}?next=/")
    assert page.locator("html").get_attribute("dir") == ("rtl" if lang == "ar" else "ltr")
    call_box = _check_screen(page, "home", lang, None)
    # The language switch sits top-right, top-left in Arabic.
    langs = page.locator("nav.langs").bounding_box()
    if lang == "ar":
        assert langs["x"] < 30
    else:
        assert langs["x"] + langs["width"] > VIEWPORT["width"] - 30

    screens = [
        ("need", "/need/argent"),
        ("search", "/search"),
        ("results", "/search?q=dettes"),
        ("no-results", "/search?q=zzqqxxw"),
        ("service", f"/service/{service.id}"),
        ("pathway", f"/pathway/{pathway.id}"),
        ("slip", f"/slip?pathway={pathway.id}"),
        ("error", "/no/such/page"),
    ]
    for name, url in screens:
        page.goto(url)
        _check_screen(page, name, lang, call_box)

    # An htmx swap: the next page of services.
    page.goto("/need/argent")
    page.locator(".pager a").last.click()
    page.wait_for_url("**/need/argent?page=2")
    page.locator(".page-count").filter(has_text="2").wait_for()
    _check_screen(page, "need-page-2", lang, call_box)

    # Printing (htmx), then the result screen.
    page.goto(f"/slip?pathway={pathway.id}")
    page.locator("form.print-form button").click()
    page.locator(".message.done").wait_for(timeout=30_000)
    _check_screen(page, "printed", lang, call_box)

    # Nobody at the desk: where else to find a person.
    page.get_by_role("button", name=CALL[lang], exact=True).click()
    page.locator(".fallback").first.wait_for()
    _check_screen(page, "help-nobody", lang, call_box)

    # Someone at the desk: the request is sent.
    helpdesk.start_duty(facts["db"], facts["user"].id)
    page.get_by_role("button", name=CALL[lang], exact=True).click()
    page.locator("#help-status[data-call-pending]").wait_for()
    _check_screen(page, "help-pending", lang, call_box)
    helpdesk.stop_duty(facts["db"], facts["user"].id)
    for call in helpdesk.open_requests(facts["db"]):
        helpdesk.resolve(facts["db"], call.id, by="test")

    # The idle warning, over the page but never over the call button.
    page.clock.install()
    page.goto("/need/argent")
    page.clock.fast_forward(DEFAULTS["idle_seconds"] * 1000 + 1500)
    page.locator("#idle-warning").wait_for(state="visible")
    _check_screen(page, "idle-warning", lang, call_box)

    # Large text (200 %): nothing scrolls sideways, targets stay big.
    for name, url in [("home", "/"), ("search", "/search"), ("service", f"/service/{service.id}"),
                      ("slip", f"/slip?pathway={pathway.id}")]:
        page.goto(url)
        if page.locator("#bigtext").get_attribute("aria-pressed") != "true":
            page.locator("#bigtext").click()
        assert page.evaluate("getComputedStyle(document.documentElement).fontSize") == \
            f"{2 * round(MIN_TEXT + 0.5)}px"
        measured = _measure(page)
        assert not measured["sideways"], (name, lang, "large text scrolls sideways")
        assert not measured["small"], (name, lang, measured["small"])
        if name == "home":
            _shoot(page, f"home-large-text-{lang}")


def test_need_service_slip_print_journey(kiosk, facts, tmp_path):
    page = kiosk
    page.goto("/")
    page.get_by_role("link", name="Argent").click()
    page.wait_for_url("**/need/argent")
    page.locator("#services a.card").first.click()
    page.wait_for_url("**/service/*")
    service_id = page.url.rsplit("/", 1)[1]
    page.get_by_role("link", name="Recevoir un papier").click()
    page.wait_for_url("**/slip?service=*")
    assert page.locator(".slip-contact").is_visible()
    page.get_by_role("button", name="Imprimer", exact=True).click()
    # Busy while the printer works: the idle timer holds (the same rule as a pending call,
    # tested below), and a second tap cannot print twice.
    assert page.evaluate("document.body.dataset.busy") == "1"
    assert page.locator("form.print-form button").is_disabled()
    page.get_by_text("Votre papier est imprimé.").wait_for(timeout=30_000)
    assert page.evaluate("document.body.dataset.busy") is None

    (pdf,) = (tmp_path / "slips").glob("*.pdf")
    info = subprocess.run(["pdfinfo", str(pdf)], capture_output=True, text=True).stdout
    width = float(re.search(r"Page size:\s+([\d.]+) x", info).group(1))
    assert abs(width - 226.77) < 1.5
    assert re.search(r"Pages:\s+1\b", info)
    text = " ".join(subprocess.run(["pdftotext", str(pdf), "-"], capture_output=True,
                                   text=True).stdout.split())
    contact = slip.for_services(facts["db"], [service_id]).contact
    tail = text.rsplit("Votre personne de contact", 1)[1].strip()
    assert tail.startswith(contact.name)
    # The named person comes first on paper (before the steps), not at the end of a long roll.
    assert text.index(contact.name) < len(text) // 3


def test_search_with_the_on_screen_keyboard_and_a_typo(kiosk):
    page = kiosk
    page.goto("/")
    page.get_by_role("link", name="Chercher avec des mots").click()
    for key in "detes":  # "dettes" with a letter missing
        page.locator(f'.key[data-key="{key}"]').click()
    assert page.locator("#q").input_value() == "detes"
    page.locator(".key[data-erase]").click()
    page.locator('.key[data-key="s"]').click()
    page.locator('.key[data-key=" "]').click()
    assert page.locator("#q").input_value() == "detes "
    page.locator(".key.go").click()
    page.wait_for_url("**/search?q=detes*")
    assert page.locator("#results a.card").count() >= 1
    titles = " ".join(page.locator("#results .card-title").all_inner_texts()).lower()
    assert "dette" in titles


def test_call_a_person_desk_acknowledges_kiosk_is_told(browser, kiosk, facts, live_server):
    page = kiosk
    db, user = facts["db"], facts["user"]
    cookie, session = accounts.open_session(db, user)
    desk_context = browser.new_context(base_url=live_server.url, locale="fr-BE")
    desk_context.add_cookies([{"name": accounts.COOKIE, "value": cookie,
                               "url": live_server.url}])
    desk = desk_context.new_page()
    try:
        desk.goto("/desk")
        desk.get_by_role("button", name="Je suis à l'accueil").click()
        desk.get_by_text("Vous êtes à l'accueil.").wait_for()

        page.goto("/need/argent")
        page.get_by_role("button", name="Parler à une personne").click()
        page.get_by_text("Nous appelons une personne.").wait_for()
        # The desk's list refreshes by itself (every 2 s).
        desk.get_by_role("button", name="J'arrive").wait_for(timeout=10_000)
        assert "Borne Ixelles" in desk.content()
        # A staff page at desktop density: WCAG 2.2 AA (the kiosk's 20 mm rules are for touch).
        results = _axe.run(desk, options={"runOnly": {"type": "tag", "values": AXE_TAGS[:4]}})
        assert not results.response["violations"], results.generate_report()
        _shoot(desk, "desk-fr")
        desk.get_by_role("button", name="J'arrive").click()
        desk.get_by_text("prise en charge par Aïcha Accueil").wait_for()
        # The kiosk polls every 3 s.
        page.get_by_text("Une personne arrive.").wait_for(timeout=10_000)
        desk.get_by_role("button", name="Terminé").click()
        page.get_by_text("Merci. À bientôt.").wait_for(timeout=10_000)
    finally:
        desk_context.close()


def test_idle_warning_then_reset_to_french_home(kiosk):
    page = kiosk
    page.clock.install()
    page.goto("/lang/ar?next=/need/argent")
    page.evaluate("sessionStorage.setItem('bigtext', '1')")
    assert page.locator("html").get_attribute("lang") == "ar"
    page.clock.fast_forward((DEFAULTS["idle_seconds"] - 5) * 1000)
    assert page.locator("#idle-warning").is_hidden()
    page.clock.fast_forward(6_000)
    warning = page.locator("#idle-warning")
    warning.wait_for(state="visible")
    assert page.locator("#idle-live").inner_text()  # announced
    # "Continuer" keeps everything.
    page.get_by_role("button", name="متابعة").click()
    assert warning.is_hidden() and "/need/argent" in page.url
    # Then nobody answers: the warning stays >= 20 s, then the kiosk resets.
    page.clock.fast_forward(DEFAULTS["idle_seconds"] * 1000 + 1000)
    warning.wait_for(state="visible")
    page.clock.fast_forward(20_000)
    assert warning.is_visible()
    page.clock.fast_forward(DEFAULTS["idle_warning_seconds"] * 1000)
    page.wait_for_url(re.compile(r"/$"))
    assert page.locator("html").get_attribute("lang") == "fr"
    assert page.evaluate("sessionStorage.length") == 0
    assert not [c for c in page.context.cookies() if c["name"] == "lang"]


def test_no_reset_while_a_person_is_called(kiosk, facts):
    page = kiosk
    helpdesk.start_duty(facts["db"], facts["user"].id)
    page.clock.install()
    page.goto("/")
    page.get_by_role("button", name="Parler à une personne").click()
    page.get_by_text("Nous appelons une personne.").wait_for()
    page.clock.fast_forward((DEFAULTS["idle_seconds"] + DEFAULTS["idle_warning_seconds"] + 30)
                            * 1000)
    assert page.locator("#idle-warning").is_hidden()
    assert "/help/" in page.url


def test_language_switch_to_arabic_and_back(kiosk):
    page = kiosk
    page.goto("/need/logement")
    page.get_by_role("link", name="العربية").click()
    page.wait_for_load_state()
    assert page.locator("html").get_attribute("dir") == "rtl"
    assert "/need/logement" in page.url
    assert page.get_by_role("heading", level=1).inner_text().strip() == "السكن"
    assert page.locator('a[lang="fr"]').get_attribute("hreflang") == "fr"
    page.get_by_role("link", name="Français").click()
    page.wait_for_load_state()
    assert page.locator("html").get_attribute("dir") == "ltr"


def test_audio_mode_plays_a_valid_wav(kiosk):
    page = kiosk
    page.goto("/need/energie")
    with page.expect_response("**/speech") as info:
        page.get_by_role("button", name="Écouter").click()
    response = info.value
    assert response.status == 200 and response.headers["content-type"] == "audio/wav"
    sent = response.request.post_data_json["segments"]
    assert sent[0][0] == "fr" and "Énergie" in sent[0][1]
    assert int(response.headers["content-length"]) > 44
    # Playwright does not keep the body of a response the page read as a blob: ask again
    # for exactly what the page sent (the server answers from its cache).
    # (With the page's Origin, as the page's own fetch sends it: the kiosk refuses others.)
    origin = page.evaluate("location.origin")
    again = page.request.post("/speech", data={"segments": sent}, headers={"Origin": origin})
    with wave.open(io.BytesIO(again.body())) as audio:
        seconds = audio.getnframes() / audio.getframerate()
    words = sum(len(text.split()) for _, text in sent)
    assert words / 140 * 60 * 0.5 < seconds < words / 140 * 60 * 2.5
    page.get_by_role("button", name="Répéter").wait_for()
    page.get_by_role("button", name="Arrêter").click()
    assert page.evaluate("document.querySelector('#speech-audio').paused")
    page.get_by_role("button", name="Écouter").wait_for()

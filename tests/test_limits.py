"""Limits that hold in production: rate counters shared by every worker (SQLite), the kiosk's
anonymous POSTs limited per address and refused from other sites, login throttling that does
not lock out an office behind one NAT, and unknown API keys refused on every route.

Real SQLite files, real apps (TestClient, or real uvicorn servers where two workers are meant),
real Chromium for what the browser sends.
"""

from __future__ import annotations

import html
import re
import socket
import time
import uuid
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest
from litestar.testing import TestClient

from api.app import create_app
from conftest import TEST_HOST, LiveServer, local_settings
from orientation import access, accounts, helpdesk, limits, reports, store

SAME_SITE = {"Origin": "http://testserver.local"}
PASSWORD = "un mot de passe long"


def _port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _clear_of_window_end(seconds: int, margin: float = 5) -> None:
    """Wait for the next window when the current one ends within ``margin`` seconds: the
    counters use fixed clock-aligned windows, and a test counting up to a limit must not
    straddle two of them."""
    left = seconds - time.time() % seconds
    if left < margin:
        time.sleep(left + 0.1)


def _page_text(response) -> str:
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", response.text)).split())


# --- 1. One budget for every worker ---------------------------------------------------------


def test_two_workers_share_one_api_budget(db_path, index_dir, tmp_path):
    """Two apps on one database file, each behind its own uvicorn server (two workers), hit at
    the same time from one address: together they accept exactly ``rate_limit`` requests."""
    settings = {**local_settings(tmp_path), "rate_limit": 6}
    apps = [create_app(db_path, index_dir, settings=settings) for _ in range(2)]
    with LiveServer(apps[0], _port()) as one, LiveServer(apps[1], _port()) as two:
        _clear_of_window_end(60)
        urls = [f"{server.url}/api/v1/needs" for server in (one, two) for _ in range(10)]
        with ThreadPoolExecutor(max_workers=8) as pool:
            answers = list(pool.map(httpx.get, urls))
    statuses = [a.status_code for a in answers]
    assert statuses.count(200) == 6 and statuses.count(429) == 14, statuses
    refused = next(a for a in answers if a.status_code == 429)
    assert refused.headers["content-type"].startswith("application/problem+json")
    assert refused.json()["status"] == 429
    assert 1 <= int(refused.headers["retry-after"]) <= 60


def test_kiosk_limits_are_shared_by_two_apps_too(db_path, tmp_path, index_dir):
    settings = {**local_settings(tmp_path), "reports_per_hour": 3}
    service = _active_service(db_path)
    with TestClient(create_app(db_path, index_dir, settings=settings)) as one, \
            TestClient(create_app(db_path, index_dir, settings=settings)) as two:
        _clear_of_window_end(3600)
        statuses = [c.post(f"/service/{service}/wrong", headers=SAME_SITE).status_code
                    for _ in range(3) for c in (one, two)]
    assert statuses.count(429) == 3, statuses
    assert len(reports.problem_queue(store.connect(db_path), service_id=service)) == 3


def test_counters_keep_no_address_and_forget_old_windows(db):
    limit = limits.Limit("test", 2, 60)
    start = 1_800_000_000 - 1_800_000_000 % 60
    assert limits.hit(db, limit, "192.0.2.1", now=start) is None
    assert limits.hit(db, limit, "192.0.2.1", now=start + 1) is None
    assert limits.hit(db, limit, "192.0.2.1", now=start + 20) == 40  # Retry-After: window end
    assert limits.hit(db, limit, "192.0.2.2", now=start + 20) is None  # another address
    rows = list(db.query("select bucket from rate_counters"))
    assert rows and not any("192.0.2" in r["bucket"] for r in rows)
    # The next window starts afresh, and any hit drops the windows that are over.
    assert limits.hit(db, limit, "192.0.2.1", now=start + 61) is None
    assert {r["window_start"] for r in db.query("select window_start from rate_counters")} \
        == {start + 60}


def test_a_negative_limit_is_refused_at_start(db_path, tmp_path):
    from orientation.settings import SettingsError

    with pytest.raises(SettingsError, match="prints_per_10_minutes"):
        create_app(db_path, tmp_path / "index", settings={"prints_per_10_minutes": -1})


# --- 2. The kiosk's anonymous actions, per address -------------------------------------------


def _active_service(db_path) -> str:
    db = store.connect(db_path)
    try:
        return next(s.id for s in store.iter_services(db, status="active") if s.contact_ids)
    finally:
        db.close()


def _active_pathway(db_path) -> str:
    db = store.connect(db_path)
    try:
        return store.list_pathways(db, status="active")[0].id
    finally:
        db.close()


KIOSK_ACTIONS = {
    "print": ("prints_per_10_minutes", 600),
    "report": ("reports_per_hour", 3600),
    "speech": ("speech_per_minute", 60),
    "help": ("help_requests_per_10_minutes", 600),
}


def _send(client: TestClient, action: str, db_path, **headers):
    headers = {**SAME_SITE, **headers}
    if action == "print":
        return client.post("/slip/print", data={"pathway": _active_pathway(db_path)},
                           headers=headers)
    if action == "report":
        return client.post(f"/service/{_active_service(db_path)}/wrong", headers=headers)
    if action == "speech":
        return client.post("/speech", json={"segments": [["fr", "Bonjour."]]}, headers=headers)
    return client.post("/help", headers=headers, follow_redirects=False)


@pytest.mark.parametrize("action", sorted(KIOSK_ACTIONS))
def test_kiosk_action_is_limited_per_address_in_plain_words(db_path, index_dir, tmp_path,
                                                            action):
    setting, seconds = KIOSK_ACTIONS[action]
    settings = {**local_settings(tmp_path), setting: 2}
    with TestClient(create_app(db_path, index_dir, settings=settings)) as client:
        _clear_of_window_end(seconds)
        first = [_send(client, action, db_path).status_code for _ in range(2)]
        refused = _send(client, action, db_path)
    assert all(status < 400 for status in first), first
    assert refused.status_code == 429
    assert 1 <= int(refused.headers["retry-after"]) <= seconds
    if action == "speech":  # the page's script reads JSON, never a page
        assert refused.json()["error"]
    else:
        assert "Trop de demandes en peu de temps." in _page_text(refused)
        assert "Attendez quelques minutes, puis recommencez." in _page_text(refused)
        assert 'id="call-button"' in refused.text  # the way to a person stays


def test_nothing_is_created_over_the_limit(db_path, index_dir, tmp_path):
    settings = {**local_settings(tmp_path), "reports_per_hour": 2, "prints_per_10_minutes": 1}
    service = _active_service(db_path)
    with TestClient(create_app(db_path, index_dir, settings=settings)) as client:
        _clear_of_window_end(3600)
        for _ in range(5):
            client.post(f"/service/{service}/wrong", headers=SAME_SITE)
        for _ in range(3):
            _send(client, "print", db_path)
    assert len(reports.problem_queue(store.connect(db_path), service_id=service)) == 2
    assert len(list((tmp_path / "slips").glob("*.pdf"))) == 1


def test_the_limit_message_is_in_the_kiosk_language(db_path, index_dir, tmp_path):
    settings = {**local_settings(tmp_path), "reports_per_hour": 1}
    service = _active_service(db_path)
    with TestClient(create_app(db_path, index_dir, settings=settings)) as client:
        client.get("/lang/nl")
        _clear_of_window_end(3600)
        client.post(f"/service/{service}/wrong", headers=SAME_SITE)
        refused = client.post(f"/service/{service}/wrong",
                              headers={"HX-Request": "true", **SAME_SITE})
    assert refused.status_code == 429
    assert "Te veel vragen in korte tijd." in _page_text(refused)
    assert "<html" not in refused.text  # htmx gets the fragment


def test_zero_means_no_limit(db_path, index_dir, tmp_path):
    settings = {**local_settings(tmp_path), "speech_per_minute": 0}
    with TestClient(create_app(db_path, index_dir, settings=settings)) as client:
        statuses = {_send(client, "speech", db_path).status_code for _ in range(40)}
    assert statuses == {200}


# --- 3. Same-origin POSTs ----------------------------------------------------------------------


def _post_paths(db_path) -> list[str]:
    db = store.connect(db_path)
    try:
        call = helpdesk.ask(db, "Ixelles")
    finally:
        db.close()
    return ["/slip/print", f"/service/{_active_service(db_path)}/wrong", "/help",
            f"/help/{call.id}/cancel", "/speech"]


@pytest.mark.parametrize("headers", [
    {"Origin": "https://evil.example"},
    {"Origin": "http://testserver.local.evil.example"},
    {"Origin": "http://testserver.local:8080"},
    {"Origin": "null"},
    {"Referer": "https://evil.example/page"},
    {},
], ids=["other-site", "suffix", "other-port", "null", "referer", "neither"])
def test_kiosk_posts_from_elsewhere_are_refused(db_path, index_dir, tmp_path, headers):
    with TestClient(create_app(db_path, index_dir, settings=local_settings(tmp_path))) as client:
        paths = _post_paths(db_path)
        answers = {path: client.post(path, headers=headers, data={"pathway": "x"},
                                     follow_redirects=False) for path in paths}
    for path, answer in answers.items():
        assert answer.status_code == 403, path
        if path == "/speech":
            assert answer.json()["error"]
        else:
            assert "Cette demande vient d'un autre site." in _page_text(answer), path
    db = store.connect(db_path)
    assert not reports.problem_queue(db)
    assert [c.status for c in helpdesk.open_requests(db)] == ["pending"]  # not cancelled
    assert not (tmp_path / "slips").exists() or not list((tmp_path / "slips").iterdir())


@pytest.mark.parametrize("headers", [
    {"Origin": "http://testserver.local"},
    {"Referer": "http://testserver.local/service/x"},
    {"Origin": "https://kiosk.example.be"},  # public_url, behind a TLS proxy
])
def test_kiosk_posts_from_its_own_pages_are_accepted(db_path, index_dir, tmp_path, headers):
    settings = {**local_settings(tmp_path), "public_url": "https://kiosk.example.be/"}
    service = _active_service(db_path)
    with TestClient(create_app(db_path, index_dir, settings=settings)) as client:
        tapped = client.post(f"/service/{service}/wrong", headers=headers,
                             follow_redirects=False)
    assert tapped.status_code == 303
    assert len(reports.problem_queue(store.connect(db_path), service_id=service)) == 1


def test_chromium_posts_from_the_kiosk_and_is_refused_from_another_site(browser, live_server,
                                                                        db_path):
    """What a real Chromium sends: the kiosk's own form (htmx) works; the same form on
    another site's page, posted to the kiosk, is refused and creates nothing."""
    service = _active_service(db_path)
    context = browser.new_context(base_url=live_server.url)
    page = context.new_page()
    try:
        page.goto(f"/service/{service}")
        with page.expect_response(f"**/service/{service}/wrong") as info:
            page.locator("#wrong button").click()
        assert info.value.status == 200
        page.get_by_text("Merci. Une personne va vérifier.").wait_for()
        # A page of another site with a form aimed at the kiosk (served by Playwright).
        page.route("http://elsewhere.example/", lambda route: route.fulfill(
            content_type="text/html", body=f'<form method="post" action="{live_server.url}'
            f'/service/{service}/wrong"><button>go</button></form>'))
        page.goto("http://elsewhere.example/")
        with page.expect_response(f"**/service/{service}/wrong") as info:
            page.locator("button").click()
        assert info.value.status == 403
        assert info.value.request.headers["origin"] == "http://elsewhere.example"
        page.get_by_text("Cette demande vient d'un autre site.").wait_for()
    finally:
        context.close()
    assert len(reports.problem_queue(store.connect(db_path), service_id=service)) == 1


# --- 4. Login throttling per account and per address -----------------------------------------


def _staff_login(client: TestClient, username: str, password: str = PASSWORD):
    page = client.get("/staff/login")
    token = re.search(r'name="csrf" value="([^"]+)"', page.text).group(1)
    return client.post("/staff/login", data={"username": username, "password": password,
                                             "csrf": token, "next": "/staff"},
                       follow_redirects=False)


def test_one_colleague_mistyping_does_not_lock_out_the_office(db_path, index_dir, tmp_path):
    """Everyone behind one address (the test client's, like an office behind one NAT): one
    account locks after its failures, the colleagues still log in."""
    db = store.connect(db_path)
    for name in ("amina", "bruno"):
        accounts.create_user(db, name, PASSWORD, role="staff", actor="test")
    db.close()
    settings = {**local_settings(tmp_path), "login_failures_per_account": 3}
    with TestClient(create_app(db_path, index_dir, settings=settings)) as client:
        assert [_staff_login(client, "amina", "typo typo typo").status_code
                for _ in range(3)] == [401, 401, 401]
        locked = _staff_login(client, "amina")  # the right password, too late
        colleague = _staff_login(client, "bruno")
    assert locked.status_code == 429 and int(locked.headers["retry-after"]) == 15 * 60
    assert colleague.status_code == 303


def test_an_account_locks_whatever_address_the_guesses_come_from(db):
    accounts.create_user(db, "chloe", PASSWORD, role="staff", actor="test")
    for n in range(accounts.MAX_ACCOUNT_FAILURES):
        assert accounts.login(db, "chloe", "guess guess", address=f"198.51.100.{n}") is None
    with pytest.raises(accounts.Throttled):
        accounts.login(db, "chloe", PASSWORD, address="203.0.113.50")


def test_a_spraying_address_is_stopped_across_accounts(db):
    accounts.create_user(db, "david", PASSWORD, role="staff", actor="test")
    # One wrong password on each of many accounts: no account reaches its own limit...
    for n in range(accounts.MAX_ADDRESS_FAILURES):
        assert accounts.login(db, f"agent{n}", "Password1!", address="192.0.2.66") is None
    # ... but the address has: even a right password is refused from there, not elsewhere.
    with pytest.raises(accounts.Throttled):
        accounts.login(db, "david", PASSWORD, address="192.0.2.66")
    assert accounts.login(db, "david", PASSWORD, address="192.0.2.67") is not None


def test_address_threshold_comes_from_the_setting(db_path, index_dir, tmp_path):
    settings = {**local_settings(tmp_path), "login_failures_per_address": 4}
    with TestClient(create_app(db_path, index_dir, settings=settings)) as client:
        statuses = [_staff_login(client, f"nobody{n}", "x" * 12).status_code for n in range(5)]
    assert statuses == [401, 401, 401, 401, 429]


# --- 5. A key that is sent must be known, on every API route ---------------------------------


def _api_get_paths(app) -> list[tuple[str, bool]]:
    """(path with made-up ids, needs a key) of every GET route of /api/v1 and /hsds."""
    found = []
    for route in app.routes:
        if not route.path.startswith(("/api/v1", "/hsds")):
            continue
        for handler in getattr(route, "route_handlers", []):
            if "GET" in handler.http_methods:
                path = re.sub(r"\{[^}:]+:uuid\}", str(uuid.UUID(int=7)), route.path)
                path = re.sub(r"\{[^}]+\}", "x", path)
                found.append((path, bool(handler.opt.get("needs_key"))))
    return sorted(set(found))


@pytest.fixture
def key_app(db_path, index_dir, api_keys):
    return create_app(db_path, index_dir, settings={"rate_limit": 0, "allowed_hosts": TEST_HOST})


@pytest.fixture
def revoked_key(db_path) -> str:
    db = store.connect(db_path)
    key, secret = access.create_api_key(db, name="Ancien partenaire", role="staff",
                                        organization_id=None, actor="test")
    store.revoke_api_key(db, key.id, actor="test")
    db.close()
    return secret


@pytest.mark.parametrize("sent", ["unknown-bearer", "unknown-x-api-key", "revoked"])
def test_an_unrecognised_key_gets_401_on_every_api_route(key_app, revoked_key, sent):
    headers = {"unknown-bearer": {"Authorization": "Bearer ori_not-a-real-key"},
               "unknown-x-api-key": {"X-API-Key": "ori_not-a-real-key"},
               "revoked": {"Authorization": f"Bearer {revoked_key}"}}[sent]
    paths = _api_get_paths(key_app)
    assert len(paths) > 20
    with TestClient(key_app) as client:
        answers = {path: client.get(path, headers=headers) for path, _ in paths}
    wrong = {path: a.status_code for path, a in answers.items() if a.status_code != 401}
    assert wrong == {}
    for answer in answers.values():
        assert answer.headers["www-authenticate"] == "Bearer"
        assert answer.headers["content-type"].startswith("application/problem+json")
        assert answer.json()["status"] == 401


def test_without_a_key_public_reads_stay_open(key_app):
    with TestClient(key_app) as client:
        statuses = {path: client.get(path).status_code for path, needs_key
                    in _api_get_paths(key_app) if not needs_key}
    assert 401 not in statuses.values() and 200 in statuses.values(), statuses


def test_guessing_keys_is_limited_by_address(db_path, index_dir, api_keys):
    settings = {"rate_limit": 3, "allowed_hosts": TEST_HOST}
    with TestClient(create_app(db_path, index_dir, settings=settings)) as client:
        _clear_of_window_end(60)
        statuses = [client.get("/api/v1/needs", headers={"X-API-Key": f"ori_guess{n}"})
                    .status_code for n in range(5)]
        good = client.get("/api/v1/needs", headers=api_keys.headers["staff"])
    assert statuses == [401, 401, 401, 429, 429]
    assert good.status_code == 200  # a real key has its own budget

"""Production trust: security headers and a strict CSP, offline API docs, HEAD and Allow,
bounded bodies, control characters in paths, the Host header, and cross-organisation links.

Real app, real SQLite, real Chromium for the CSP (no violation reported on the main pages).
"""

from __future__ import annotations

import re
import uuid
from html.parser import HTMLParser
from pathlib import Path

import msgspec
import pytest
from litestar.testing import TestClient

from api.app import create_app
from conftest import TEST_HOST, local_settings
from orientation import access, accounts, store, writes
from orientation.errors import PermissionDenied
from orientation.models import Pathway, PathwayStep

TEMPLATES = Path(__file__).parent.parent / "kiosk" / "templates"
PASSWORD = "correct horse battery"
DEEP = b"[" * 100_000 + b"]" * 100_000


@pytest.fixture
def seeded(db_path):
    """Two organisations (the editor's and another) with a service, place and contact each."""
    db = store.connect(db_path)
    orgs = [r["organization_id"] for r in db.query(
        "select organization_id, count(*) n from services group by organization_id "
        "order by n desc, organization_id limit 2")]
    facts = {}
    for name, org in (("own", orgs[0]), ("other", orgs[1])):
        facts[name] = {
            "org": org,
            "service": store.list_services(db, organization_id=org, status="active")[0],
            "location": store.list_locations(db, organization_id=org)[0],
            "contact": store.list_contacts(db, organization_id=org, status="active")[0],
        }
    db.close()
    return facts


def login(client: TestClient, username: str) -> None:
    page = client.get("/staff/login")
    token = re.search(r'name="csrf" value="([^"]+)"', page.text).group(1)
    response = client.post("/staff/login", data={"username": username, "password": PASSWORD,
                                                  "csrf": token, "next": "/staff"},
                           follow_redirects=False)
    assert response.status_code == 303


# --- 1. Security headers and the Content-Security-Policy -----------------------------------


HTML_PAGES = ["/", "/search?q=loyer", "/help", "/staff/login", "/schema"]


@pytest.mark.parametrize("path", HTML_PAGES)
def test_html_pages_carry_the_security_headers(client, path):
    response = client.get(path)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    csp = response.headers["content-security-policy"]
    assert "'unsafe-inline'" not in csp and "'unsafe-eval'" not in csp
    assert "frame-ancestors 'none'" in csp and "script-src 'self'" in csp
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["x-frame-options"] == "DENY"
    assert response.headers["referrer-policy"] in ("same-origin", "no-referrer")
    policy = response.headers["permissions-policy"]
    for feature in ("camera=()", "microphone=()", "geolocation=()"):
        assert feature in policy
    # Plain HTTP: no HSTS (it would lock a kiosk on a LAN out of its own server).
    assert "strict-transport-security" not in response.headers


def test_api_json_is_nosniff_and_hsts_only_over_https(db_path, index_dir):
    app = create_app(db_path, index_dir, settings={"allowed_hosts": TEST_HOST})
    with TestClient(app) as plain:
        response = plain.get("/api/v1/needs")
        assert response.headers["x-content-type-options"] == "nosniff"
        assert "strict-transport-security" not in response.headers
    with TestClient(app, base_url="https://testserver.local") as secure:
        for path in ("/api/v1/needs", "/"):
            assert "max-age=" in secure.get(path).headers["strict-transport-security"]


class _Inline(HTMLParser):
    """Collects what a CSP without 'unsafe-inline' would block."""

    def __init__(self) -> None:
        super().__init__()
        self.found: list[str] = []
        self._script = False

    def handle_starttag(self, tag, attrs):
        names = dict(attrs)
        if tag == "style":
            self.found.append("<style>")
        if tag == "script":
            self._script = "src" not in names
        for name, value in attrs:
            if name == "style" or name.startswith("on"):
                self.found.append(f"{tag} {name}={value!r}")
            if name in ("href", "src", "action") and (value or "").startswith("javascript:"):
                self.found.append(f"{tag} {name}={value!r}")

    def handle_data(self, data):
        if self._script and data.strip():
            self.found.append(f"<script>{data.strip()[:40]}")

    def handle_endtag(self, tag):
        if tag == "script":
            self._script = False


def inline_code(html: str) -> list[str]:
    parser = _Inline()
    parser.feed(html)
    return parser.found


# slip_print.html is never served: Chromium prints it from set_content (orientation/printing).
SERVED_TEMPLATES = [p for p in sorted(TEMPLATES.rglob("*.html")) if p.name != "slip_print.html"]


@pytest.mark.parametrize("template", SERVED_TEMPLATES,
                         ids=lambda p: str(p.relative_to(TEMPLATES)))
def test_templates_have_no_inline_script_style_or_handler(template):
    source = re.sub(r"{#.*?#}", "", template.read_text(encoding="utf-8"), flags=re.DOTALL)
    assert inline_code(source) == []


def test_rendered_pages_have_no_inline_code(client, seeded, db_path):
    db = store.connect(db_path)
    accounts.create_user(db, "ada", PASSWORD, role="admin", actor="test")
    pathway = store.list_pathways(db, status="active")[0]
    db.close()
    service = seeded["own"]["service"]
    paths = ["/", "/search?q=loyer", f"/service/{service.id}", f"/pathway/{pathway.id}",
             f"/slip?pathway={pathway.id}", "/help", "/staff/login", "/schema"]
    login(client, "ada")
    paths += ["/staff", "/staff/search?q=loyer", f"/staff/service/{service.id}",
              f"/staff/edit/service/{service.id}", f"/staff/edit/pathway/{pathway.id}",
              "/staff/slip", "/desk"]
    for path in paths:
        response = client.get(path)
        assert response.status_code == 200, path
        assert inline_code(response.text) == [], path


# --- 2. Offline API docs --------------------------------------------------------------------


def test_api_docs_use_only_our_own_assets(client):
    page = client.get("/schema")
    assert page.status_code == 200
    assets = re.findall(r'(?:src|href)="([^"]+)"', page.text)
    assert assets, page.text
    assert not [a for a in assets if re.match(r"(?:https?:)?//", a)], assets
    assert "http://" not in page.text and "https://" not in page.text
    for asset in assets:
        if asset.startswith("/"):
            assert client.get(asset).status_code == 200, asset
    assert client.get("/schema/openapi.json").json()["info"]["title"] == "Orientation"


# --- 3. HEAD and Allow ----------------------------------------------------------------------


@pytest.mark.parametrize("path", ["/", "/search?q=loyer", "/staff", "/staff/search",
                                  "/api/v1/services", "/api/v1/needs", "/hsds/",
                                  "/hsds/services", "/static/kiosk.js", "/schema", "/healthz"])
def test_head_answers_like_get_without_a_body(client, path):
    get = client.get(path, follow_redirects=False)
    head = client.head(path, follow_redirects=False)
    assert head.status_code == get.status_code != 405
    assert head.content == b""
    for name in ("content-type", "location", "content-length", "x-content-type-options"):
        assert head.headers.get(name) == get.headers.get(name), name


@pytest.mark.parametrize("method, path, allowed", [
    ("OPTIONS", "/api/v1/services", "GET, HEAD, OPTIONS, POST"),
    ("PUT", "/search", "GET, HEAD, OPTIONS"),
    ("DELETE", "/api/v1/needs", "GET, HEAD, OPTIONS"),
    ("GET", "/speech", "OPTIONS, POST"),
    ("OPTIONS", "/hsds/services", "GET, HEAD, OPTIONS, POST"),  # POST: the search twin
])
def test_allow_lists_every_method_of_the_path(client, method, path, allowed):
    response = client.request(method, path)
    assert response.status_code == (204 if method == "OPTIONS" else 405)
    assert response.headers["allow"] == allowed


# --- 4. Bounded bodies, control characters ------------------------------------------------


def _body_routes(app) -> list[tuple[str, str]]:
    """Every route that takes a body, its path parameters filled with a made-up id."""
    found = []
    for route in app.routes:
        for method in sorted(set(getattr(route, "methods", ())) & {"POST", "PUT", "PATCH"}):
            path = re.sub(r"\{[^}]+\}", str(uuid.uuid4()), route.path)
            found.append((method, path))
    return found


def test_deeply_nested_json_is_refused_on_every_route_without_a_traceback(client):
    routes = _body_routes(client.app)
    assert ("POST", "/speech") in routes and len(routes) >= 12
    for method, path in routes:
        response = client.request(method, path, content=DEEP,
                                  headers={"content-type": "application/json"})
        assert response.status_code == 400, (method, path, response.status_code)
        assert "Traceback" not in response.text and "RecursionError" not in response.text
        if path.startswith(("/api", "/hsds")):
            assert response.headers["content-type"] == "application/problem+json"
            assert response.json()["status"] == 400
        else:
            assert "JSON" in response.text


def test_too_large_bodies_get_413(db_path, index_dir):
    settings = {"allowed_hosts": TEST_HOST, "max_body_kb": 4}
    with TestClient(create_app(db_path, index_dir, settings=settings)) as client:
        big = b'{"name": "' + b"x" * 5000 + b'"}'
        api = client.post("/api/v1/organizations", content=big,
                          headers={"content-type": "application/json"})
        assert api.status_code == 413
        assert api.headers["content-type"] == "application/problem+json"
        kiosk = client.post("/help", content=b"a=" + b"x" * 5000,
                            headers={"content-type": "application/x-www-form-urlencoded"})
        assert kiosk.status_code == 413 and kiosk.headers["content-type"].startswith("text/plain")
        small = client.post("/speech", json={"segments": [["fr", "Bonjour"]]})
        assert small.status_code != 413


def test_json_depth_counts_only_structure():
    from api.security import MAX_JSON_DEPTH, json_depth

    assert json_depth(b'{"a": [1, {"b": [2]}]}') == 0  # few brackets: not even counted
    nested = b"[" * (MAX_JSON_DEPTH + 1) + b"]" * (MAX_JSON_DEPTH + 1)
    assert json_depth(nested) == MAX_JSON_DEPTH + 1
    in_strings = b'["' + b"[" * 100 + b'"]'
    assert json_depth(in_strings) == 1


@pytest.mark.parametrize("path", ["/static/kiosk.js%00.png", "/static/%01kiosk.js",
                                  "/service/abc%00", "/api/v1/services/%00", "/hsds/%7f",
                                  "/staff/reports/a%0d%0ab"])
def test_control_characters_in_a_path_are_a_404(client, path):
    response = client.get(path)
    assert response.status_code == 404
    assert "Traceback" not in response.text


# --- 5. The Host header ---------------------------------------------------------------------


def test_a_forged_host_is_refused_by_default(db_path, index_dir):
    with TestClient(create_app(db_path, index_dir)) as client:
        for path in ("/hsds/", "/", "/slip", "/api/v1/needs", "/nowhere"):
            forged = client.get(path, headers={"host": "evil.example"})
            assert forged.status_code == 400, path
            assert "evil.example" not in forged.text
        for host in ("localhost", "127.0.0.1:8000", "[::1]:8000", "LOCALHOST:8000"):
            assert client.get("/hsds/", headers={"host": host}).status_code == 200, host


def test_links_use_public_url_and_its_host_is_allowed(db_path, index_dir):
    settings = {"public_url": "https://orientation.example.be/"}
    with TestClient(create_app(db_path, index_dir, settings=settings)) as client:
        meta = client.get("/hsds/", headers={"host": "orientation.example.be"}).json()
        assert meta["profile"] == "https://orientation.example.be/hsds/profile"
        local = client.get("/hsds/", headers={"host": "localhost:8000"}).json()
        assert local["openapi_url"] == "https://orientation.example.be/schema/openapi.json"
        assert client.get("/", headers={"host": "evil.example"}).status_code == 400


def test_allowed_hosts_setting_replaces_the_default(db_path, index_dir):
    settings = {"allowed_hosts": "kiosk.cpas.example, 10.0.0.5"}
    with TestClient(create_app(db_path, index_dir, settings=settings)) as client:
        assert client.get("/", headers={"host": "kiosk.cpas.example"}).status_code == 200
        assert client.get("/", headers={"host": "10.0.0.5:8000"}).status_code == 200
        assert client.get("/", headers={"host": "localhost"}).status_code == 400


# --- 6. Cross-organisation links ------------------------------------------------------------


def test_an_editor_cannot_link_another_organisations_places_or_people(api_client, api_keys,
                                                                       seeded):
    own, other = seeded["own"], seeded["other"]
    editor = api_keys.headers["editor"]
    url = f"/api/v1/services/{own['service'].id}"
    for change in ({"location_ids": [*own["service"].location_ids, other["location"].id]},
                   {"contact_ids": [*own["service"].contact_ids, other["contact"].id]}):
        refused = api_client.patch(url, json=change, headers=editor)
        assert refused.status_code == 403, refused.text
        assert refused.headers["content-type"] == "application/problem+json"
    # Their own organisation's records: fine; an admin may link across organisations.
    assert api_client.patch(url, json={"contact_ids": [own["contact"].id]},
                            headers=editor).status_code == 200
    admin = api_client.patch(url, headers=api_keys.headers["admin"], json={
        "location_ids": [*own["service"].location_ids, other["location"].id]})
    assert admin.status_code == 200, admin.text
    # The admin's link stays when the editor changes something else.
    kept = api_client.patch(url, json={"description": "Permanence au CPAS."}, headers=editor)
    assert kept.status_code == 200, kept.text
    assert other["location"].id in kept.json()["location_ids"]


def test_a_pathway_step_cannot_name_another_organisations_contact(db_path, seeded):
    own, other = seeded["own"], seeded["other"]
    db = store.connect(db_path)
    step = PathwayStep(service_id=own["service"].id, contact_id=own["contact"].id,
                       action="Demander un rendez-vous.")
    pathway = Pathway(need="Test", steps=[step])
    editor = access.Caller(role="editor", organization_id=own["org"], actor="test")
    writes.check(db, editor, None, pathway)  # own service, own contact: fine
    for change in ({"contact_id": other["contact"].id}, {"location_id": other["location"].id}):
        crossed = msgspec.structs.replace(pathway, steps=[
            msgspec.structs.replace(step, **change)])
        with pytest.raises(PermissionDenied):
            writes.check(db, editor, None, crossed)
        writes.check(db, access.Caller(role="admin", actor="test"), None, crossed)
    db.close()


def test_the_staff_editor_offers_only_own_people_and_places(client, db_path, seeded):
    db = store.connect(db_path)
    accounts.create_user(db, "eddy", PASSWORD, role="editor", organization_id=seeded["own"]["org"],
                         actor="test")
    db.close()
    login(client, "eddy")
    for path in ("/staff/edit/pathway/new",
                 f"/staff/edit/service/{seeded['own']['service'].id}"):
        page = client.get(path)
        assert page.status_code == 200, path
        assert f'value="{seeded["own"]["contact"].id}"' in page.text
        assert seeded["other"]["contact"].id not in page.text, path
        assert seeded["other"]["location"].id not in page.text, path


# --- The CSP in a real browser --------------------------------------------------------------


@pytest.mark.browser
def test_no_csp_violation_on_the_main_pages(browser, live_server, db_path, seeded):
    db = store.connect(db_path)
    accounts.create_user(db, "ada", PASSWORD, role="admin", actor="test")
    pathway = store.list_pathways(db, status="active")[0]
    db.close()
    context = browser.new_context(viewport={"width": 1080, "height": 1920}, locale="fr-BE")
    # Runs before any page script, outside the page's CSP: records every violation.
    context.add_init_script("""
        window.__violations = [];
        document.addEventListener("securitypolicyviolation", (e) =>
            window.__violations.push(`${e.violatedDirective} ${e.blockedURI}`));
    """)
    page = context.new_page()
    console = []
    page.on("console", lambda m: console.append(m.text) if m.type in ("error", "warning")
            else None)
    requests = []
    page.on("request", lambda r: requests.append(r.url))
    service = seeded["own"]["service"]
    url = live_server.url

    def visit(path: str) -> None:
        assert page.goto(url + path).ok, path
        page.wait_for_load_state("networkidle")
        assert page.evaluate("window.__violations") == [], path

    for path in ("/", "/search?q=loyer", f"/service/{service.id}", f"/pathway/{pathway.id}",
                 f"/slip?pathway={pathway.id}", "/help"):
        visit(path)
    # early.js ran: the sizes from the px-per-mm setting are set without an inline style.
    assert page.evaluate("getComputedStyle(document.documentElement)"
                         ".getPropertyValue('--target')").strip().endswith("px"), \
        page.evaluate("[document.documentElement.outerHTML.slice(0, 300), location.href]")
    page.locator("#bigtext").click()  # kiosk.js works under the policy
    assert page.evaluate("document.documentElement.classList.contains('bigtext')")
    visit("/staff/login")
    page.get_by_label("Nom d'utilisateur").fill("ada")
    page.get_by_label("Mot de passe").fill(PASSWORD)
    page.get_by_role("button", name="Se connecter").click()
    page.wait_for_url(url + "/staff")
    for path in ("/staff", "/staff/search?q=loyer", f"/staff/edit/service/{service.id}",
                 "/staff/slip", "/desk"):
        visit(path)
    visit("/schema")
    page.wait_for_selector(".swagger-ui .info .title")  # Swagger UI ran, from our files
    assert page.evaluate("window.__violations") == []
    assert not [m for m in console if "Content Security Policy" in m], console
    assert all(r.startswith(url) or r.startswith(("data:", "blob:")) for r in requests), \
        [r for r in requests if not r.startswith(url)]
    context.close()

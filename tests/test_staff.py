"""The social-worker console (/staff): role matrix, CSRF, login throttling, search, slips,
problem reports, follow-up codes, verification, editing, history and the unmet-needs report.

Real SQLite copies of the seed, the real app (TestClient runs the lifespan and the whoosh
index), real Chromium for the slip PDFs (checked with pdftotext and pdfinfo).
"""

from __future__ import annotations

import datetime as dt
import html
import re
import subprocess
from types import SimpleNamespace

import msgspec
import pytest
from litestar import Litestar, get
from litestar.testing import TestClient
from markupsafe import escape

from api.app import create_app
from kiosk.staff import staff_router
from kiosk.staff.console import staff_guard
from kiosk.staff.edit import PATHWAY_MESSAGES, pathway_message
from orientation import accounts, reports, store, unmet, verification
from orientation.errors import PATHWAY_REASONS, PathwayInvalid
from orientation.models import ROLES, Absence
from conftest import TEST_HOST

PASSWORD = "correct horse battery"


def esc(text: str) -> str:
    """As the templates write it."""
    return str(escape(text))


ROLE_ORDER = ("anonymous", "staff", "editor", "admin")


# --- Fixtures and helpers -------------------------------------------------------------------


@pytest.fixture
def staff(db_path, tmp_path, index_dir):
    """One account per role (the editor works for the organisation with the most services),
    a few records to point routes at, and a client of a real app."""
    db = store.connect(db_path)
    orgs = [r["organization_id"] for r in db.query(
        "select organization_id, count(*) n from services group by organization_id "
        "order by n desc, organization_id limit 2")]
    for username, role, org in (("sam", "staff", None), ("eddy", "editor", orgs[0]),
                                ("otto", "editor", orgs[1]), ("ada", "admin", None)):
        accounts.create_user(db, username, PASSWORD, role=role, organization_id=org,
                             display_name=username.title(), actor="test")
    service = store.list_services(db, organization_id=orgs[0], status="active")[0]
    other_service = store.list_services(db, organization_id=orgs[1], status="active")[0]
    pathway = store.list_pathways(db, status="active")[0]
    report = reports.report_problem(db, service.id, "closed", channel="staff")
    reports.issue(db, "KQ4-MXT", channel="staff", pathway_id=pathway.id,
                  services=[s.service_id for s in pathway.steps])
    db.close()
    app = create_app(db_path, index_dir,
                     settings={"printer_target": str(tmp_path / "slips"),
                               "allowed_hosts": TEST_HOST})
    with TestClient(app) as client:
        yield SimpleNamespace(client=client, db_path=db_path, org=orgs[0], other_org=orgs[1],
                              service=service, other_service=other_service, pathway=pathway,
                              report=report, tmp_path=tmp_path, sessions={})


def login(client: TestClient, username: str, password: str = PASSWORD, **kwargs):
    page = client.get("/staff/login")
    token = re.search(r'name="csrf" value="([^"]+)"', page.text).group(1)
    return client.post("/staff/login", data={"username": username, "password": password,
                                             "csrf": token, "next": "/staff", **kwargs},
                       follow_redirects=False)


def become(s, who: str) -> str:
    """Use ``who``'s session (logging in once); returns their CSRF token ("" if anonymous)."""
    client = s.client
    client.cookies.clear()
    if who == "anonymous":
        return ""
    username = {"staff": "sam", "editor": "eddy", "other_editor": "otto", "admin": "ada"}[who]
    if username not in s.sessions:
        assert login(client, username).status_code == 303
        cookie = client.cookies.get(accounts.COOKIE)
        token = re.search(r'name="csrf" value="([^"]+)"', client.get("/staff").text).group(1)
        s.sessions[username] = (cookie, token)
    cookie, token = s.sessions[username]
    client.cookies.clear()
    client.cookies.set(accounts.COOKIE, cookie)
    return token


def fresh_db(s):
    return store.connect(s.db_path)


# --- The role matrix --------------------------------------------------------------------------


def _routes():
    """Every (method, path template, least role) of the staff router."""
    found = []
    for route in staff_router.routes:
        for handler in route.route_handlers:
            for method in handler.http_methods:
                if method in ("HEAD", "OPTIONS"):
                    continue
                found.append((method, route.path, handler.opt.get("role")))
    return sorted(set(found))


ROUTES = _routes()


def test_every_staff_route_declares_a_role():
    assert len(ROUTES) >= 30
    for method, path, role in ROUTES:
        assert role in (*ROLES, "public"), f"{method} {path} declares no role"
    public = {(m, p) for m, p, r in ROUTES if r == "public"}
    assert public == {("GET", "/staff/login"), ("POST", "/staff/login")}


def test_a_route_without_a_role_is_refused():
    @get("/open", sync_to_thread=False)
    def open_page() -> str:
        return "should never be served"

    with TestClient(Litestar(route_handlers=[open_page], guards=[staff_guard])) as client:
        response = client.get("/open")
    assert response.status_code == 403
    assert "should never" not in response.text


def _suggestion(s) -> str:
    """One open suggested edit of the editor's service (for the queue's routes)."""
    from orientation import suggestions

    if not hasattr(s, "suggestion_id"):
        db = store.connect(s.db_path)
        row = suggestions.row(s.org, "service", s.service.id, "eligibility", "", "Habiter ici",
                              source="organization", at="2026-01-05T10:00:00+00:00")
        store.insert_suggestions(db, [row], actor="test")
        db.close()
        s.suggestion_id = row["id"]
    return s.suggestion_id


def _fill(s, path: str) -> str:
    values = {
        "service_id": s.service.id, "pathway_id": s.pathway.id, "entity": "service",
        "record_id": s.service.id, "code": "KQ4-MXT", "report_id": s.report.id,
        "filename": "unmet.csv", "a_id": s.service.id, "b_id": s.service.id,
    }
    if path.startswith("/staff/call/need/"):
        values["code"] = "logement"
    values["organization_id"] = s.org
    if "{suggestion_id" in path:
        values["suggestion_id"] = _suggestion(s)
    if "/edit/{entity" in path and path.endswith("/preview"):
        values.update(entity="pathway", record_id=s.pathway.id)
    return re.sub(r"\{(\w+):\w+\}", lambda m: values[m.group(1)], path)


@pytest.mark.parametrize("who", ROLE_ORDER)
def test_role_matrix(staff, who):
    """Below a route's role: the login page (anonymous) or 403; at or above it: served."""
    token = become(staff, who)
    rank = ROLE_ORDER.index(who)
    checked = 0
    for method, template, role in ROUTES:
        if role == "public" or template == "/staff/logout":
            continue
        path = _fill(staff, template)
        if method == "GET":
            response = staff.client.get(path, follow_redirects=False)
        else:
            response = staff.client.post(path, data={"csrf": token}, follow_redirects=False)
        needed = ROLE_ORDER.index(role)
        if who == "anonymous":
            assert response.status_code == 303, (method, path)
            assert response.headers["location"].startswith("/staff/login?next=")
        elif rank < needed:
            assert response.status_code == 403, (who, method, path, response.status_code)
            assert "Accès refusé" in response.text
        else:
            # Served: a page, a redirect after a write, or a plain-words 400/422 for an empty
            # form (400: the request's shape; 422: InvalidData, as in errors.ERROR_TABLE).
            assert response.status_code in (200, 303, 400, 422), (who, method, path,
                                                                  response.status_code)
            if response.status_code in (400, 422):  # an empty form, or compare without services
                assert method == "POST" or path == "/staff/compare", (method, path)
                assert "Demande impossible" in response.text \
                    or 'class="message problem"' in response.text
        checked += 1
    assert checked == len(ROUTES) - 3


def test_htmx_request_without_login_gets_a_client_redirect(staff):
    response = staff.client.get("/staff/search?q=loyer", headers={"HX-Request": "true"},
                                follow_redirects=False)
    assert response.status_code == 401
    assert response.headers["HX-Redirect"].startswith("/staff/login")


def test_editor_cannot_touch_another_organisations_records(staff):
    token = become(staff, "other_editor")
    assert staff.client.get(f"/staff/edit/service/{staff.service.id}").status_code == 403
    response = staff.client.post(f"/staff/verify/service/{staff.service.id}",
                                 data={"csrf": token})
    assert response.status_code == 403
    response = staff.client.post(f"/staff/problems/{staff.report.id}",
                                 data={"csrf": token, "status": "fixed"})
    assert response.status_code == 403
    db = fresh_db(staff)
    assert reports.get_problem(db, staff.report.id).status == "open"
    assert store.get_service(db, staff.service.id).assured_by != "Otto (otto)"
    # ...and their own queue does not list the other organisation's report.
    queue = staff.client.get("/staff/problems").text
    assert esc(staff.service.name) not in queue


# --- CSRF, cookies, throttling ---------------------------------------------------------------


def test_csrf_token_is_required_on_every_form(staff):
    token = become(staff, "admin")
    db = fresh_db(staff)
    before = len(reports.problem_queue(db))
    url = f"/staff/service/{staff.service.id}/report"
    for headers, data in (({}, {"kind": "closed"}),
                          ({}, {"kind": "closed", "csrf": "forged"}),
                          ({"X-CSRF-Token": "forged"}, {"kind": "closed"})):
        response = staff.client.post(url, data=data, headers=headers)
        assert response.status_code == 403
    assert len(reports.problem_queue(db)) == before
    assert staff.client.post(url, data={"kind": "closed", "csrf": token}).status_code == 200
    assert staff.client.post(url, data={"kind": "closed"},
                             headers={"X-CSRF-Token": token}).status_code == 200
    assert len(reports.problem_queue(db)) == before + 2
    # Logging out needs the token too (no forced logout from another site).
    assert staff.client.post("/staff/logout", data={}).status_code == 403


def test_login_returns_to_the_page_asked_for_and_nowhere_else(staff):
    for asked, landing in (("/staff/verify", "/staff/verify"), ("/desk", "/desk"),
                           ("https://evil.example/", "/staff"), ("//evil.example", "/staff")):
        staff.client.cookies.clear()
        response = login(staff.client, "sam", next=asked)
        assert response.headers["location"] == landing


def test_login_form_needs_its_csrf_cookie(staff):
    staff.client.get("/staff/login")
    response = staff.client.post("/staff/login", data={
        "username": "sam", "password": PASSWORD, "csrf": "guessed"}, follow_redirects=False)
    assert response.status_code == 403
    assert accounts.COOKIE not in response.cookies


def test_session_cookie_flags_and_logout(staff):
    response = login(staff.client, "sam")
    cookie = response.headers["set-cookie"].lower()
    assert "httponly" in cookie and "samesite=lax" in cookie and "secure" not in cookie
    token = re.search(r'name="csrf" value="([^"]+)"', staff.client.get("/staff").text).group(1)
    response = staff.client.post("/staff/logout", data={"csrf": token}, follow_redirects=False)
    assert response.status_code == 303
    assert staff.client.get("/staff", follow_redirects=False).status_code == 303


def test_cookie_is_secure_over_https(db_path, tmp_path, staff):
    app = create_app(db_path, tmp_path / "index2", settings={"allowed_hosts": "staff.example"})
    with TestClient(app, base_url="https://staff.example") as client:
        response = login(client, "sam")
        assert response.status_code == 303
        session_cookie = next(h for h in response.headers.get_list("set-cookie")
                              if h.startswith(accounts.COOKIE))
        assert "secure" in session_cookie.lower()


def test_login_is_throttled_after_repeated_failures(staff):
    for _ in range(accounts.MAX_ACCOUNT_FAILURES):
        response = login(staff.client, "sam", "wrong password!")
        assert response.status_code == 401
        assert "incorrect" in response.text
    # Even the right password is refused now, with a plain message.
    response = login(staff.client, "sam")
    assert response.status_code == 429
    assert "Trop d'essais" in html.unescape(response.text)
    assert accounts.COOKIE not in response.cookies
    assert int(response.headers["retry-after"]) == 15 * 60
    # Other users are not locked out by someone else's failures, even from the same address
    # (the test client's): an office behind one NAT shares it (see tests/test_limits.py).
    assert login(staff.client, "eddy").status_code == 303
    db = fresh_db(staff)
    # The table keeps only hashes: no username, no address in clear.
    rows = list(db.query("select key from login_failures"))
    assert rows and all(re.fullmatch(r"[0-9a-f]{64}", r["key"]) for r in rows)
    # After the window the right password works again, and a success clears the count.
    later = dt.datetime.now(dt.UTC) + accounts.FAILURE_WINDOW + dt.timedelta(minutes=1)
    assert accounts.login(db, "sam", PASSWORD, address="10.0.0.8", at=later) is not None
    assert not accounts.throttled(db, "sam", at=later)


def test_throttling_counts_per_address_too(db):
    accounts.create_user(db, "zoe", PASSWORD, role="staff", actor="test")
    for n in range(accounts.MAX_ADDRESS_FAILURES):
        assert accounts.login(db, f"guess{n}", "nope nope nope", address="192.0.2.7") is None
    with pytest.raises(accounts.Throttled):
        accounts.login(db, "zoe", PASSWORD, address="192.0.2.7")
    assert accounts.login(db, "zoe", PASSWORD, address="192.0.2.8") is not None


# --- Search, service, compare, who to call -------------------------------------------------


def test_search_shows_staff_lines_filters_facets_and_stale_flags(staff):
    become(staff, "staff")
    db = fresh_db(staff)
    # A service whose main contact has a staff-only line, made stale.
    service, staff_line = next(
        (s, p) for s in store.iter_services(db, status="active") if s.contact_ids
        for p in store.get_contact(db, s.contact_ids[0]).phones if p.visibility == "staff")
    store.save(db, msgspec.structs.replace(service, assured_date=dt.date(2020, 1, 6)),
               actor="test")
    response = staff.client.get("/staff/search", params={"q": service.name})
    assert response.status_code == 200
    block = response.text.split(f'id="pick-{service.id}"')[1].split("</li>")[0]
    assert staff_line.number in block and "ligne pro" in block
    assert "À vérifier" in block and "lundi 6 janvier 2020" in block
    # Filters narrow, facets count, the htmx request gets the fragment only.
    everything = staff.client.get("/staff/search", params={"q": "logement"}).text
    narrowed = staff.client.get("/staff/search", params={
        "q": "logement", "walk_in": "1", "free": "1"}, headers={"HX-Request": "true"})
    assert "<html" not in narrowed.text and 'id="search-area"' in narrowed.text
    total = int(re.search(r"(\d+) résultats?", everything).group(1))
    fewer = int(re.search(r"(\d+) résultats?", narrowed.text).group(1))
    facet = int(re.search(r'id="f-walk_in"[^>]*>\s*<span>[^<]+</span>\s*'
                          r'<span class="count">(\d+)</span>', everything).group(1))
    assert 0 < fewer <= facet <= total
    assert 'id="f-walk_in" checked' in narrowed.text
    # An unknown commune is a message next to the form, not a crash.
    response = staff.client.get("/staff/search", params={"commune": "Atlantis"})
    assert response.status_code == 200 and "Atlantis" in response.text


def test_service_page_and_compare(staff):
    become(staff, "staff")
    response = staff.client.get(f"/staff/service/{staff.service.id}")
    assert response.status_code == 200
    assert esc(staff.service.name) in response.text and "Vérifié le" in response.text
    a, b = staff.service, staff.other_service
    response = staff.client.get("/staff/compare", params=[("service", a.id), ("service", b.id)])
    assert response.status_code == 200
    table = response.text.split("<table")[1]
    assert esc(a.name) in table and esc(b.name) in table
    assert "Personnes" in table
    one = staff.client.get("/staff/compare", params={"service": a.id})
    assert one.status_code == 422 and "Demande impossible" in one.text


def test_who_can_i_call_now_follows_absences_to_the_substitute(staff):
    become(staff, "staff")
    db = fresh_db(staff)
    # A contact with a phone, answering for a service, absent today with a substitute.
    service = next(s for s in store.iter_services(db, status="active") if len(s.contact_ids) >= 1
                   and store.pathways_using(db, service_id=s.id) == [])
    contact = store.get_contact(db, service.contact_ids[0])
    substitute = next(c for c in store.list_contacts(db, status="active")
                      if c.id != contact.id and c.phones)
    today = dt.date.today()
    always = [{"byday": "MO,TU,WE,TH,FR,SA,SU", "opens_at": "00:00", "closes_at": "24:00",
               "attending_type": "phone"}]
    store.save(db, msgspec.convert({**msgspec.to_builtins(substitute), "availability": always},
                                   type(substitute)), actor="test")
    store.save(db, msgspec.structs.replace(contact, absences=[Absence(
        date_from=today, date_to=today + dt.timedelta(days=3), reason="formation",
        substitute_id=substitute.id)]), actor="test")
    text = staff.client.get(f"/staff/call/service/{service.id}").text
    now_part = text.split("Joignables maintenant")[1].split("Joignables plus tard")[0]
    assert esc(substitute.name) in now_part
    assert f"Remplace {esc(contact.name)}" in now_part
    for phone in substitute.phones:  # staff-only lines included
        assert phone.number in now_part
    need = store.get_term(db, service.needs[0]).code if service.needs else "logement"
    assert staff.client.get(f"/staff/call/need/{need}").status_code == 200
    assert staff.client.get("/staff/call", params={"need": need},
                            follow_redirects=False).status_code == 303


# --- Slips --------------------------------------------------------------------------------------


def _pdf_text(pdf: bytes, tmp_path) -> str:
    path = tmp_path / "slip.pdf"
    path.write_bytes(pdf)
    text = subprocess.run(["pdftotext", "-layout", str(path), "-"], capture_output=True,
                          text=True, check=True).stdout
    return " ".join(text.split())


def test_compose_reorder_and_pdf_starts_with_the_named_person(staff):
    token = become(staff, "staff")
    pathway = staff.pathway
    page = staff.client.get("/staff/slip", params={"pathway": pathway.id})
    steps = re.findall(r'name="step" value="([^"]+)"', page.text)
    assert steps == [f"p{i}" for i in range(len(pathway.steps))]
    form = {"csrf": token, "pathway": pathway.id, "step": steps, "lang": "fr", "paper": "a4",
            "note": "Venez avant 10 h. NN 85.07.30-033.28 marie@example.be "
                    "Demandez Mme Dupont au CPAS d'Ixelles."}
    if len(steps) > 1:
        moved = staff.client.post("/staff/slip", data={**form, "action": "down:0"},
                                  headers={"HX-Request": "true"})
        assert "<html" not in moved.text
        steps = re.findall(r'name="step" value="([^"]+)"', moved.text)
        assert steps[:2] == ["p1", "p0"]
    added = staff.client.post("/staff/slip", data={
        **form, "step": steps, "action": "add", "add_service": staff.other_service.id})
    steps = re.findall(r'name="step" value="([^"]+)"', added.text)
    assert steps[-1] == f"s{staff.other_service.id}"
    assert "aucune donnée personnelle" in added.text  # the visible warning next to the note
    response = staff.client.post("/staff/slip/pdf", data={**form, "step": steps})
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/pdf"
    text = _pdf_text(response.content, staff.tmp_path)
    db = fresh_db(staff)
    last = store.get_service(db, staff.other_service.id)
    person = store.get_contact(db, last.contact_ids[0])
    # Starts with the named person (of the main step, see slip.main_step), before the steps.
    box = text.split("Votre personne de contact")[1].split("Étape 1")[0]
    step_contacts = [store.get_contact(db, s.contact_id) for s in pathway.steps] + [person]
    assert any(f"{c.given_name} {c.family_name}" in box for c in step_contacts), box
    assert staff.other_service.name not in box and "Code" not in box
    # The note is printed, with the national number and e-mail address removed.
    assert "Venez avant 10 h." in text  # the note, framed
    assert "85.07.30" not in text and "marie@example.be" not in text
    assert "Dupont" not in text and "au CPAS d'Ixelles." in text  # a name, not a place
    # The code is counted for follow-up (anonymously).
    code = re.search(r"Code : ([A-Z0-9]{3}-[A-Z0-9]{3})", text).group(1)
    issued = reports.find(db, code)
    assert issued.pathway_id == pathway.id and issued.count == 1
    assert issued.services[-1] == last.id


def test_print_on_the_80mm_roll(staff):
    token = become(staff, "staff")
    response = staff.client.post("/staff/slip/print", data={
        "csrf": token, "service": staff.service.id, "paper": "80mm", "lang": "nl"},
        headers={"HX-Request": "true"})
    assert response.status_code == 200, response.text
    assert "envoyé à l'impression" in html.unescape(response.text)
    pdfs = list((staff.tmp_path / "slips").glob("*.pdf"))
    assert len(pdfs) == 1
    info = subprocess.run(["pdfinfo", str(pdfs[0])], capture_output=True, text=True,
                          check=True).stdout
    width = float(re.search(r"Page size:\s+([\d.]+) x", info).group(1))
    assert abs(width - 226.8) < 2 and re.search(r"Pages:\s+1\b", info)
    # In Dutch, and still starting with the named person.
    text = _pdf_text(pdfs[0].read_bytes(), staff.tmp_path)
    person = store.get_contact(fresh_db(staff), staff.service.contact_ids[0])
    name = f"{person.given_name} {person.family_name}"
    assert "Uw contactpersoon" in text
    box = text.split("Uw contactpersoon")[1]
    assert box.index(name) < box.index("Code")


# --- Problem reports and follow-up ------------------------------------------------------------


def test_problem_reports_reach_the_organisations_editors(staff):
    token = become(staff, "staff")
    response = staff.client.post(f"/staff/service/{staff.service.id}/report", data={
        "csrf": token, "kind": "wrong_phone", "note": "le numéro sonne dans le vide"},
        headers={"HX-Request": "true"})
    assert response.status_code == 200 and "Merci" in response.text
    bad = staff.client.post(f"/staff/service/{staff.service.id}/report",
                            data={"csrf": token, "kind": "gossip"})
    assert bad.status_code == 422
    token = become(staff, "editor")
    queue = staff.client.get("/staff/problems").text
    assert "le numéro sonne dans le vide" in queue
    counts = queue.split("En attente, par service")[1].split("</table>")[0]
    assert esc(staff.service.name) in counts and "<strong>2</strong>" in counts
    response = staff.client.post(f"/staff/problems/{staff.report.id}",
                                 data={"csrf": token, "status": "fixed"},
                                 follow_redirects=False)
    assert response.status_code == 303
    db = fresh_db(staff)
    closed = reports.get_problem(db, staff.report.id)
    assert closed.status == "fixed" and closed.closed_by == "Eddy (eddy)"
    # Nothing about the reporter is stored.
    columns = {c.name for c in db["problem_reports"].columns}
    assert columns == {"id", "service_id", "organization_id", "kind", "note", "channel",
                       "created_at", "status", "closed_at", "closed_by"}


def test_reference_code_follow_up(staff):
    token = become(staff, "staff")
    page = staff.client.get("/staff/followup", params={"code": "kq4 mxt"})
    assert esc(staff.pathway.need) in page.text
    assert staff.client.get("/staff/followup", params={"code": "ZZZ-ZZZ"}).text.count(
        "Aucun papier avec ce code") == 1
    assert "6 lettres" in staff.client.get("/staff/followup", params={"code": "12"}).text
    response = staff.client.post("/staff/followup/KQ4-MXT", data={
        "csrf": token, "outcome": "sent_elsewhere", "reason": "full"}, follow_redirects=False)
    assert response.status_code == 303
    staff.client.post("/staff/followup/KQ4-MXT", data={"csrf": token, "outcome": "helped"})
    missing_reason = staff.client.post("/staff/followup/KQ4-MXT", data={
        "csrf": token, "outcome": "sent_elsewhere"})
    assert missing_reason.status_code == 422
    db = fresh_db(staff)
    row = next(r for r in reports.pathway_outcomes(db) if r.pathway_id == staff.pathway.id)
    assert (row.issued, row.count("helped"), row.outcomes["sent_elsewhere:full"]) == (1, 1, 1)
    columns = {c.name for c in db["referral_outcomes"].columns}
    assert columns == {"id", "code", "day", "outcome", "reason", "pathway_id",
                       "organization_id"}


# --- Verification and history -----------------------------------------------------------------


def test_verification_queue_and_still_correct_write_the_audit_trail(staff):
    db = fresh_db(staff)
    old = dt.date.today() - dt.timedelta(days=400)
    store.save(db, msgspec.structs.replace(staff.service, assured_date=old,
                                           assured_by="Ancienne équipe"), actor="test")
    token = become(staff, "editor")
    queue = staff.client.get("/staff/verify").text
    assert esc(staff.service.name) in queue and "Ancienne équipe" in queue
    assert any(r.id == staff.service.id for r in verification.queue(db, months=6))
    response = staff.client.post(f"/staff/verify/service/{staff.service.id}",
                                 data={"csrf": token}, headers={"HX-Request": "true"})
    assert response.status_code == 200 and "Merci" in response.text
    saved = store.get_service(db, staff.service.id)
    assert saved.assured_date == dt.date.today() and saved.assured_by == "Eddy (eddy)"
    trail = [e for e in store.history(db, "service", staff.service.id) if e.actor == "Eddy (eddy)"]
    assert {e.field for e in trail} == {"assured_date", "assured_by"}
    # Out of the queue of records to check (it may still be listed "à traduire" below).
    assert f'id="verify-{staff.service.id}"' not in staff.client.get("/staff/verify").text
    # The history page shows who confirmed it.
    history = staff.client.get(f"/staff/history/service/{staff.service.id}").text
    assert "Eddy (eddy)" in history and "assured_by" in history


def test_stale_after_the_setting(db):
    service = store.list_services(db, status="active")[0]
    today = dt.date(2026, 3, 31)
    store.save(db, msgspec.structs.replace(service, assured_date=dt.date(2025, 9, 30)),
               actor="test")
    fresh = store.get_service(db, service.id)
    assert not verification.is_stale(fresh, 6, today)
    assert verification.is_stale(fresh, 5, today)
    assert verification.cutoff(1, today) == dt.date(2026, 2, 28)
    store.save(db, msgspec.structs.replace(fresh, assured_date=None), actor="test")
    assert verification.is_stale(store.get_service(db, service.id), 600, today)


# --- Editing ------------------------------------------------------------------------------------


def _form(text: str) -> dict[str, list[str]]:
    """The values a browser would submit for the edit form in ``text``."""
    form = text.split('id="edit-form"')[1].split("</form>")[0]
    data: dict[str, list[str]] = {}
    for m in re.finditer(r"<input([^>]*)>", form):
        attrs = m.group(1)
        name = re.search(r'name="([^"]+)"', attrs)
        if not name:
            continue
        kind = (re.search(r'type="([^"]+)"', attrs) or [None, "text"])[1]
        if kind in ("checkbox", "radio") and " checked" not in attrs:
            continue
        value = (re.search(r'value="([^"]*)"', attrs) or [None, "on"])[1]
        data.setdefault(name.group(1), []).append(html.unescape(value))
    for m in re.finditer(r'<select[^>]*name="([^"]+)"[^>]*>(.*?)</select>', form, re.DOTALL):
        chosen = re.search(r'<option value="([^"]*)"[^>]*selected', m.group(2)) or \
            re.search(r'<option value="([^"]*)"', m.group(2))
        data.setdefault(m.group(1), []).append(html.unescape(chosen.group(1)))
    for m in re.finditer(r'<textarea[^>]*name="([^"]+)"[^>]*>(.*?)</textarea>', form, re.DOTALL):
        data.setdefault(m.group(1), []).append(html.unescape(m.group(2)))
    return data


def test_edit_a_service_with_live_validation_and_history(staff):
    become(staff, "editor")
    url = f"/staff/edit/service/{staff.service.id}"
    data = _form(staff.client.get(url).text)
    ok = staff.client.post(url + "/check", data=data, headers={"HX-Request": "true"})
    assert "Tout est bon" in ok.text and "<html" not in ok.text
    broken = {**data, "schedules-0-opens_at": ["25:99"], "schedules-0-days": ["MO"],
              "schedules-0-closes_at": ["12:00"]}
    check = staff.client.post(url + "/check", data=broken, headers={"HX-Request": "true"})
    slot = re.search(r'id="err-schedules-0"[^>]*hx-swap-oob="true">([^<]+)<', check.text)
    assert slot and "25:99" in slot.group(1)
    db = fresh_db(staff)
    assert store.get_service(db, staff.service.id).name == staff.service.name  # not written
    response = staff.client.post(url, data={**data, "name": ["Nouveau nom du service"],
                                            "verified": ["1"]}, follow_redirects=False)
    assert response.status_code == 303
    saved = store.get_service(db, staff.service.id)
    assert saved.name == "Nouveau nom du service"
    assert saved.assured_by == "Eddy (eddy)"
    assert saved.schedules == staff.service.schedules  # untouched rows come back the same
    assert saved.phones == staff.service.phones
    name_change = [e for e in store.history(db, "service", saved.id) if e.field == "name"]
    assert name_change[-1].actor == "Eddy (eddy)"
    assert name_change[-1].before == staff.service.name
    # The search index follows at once.
    found = staff.client.get("/staff/search", params={"q": "Nouveau nom du service"}).text
    assert saved.id in found
    # An empty name is refused next to the field, and nothing is saved.
    response = staff.client.post(url, data={**data, "name": [""]})
    assert response.status_code == 422
    assert re.search(r'id="err-name"[^>]*>Ce champ est obligatoire', response.text)


def test_pathway_check_names_the_step(staff):
    become(staff, "admin")
    pathway = next(p for p in store.list_pathways(store.connect(staff.db_path),
                                                  status="active") if len(p.steps) >= 2)
    url = f"/staff/edit/pathway/{pathway.id}"
    data = _form(staff.client.get(url).text)
    looped = {**data, "steps-1-service_id": data["steps-0-service_id"]}
    check = staff.client.post(url + "/check", data=looped, headers={"HX-Request": "true"})
    slot = re.search(r'id="err-steps-1"[^>]*hx-swap-oob="true">([^<]+)<', check.text)
    assert slot and slot.group(1).startswith("Étape 2 : renvoie vers")
    assert re.search(r'id="err-steps-0"[^>]*hx-swap-oob="true"></p>', check.text)
    preview = staff.client.post(url + "/preview", data=data, headers={"HX-Request": "true"})
    assert "Votre personne de contact" in preview.text
    saved = staff.client.post(url, data=looped)
    assert saved.status_code == 422
    assert store.get_pathway(store.connect(staff.db_path), pathway.id) == pathway


def test_every_pathway_refusal_has_a_french_message():
    assert set(PATHWAY_MESSAGES) == set(PATHWAY_REASONS)
    for reason, english in PATHWAY_REASONS.items():
        params = {name: f"<{name}>" for name in re.findall(r"\{(\w+)", english)}
        used = set(re.findall(r"%\((\w+)\)s", PATHWAY_MESSAGES[reason]))
        assert used <= set(params), reason  # the French takes the refusal's own parameters
        french = pathway_message(PathwayInvalid("p", 1, reason, **params))
        assert french and "%(" not in french and french != english, reason
        assert all(params[name] in french for name in used), reason


def test_pathway_refusals_are_shown_in_french(staff):
    become(staff, "admin")
    db = fresh_db(staff)
    pathway = next(p for p in store.list_pathways(db, status="active") if len(p.steps) >= 2)
    url = f"/staff/edit/pathway/{pathway.id}"
    data = _form(staff.client.get(url).text)

    def problem(form: dict, slot: str) -> str:
        check = staff.client.post(url + "/check", data=form, headers={"HX-Request": "true"})
        found = re.search(rf'id="err-{slot}"[^>]*hx-swap-oob="true">([^<]+)<', check.text)
        assert found, check.text
        return html.unescape(found.group(1))

    first = store.get_service(db, data["steps-0-service_id"][0]).name
    looped = {**data, "steps-1-service_id": data["steps-0-service_id"]}
    assert problem(looped, "steps-1") == (
        f"Étape 2 : renvoie vers « {first} », déjà à l'étape 1 : un parcours ne revient "
        "jamais en arrière.")
    nobody = {**data, "steps-0-contact_id": ["00000000-0000-4000-8000-000000000000"]}
    assert problem(nobody, "steps-0") == "Étape 1 : choisissez la personne à demander."
    empty = {k: v for k, v in data.items() if not k.startswith("steps-")}
    assert problem(empty, "form") == "Un parcours a au moins une étape."
    # The same words when saving: the form comes back with them, nothing is written.
    saved = staff.client.post(url, data=nobody)
    assert saved.status_code == 422
    assert "Étape 1 : choisissez la personne à demander." in html.unescape(saved.text)
    assert store.get_pathway(fresh_db(staff), pathway.id) == pathway


def test_a_committed_edit_succeeds_even_when_the_index_sync_fails(staff, caplog):
    """The write is committed before the sync: the editor gets the success redirect (never an
    error for a write that worked), and the search catches up once the index can be written."""
    become(staff, "editor")
    url = f"/staff/edit/service/{staff.service.id}"
    data = _form(staff.client.get(url).text)
    index_dir = staff.client.app.state.index_dir
    away = index_dir.with_name("index-away")
    index_dir.rename(away)  # the index's files are gone: its sync fails for real
    try:
        response = staff.client.post(url, data={**data, "name": ["Nom écrit pendant la panne"]},
                                     follow_redirects=False)
    finally:
        away.rename(index_dir)
    assert response.status_code == 303
    assert response.headers["location"].endswith("?saved=1")
    assert "sync after a write failed" in caplog.text
    assert store.get_service(fresh_db(staff), staff.service.id).name == \
        "Nom écrit pendant la panne"
    found = staff.client.get("/staff/search", params={"q": "Nom écrit pendant la panne"})
    assert staff.service.id in found.text


def test_new_contact_for_own_organisation(staff):
    become(staff, "editor")
    data = _form(staff.client.get("/staff/edit/contact/new").text)
    data.update({"given_name": ["Lou"], "family_name": ["Exemple"], "role": ["Accueil"],
                 "phones-0-number": ["+32 2 000 00 01"], "phones-0-visibility": ["staff"]})
    response = staff.client.post("/staff/edit/contact/new", data=data, follow_redirects=False)
    assert response.status_code == 303
    contact_id = response.headers["location"].split("/")[-1].split("?")[0]
    contact = store.get_contact(fresh_db(staff), contact_id)
    assert contact.organization_id == staff.org
    assert contact.phones[0].visibility == "staff"


# --- The unmet-needs report ---------------------------------------------------------------------


def test_unmet_report_never_shows_digits_or_rare_terms(staff):
    become(staff, "staff")
    for query in ["plombier piano", "plombier piano", "plombier piano 0475123456",
                  "plombier piano Dupont", "qwrtpz", "qwrtpz", "85073003328"]:
        staff.client.get("/staff/search", params={"q": query})
    db = fresh_db(staff)
    assert unmet.report(db)  # recorded with channel "staff"
    become(staff, "editor")
    page = staff.client.get("/staff/reports").text
    table = page.split("Besoins sans réponse")[1].split("</table>")[0]
    terms = re.findall(r'<th scope="row">([^<]*)</th>', table)
    assert "plombier piano" in terms
    assert "qwrtpz" not in page  # seen twice only
    assert not any(re.search(r"\d", t) for t in terms)
    assert "Dupont" not in page and "0475" not in page
    csv = staff.client.get("/staff/reports/unmet.csv")
    assert csv.headers["content-type"].startswith("text/csv")
    lines = csv.text.lstrip("\ufeff").splitlines()
    assert lines[0] == "week,terms,zero_results,few_results,total"
    rows = [line.split(",") for line in lines[1:]]
    assert any(r[1] == "plombier piano" and r[4] == "4" for r in rows)
    assert all(not re.search(r"\d", r[1]) for r in rows)
    assert "qwrtpz" not in csv.text
    for name in ("problems", "outcomes"):
        assert staff.client.get(f"/staff/reports/{name}.csv").status_code == 200


# --- What the kiosk feeds into the console ----------------------------------------------------


def test_kiosk_one_tap_report_search_and_print_feed_the_console(staff):
    client = staff.client
    client.cookies.clear()
    page = client.get(f"/service/{staff.service.id}")
    assert "Cette information est fausse" in page.text
    # Sent as Chromium does from the kiosk's page: with its Origin.
    origin = {"Origin": "http://testserver.local"}
    tapped = client.post(f"/service/{staff.service.id}/wrong",
                         headers={"HX-Request": "true", **origin})
    assert tapped.status_code == 200 and "<html" not in tapped.text
    assert "Merci. Une personne va vérifier." in tapped.text
    db = fresh_db(staff)
    report = reports.problem_queue(db, service_id=staff.service.id)[0]
    assert (report.kind, report.channel, report.note) == ("other", "kiosk", None)
    for _ in range(3):
        client.get("/search", params={"q": "xylophone accordéon"})
    assert [r.terms for r in unmet.report(db, channel="kiosk")] == ["xylophone accordéon"]
    printed = client.post("/slip/print", data={"pathway": staff.pathway.id}, headers=origin)
    assert printed.status_code == 200
    code = re.search(r"[A-Z0-9]{3}-[A-Z0-9]{3}", printed.text.split('class="code"')[1]).group(0)
    issued = reports.find(db, code)
    assert issued.pathway_id == staff.pathway.id and issued.count == 1
    become(staff, "editor")
    queue = client.get("/staff/problems").text
    assert "· borne</p>" in queue

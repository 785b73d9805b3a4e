"""Saved searches with alerts: a change of a matching service made through the real write
pipeline shows on the worker's alerts page and badge until marked seen; a new matching
service is told, a service the search does not find is not; a worker never reaches another's
saved searches; the daily digest reaches a real SMTP server (aiosmtpd) in the worker's
language, once, with no label, words or commune of the search in it."""

from __future__ import annotations

import html
import re
from types import SimpleNamespace

import msgspec
import pytest
from click.testing import CliRunner
from litestar.testing import TestClient

from api.app import create_app
from conftest import local_settings
from orientation import accounts, alerts, store, writes
from orientation.access import Caller
from orientation.cli import cli
from orientation.models import Closure, Phone, Schedule, new_id
from smtp_box import Mailbox

PASSWORD = "correct horse battery"
NEED = "aide-alimentaire"
ADMIN = Caller(role="admin", actor="test-editor")


def login(client: TestClient, username: str) -> str:
    """Log ``username`` in on ``client``; returns the session's CSRF token."""
    client.cookies.clear()
    page = client.get("/staff/login")
    token = re.search(r'name="csrf" value="([^"]+)"', page.text).group(1)
    response = client.post("/staff/login", data={"username": username, "password": PASSWORD,
                                                  "csrf": token, "next": "/staff"},
                           follow_redirects=False)
    assert response.status_code == 303
    return re.search(r'name="csrf" value="([^"]+)"', client.get("/staff").text).group(1)


@pytest.fixture
def console(db_path, tmp_path, index_dir):
    """Two social workers (Sam reads French, Noor Dutch) and a client of a real app."""
    db = store.connect(db_path)
    for username, lang in (("sam", "fr"), ("noor", "nl")):
        accounts.create_user(db, username, PASSWORD, role="staff", display_name=username.title(),
                             actor="test")
        accounts.set_language(db, accounts.get_user(db, username).id, lang)
    db.close()
    box = Mailbox().__enter__()
    settings = {**local_settings(tmp_path), **box.settings(),
                "public_url": "http://testserver.local"}
    app = create_app(db_path, index_dir, settings=settings)
    with TestClient(app) as client:
        yield SimpleNamespace(client=client, db_path=db_path, box=box, index_dir=index_dir,
                              index=app.state.index)
    box.__exit__()


def change(s, service_id: str, **fields) -> None:
    """Change a service as an editor would: writes.save (checks, store, audit, index)."""
    db = store.connect(s.db_path)
    try:
        before = store.get_service(db, service_id)
        writes.save(db, s.index, ADMIN, before, msgspec.structs.replace(before, **fields))
    finally:
        db.close()


def save_search(s, csrf: str, name: str, query: str, **extra) -> str:
    response = s.client.post("/staff/alerts/save", data={"csrf": csrf, "name": name,
                                                         "search": query, **extra},
                             follow_redirects=False)
    assert response.status_code == 303, response.text
    return response.headers["location"].split("#search-")[1]


def matching(s, query: str = "", **filters) -> list[str]:
    """The services a search finds, as the alerts see them."""
    db = store.connect(s.db_path)
    try:
        return alerts.matches(db, s.index, query, alerts.Filters(**filters))[1]
    finally:
        db.close()


def badge(s) -> int:
    text = s.client.get("/staff/alerts/badge").text
    found = re.search(r'<span class="badge warn" aria-hidden="true">(\d+)</span>', text)
    return int(found.group(1)) if found else 0


def test_a_change_of_hours_is_alerted_until_seen(console):
    s = console
    csrf = login(s.client, "sam")
    search_id = save_search(s, csrf, "Colis alimentaires", f"need={NEED}")
    found = matching(s, needs=[NEED])
    assert found and badge(s) == 0
    db = store.connect(s.db_path)
    target = store.get_service(db, found[0])
    db.close()
    change(s, target.id, schedules=[Schedule(byday="MO,TH", opens_at="09:00",
                                             closes_at="11:30")])
    assert badge(s) == 1
    page = html.unescape(s.client.get("/staff/alerts").text)
    assert "Colis alimentaires" in page
    assert f'<a href="/staff/service/{target.id}">{target.name}</a> : horaires changés' in page
    # Marked seen: gone from the page and the badge.
    response = s.client.post("/staff/alerts/seen", data={"csrf": csrf, "search": search_id},
                             follow_redirects=False)
    assert response.status_code == 303
    assert badge(s) == 0
    assert "horaires changés" not in html.unescape(s.client.get("/staff/alerts").text)


def test_new_closed_and_reopened_services_are_told_and_others_are_not(console):
    s = console
    csrf = login(s.client, "sam")
    save_search(s, csrf, "Colis alimentaires", f"need={NEED}")
    found = matching(s, needs=[NEED])
    assert len(found) >= 3
    db = store.connect(s.db_path)
    first, second = store.get_service(db, found[0]), store.get_service(db, found[1])
    other = next(x for x in store.list_services(db, status="active") if x.id not in found)
    # A new service of the need appears (created through the same pipeline).
    newcomer = msgspec.structs.replace(first, id=new_id(), name="Épicerie solidaire (exemple)",
                                       source_id=None)
    writes.save(db, s.index, ADMIN, None, newcomer)
    db.close()
    change(s, second.id, closures=[Closure(date_from="2099-07-01", date_to="2099-07-31",
                                           reason="Congés")])
    change(s, found[2], status="inactive")
    change(s, first.id, phones=[Phone(number="+32 2 555 01 99")])
    # Not found by this search: its hours change is none of this worker's business.
    change(s, other.id, schedules=[Schedule(byday="TU", opens_at="14:00", closes_at="16:00")])
    page = html.unescape(s.client.get("/staff/alerts").text)
    assert f"{newcomer.name}</a> : nouveau service pour une de vos recherches" in page
    assert f"{second.name}</a> : fermeture prévue du 01/07/2099 au 31/07/2099" in page
    assert "fermé (n'accueille plus personne pour le moment)" in page
    assert f"{first.name}</a> : numéro de téléphone changé" in page
    assert other.name not in page
    assert badge(s) == 4
    # Made active again: "opened", told once (not also as "new").
    search_id = alerts.saved_searches(store.connect(s.db_path),
                                      accounts.get_user(store.connect(s.db_path), "sam").id)[0].id
    s.client.post("/staff/alerts/seen", data={"csrf": csrf, "search": search_id})
    change(s, found[2], status="active")
    page = html.unescape(s.client.get("/staff/alerts").text)
    assert page.count(": ouvert à nouveau") == 1
    assert "nouveau service pour" not in page
    assert badge(s) == 1


def test_a_worker_never_reaches_another_workers_saved_searches(console):
    s = console
    csrf = login(s.client, "sam")
    search_id = save_search(s, csrf, "Colis pour la permanence", f"need={NEED}")
    csrf = login(s.client, "noor")
    assert "Colis pour la permanence" not in s.client.get("/staff/alerts").text
    for action in ("seen", "email", "delete"):
        response = s.client.post(f"/staff/alerts/{action}",
                                 data={"csrf": csrf, "search": search_id, "daily": "1",
                                       "email": "noor@cpas.example.org"})
        assert response.status_code == 404, action
    db = store.connect(s.db_path)
    kept = store.saved_search_row(db, search_id)
    db.close()
    assert kept is not None and kept["email"] is None


def test_saving_refuses_in_plain_words(console):
    s = console
    csrf = login(s.client, "sam")
    for data, words in (({"name": "  ", "search": f"need={NEED}"}, "name"),
                        ({"name": "Ixelles", "search": "commune=Atlantis"}, "commune"),
                        ({"name": "Tri", "search": "q=colis", "daily": "1", "email": "nope"},
                         "e-mail")):
        response = s.client.post("/staff/alerts/save", data={"csrf": csrf, **data})
        assert response.status_code == 422, data
        assert 'class="message problem"' in response.text or "Demande impossible" in response.text
    db = store.connect(s.db_path)
    assert store.saved_search_rows(db) == []
    db.close()


def send_digests(s) -> list:
    env = {f"ORIENTATION_{k.upper()}": str(v) for k, v in s.box.settings().items()}
    result = CliRunner().invoke(cli, ["alerts", "--send", "--db", str(s.db_path),
                                      "--index-dir", str(s.index_dir),
                                      "--public-url", "http://testserver.local"], env=env)
    assert result.exit_code == 0, result.output
    return list(s.box.messages)


def test_daily_digest_in_the_workers_language_once(console):
    s = console
    csrf = login(s.client, "sam")
    save_search(s, csrf, "Madame Peeters, colis", f"need={NEED}&commune=Schaerbeek",
                daily="1", email="sam@cpas.example.org")
    csrf = login(s.client, "noor")
    save_search(s, csrf, "Voedselhulp", f"need={NEED}", daily="1",
                email="noor@ocmw.example.org")
    save_search(s, csrf, "Zonder mail", f"need={NEED}")
    assert send_digests(s) == []  # nothing changed: nothing sent
    found = matching(s, needs=[NEED], commune="Schaerbeek")
    db = store.connect(s.db_path)
    target = store.get_service(db, found[0])
    db.close()
    change(s, target.id, schedules=[Schedule(byday="WE", opens_at="13:00", closes_at="15:00")])
    messages = send_digests(s)
    by_to = {m["To"]: m for m in messages}
    assert sorted(by_to) == ["noor@ocmw.example.org", "sam@cpas.example.org"]
    nl, fr = by_to["noor@ocmw.example.org"], by_to["sam@cpas.example.org"]
    assert nl["Subject"] == "Orientation: 1 wijziging(en) in uw bewaarde zoekopdrachten"
    assert f"- {target.name}: openingsuren gewijzigd" in nl.get_content()
    body = fr.get_content()
    assert f"- {target.name} : horaires changés" in body
    assert f"http://testserver.local/staff/service/{target.id}" in body
    assert "http://testserver.local/staff/alerts" in body
    # Only directory facts: not the worker's label, words or commune.
    for private in ("Peeters", "colis", "Schaerbeek"):
        assert private not in body
    # Sent once: the next run has nothing new to say.
    assert len(send_digests(s)) == 2
    db = store.connect(s.db_path)
    assert [r["changes"] for r in store.alert_mail_rows(db)] == [1, 1]
    db.close()

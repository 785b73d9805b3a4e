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
from orientation.models import Closure, Schedule, Service, new_id
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

"""One correction queue (issue #15): the kiosk's tap and its optional second tap, the staff
report and the organisations' suggested edits land in /staff/queue with one table of kinds.

Real SQLite copy of the seed, the real app through TestClient (lifespan, index, guards).
"""

from __future__ import annotations

import datetime as dt
import html
import re

import pytest
from litestar.testing import TestClient

from api.app import create_app
from orientation import accounts, reports, store, suggestions
from orientation.errors import InvalidData
from conftest import TEST_HOST

PASSWORD = "correct horse battery"
HTMX = {"HX-Request": "true", "Origin": "http://testserver.local"}


@pytest.fixture
def site(db_path, tmp_path, index_dir):
    db = store.connect(db_path)
    org = next(db.query("select organization_id from services group by organization_id "
                        "order by count(*) desc, organization_id limit 1"))["organization_id"]
    accounts.create_user(db, "eddy", PASSWORD, role="editor", organization_id=org,
                         display_name="Eddy", actor="test")
    services = store.list_services(db, organization_id=org, status="active")
    db.close()
    app = create_app(db_path, index_dir, settings={"printer_target": str(tmp_path / "slips"),
                                                   "allowed_hosts": TEST_HOST})
    with TestClient(app) as client:
        yield client, db_path, services


def _login(client: TestClient) -> str:
    token = re.search(r'name="csrf" value="([^"]+)"', client.get("/staff/login").text).group(1)
    assert client.post("/staff/login", data={"username": "eddy", "password": PASSWORD,
                                             "csrf": token, "next": "/staff"},
                       follow_redirects=False).status_code == 303
    return re.search(r'name="csrf" value="([^"]+)"', client.get("/staff/queue").text).group(1)


def test_the_second_tap_refines_the_same_report_and_only_once(site):
    client, db_path, services = site
    service = services[0]
    tapped = client.post(f"/service/{service.id}/wrong", headers=HTMX)
    assert tapped.status_code == 200, tapped.text
    assert "Merci. Une personne va vérifier." in tapped.text
    assert "L'adresse n'est pas bonne" in html.unescape(tapped.text)
    assert "<textarea" not in tapped.text and 'type="text"' not in tapped.text
    db = store.connect(db_path)
    [report] = reports.problem_queue(db, service_id=service.id)
    assert (report.kind, report.channel, report.note) == ("other", "kiosk", None)
    action = f"/service/{service.id}/wrong/{report.id}"
    assert action in tapped.text
    # Another service's address with this report's id: nothing changes.
    assert client.post(f"/service/{services[1].id}/wrong/{report.id}",
                       data={"kind": "closed"}, headers=HTMX).status_code == 404
    assert client.post(action, data={"kind": "nonsense"}, headers=HTMX).status_code == 422
    refined = client.post(action, data={"kind": "wrong_address"}, headers=HTMX)
    assert refined.status_code == 200 and "Merci. C'est noté." in html.unescape(refined.text)
    assert [(r.id, r.kind) for r in reports.problem_queue(db, service_id=service.id)] == \
        [(report.id, "wrong_address")]
    # Once refined, the same link cannot rewrite it.
    again = client.post(action, data={"kind": "closed"}, headers=HTMX)
    assert again.status_code == 422
    assert reports.get_problem(db, report.id).kind == "wrong_address"
    # Without the kiosk's own origin the guard refuses, as for the first tap.
    foreign = client.post(action, data={"kind": "closed"},
                          headers={"HX-Request": "true", "Origin": "http://evil.example"})
    assert foreign.status_code == 403


def test_only_a_fresh_unrefined_kiosk_report_can_be_refined(db):
    service = next(store.iter_services(db, status="active"))
    old = reports.report_problem(db, service.id, "other", channel="kiosk",
                                 at=dt.datetime.now(dt.UTC) - dt.timedelta(minutes=11))
    staff = reports.report_problem(db, service.id, "other", channel="staff")
    for report in (old, staff):
        with pytest.raises(InvalidData):
            reports.refine_problem(db, report.id, "closed")
    fresh = reports.report_problem(db, service.id, "other", channel="kiosk")
    assert reports.refine_problem(db, fresh.id, "sent_elsewhere").kind == "sent_elsewhere"
    assert reports.report_problem(db, service.id, "wrong_address",
                                  channel="staff").kind == "wrong_address"


def test_the_queue_groups_kiosk_staff_and_organisation_by_service(site):
    client, db_path, services = site
    first, second = services[0], services[1]
    db = store.connect(db_path)
    now = dt.datetime.now(dt.UTC)
    oldest = reports.report_problem(db, second.id, "wrong_phone", channel="staff",
                                    at=now - dt.timedelta(days=3))
    reports.report_problem(db, second.id, "closed", channel="kiosk",
                           at=now - dt.timedelta(days=1))
    moved = reports.report_problem(db, first.id, "wrong_address", channel="staff",
                                   at=now - dt.timedelta(days=2))
    store.insert_suggestions(db, [suggestions.row(
        first.organization_id, "service", first.id, "phone", "02 000 00 00", "+32 2 555 12 34",
        source="test", at=now.isoformat(timespec="seconds"))], actor="test")
    csrf = _login(client)
    page = html.unescape(client.get("/staff/queue").text)
    # Oldest first: the service with the report waiting for three days comes first.
    assert page.index(second.name) < page.index(first.name)
    group = page[page.index(second.name):page.index(first.name)]
    assert group.index("Mauvais numéro") < group.index("Fermé")
    assert "travailleur social" in group and "borne" in group
    assert f"/staff/edit/service/{second.id}#row-phones-0" in group
    assert f"/staff/edit/service/{second.id}#f-status" in group
    # Counts per kind, over the whole queue.
    assert re.search(r"Mauvaise adresse : <strong>1</strong>", page)
    # The organisation's suggested phone is a wrong number, from the organisation.
    mine = page[page.index(first.name):]
    suggestion = mine[mine.index('class="queue-item suggestion"'):]
    assert "Mauvais numéro" in suggestion[:300] and "organisation" in suggestion[:300]
    assert re.search(r"Mauvais numéro : <strong>2</strong>", page)
    if first.location_ids:
        assert f"/staff/edit/location/{first.location_ids[0]}#f-address_street" in page
    # Sent to the organisation: closed with its own status, gone from the queue.
    sent = client.post(f"/staff/queue/problem/{oldest.id}",
                       data={"status": "forwarded", "csrf": csrf}, follow_redirects=False)
    assert sent.status_code == 303
    assert reports.get_problem(db, oldest.id).status == "forwarded"
    dismissed = client.post(f"/staff/queue/problem/{moved.id}",
                            data={"status": "dismissed", "csrf": csrf}, follow_redirects=False)
    assert dismissed.status_code == 303
    assert reports.get_problem(db, moved.id).status == "dismissed"
    assert client.post(f"/staff/queue/problem/{moved.id}",
                       data={"status": "burnt", "csrf": csrf},
                       follow_redirects=False).status_code == 422


def test_suggested_edits_take_their_kind_from_the_field():
    assert [reports.problem_of_field(f) for f in ("phone", "hours", "closed", "email")] == \
        ["wrong_phone", "outdated_hours", "closed", "other"]
    assert set(reports.FIELD_PROBLEMS.values()) <= set(reports.CHOSEN_PROBLEMS)

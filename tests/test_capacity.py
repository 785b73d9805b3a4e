"""Capacity tonight: a shelter or food aid service publishes the places it has left (API, staff
console, its own link); the kiosk shows a count only while it is current, prefers services with
room, and the HSDS ``capacities`` carry the count with its time."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from litestar.testing import TestClient

from api.app import create_app
from hsds_check import check
from orientation import access, capacity, store
from orientation.access import Caller
from orientation.errors import InvalidData, NotFound, PermissionDenied
from test_staff import PASSWORD, login

from conftest import TEST_HOST

NOW = dt.datetime.now(dt.UTC)
ORIGIN = {"Origin": "http://testserver.local"}


def _counted(db, need: str = "sans-abri"):
    """Active services that answer ``need``, the organisation with the most of them first."""
    term = store.get_term_by_code(db, need).id
    found = [s for s in store.list_services(db, status="active") if term in s.needs]
    assert len(found) >= 2, f"the seed has fewer than two {need} services"
    return found


def _editor(service) -> Caller:
    return Caller(role="editor", organization_id=service.organization_id, actor="test:editor")


# --- The core --------------------------------------------------------------------------------


def test_a_count_is_current_for_the_setting_hours_then_kept_but_not_shown(db):
    shelter = _counted(db)[0]
    capacity.publish(db, _editor(shelter), shelter.id, available=3, maximum=20,
                     at=NOW - dt.timedelta(hours=2))
    current = capacity.current(db, [shelter.id], hours=6, at=NOW)[shelter.id]
    assert [(c.available, c.maximum, c.unit) for c in current] == [(3, 20, "places")]
    assert capacity.current(db, [shelter.id], hours=1, at=NOW) == {}  # older than an hour
    kept = capacity.of_services(db, [shelter.id])[shelter.id]
    assert kept[0].available == 3 and not kept[0].fresh(NOW, 1)


def test_a_new_count_replaces_the_last_and_is_on_the_service_history(db):
    shelter = _counted(db)[0]
    capacity.publish(db, _editor(shelter), shelter.id, available=5)
    capacity.publish(db, _editor(shelter), shelter.id, available=0)
    assert [c.available for c in capacity.of_services(db, [shelter.id])[shelter.id]] == [0]
    rows = [e for e in store.history(db, "service", shelter.id) if e.field == "capacity.places"]
    assert [(r.before and r.before["available"], r.after["available"]) for r in rows] == \
        [(None, 5), (5, 0)]
    assert rows[-1].actor == "test:editor"
    assert capacity.has_room(capacity.current(db, [shelter.id], hours=6)[shelter.id]) is False


@pytest.mark.parametrize("available, maximum, unit, field", [
    ("trois", None, "places", "available"), (2000, None, "places", "available"),
    (-1, None, "places", "available"), (None, None, "places", "available"),
    (5, 3, "places", "maximum"), (True, None, "places", "available"),
    (3, None, "chambres", "unit"),
])
def test_a_count_that_cannot_be_true_is_refused_and_nothing_is_kept(db, available, maximum,
                                                                      unit, field):
    shelter = _counted(db)[0]
    with pytest.raises(InvalidData) as refused:
        capacity.publish(db, _editor(shelter), shelter.id, available=available,
                         maximum=maximum, unit=unit)
    assert refused.value.field == field
    assert capacity.of_services(db, [shelter.id]) == {}


def test_only_the_organisation_or_an_admin_may_give_a_count(db):
    first, other = _counted(db)[0], next(s for s in _counted(db)
                                          if s.organization_id != _counted(db)[0].organization_id)
    with pytest.raises(PermissionDenied):
        capacity.publish(db, _editor(other), first.id, available=4)
    with pytest.raises(PermissionDenied):
        capacity.publish(db, Caller(role="staff", actor="test:staff"), first.id, available=4)
    capacity.publish(db, Caller(role="admin", actor="test:admin"), first.id, available=4)
    with pytest.raises(NotFound):
        capacity.publish(db, Caller(role="admin", actor="test:admin"), "no-such-id", available=1)


# --- The API and HSDS ------------------------------------------------------------------------


@pytest.fixture
def shelter_key(db_path):
    db = store.connect(db_path)
    shelter = _counted(db)[0]
    _, secret = access.create_api_key(db, name="Shelter", organization_id=shelter.organization_id,
                                      role="editor", actor="test")
    db.close()
    return shelter, {"Authorization": f"Bearer {secret}"}


def test_the_api_publishes_reads_and_withdraws_a_count(api_client, shelter_key, api_keys):
    shelter, headers = shelter_key
    path = f"/api/v1/services/{shelter.id}/capacity"
    assert api_client.put(path, json={"available": 3}).status_code == 401
    assert api_client.put(path, json={"available": 3},
                          headers=api_keys.headers["other_editor"]).status_code == 403
    bad = api_client.put(path, json={"available": 5000}, headers=headers)
    assert bad.status_code == 400 and bad.headers["content-type"].startswith(
        "application/problem+json")
    saved = api_client.put(path, json={"available": 3, "maximum": 20}, headers=headers)
    assert saved.status_code == 200, saved.text
    assert saved.json()["available"] == 3 and saved.json()["current"] is True
    assert [c["available"] for c in api_client.get(path).json()] == [3]

    body = api_client.get(f"/hsds/services/{shelter.id}").json()
    [figure] = body["capacities"]
    assert (figure["available"], figure["maximum"], figure["unit"]["identifier"]) == \
        (3, 20, "places")
    check(body, "service")

    assert api_client.delete(f"{path}/places", headers=headers).status_code == 204
    assert api_client.get(path).json() == []
    assert api_client.delete(f"{path}/places", headers=headers).status_code == 404


# --- The kiosk -------------------------------------------------------------------------------


def test_the_kiosk_shows_a_current_count_and_never_an_old_one(client, db_path):
    db = store.connect(db_path)
    shelter = _counted(db)[0]
    capacity.publish(db, _editor(shelter), shelter.id, available=3,
                     at=NOW - dt.timedelta(minutes=20))
    page = client.get(f"/service/{shelter.id}").text
    assert "3 places libres ce soir" in page and "vérifié à" in page
    # The same count, now older than the setting (6 h): gone from the (kept) page at once,
    # since the write moved the directory's generation.
    capacity.publish(db, _editor(shelter), shelter.id, available=3,
                     at=NOW - dt.timedelta(hours=7))
    db.close()
    assert "places libres ce soir" not in client.get(f"/service/{shelter.id}").text


def test_the_need_page_puts_a_shelter_with_room_before_a_full_one(client, db_path):
    db = store.connect(db_path)
    shelters = {s.name: s for s in _counted(db)}

    def order(html: str) -> list[str]:
        return [n for n in re.findall(r'class="card-title"[^>]*>([^<]+)<', html) if n in shelters]

    before = order(client.get("/need/sans-abri").text)
    assert len(before) >= 2, before
    first, second = shelters[before[0]], shelters[before[1]]
    capacity.publish(db, _editor(first), first.id, available=0)
    capacity.publish(db, _editor(second), second.id, available=2)
    db.close()
    page = client.get("/need/sans-abri").text
    after = order(page)
    assert after[0] == second.name  # room tonight: first of its group
    assert first.name not in after or after.index(first.name) > after.index(second.name)
    assert "2 places libres ce soir" in page
    assert "Plus de place libre ce soir" in client.get(f"/service/{first.id}").text


# --- The organisation's link and the staff console --------------------------------------------


@pytest.fixture
def console(db_path, index_dir, tmp_path):
    db = store.connect(db_path)
    shelter = _counted(db)[0]
    from orientation import accounts
    accounts.create_user(db, "nina", PASSWORD, role="editor",
                         organization_id=shelter.organization_id, display_name="Nina",
                         actor="test")
    accounts.create_user(db, "sam", PASSWORD, role="staff", display_name="Sam", actor="test")
    db.close()
    app = create_app(db_path, index_dir, settings={"printer_target": str(tmp_path / "slips"),
                                                   "allowed_hosts": TEST_HOST})
    with TestClient(app) as c:
        yield c, shelter


def _csrf(html: str) -> str:
    return re.search(r'name="csrf" value="([^"]+)"', html).group(1)


def test_an_editor_gives_a_count_and_a_link_the_night_staff_use(console, db_path):
    client, shelter = console
    assert login(client, "nina").status_code == 303
    page = client.get(f"/staff/service/{shelter.id}").text
    assert "Places ce soir" in page and "Aucun nombre de places donné." in page
    saved = client.post(f"/staff/service/{shelter.id}/capacity",
                        data={"csrf": _csrf(page), "available": "4", "maximum": "12",
                              "unit": "places"}, follow_redirects=False)
    assert saved.status_code == 303
    page = client.get(f"/staff/service/{shelter.id}").text
    assert "4 places libres / 12" in page

    made = client.post(f"/staff/organization/{shelter.organization_id}/capacity-link",
                       data={"csrf": _csrf(page)})
    assert made.status_code == 200
    url = re.search(r'id="capacity-url"[^>]*|value="([^"]+/places/[^"]+)"', made.text)
    token = re.search(r'/places/([A-Za-z0-9_-]+)"', made.text).group(1)
    assert url and token

    client.cookies.clear()  # the night staff have no account
    form = client.get(f"/places/{token}")
    assert form.status_code == 200 and shelter.name in form.text
    assert form.headers["cache-control"] == "no-store"
    done = client.post(f"/places/{token}", data={f"available:{shelter.id}": "1",
                                                 f"unit:{shelter.id}": "places"},
                       headers=ORIGIN)
    assert done.status_code == 200 and "1 place libre ce soir" in done.text
    bad = client.post(f"/places/{token}", data={f"available:{shelter.id}": "beaucoup"},
                      headers=ORIGIN)
    assert bad.status_code == 422 and "Écrivez un nombre entre 0 et 999." in bad.text
    assert "1 place libre ce soir" in client.get(f"/service/{shelter.id}").text

    db = store.connect(db_path)
    [last] = capacity.of_services(db, [shelter.id])[shelter.id]
    assert last.updated_by.startswith("capacity-link:") and last.available == 1
    db.close()

    # A new link replaces the old one; an unknown one is refused in plain words.
    assert login(client, "nina").status_code == 303
    page = client.get(f"/staff/service/{shelter.id}").text
    client.post(f"/staff/organization/{shelter.organization_id}/capacity-link",
                data={"csrf": _csrf(page)})
    client.cookies.clear()
    old = client.get(f"/places/{token}")
    assert old.status_code == 410 and "nouveau lien" in old.text
    assert client.get("/places/not-a-token").status_code == 410


def test_a_staff_member_sees_counts_but_cannot_give_one(console):
    client, shelter = console
    assert login(client, "sam").status_code == 303
    page = client.get(f"/staff/service/{shelter.id}").text
    assert "Places ce soir" in page and 'name="available"' not in page
    refused = client.post(f"/staff/service/{shelter.id}/capacity",
                          data={"csrf": _csrf(page), "available": "4"})
    assert refused.status_code == 403


def test_the_count_is_said_in_the_persons_language_with_arabic_plurals(client, db_path):
    db = store.connect(db_path)
    shelter = _counted(db)[0]
    capacity.publish(db, _editor(shelter), shelter.id, available=3)
    db.close()
    client.cookies.set("lang", "ar")
    assert "3 أماكن شاغرة الليلة" in client.get(f"/service/{shelter.id}").text
    client.cookies.set("lang", "nl")
    assert "3 vrije plaatsen vanavond" in client.get(f"/service/{shelter.id}").text


def test_a_pathway_step_says_how_many_places_are_left_tonight(client, db_path):
    from orientation.seed import slug_id

    db = store.connect(db_path)
    pathway = store.get_pathway(db, slug_id("pathway", "sans-abri-ce-soir-bruxelles"))
    step_service = store.get_service(db, pathway.steps[0].service_id)
    page = client.get(f"/pathway/{pathway.id}").text
    assert "ce soir —" not in page
    capacity.publish(db, _editor(step_service), step_service.id, available=0)
    db.close()
    page = client.get(f"/pathway/{pathway.id}").text
    assert "Plus de place libre ce soir" in page

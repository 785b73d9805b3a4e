"""Production trust: what a security and reliability reviewer found, each with the probe that
found it (stored XSS through a URL field, a nested id that broke every feed and export).
"""

from __future__ import annotations

import json
import sqlite3

import httpx
import pytest
from click.testing import CliRunner

from api.app import create_app
from conftest import LiveServer, _free_port
from orientation import store
from orientation.cli import cli
from orientation.errors import InvalidData
from test_staff import _form, become, staff  # noqa: F401 - staff is a fixture

SCRIPTS = [
    "javascript:fetch('/staff/edit').then(r=>r.text()).then(t=>alert(t))",
    " JaVaScRiPt:alert(1)",
    "java\tscript:alert(1)",
    "data:text/html,<script>alert(1)</script>",
    "vbscript:msgbox(1)",
    "http://",
    "ftp://files.example.org/",
]


def _own_service(db_path, org):
    db = store.connect(db_path)
    service = store.list_services(db, organization_id=org, status="active")[0]
    db.close()
    return service


def _raw_update(db_path, sql, params):
    """Write behind the store's back, as a row written before a rule existed would be."""
    conn = sqlite3.connect(db_path)
    with conn:
        conn.execute(sql, params)
    conn.close()


@pytest.mark.parametrize("bad", SCRIPTS)
def test_api_refuses_a_url_that_is_not_a_web_address(api_client, api_keys, db_path, bad):
    service = _own_service(db_path, api_keys.org)
    editor = api_keys.headers["editor"]
    response = api_client.patch(f"/api/v1/services/{service.id}", json={"url": bad},
                                headers=editor)
    assert response.status_code == 422, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    assert response.json()["errors"][0]["field"] == "url"
    response = api_client.patch(f"/api/v1/organizations/{api_keys.org}",
                                json={"website": bad}, headers=editor)
    assert response.status_code == 422
    db = store.connect(db_path)
    assert store.get_service(db, service.id).url == service.url  # nothing written
    db.close()


def test_api_accepts_web_and_refuses_bad_email(api_client, api_keys, db_path):
    service = _own_service(db_path, api_keys.org)
    editor = api_keys.headers["editor"]
    ok = api_client.patch(f"/api/v1/services/{service.id}",
                          json={"url": "https://www.example.be/aide?x=1"}, headers=editor)
    assert ok.status_code == 200 and ok.json()["url"] == "https://www.example.be/aide?x=1"
    bad = api_client.patch(f"/api/v1/services/{service.id}",
                           json={"email": "javascript:alert(1)//@x.be"}, headers=editor)
    assert bad.status_code == 422 and bad.json()["errors"][0]["field"] == "email"


def test_store_refuses_script_urls_whoever_writes(db):
    service = store.list_services(db, status="active")[0]
    import msgspec

    with pytest.raises(InvalidData) as err:
        store.save_service(db, msgspec.structs.replace(service, url=SCRIPTS[0]), actor="t")
    assert err.value.field == "url"


def test_staff_editor_refuses_a_script_url(staff):  # noqa: F811 - fixture
    become(staff, "editor")
    url = f"/staff/edit/service/{staff.service.id}"
    data = _form(staff.client.get(url).text)
    response = staff.client.post(url, data={**data, "url": [SCRIPTS[0]]})
    assert response.status_code == 422  # InvalidData, as at every edge (errors.ERROR_TABLE)
    assert 'id="err-url"' in response.text
    db = store.connect(staff.db_path)
    assert store.get_service(db, staff.service.id).url == staff.service.url
    db.close()


def test_a_bad_url_already_stored_is_shown_as_text_never_as_a_link(staff):  # noqa: F811
    _raw_update(staff.db_path, "update services set url = ?, email = ? where id = ?",
                ["javascript:alert(document.cookie)", "x@y.be\" onmouseover=\"alert(1)",
                 staff.service.id])
    become(staff, "admin")
    page = staff.client.get(f"/staff/service/{staff.service.id}").text
    assert "javascript:alert(document.cookie)" in page  # shown, as text
    assert 'href="javascript:' not in page
    assert "onmouseover=\"alert" not in page
    assert 'href="mailto:x@y.be' not in page


def test_nested_ids_must_be_uuids(api_client, api_keys, db_path):
    service = _own_service(db_path, api_keys.org)
    response = api_client.patch(
        f"/api/v1/services/{service.id}", headers=api_keys.headers["editor"],
        json={"phones": [{"id": "42", "number": "+32 2 000 00 00"}]})
    assert response.status_code == 422, response.text
    assert response.json()["errors"][0]["field"] == "phones[0].id"
    schedules = [{"id": "lundi", "byday": "MO", "opens_at": "09:00", "closes_at": "12:00"}]
    response = api_client.put(f"/api/v1/services/{service.id}/schedules", json=schedules,
                              headers=api_keys.headers["editor"])
    assert response.status_code == 422, response.text
    db = store.connect(db_path)
    assert store.get_service(db, service.id).phones == service.phones
    db.close()


def test_a_legacy_non_uuid_phone_id_breaks_no_feed(api_client, db_path, tmp_path):
    db = store.connect(db_path)
    service = store.list_services(db, status="active")[0]
    total = db["services"].count
    db.close()
    phones = [{"id": "42", "number": "+32 2 000 00 00"}]
    _raw_update(db_path, "update services set phones = ? where id = ?",
                [json.dumps(phones), service.id])
    assert api_client.get(f"/hsds/services/{service.id}").status_code == 200
    assert api_client.get("/hsds/services", params={"full": "true", "per_page": 100}
                          ).status_code == 200
    feed = api_client.get("/hsds/services", params={"format": "ndjson", "full": "true"})
    lines = [json.loads(line) for line in feed.text.splitlines()]
    assert len(lines) == total and all("id" in line for line in lines)
    for fmt, out in (("hsds-json", tmp_path / "x.json"), ("ndjson", tmp_path / "x.ndjson"),
                     ("csv", tmp_path / "csv")):
        result = CliRunner().invoke(cli, ["export", "--db", str(db_path), "--format", fmt,
                                          "-o", str(out)])
        assert result.exit_code == 0, result.output


def test_a_feed_that_fails_midway_does_not_look_complete(db_path, index_dir):
    db = store.connect(db_path)
    ids = [r["id"] for r in db.query("select id from services order by name")]
    db.close()
    # A row the store cannot read any more (a disk error, a hand edit): half-way down the feed.
    _raw_update(db_path, "update services set schedules = '{broken' where id = ?",
                [ids[len(ids) // 2]])
    app = create_app(db_path, index_dir, settings={"rate_limit": 0})
    received = []
    with LiveServer(app, _free_port()) as server:
        with pytest.raises(httpx.HTTPError):  # the body ends without its final chunk
            with httpx.stream("GET", f"{server.url}/hsds/services",
                              params={"format": "ndjson"}, timeout=30) as response:
                assert response.status_code == 200
                for line in response.iter_lines():
                    received.append(json.loads(line))
    assert 0 < len(received) < len(ids) + 1
    assert "id" not in received[-1] and received[-1]["error"]["status"] == 500

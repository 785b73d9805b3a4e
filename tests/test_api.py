"""The REST API under /api/v1: reads, the role x action matrix, audit, bad inputs and HTTP
quality (problem+json, ETag, CORS, rate limiting, OpenAPI), on a real app and SQLite file."""

from __future__ import annotations

import collections
import json
import os
import random
import uuid

import msgspec
import pytest
from litestar.testing import TestClient

from api.app import create_app
from orientation import store
from orientation.models import Location
from conftest import TEST_HOST

PROBLEM = "application/problem+json"
#: Examples per operation in the schemathesis run (kept small: the suite must stay quick).
EXAMPLES = int(os.environ.get("ORIENTATION_FUZZ_EXAMPLES", "8"))


def assert_problem(response, status: int) -> dict:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == PROBLEM
    body = response.json()
    assert body["status"] == status
    assert body["type"] == "about:blank" and body["title"] and body["instance"]
    return body


def snapshot(db_path) -> tuple:
    """Everything a failed request must leave untouched."""
    db = store.connect(db_path)
    try:
        return store.counts(db), store.generation(db), [
            json.dumps(row, sort_keys=True, default=str)
            for table in ("services", "organizations", "contacts", "locations", "pathways")
            for row in db.query(f"select * from {table} order by id")]
    finally:
        db.close()


# --- reads ----------------------------------------------------------------------------------


def test_index_names_the_caller_role(api_client, api_keys):
    assert api_client.get("/api/v1/").json()["role"] == "anonymous"
    assert api_client.get("/api/v1/", headers=api_keys.headers["admin"]).json()["role"] == "admin"
    key = api_keys.headers["staff"]["Authorization"].split()[1]
    assert api_client.get("/api/v1/", headers={"X-API-Key": key}).json()["role"] == "staff"


def test_search_filters_facets_and_pagination(api_client, db):
    first = api_client.get("/api/v1/services?q=dettes&per_page=2")
    body = first.json()
    assert body["total"] > 2 and len(body["items"]) == 2
    assert "dettes" in body["facets"]["needs"]
    assert body["links"]["next"].endswith("page=2")
    assert 'rel="next"' in first.headers["link"]
    second = api_client.get(body["links"]["next"]).json()
    assert {i["id"] for i in body["items"]}.isdisjoint({i["id"] for i in second["items"]})

    walk_in = api_client.get("/api/v1/services?need=logement&walk_in=true&per_page=100").json()
    assert walk_in["total"] > 0
    housing = store.get_term_by_code(db, "logement")
    codes = {"logement"} | {t.code for t in store.list_terms(db) if t.parent_id == housing.id}
    for item in walk_in["items"]:
        service = store.get_service(db, item["id"])
        assert service.access.walk_in
        assert codes & set(item["needs"])
    # repeated filters survive in the links
    two = api_client.get("/api/v1/services?need=logement&need=energie&per_page=1").json()
    assert "need=logement" in two["links"]["next"] and "need=energie" in two["links"]["next"]
    assert two["total"] >= walk_in["total"]


def test_service_detail(api_client, db):
    pathway = store.list_pathways(db, status="active")[0]
    service_id = pathway.steps[0].service_id
    body = api_client.get(f"/api/v1/services/{service_id}").json()
    assert body["service"]["id"] == service_id
    assert body["organization"]["id"] == body["service"]["organization_id"]
    assert [c["id"] for c in body["contacts"]] == store.get_service(db, service_id).contact_ids
    assert pathway.id in [p["id"] for p in body["pathways"]]
    assert isinstance(body["open_now"], bool) and body["when"]
    if body["service"]["schedules"]:
        assert body["hours"]
    # a pathway taken out of use no longer sends people there
    store.save_pathway(db, msgspec.structs.replace(pathway, status="inactive"), actor="test")
    body = api_client.get(f"/api/v1/services/{service_id}").json()
    assert pathway.id not in [p["id"] for p in body["pathways"]]
    hsds = api_client.get(f"/hsds/services/{service_id}").json()
    assert pathway.id not in [p["id"] for p in hsds["be_pathways"]]


def test_other_reads(api_client, db):
    counts = store.counts(db)
    orgs = api_client.get("/api/v1/organizations?per_page=100").json()
    assert orgs["total"] == counts["organization"]
    needs = api_client.get("/api/v1/needs").json()
    assert len(needs) == counts["taxonomy_term"]
    by_need = api_client.get("/api/v1/pathways?need=logement&per_page=100").json()
    assert 0 < by_need["total"] <= counts["pathway"]
    pathway = by_need["items"][0]
    assert api_client.get(f"/api/v1/pathways/{pathway['id']}").json()["need"] == pathway["need"]
    location = store.list_locations(db)[0]
    assert api_client.get(f"/api/v1/locations/{location.id}").json()["name"] == location.name
    contacts = api_client.get("/api/v1/contacts?per_page=5").json()
    assert contacts["total"] == len(store.list_contacts(db, status="active"))


def test_staff_only_lines_and_confidential_addresses(api_client, api_keys, db):
    contact = next(c for c in store.list_contacts(db)
                   if any(p.visibility == "staff" for p in c.phones))
    hidden = [p.number for p in contact.phones if p.visibility == "staff"]
    service_id = store.services_for_contact(db, contact.id)[0]
    for url in (f"/api/v1/contacts/{contact.id}", f"/api/v1/services/{service_id}"):
        public = api_client.get(url).text
        staff = api_client.get(url, headers=api_keys.headers["staff"]).text
        assert all(n not in public for n in hidden) and all(n in staff for n in hidden)
    location = next(loc for loc in store.list_locations(db) if loc.confidential)
    public = api_client.get(f"/api/v1/locations/{location.id}").json()
    assert public["address"]["street"] == "" and public["latitude"] is None
    assert public["address"]["city"] == location.address.city
    staff = api_client.get(f"/api/v1/locations/{location.id}", headers=api_keys.headers["staff"])
    assert staff.json()["address"]["street"] == location.address.street


# --- the role x action matrix ---------------------------------------------------------------

ROLES = ["anonymous", "staff", "editor", "other_editor", "admin"]
#: action -> expected status for each role, in ROLES order ("editor" edits their own
#: organisation, "other_editor" is an editor of another one)
MATRIX = {
    "read": [200, 200, 200, 200, 200],
    "read_history": [401, 200, 200, 200, 200],
    "update_service": [401, 403, 200, 403, 200],
    "replace_schedules": [401, 403, 200, 403, 200],
    "create_location": [401, 403, 201, 403, 201],
    "delete_location": [401, 403, 204, 403, 204],
    "update_organization": [401, 403, 200, 403, 200],
    "create_organization": [401, 403, 403, 403, 201],
    "move_service_away": [401, 403, 403, 403, 200],
}


def _act(client, db, keys, action: str, headers: dict):
    service = next(s for s in store.list_services(db) if s.organization_id == keys.org)
    if action == "read":
        return client.get(f"/api/v1/services/{service.id}", headers=headers)
    if action == "read_history":
        return client.get(f"/api/v1/services/{service.id}/history", headers=headers)
    if action == "update_service":
        return client.patch(f"/api/v1/services/{service.id}",
                            json={"description": "Nouvelle description."}, headers=headers)
    if action == "replace_schedules":
        return client.put(f"/api/v1/services/{service.id}/schedules", headers=headers,
                          json=[{"byday": "MO", "opens_at": "09:00", "closes_at": "12:00"}])
    if action == "create_location":
        return client.post("/api/v1/locations", headers=headers, json={
            "organization_id": keys.org, "name": "Antenne test",
            "address": {"street": "Rue du Test 1", "postal_code": "1000", "city": "Bruxelles"}})
    if action == "delete_location":
        location = Location(organization_id=keys.org, name="À supprimer")
        store.save_location(db, location, actor="test")
        return client.delete(f"/api/v1/locations/{location.id}", headers=headers)
    if action == "update_organization":
        return client.patch(f"/api/v1/organizations/{keys.org}", headers=headers,
                            json={"email": "accueil@example.be"})
    if action == "create_organization":
        return client.post("/api/v1/organizations", headers=headers,
                           json={"name": "Nouvelle ASBL", "description": "Test."})
    if action == "move_service_away":
        return client.patch(f"/api/v1/services/{service.id}", headers=headers,
                            json={"organization_id": keys.other_org})
    raise AssertionError(action)


@pytest.mark.parametrize("role", ROLES)
def test_role_action_matrix(api_client, api_keys, db, db_path, role):
    """Each role tries every action in turn (moving a service away comes last)."""
    for action, statuses in MATRIX.items():
        expected = statuses[ROLES.index(role)]
        before = snapshot(db_path)
        response = _act(api_client, db, api_keys, action, api_keys.headers[role])
        assert response.status_code == expected, f"{role} {action}: {response.text}"
        if expected >= 400:
            assert_problem(response, expected)
            if action != "delete_location":  # that one made its own record first
                assert snapshot(db_path) == before, f"{role} {action} changed data"
        if expected == 401:
            assert response.headers["www-authenticate"] == "Bearer"


def test_writes_are_audited_with_the_key_owner(api_client, api_keys, db):
    service = next(s for s in store.list_services(db) if s.organization_id == api_keys.org)
    response = api_client.patch(f"/api/v1/services/{service.id}", headers=api_keys.headers[
        "editor"], json={"description": "Permanence le lundi.", "keywords": ["lundi"]})
    assert response.status_code == 200
    assert response.json()["description"] == "Permanence le lundi."
    history = api_client.get(f"/api/v1/services/{service.id}/history",
                             headers=api_keys.headers["staff"]).json()
    changed = {e["field"]: e for e in history if e["actor"].startswith("Test editor")}
    assert set(changed) == {"description", "keywords"}
    assert changed["description"]["before"] == service.description
    assert changed["description"]["after"] == "Permanence le lundi."
    # the index follows the write at once
    found = api_client.get("/api/v1/services?q=lundi&per_page=100").json()
    assert service.id in [i["id"] for i in found["items"]]


def test_create_then_delete_round_trip(api_client, api_keys, db):
    admin = api_keys.headers["admin"]
    created = api_client.post("/api/v1/contacts", headers=admin, json={
        "organization_id": api_keys.org, "given_name": "Awa", "family_name": "Diallo",
        "role": "Assistante sociale", "phones": [{"number": "+32 2 555 01 01"}]})
    assert created.status_code == 201, created.text
    contact_id = created.json()["id"]
    assert store.get_contact(db, contact_id).family_name == "Diallo"
    again = api_client.post("/api/v1/contacts", headers=admin, json=created.json())
    assert_problem(again, 409)
    assert api_client.delete(f"/api/v1/contacts/{contact_id}", headers=admin).status_code == 204
    assert_problem(api_client.get(f"/api/v1/contacts/{contact_id}"), 404)


def test_delete_refused_while_used(api_client, api_keys, db, db_path):
    pathway = store.list_pathways(db, status="active")[0]
    before = snapshot(db_path)
    response = api_client.delete(f"/api/v1/services/{pathway.steps[0].service_id}",
                                 headers=api_keys.headers["admin"])
    assert "pathway" in assert_problem(response, 409)["detail"]
    assert snapshot(db_path) == before


def test_pathway_invariant_names_the_step(api_client, api_keys, db, db_path):
    pathway = next(p for p in store.list_pathways(db, status="active") if len(p.steps) >= 2)
    steps = [json.loads(json.dumps(s, default=str)) for s in
             api_client.get(f"/api/v1/pathways/{pathway.id}").json()["steps"]]
    looping = [*steps, steps[0]]  # sends the person back to the first service
    before = snapshot(db_path)
    response = api_client.patch(f"/api/v1/pathways/{pathway.id}", json={"steps": looping},
                                headers=api_keys.headers["admin"])
    body = assert_problem(response, 422)
    assert body["step"] == len(looping)
    assert body["errors"][0]["field"] == f"steps[{len(looping) - 1}]"
    assert f"step {len(looping)}" in body["detail"]
    assert snapshot(db_path) == before


# --- bad inputs -----------------------------------------------------------------------------

SERVICE_URL = "/api/v1/services/{id}"
BAD_WRITES = {
    "wrong type": ("patch", {"name": 12}, 422),
    "unknown field": ("patch", {"nonsense": True}, 422),
    "nested wrong type": ("patch", {"access": {"walk_in": "perhaps"}}, 422),
    "bad hours": ("patch", {"schedules": [{"byday": "XX", "opens_at": "9", "closes_at": "8"}]},
                  422),
    "unknown need": ("patch", {"needs": [str(uuid.UUID(int=7))]}, 422),
    "xss id": ("post", {"id": "<script>alert(1)</script>", "organization_id": "x",
                        "name": "n", "description": "d"}, 422),
    "sql organization": ("post", {"organization_id": "' OR 1=1; DROP TABLE services; --",
                                  "name": "n", "description": "d"}, 422),
    "not an object": ("put", [1, 2, 3], 400),
    "missing fields": ("put", {"name": "only a name"}, 400),
}


@pytest.mark.parametrize("case", list(BAD_WRITES))
def test_bad_writes_change_nothing(api_client, api_keys, db, db_path, case):
    method, body, status = BAD_WRITES[case]
    service = next(s for s in store.list_services(db) if s.organization_id == api_keys.org)
    url = "/api/v1/services" if method == "post" else f"/api/v1/services/{service.id}"
    before = snapshot(db_path)
    response = api_client.request(method.upper(), url, json=body,
                                  headers=api_keys.headers["admin"])
    problem = assert_problem(response, status)
    assert problem.get("detail")
    if status == 422:
        assert problem["errors"][0]["field"]
    assert snapshot(db_path) == before


def test_without_a_key_writes_are_401_whatever_the_body(api_client, db, db_path):
    service = store.list_services(db)[0]
    before = snapshot(db_path)
    for method, url, body in (("PATCH", f"/api/v1/services/{service.id}", {"name": 3}),
                              ("POST", "/api/v1/services", [1]),
                              ("DELETE", f"/api/v1/services/{service.id}", None)):
        response = api_client.request(method, url, json=body)
        assert_problem(response, 401)
        assert response.headers["www-authenticate"] == "Bearer"
    assert snapshot(db_path) == before


def test_validation_errors_name_the_field(api_client, api_keys):
    response = api_client.post("/api/v1/organizations", headers=api_keys.headers["admin"],
                               json={"name": "X", "description": "Y", "phones": [{"nb": 1}]})
    problem = assert_problem(response, 400)
    assert problem["errors"][0]["source"] == "body"
    assert "phones[0]" in problem["errors"][0]["field"] or "phones" in problem["detail"]


@pytest.mark.parametrize("url, status", [
    ("/api/v1/services/not-a-uuid", 404),
    ("/api/v1/services/00000000-0000-4000-8000-000000000000", 404),
    ("/api/v1/services/1%27%20OR%20%271%27=%271", 404),
    ("/api/v1/services?per_page=1000", 400),
    ("/api/v1/services?page=0", 400),
    ("/api/v1/services?open_now=maybe", 400),
    ("/api/v1/services?need=%3Cscript%3E", 422),
    ("/api/v1/services?q=" + "x" * 600, 400),
    ("/api/v1/organizations/00000000-0000-4000-8000-000000000000/history", 404),
    ("/api/v1/nowhere", 404),
])
def test_bad_reads_are_problems(api_client, api_keys, db_path, url, status):
    before = snapshot(db_path)
    assert_problem(api_client.get(url, headers=api_keys.headers["staff"]), status)
    assert snapshot(db_path) == before


def test_sql_looking_search_is_just_words(api_client, db_path):
    before = snapshot(db_path)
    response = api_client.get("/api/v1/services", params={"q": "'; DROP TABLE services; --"})
    assert response.status_code == 200
    assert snapshot(db_path) == before


def test_huge_body_is_refused(api_client, api_keys, db, db_path):
    service = store.list_services(db)[0]
    before = snapshot(db_path)
    response = api_client.patch(f"/api/v1/services/{service.id}", headers=api_keys.headers[
        "admin"], content=json.dumps({"description": "x" * 400_000}),
        )
    assert_problem(response, 413)
    assert snapshot(db_path) == before


def test_malformed_json_and_bad_keys(api_client, api_keys, db):
    service = store.list_services(db)[0]
    response = api_client.patch(f"/api/v1/services/{service.id}", content=b"{not json",
                                headers={**api_keys.headers["admin"],
                                         "Content-Type": "application/json"})
    assert_problem(response, 400)
    assert_problem(api_client.get("/api/v1/", headers={"Authorization": "Bearer nope"}), 401)
    assert_problem(api_client.get("/api/v1/", headers={"Authorization": "Basic abc"}), 401)


def test_revoked_key_stops_working(api_client, api_keys, db):
    headers = api_keys.headers["admin"]
    assert api_client.get("/api/v1/", headers=headers).status_code == 200
    key = next(k for k in store.list_api_keys(db) if k.name == "Test admin")
    store.revoke_api_key(db, key.id, actor="test")
    assert_problem(api_client.get("/api/v1/", headers=headers), 401)


# --- HTTP quality ---------------------------------------------------------------------------


def test_etag_and_cache_control(api_client, api_keys):
    first = api_client.get("/api/v1/needs")
    etag = first.headers["etag"]
    assert first.headers["cache-control"] == "public, max-age=60"
    again = api_client.get("/api/v1/needs", headers={"If-None-Match": etag})
    assert again.status_code == 304 and again.content == b""
    assert again.headers["etag"] == etag
    staff = api_client.get("/api/v1/needs", headers=api_keys.headers["staff"])
    assert staff.headers["cache-control"] == "private, no-cache"
    hsds = api_client.get("/hsds/taxonomy_terms")
    assert api_client.get("/hsds/taxonomy_terms", headers={
        "If-None-Match": hsds.headers["etag"]}).status_code == 304
    # a write changes the representation, so the old ETag no longer matches
    term = first.json()[0]
    store_db = store.connect(api_client.app.state.db_path)
    saved = store.get_term(store_db, term["id"])
    store.save_term(store_db, msgspec.structs.replace(saved, pictogram="autre"), actor="test")
    store_db.close()
    assert api_client.get("/api/v1/needs", headers={"If-None-Match": etag}).status_code == 200


def test_cors_for_configured_partners(db_path, index_dir):
    app = create_app(db_path, index_dir,
                     settings={"cors_origins": "https://partenaire.example.be",
                               "allowed_hosts": TEST_HOST})
    with TestClient(app) as client:
        preflight = client.options("/api/v1/services", headers={
            "Origin": "https://partenaire.example.be", "Access-Control-Request-Method": "GET"})
        assert preflight.status_code in (200, 204)
        assert preflight.headers["access-control-allow-origin"] == \
            "https://partenaire.example.be"
        simple = client.get("/hsds/", headers={"Origin": "https://partenaire.example.be"})
        assert simple.headers["access-control-allow-origin"] == "https://partenaire.example.be"
        other = client.get("/hsds/", headers={"Origin": "https://ailleurs.example.com"})
        assert "access-control-allow-origin" not in other.headers


def test_rate_limit_answers_429_with_retry_after(db_path, index_dir):
    settings = {"rate_limit": 3, "allowed_hosts": TEST_HOST}
    with TestClient(create_app(db_path, index_dir, settings=settings)) as c:
        statuses = [c.get("/api/v1/needs").status_code for _ in range(4)]
        assert statuses == [200, 200, 200, 429]
        limited = c.get("/hsds/")
        assert_problem(limited, 429)
        assert 1 <= int(limited.headers["retry-after"]) <= 60


def test_openapi_document(api_client):
    spec = api_client.get("/schema/openapi.json").json()
    assert spec["info"]["title"] == "Orientation"
    operations = [(path, method, op) for path, item in spec["paths"].items()
                  for method, op in item.items() if method in ("get", "post", "put", "patch",
                                                                "delete")]
    ids = [op["operationId"] for _, _, op in operations]
    assert len(ids) == len(set(ids)) and all(ids)
    assert all(op.get("tags") for _, _, op in operations)
    assert not [p for p in spec["paths"] if p != "/api" and not p.startswith(("/api/v1", "/hsds"))]
    # HSDS paths are named as in the HSDS description ({id})
    for path in ("/hsds/services", "/hsds/services/{id}", "/hsds/organizations",
                 "/hsds/service_at_locations/{id}", "/hsds/taxonomy_terms/{id}",
                 "/api/v1/services/{record_id}/history"):
        assert path in spec["paths"], path
    create = spec["paths"]["/api/v1/services"]["post"]
    assert create["requestBody"]["content"]["application/json"]["schema"]["examples"]
    search = {p["name"]: p for p in spec["paths"]["/api/v1/services"]["get"]["parameters"]}
    assert search["q"]["examples"]
    assert "bearer" in spec["components"]["securitySchemes"]


@pytest.mark.parametrize("role", ["anonymous", "admin"])
def test_schemathesis_finds_no_server_errors(db_path, index_dir, api_keys, role):
    """A short, bounded property-based run over every operation, without a key and with an
    admin key (so writes get past authentication): no 5xx, ever."""
    import schemathesis
    from hypothesis import HealthCheck, given, settings

    app = create_app(db_path, index_dir, settings={"rate_limit": 0, "allowed_hosts": TEST_HOST})
    with TestClient(app) as client:
        raw = client.get("/schema/openapi.json").json()
    schema = schemathesis.openapi.from_dict(raw)
    failures, seen = [], collections.Counter()
    with TestClient(app) as client:
        for result in schema.get_all_operations():
            operation = result.ok()

            @settings(max_examples=EXAMPLES, deadline=None, database=None,
                      suppress_health_check=list(HealthCheck))
            @given(case=operation.as_strategy())
            def check(case):
                # Hypothesis seeds `random` identically for every example; whoosh names its
                # new segments with `random`, so the same names would come back and collide.
                random.seed()
                kwargs = case.as_transport_kwargs(base_url="")
                response = client.request(kwargs["method"], kwargs["url"],
                                          params=kwargs.get("params"),
                                          headers={**(kwargs.get("headers") or {}),
                                                   **api_keys.headers[role]},
                                          content=kwargs.get("content")
                                          or (json.dumps(kwargs["json"]).encode()
                                              if "json" in kwargs else None))
                seen[response.status_code // 100] += 1
                if response.status_code >= 500:
                    failures.append(f"{case.method} {case.formatted_path} -> "
                                    f"{response.status_code}: {response.text[:200]}")

            check()
    assert not failures, "\n".join(failures[:10])
    operations = sum(1 for _ in schema.get_all_operations())
    assert sum(seen.values()) >= 2 * operations  # it really ran: 2xx and 4xx answers alike
    assert seen[2] and seen[4]
    print(f"schemathesis: {operations} operations, answers by class {dict(seen)}")


def test_keys_from_the_cli(db_path, index_dir, api_keys):
    """A key is shown once by `orientation keys create`, works at once, and stops when revoked."""
    from click.testing import CliRunner

    from orientation.cli import cli

    runner = CliRunner()
    made = runner.invoke(cli, ["keys", "create", "--db", str(db_path), "--name", "EPN Wavre",
                               "--role", "editor", "--organization", api_keys.org])
    assert made.exit_code == 0, made.output
    secret = made.output.strip().splitlines()[-1]
    assert secret.startswith("ori_")
    listed = runner.invoke(cli, ["keys", "list", "--db", str(db_path)])
    assert "EPN Wavre" in listed.output and secret not in listed.output
    db = store.connect(db_path)
    assert secret not in json.dumps([list(r.values()) for r in db.query("select * from api_keys")])
    db.close()
    settings = {"rate_limit": 0, "allowed_hosts": TEST_HOST}
    with TestClient(create_app(db_path, index_dir, settings=settings)) as client:
        assert client.get("/api/v1/", headers={"X-API-Key": secret}).json()["role"] == "editor"
        key_id = made.output.split()[2]
        revoked = runner.invoke(cli, ["keys", "revoke", "--db", str(db_path), key_id])
        assert revoked.exit_code == 0, revoked.output
        assert_problem(client.get("/api/v1/", headers={"X-API-Key": secret}), 401)
    bad = runner.invoke(cli, ["keys", "create", "--db", str(db_path), "--name", "X",
                              "--role", "editor"])
    assert bad.exit_code == 1 and "needs an organisation" in bad.output


def test_pathways_can_be_searched_in_everyday_words(client):
    body = client.get("/api/v1/pathways", params={"q": "facture gaz impayee"}).json()
    assert body["total"] >= 1
    assert "gaz" in body["items"][0]["need"].lower() or "énergie" in body["items"][0]["need"].lower()
    everything = client.get("/api/v1/pathways").json()["total"]
    assert body["total"] < everything
    words = client.get("/api/v1/pathways", params={"q": "facture gaz", "per_page": 100}).json()
    both = client.get("/api/v1/pathways",
                      params={"q": "facture gaz", "need": "energie", "per_page": 100}).json()
    assert 1 <= both["total"] <= words["total"]
    assert {p["id"] for p in both["items"]} <= {p["id"] for p in words["items"]}

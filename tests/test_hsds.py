"""The Open Referral HSDS 3.1 API: every endpoint's answers validate against the HSDS schemas
(tests/hsds/, CC BY-SA 4.0), on the whole seeded directory, for anonymous and staff callers."""

from __future__ import annotations

import json

import pytest

from hsds_check import check, check_meta, check_page
from orientation import hsds, store

@pytest.fixture(autouse=True)
def strict_profile(monkeypatch):
    """Every HSDS answer here is also validated against our compiled profile schemas."""
    import hsds_check

    monkeypatch.setattr(hsds_check, "STRICT_PROFILE", True)


LISTINGS = [
    ("/hsds/services", "service", False),
    ("/hsds/services?full=true", "service", True),
    ("/hsds/services?minimal=true", "service", False),
    ("/hsds/organizations", "organization", False),
    ("/hsds/service_at_locations", "service_at_location", False),
    ("/hsds/taxonomies", "taxonomy", False),
    ("/hsds/taxonomy_terms", "taxonomy_term", False),
]


def every_page(client, url, headers=None):
    """All pages of a listing, following the Link header's rel=next."""
    pages = []
    while url:
        response = client.get(url, headers=headers)
        assert response.status_code == 200, response.text
        pages.append(response.json())
        links = dict(
            (part.split('rel="')[1].rstrip('"'), part.split(">")[0].lstrip(" <"))
            for part in response.headers["link"].split(",")
        )
        url = links.get("next")
    return pages


def test_meta_and_profile(api_client):
    body = api_client.get("/hsds/").json()
    check_meta(body)
    assert body["version"] == "3.1"
    assert api_client.get(body["profile"]).json()["extensions"]["service.be_access"]
    assert api_client.get(body["openapi_url"]).status_code == 200


@pytest.mark.parametrize("role", ["anonymous", "staff"])
@pytest.mark.parametrize("url, kind, full", LISTINGS, ids=[u for u, _, _ in LISTINGS])
def test_every_listing_page_validates(api_client, api_keys, db, url, kind, full, role):
    sep = "&" if "?" in url else "?"
    pages = every_page(api_client, f"{url}{sep}per_page=50", api_keys.headers[role])
    total = pages[0]["total_items"]
    for number, page in enumerate(pages, start=1):
        check_page(page, kind, full=full)
        assert page["page_number"] == number
        assert page["total_pages"] == len(pages)
    ids = [item["id"] for page in pages for item in page["contents"]]
    assert len(ids) == len(set(ids)) == total > 0
    expected = {"service": store.counts(db)["service"], "organization":
                store.counts(db)["organization"], "taxonomy_term":
                store.counts(db)["taxonomy_term"], "taxonomy": 1}.get(kind)
    if kind == "service":
        expected = len(store.list_services(db, status="active"))
    if expected is not None:
        assert total == expected


@pytest.mark.parametrize("role", ["anonymous", "staff"])
def test_every_record_by_id_validates(api_client, api_keys, db, role):
    headers = api_keys.headers[role]
    for service in store.list_services(db):
        body = api_client.get(f"/hsds/services/{service.id}", headers=headers).json()
        check(body, "service")
        assert body["name"] == service.name
        for sal in body["service_at_locations"]:
            full = api_client.get(f"/hsds/service_at_locations/{sal['id']}", headers=headers)
            check(full.json(), "service_at_location")
    for org in store.list_organizations(db):
        body = api_client.get(f"/hsds/organizations/{org.id}?full_service=true",
                              headers=headers).json()
        check(body, "organization")
        for item in body["services"]:
            check(item, "compiled/service_list")
    for term in store.list_terms(db):
        check(api_client.get(f"/hsds/taxonomy_terms/{term.id}").json(), "taxonomy_term")
    check(api_client.get(f"/hsds/taxonomies/{hsds.TAXONOMY_ID}").json(), "taxonomy")


def test_ndjson_streams_every_service(api_client, db):
    response = api_client.get("/hsds/services?format=ndjson")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/x-ndjson")
    lines = [json.loads(line) for line in response.text.splitlines()]
    assert len(lines) == len(store.list_services(db, status="active"))
    for item in lines:
        check(item, "compiled/service_list")
    full = api_client.get("/hsds/services?format=ndjson&full=true&organization_id="
                          f"{lines[0]['organization_id']}")
    for line in full.text.splitlines():
        check(json.loads(line), "service")


def test_filters(api_client, db):
    services = store.list_services(db, status="active")
    term = store.get_term_by_code(db, "logement")
    children = {t.id for t in store.list_terms(db) if t.parent_id == term.id}
    expected = {s.id for s in services if ({term.id} | children) & set(s.needs)}
    pages = every_page(api_client, f"/hsds/services?per_page=100&taxonomy_term_id={term.id}")
    assert {i["id"] for p in pages for i in p["contents"]} == expected != set()

    org = services[0].organization_id
    page = api_client.get(f"/hsds/services?per_page=100&organization_id={org}").json()
    assert {i["id"] for i in page["contents"]} == {
        s.id for s in services if s.organization_id == org}

    assert api_client.get("/hsds/services?modified_after=2999-01-01T00:00:00Z"
                          ).json()["empty"] is True
    assert api_client.get("/hsds/services?modified_after=2000-01-01T00:00:00Z"
                          ).json()["total_items"] == len(services)
    other_taxonomy = "00000000-0000-4000-8000-000000000000"
    assert api_client.get(f"/hsds/services?taxonomy_id={other_taxonomy}").json()["empty"]
    found = api_client.get("/hsds/services?search=dettes").json()
    assert found["total_items"] > 0
    check_page(found, "service")


def test_staff_only_lines_and_confidential_addresses(api_client, api_keys, db):
    contact = next(c for c in store.list_contacts(db)
                   if any(p.visibility == "staff" for p in c.phones))
    service_id = store.services_for_contact(db, contact.id)[0]
    staff_numbers = [p.number for p in contact.phones if p.visibility == "staff"]
    public = api_client.get(f"/hsds/services/{service_id}").text
    staff = api_client.get(f"/hsds/services/{service_id}",
                           headers=api_keys.headers["staff"]).text
    for number in staff_numbers:
        assert number not in public
        assert number in staff

    location = next(loc for loc in store.list_locations(db) if loc.confidential)
    org = api_client.get(f"/hsds/organizations/{location.organization_id}").json()
    shown = next(loc for loc in org["locations"] if loc["id"] == location.id)
    assert "addresses" not in shown and "latitude" not in shown
    assert shown["be_city"] == location.address.city
    assert location.address.street not in json.dumps(org, ensure_ascii=False)


def test_metadata_names_the_key_owner(api_client, api_keys, db):
    service = next(s for s in store.list_services(db) if s.organization_id == api_keys.org)
    response = api_client.patch(f"/api/v1/services/{service.id}", json={"email": "x@example.be"},
                                headers=api_keys.headers["editor"])
    assert response.status_code == 200, response.text
    body = api_client.get(f"/hsds/services/{service.id}").json()
    check(body, "service")
    last = body["metadata"][-1]
    assert last["updated_by"].startswith("Test editor (key ori_")
    assert last["field_name"] == "email" and last["last_action_type"] == "update"
    assert last["replacement_value"] == ""  # values are for staff only
    staff = api_client.get(f"/hsds/services/{service.id}", headers=api_keys.headers["staff"])
    assert staff.json()["metadata"][-1]["replacement_value"] == '"x@example.be"' or \
        staff.json()["metadata"][-1]["replacement_value"] == "x@example.be"


def test_unknown_ids_are_problems(api_client):
    for url in ("/hsds/services/00000000-0000-4000-8000-000000000000",
                "/hsds/organizations/not-a-uuid", "/hsds/taxonomies/00000000-0000-4000-8000-0"
                "00000000000", "/hsds/service_at_locations/00000000-0000-4000-8000-000000000000"):
        response = api_client.get(url)
        assert response.status_code == 404, url
        assert response.headers["content-type"] == "application/problem+json"
        assert response.json()["status"] == 404

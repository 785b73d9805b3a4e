"""HSDS 3.1 conformance, checked the way a validator checks a feed.

Every operation of the released 3.1.x API description (tests/hsds/openapi.json: REQUIRED and
optional, GET and POST) answers 200 with a body valid against that operation's response
schema; every parameter the description documents for a listing is in our OpenAPI document;
and every combination of up to three filter parameters narrows the result with AND: each
returned item satisfies every parameter (checked against the database), and the result of a
combination is the intersection of the results of its parameters taken one at a time.
"""

from __future__ import annotations

import datetime as dt
import itertools
from typing import Any, Callable

import pytest

from hsds_check import check, check_operation, openapi
from orientation import communes, competence, geo, hsds, store

@pytest.fixture(autouse=True)
def strict_profile(monkeypatch):
    """Every HSDS answer here is also validated against our compiled profile schemas."""
    import hsds_check

    monkeypatch.setattr(hsds_check, "STRICT_PROFILE", True)


OTHER = "00000000-0000-4000-8000-000000000000"


def ids_for(db) -> dict[str, str]:
    """A real id for each {id} of the description's paths."""
    service = store.list_services(db, status="active")[0]
    sal = store.service_at_location_id(service.id, service.location_ids[0])
    return {"/services/{id}": service.id, "/organizations/{id}": service.organization_id,
            "/service_at_locations/{id}": sal, "/taxonomies/{id}": hsds.TAXONOMY_ID,
            "/taxonomy_terms/{id}": store.list_terms(db)[0].id}


def test_every_operation_of_the_description_answers_its_schema(api_client, db):
    ids = ids_for(db)
    for path, operations in openapi()["paths"].items():
        for method, op in operations.items():
            if method == "parameters":
                continue
            url = "/hsds" + path.replace("{id}", ids.get(path, ""))
            response = api_client.request(method.upper(), url)
            assert response.status_code == 200, (method, url, response.text)
            if path == "/service_at_locations/{id}":
                # The description gives compiled/service.json here (an upstream slip: the
                # answer is a service_at_location); we answer what the path names.
                check(response.json(), "service_at_location")
            else:
                check_operation(response.json(), path, method)


def test_every_documented_parameter_is_served(api_client):
    ours = api_client.get("/schema/openapi.json").json()["paths"]
    spec = openapi()
    for path, operations in spec["paths"].items():
        for method, op in operations.items():
            if method == "parameters":
                continue
            documented = set()
            for p in op.get("parameters", []):
                if "$ref" in p:
                    p = spec["components"]["parameters"][p["$ref"].rsplit("/", 1)[1]]
                documented.add(p["name"])
            mine = ours["/hsds" + path.rstrip("/")][method]
            served = {p["name"] for p in mine.get("parameters", [])}
            assert documented <= served, (method, path, documented - served)
            if method == "post":
                # the twin also takes every parameter in its JSON body
                body = mine["requestBody"]["content"]["application/json"]["schema"]
                assert body, path


# --- AND semantics --------------------------------------------------------------------------


def everything(client, path: str, params: dict[str, Any], method: str) -> list[dict]:
    """Every item of a listing for ``params``: GET follows the pages, POST sends the
    parameters as a JSON body and asks page after page."""
    items, page = [], 1
    while True:
        if method == "get":
            response = client.get(path, params={**params, "per_page": 100, "page": page})
        else:
            response = client.post(path, json={**params, "per_page": 100, "page": page})
        assert response.status_code == 200, (method, path, params, response.text)
        body = response.json()
        check_operation(body, path.removeprefix("/hsds"), method)
        items += body["contents"]
        if body["last_page"]:
            return items
        page += 1


class Listing:
    def __init__(self, path: str, key: Callable[[dict], Any],
                 params: dict[str, tuple[list[Any], Callable[[dict, Any], bool] | None]]):
        self.path, self.key, self.params = path, key, params


@pytest.fixture
def listings(db) -> list[Listing]:
    services = {s.id: s for s in store.list_services(db)}
    terms = store.list_terms(db)
    modified = store.last_modified(db, "service")
    locations = {loc.id: loc for loc in store.list_locations(db)}
    housing = store.get_term_by_code(db, "logement")
    sub = next(t for t in terms if t.parent_id and any(t.id in s.needs
                                                       for s in services.values()))
    biggest = max({s.organization_id for s in services.values()},
                  key=lambda o: sum(s.organization_id == o for s in services.values()))

    def term_set(term_id: str) -> set[str]:
        return {term_id} | {t.id for t in terms if t.parent_id == term_id}

    def has_term(service_ids, term_id):
        return any(term_set(term_id) & set(services[i].needs) for i in service_ids)

    def in_taxonomy(service_ids, taxonomy_id):
        return taxonomy_id == hsds.TAXONOMY_ID and any(services[i].needs for i in service_ids)

    def after(service_id, moment):
        stamp = dt.datetime.fromisoformat(modified[service_id])
        return stamp >= dt.datetime.fromisoformat(moment.replace("Z", "+00:00"))

    org_services: dict[str, list[str]] = {}
    for s in services.values():
        if s.status == "active":
            org_services.setdefault(s.organization_id, []).append(s.id)

    def words_in(*fields):
        text = " ".join(f or "" for f in fields).casefold()
        return lambda word: word.casefold() in text

    def covers(item, postcode):
        service, loc = services[item["service_id"]], locations[item["location_id"]]
        commune = communes.commune(postal_code=postcode)
        if service.areas:
            return competence.covers(service, commune)
        return loc.address is not None and communes.commune(
            loc.address.city, loc.address.postal_code) == commune

    def near(item, proximity):
        centre = geo.locate_commune(db, communes.commune(postal_code="1060"))
        point = geo.point_of(locations[item["location_id"]])
        return point is not None and geo.distance_km(centre, point) * 1000 <= proximity

    service_filters = {
        "search": (["dettes", "logement social"], None),
        "taxonomy_term_id": ([housing.id, sub.id], lambda i, v: has_term([i["id"]], v)),
        "taxonomy_id": ([hsds.TAXONOMY_ID, OTHER], lambda i, v: in_taxonomy([i["id"]], v)),
        "organization_id": ([biggest], lambda i, v: i["organization_id"] == v),
        "modified_after": (["2000-01-01T00:00:00Z", "2999-01-01T00:00:00Z"],
                           lambda i, v: after(i["id"], v)),
    }
    sal_filters = {
        **{k: (values, None if test is None else
               (lambda test: lambda i, v: test({**i, "id": i["service_id"],
                                                "organization_id":
                                                services[i["service_id"]].organization_id},
                                               v))(test))
           for k, (values, test) in service_filters.items()},
        "postcode": (["1060", "1300"], covers),
        "proximity": ([3000], near),  # paired with postcode 1060 below
    }
    return [
        Listing("/hsds/services", lambda i: i["id"], service_filters),
        Listing("/hsds/service_at_locations", lambda i: i["id"], sal_filters),
        Listing("/hsds/organizations", lambda i: i["id"], {
            "search": (["cpas", "bruxelles"], lambda i, v: all(
                map(words_in(i["name"], i.get("alternate_name"), i["description"]),
                    v.split()))),
            "taxonomy_term_id": ([housing.id, sub.id],
                                 lambda i, v: has_term(org_services.get(i["id"], []), v)),
            "taxonomy_id": ([hsds.TAXONOMY_ID, OTHER],
                            lambda i, v: in_taxonomy(org_services.get(i["id"], []), v)),
        }),
        Listing("/hsds/taxonomy_terms", lambda i: i["id"], {
            "search": (["logement"], None),
            "taxonomy_id": ([hsds.TAXONOMY_ID, OTHER], lambda i, v: i["taxonomy_id"] == v),
            "parent_id": ([housing.id], lambda i, v: i.get("parent_id") == v),
            "top_only": ([True], lambda i, v: "parent_id" not in i),
        }),
        Listing("/hsds/taxonomies", lambda i: i["id"], {
            "search": (["besoins", "nothing-like-this"], None),
        }),
    ]


def combinations(listing: Listing):
    names = [n for n in listing.params if n != "proximity"]
    for size in (1, 2, 3):
        for chosen in itertools.combinations(names, size):
            values = [listing.params[n][0] for n in chosen]
            for combo in itertools.product(*values):
                params = dict(zip(chosen, combo))
                yield params
                if params.get("postcode") == "1060":
                    yield {**params, "proximity": 3000}


@pytest.mark.parametrize("method", ["get", "post"])
def test_parameters_combine_with_and(api_client, listings, method):
    for listing in listings:
        singles: dict[tuple[str, Any], set] = {}
        tried = nonempty = 0
        for params in combinations(listing):
            items = everything(api_client, listing.path, params, method)
            found = {listing.key(i) for i in items}
            assert len(found) == len(items), (listing.path, params, "duplicates")
            for name, value in params.items():
                test = listing.params[name][1]
                for item in items:
                    assert test is None or test(item, value), (listing.path, params, name,
                                                              item)
            if len(params) == 1:
                singles[next(iter(params.items()))] = found
            elif "proximity" not in params:
                expected = set.intersection(*(singles[p] for p in params.items()))
                assert found == expected, (listing.path, params)
            tried += 1
            nonempty += bool(found)
        # not vacuous: the chosen values do select something, and combinations too
        assert nonempty >= tried // 3, (listing.path, nonempty, tried)
        assert any(len(v) for k, v in singles.items()), listing.path


def test_post_keeps_search_words_out_of_the_url(api_client):
    """The POST twin takes its search in the body; its answer has no Link header to repeat
    the words in a URL, and its result is the GET's."""
    response = api_client.post("/hsds/services", json={"search": "dettes", "per_page": 5})
    assert response.status_code == 200
    assert "link" not in response.headers
    body = response.json()
    check_operation(body, "/services", "post")
    get = api_client.get("/hsds/services", params={"search": "dettes", "per_page": 5}).json()
    assert [i["id"] for i in body["contents"]] == [i["id"] for i in get["contents"]] != []
    bad = api_client.post("/hsds/services", json={"serch": "dettes"})
    assert bad.status_code == 400
    assert bad.headers["content-type"] == "application/problem+json"


def test_ndjson_on_every_listing(api_client):
    for path, kind in (("/hsds/organizations", "compiled/organization_list"),
                       ("/hsds/service_at_locations", "compiled/service_at_location_list"),
                       ("/hsds/taxonomy_terms", "taxonomy_term"),
                       ("/hsds/taxonomies", "taxonomy")):
        response = api_client.get(path, params={"format": "ndjson"})
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("application/x-ndjson")
        lines = response.text.splitlines()
        total = api_client.get(path).json()["total_items"]
        assert len(lines) == total > 0
        import json
        for line in lines[:20]:
            check(json.loads(line), kind)


def test_capacities_are_listed(api_client, db):
    service = store.list_services(db, status="active")[0]
    body = api_client.get(f"/hsds/services/{service.id}").json()
    assert body["capacities"] == []  # no capacity figures are kept: none are made up
    check(body, "service")


# --- the profile ----------------------------------------------------------------------------


def test_profile_files_are_compiled_and_served(api_client):
    """The committed compiled schemas are exactly what the merge patches give over the HSDS
    schemas, and /hsds/profile links every file, each served as it is in the repository."""
    import json

    from api.hsds_profile import HERE
    from api.hsds_profile.compile import compile_all, dump, merge_patch

    # RFC 7396's own examples: null deletes, arrays replace, objects merge
    assert merge_patch({"a": "b", "c": {"d": "e", "f": "g"}},
                       {"a": "z", "c": {"f": None}}) == {"a": "z", "c": {"d": "e"}}
    assert merge_patch({"a": [{"b": "c"}]}, {"a": [1]}) == {"a": [1]}
    for name, data in compile_all().items():
        assert (HERE / name).read_text(encoding="utf-8") == dump(data), \
            f"{name} is stale: run python -m api.hsds_profile.compile"

    index = api_client.get("/hsds/profile").json()
    assert index["extensions"]["service.be_access"]
    assert set(index["patches"]) >= {"service", "phone", "location", "contact",
                                     "taxonomy_term", "organization", "service_area"}
    package = api_client.get(index["datapackage"]).json()
    paths = {r["path"] for r in package["resources"]}
    for url in [*index["patches"].values(), *index["schemas"].values()]:
        name = url.split("/hsds/profile/", 1)[1]
        assert name in paths
        response = api_client.get(url)
        assert response.status_code == 200, url
        assert response.json() == json.loads((HERE / name).read_text(encoding="utf-8"))
    # every be_ field the profile documents is declared in a patch
    for field in index["extensions"]:
        kind, name = field.split(".")
        patch = api_client.get(index["patches"][kind]).json()
        assert name in patch["properties"], field
    assert api_client.get("/hsds/profile/../../pyproject.toml").status_code == 404
    assert api_client.get("/hsds/profile/nothing.json").status_code == 404


def test_profile_is_strict(api_client, db):
    """Validating against the profile catches an undocumented field (the HSDS schema alone
    lets any extra field through): the profile check is not vacuous."""
    from hsds_check import errors, profile_errors

    service = store.list_services(db, status="active")[0]
    body = api_client.get(f"/hsds/services/{service.id}").json()
    schema = {"$ref": "https://hsds.test/3.1/service.json"}
    assert errors(body, schema) == []  # HSDS and (strict fixture) profile
    body["be_undocumented"] = 1
    body["phones"] = [{**p, "colour": "red"} for p in body["phones"]] or [
        {"id": service.id, "number": "02", "colour": "red"}]
    problems = profile_errors(body, schema)
    assert any("be_undocumented" in p for p in problems), problems
    assert any("colour" in p for p in problems), problems

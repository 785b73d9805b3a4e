"""The OpenAPI document is one a client generator can use: one path key per template, bodies
that say what they refuse, every error status and media type, and a Python client generated
from it (openapi-python-client) that talks to a live server."""

from __future__ import annotations

import importlib
import json
import re
import subprocess
import sys
from pathlib import Path

import httpx

from orientation import store

GENERATOR = Path(sys.executable).with_name("openapi-python-client")


def test_one_path_key_per_template(api_client):
    paths = api_client.get("/schema/openapi.json").json()["paths"]
    shapes = {}
    for path in paths:
        shape = re.sub(r"\{[^}]+\}", "{}", path)
        assert shape not in shapes, (path, shapes.get(shape))
        shapes[shape] = path


def test_errors_and_media_types_are_documented(api_client, api_keys):
    doc = api_client.get("/schema/openapi.json").json()
    ops = doc["paths"]
    assert "application/problem+json" in ops["/hsds/services/{id}"]["get"]["responses"]["404"][
        "content"]
    assert "application/x-ndjson" in ops["/hsds/services"]["get"]["responses"]["200"]["content"]
    assert set(ops["/api/v1/organizations/{record_id}"]["delete"]["responses"]) >= {
        "401", "403", "404", "409", "413", "422", "429"}
    # what the document says the server answers, the server answers
    missing = api_client.get("/hsds/services/00000000-0000-4000-8000-000000000000")
    assert missing.status_code == 404
    assert missing.headers["content-type"] == "application/problem+json"
    # a Struct body refusing unknown fields is documented as closed, and is refused
    assert doc["components"]["schemas"]["Organization"]["additionalProperties"] is False
    refused = api_client.post("/api/v1/organizations", headers=api_keys.headers["admin"],
                              json={"name": "X", "description": "Y", "colour": "red"})
    assert refused.status_code == 400, refused.text


def test_api_answers_with_its_versions(api_client):
    body = api_client.get("/api").json()
    urls = {v["url"] for v in body["versions"]}
    assert urls == {"/api/v1/", "/hsds/"}
    for url in urls:
        assert api_client.get(url).status_code == 200


def test_a_generated_client_calls_a_live_server(live_server, db, tmp_path):
    spec = tmp_path / "openapi.json"
    spec.write_text(httpx.get(live_server.url + "/schema/openapi.json").text)
    result = subprocess.run(
        [str(GENERATOR), "generate", "--path", str(spec), "--output-path",
         str(tmp_path / "client"), "--meta", "none"],
        capture_output=True, text=True, timeout=240)
    assert result.returncode == 0, result.stdout + result.stderr
    sys.path.insert(0, str(tmp_path))
    try:
        client_pkg = importlib.import_module("client")
        from client.api.hsds import get_fully_nested_service_by_id  # noqa: PLC0415
        from client.api.organizations import list_organizations  # noqa: PLC0415
        from client.api.services import get_service  # noqa: PLC0415

        client = client_pkg.Client(base_url=live_server.url)
        service = store.list_services(db, status="active")[0]
        detail = get_service.sync_detailed(record_id=service.id, client=client)
        assert detail.status_code == 200
        assert json.loads(detail.content)["service"]["name"] == service.name
        orgs = list_organizations.sync_detailed(client=client, per_page=5)
        assert orgs.status_code == 200
        assert len(json.loads(orgs.content)["items"]) == 5
        hsds = get_fully_nested_service_by_id.sync_detailed(id=service.id, client=client)
        assert hsds.status_code == 200
        assert json.loads(hsds.content)["name"] == service.name
    finally:
        sys.path.remove(str(tmp_path))
        for name in [m for m in sys.modules if m == "client" or m.startswith("client.")]:
            del sys.modules[name]


# --- HSDS responses: typed, and the types tell the truth -------------------------------------

#: Variants of each listing that change the shape of its items (nested, minimal, with services).
HSDS_VARIANTS = {"/hsds/services": ["full=true", "minimal=true", "per_page=3&page=2"],
                 "/hsds/organizations": ["full=true&full_service=true&per_page=3"],
                 "/hsds/service_at_locations": ["full=true", "postcode=1000"],
                 "/hsds/organizations/{id}": ["full_service=true"],
                 "/hsds/taxonomy_terms": ["top_only=true", "search=zzzz"]}


def _closed(node):
    """A copy of the document's schemas where every object with properties refuses other
    fields: a field the server sends but the types do not declare fails the validation."""
    if isinstance(node, dict):
        out = {k: _closed(v) for k, v in node.items()}
        if "properties" in node and "additionalProperties" not in node:
            out["additionalProperties"] = False
        return out
    if isinstance(node, list):
        return [_closed(v) for v in node]
    return node


def _example(parameter: dict) -> str:
    examples = parameter.get("examples") or {}
    assert examples, f"path parameter {parameter['name']} has no example"
    return str(next(iter(examples.values()))["value"])


def test_every_hsds_response_is_typed_and_the_seed_answers_validate(api_client):
    from jsonschema import Draft202012Validator  # noqa: PLC0415

    doc = api_client.get("/schema/openapi.json").json()
    components = _closed(doc["components"])
    checked = 0
    for template, item in doc["paths"].items():
        if not template.startswith("/hsds") or template == "/hsds/profile/{name}":
            continue  # a profile file is a JSON Schema document: any JSON object
        for method in ("get", "post"):
            op = item.get(method)
            if op is None:
                continue
            assert set(op["responses"]) >= {"200", "400", "429"}, (method, template)
            content = op["responses"]["200"]["content"]
            ref = content["application/json"]["schema"].get("$ref", "")
            assert ref.startswith("#/components/schemas/"), (method, template, content)
            component = doc["components"]["schemas"][ref.rsplit("/", 1)[1]]
            assert component.get("properties"), (template, "a generic object")
            path = template
            for parameter in op.get("parameters", []):
                if parameter["in"] == "path":
                    path = path.replace("{" + parameter["name"] + "}", _example(parameter))
            validator = Draft202012Validator({"$ref": ref, "components": components})
            for query in ["", *HSDS_VARIANTS.get(template, [])]:
                url = path + (f"?{query}" if query else "")
                response = api_client.request(method.upper(), url)
                assert response.status_code == 200, (method, url, response.text[:300])
                body = response.json()
                problems = [f"{'/'.join(map(str, e.absolute_path))}: {e.message}"
                            for e in validator.iter_errors(body)]
                assert not problems, (method, url, problems[:10])
                checked += 1
    assert checked >= 30

"""Validate data against the HSDS 3.1 JSON schemas copied in tests/hsds/ (see its SOURCE.md)."""

from __future__ import annotations

import functools
import json
from pathlib import Path
from typing import Any

from jsonschema import Draft202012Validator, FormatChecker
from referencing import Registry
from referencing.jsonschema import DRAFT202012

HSDS = Path(__file__).parent / "hsds"
BASE = "https://hsds.test/3.1/"  # any absolute URL: relative $refs resolve against it
#: what each /hsds listing holds (one-to-one "list" shapes from schema/compiled/)
LIST_ITEMS = {"service": "compiled/service_list.json",
              "organization": "compiled/organization_list.json",
              "service_at_location": "compiled/service_at_location_list.json",
              "taxonomy": "taxonomy.json", "taxonomy_term": "taxonomy_term.json"}


UPSTREAM = "https://raw.githubusercontent.com/openreferral/specification/3.1/schema/"
#: the big compiled schemas left out of tests/hsds: their uncompiled equivalents
ALIASES = {"compiled/service.json": "service.json",
           "compiled/organization.json": "organization.json"}


@functools.cache
def registry() -> Registry:
    resources = []
    for path in sorted(HSDS.rglob("*.json")):
        name = path.relative_to(HSDS).as_posix()
        if name.startswith("examples/"):
            continue
        if name == "openapi.json":
            page = json.loads(path.read_text())["components"]["schemas"]["Page"]
            resources.append((BASE + "page.json", DRAFT202012.create_resource(page)))
            continue
        resource = DRAFT202012.create_resource(json.loads(path.read_text()))
        resources += [(BASE + name, resource), (UPSTREAM + name, resource)]
        if "/" not in name:  # what compiled/service.json's relative $refs reach
            resources.append((UPSTREAM + "compiled/" + name, resource))
    for alias, name in ALIASES.items():
        resource = DRAFT202012.create_resource(json.loads((HSDS / name).read_text()))
        resources.append((UPSTREAM + alias, resource))
    return Registry().with_resources(resources)


PROFILE = Path(__file__).parents[1] / "api" / "hsds_profile" / "schema"
PROFILE_URL = "https://profile.test/be/"


@functools.cache
def profile_registry() -> Registry:
    """The HSDS registry plus our compiled profile schemas under PROFILE_URL."""
    resources = []
    for path in sorted(PROFILE.rglob("*.json")):
        name = path.relative_to(PROFILE).as_posix()
        resource = DRAFT202012.create_resource(json.loads(path.read_text()))
        resources.append((PROFILE_URL + name, resource))
        if "/" not in name:
            resources.append((PROFILE_URL + "compiled/" + name, resource))
    for alias, name in ALIASES.items():
        resources.append((PROFILE_URL + alias, DRAFT202012.create_resource(
            json.loads((PROFILE / name).read_text()))))
    return registry().with_resources(resources)


def profile_errors(data: Any, schema: dict) -> list[str]:
    """Errors of ``data`` against ``schema`` with every HSDS schema swapped for our profile's
    (strict: a patched object allows only HSDS fields and documented be_ fields)."""
    text = json.dumps(schema, sort_keys=True)
    for prefix in (UPSTREAM, BASE):
        text = text.replace(f'"{prefix}', f'"{PROFILE_URL}')
    text = text.replace(f'"{PROFILE_URL}page.json"', f'"{BASE}page.json"')
    validator = _profile_validator(text)
    return [f"profile: {'/'.join(map(str, e.absolute_path)) or '<root>'}: {e.message}"
            for e in validator.iter_errors(data)]


@functools.cache
def _profile_validator(schema_json: str) -> Draft202012Validator:
    return Draft202012Validator(json.loads(schema_json), registry=profile_registry(),
                                format_checker=FormatChecker())


@functools.cache
def openapi() -> dict:
    return json.loads((HSDS / "openapi.json").read_text())


def response_schema(path: str, method: str = "get") -> dict:
    """The 200 response schema of an operation of the HSDS OpenAPI description, its
    ``#/components/schemas/Page`` made absolute: what a validator checks an answer against."""
    op = openapi()["paths"][path][method]
    schema = op["responses"]["200"]["content"]["application/json"]["schema"]
    return json.loads(json.dumps(schema).replace('"#/components/schemas/Page"',
                                                 f'"{BASE}page.json"'))


def check_operation(data: Any, path: str, method: str = "get") -> None:
    """Assert ``data`` is a valid 200 answer of the HSDS operation ``method path``."""
    problems = errors(data, response_schema(path, method))
    assert not problems, "\n".join(problems[:20])


@functools.cache
def _validator(schema_json: str) -> Draft202012Validator:
    return Draft202012Validator(json.loads(schema_json), registry=registry(),
                                format_checker=FormatChecker())


#: Also validate against our compiled profile (strict). On for the /hsds answers (the
#: ``strict_profile`` fixture of tests/test_hsds*.py); off for exports, whose round-trip be_
#: fields (be_source_id, be_status, be_given_name…) the profile does not document yet.
STRICT_PROFILE = False


def errors(data: Any, schema: dict) -> list[str]:
    """Errors against the HSDS schema, then (STRICT_PROFILE) against our profile's."""
    validator = _validator(json.dumps(schema, sort_keys=True))
    found = [f"{'/'.join(map(str, e.absolute_path)) or '<root>'}: {e.message}"
             for e in validator.iter_errors(data)]
    return found + (profile_errors(data, schema) if STRICT_PROFILE else [])


def check(data: Any, kind: str) -> None:
    """Assert ``data`` is a valid HSDS ``kind`` ("service", "organization"…)."""
    problems = errors(data, {"$ref": BASE + f"{kind}.json"})
    assert not problems, "\n".join(problems[:20])


def check_page(data: Any, kind: str, *, full: bool = False) -> None:
    """Assert ``data`` is an HSDS page whose contents are valid ``kind`` items."""
    item = BASE + (f"{kind}.json" if full else LIST_ITEMS[kind])
    schema = {
        "allOf": [{"$ref": BASE + "page.json"}],
        "required": ["total_items", "total_pages", "page_number", "size", "first_page",
                     "last_page", "empty", "contents"],
        "properties": {"contents": {"type": "array", "items": {"$ref": item}}},
    }
    problems = errors(data, schema)
    assert not problems, "\n".join(problems[:20])


def check_meta(data: Any) -> None:
    """Assert ``data`` is a valid ``GET /`` answer of the HSDS OpenAPI description."""
    spec = json.loads((HSDS / "openapi.json").read_text())
    schema = spec["paths"]["/"]["get"]["responses"]["200"]["content"]["application/json"]
    problems = errors(data, {**schema["schema"], "required": ["version", "profile",
                                                              "openapi_url"]})
    assert not problems, "\n".join(problems)

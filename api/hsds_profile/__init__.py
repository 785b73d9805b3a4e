"""The Belgian profile of HSDS 3.1 as an HSDS profile is made upstream (docs/hsds/profiles.md):
JSON Merge Patch files (RFC 7396) over the HSDS schemas in ``profile/``, the schemas they
compile to in ``schema/`` and a ``datapackage.json`` naming them. ``python -m
api.hsds_profile.compile`` rebuilds ``schema/`` from the patches and the HSDS schemas
(tests/hsds/); a test checks the committed files are what it builds.

The files are served, read-only, under /hsds/profile: only the names listed in ``FILES`` (no
path from the request ever reaches the file system).
"""

from __future__ import annotations

import functools
import json
from pathlib import Path
from typing import Any

from orientation import hsds
from orientation.errors import NotFound

HERE = Path(__file__).parent


@functools.cache
def files() -> dict[str, Path]:
    """Served name -> file, for every JSON file of the profile."""
    return {p.relative_to(HERE).as_posix(): p for p in sorted(HERE.rglob("*.json"))}


def profile_index(base_url: str) -> dict[str, Any]:
    """What /hsds/profile answers: the profile, its extension fields and links to its files."""
    names = files()
    return {
        "name": hsds.PROFILE["name"], "hsds_version": hsds.HSDS_VERSION,
        "base": hsds.PROFILE["base"], "description": hsds.PROFILE["description"],
        "licence": "CC BY-SA 4.0 (derived from the HSDS schemas of Open Referral)",
        "datapackage": f"{base_url}/datapackage.json",
        "patches": {n.removeprefix("profile/").removesuffix(".json"): f"{base_url}/{n}"
                    for n in names if n.startswith("profile/")},
        "schemas": {n.removeprefix("schema/").removesuffix(".json"): f"{base_url}/{n}"
                    for n in names if n.startswith("schema/")},
        "extensions": hsds.PROFILE["extensions"],
    }


def profile_file(name: str) -> Any:
    path = files().get(name)
    if path is None:
        raise NotFound("profile file", name)
    return json.loads(path.read_text(encoding="utf-8"))

"""Compile the profile: each HSDS schema with our merge patch applied (RFC 7396), plus the
datapackage naming every file.

    python -m api.hsds_profile.compile [HSDS schema folder, default tests/hsds]
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

HERE = Path(__file__).parent
BASE = Path(__file__).parents[2] / "tests" / "hsds"
#: the HSDS schemas the profile covers: the 24 objects and the three listing shapes
LIST_SHAPES = ("compiled/service_list", "compiled/organization_list",
               "compiled/service_at_location_list")


def merge_patch(target: Any, patch: Any) -> Any:
    """RFC 7396 JSON Merge Patch: objects merge key by key, null deletes, the rest replaces."""
    if not isinstance(patch, dict):
        return patch
    result = dict(target) if isinstance(target, dict) else {}
    for key, value in patch.items():
        if value is None:
            result.pop(key, None)
        else:
            result[key] = merge_patch(result.get(key), value)
    return result


def names(base: Path) -> list[str]:
    objects = sorted(p.stem for p in base.glob("*.json") if p.name != "openapi.json")
    return objects + list(LIST_SHAPES)


def compile_all(base: Path = BASE) -> dict[str, Any]:
    """Relative file name -> content, for every file compile writes."""
    out: dict[str, Any] = {}
    for name in names(base):
        schema = json.loads((base / f"{name}.json").read_text(encoding="utf-8"))
        patch_file = HERE / "profile" / f"{name}.json"
        if patch_file.exists():
            schema = merge_patch(schema, json.loads(patch_file.read_text(encoding="utf-8")))
        out[f"schema/{name}.json"] = schema
    patches = sorted(p.relative_to(HERE).as_posix() for p in (HERE / "profile").rglob("*.json"))
    out["datapackage.json"] = {
        "name": "orientation-hsds-profile-be",
        "title": "Orientation: Belgian profile of HSDS 3.1",
        "description": "JSON Merge Patches (RFC 7396) over the HSDS 3.1 JSON schemas adding "
                       "the be_ extension fields, and the schemas they compile to. Records "
                       "valid against schema/ are valid HSDS 3.1 plus documented be_ fields; "
                       "a patched object allows no other field.",
        "profile": "data-package",
        "version": "1.0.0",
        "hsds_version": "3.1",
        "homepage": "https://docs.openreferral.org/en/latest/hsds/profiles.html",
        "licenses": [{"name": "CC-BY-SA-4.0", "title": "Creative Commons Attribution-"
                      "ShareAlike 4.0", "path": "https://creativecommons.org/licenses/by-sa/4.0/"}],
        "sources": [{"title": "Open Referral HSDS 3.1 schemas",
                     "path": "https://github.com/openreferral/specification"}],
        "resources": [
            {"name": path.removesuffix(".json").replace("/", "-"), "path": path,
             "format": "json", "mediatype": "application/schema+json",
             "role": "merge-patch" if path.startswith("profile/") else "compiled-schema"}
            for path in patches + sorted(k for k in out if k.startswith("schema/"))],
    }
    return out


def dump(data: Any) -> str:
    return json.dumps(data, indent=2, ensure_ascii=False) + "\n"


def main(argv: list[str]) -> int:
    base = Path(argv[0]) if argv else BASE
    for name, data in compile_all(base).items():
        path = HERE / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(dump(data), encoding="utf-8")
    print(f"compiled {len(names(base))} schemas into {HERE / 'schema'}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

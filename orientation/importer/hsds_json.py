"""HSDS 3.x JSON (a document with lists, a page, a list of services or one service) and ndjson
(one object a line, ``be_type`` saying which kind; our own export writes both)."""

from __future__ import annotations

import json
from pathlib import Path

from .bundle import Bundle, ImportFailed, read_json, read_text, tag


def read_hsds_json(path: Path) -> Bundle:
    """An HSDS 3 document (lists of terms, organisations, services, our pathways), an HSDS
    page, a list of services or one service."""
    data = read_json(path)
    bundle = Bundle()
    if isinstance(data, dict) and "contents" in data:  # an HSDS page
        data = data["contents"]
    if isinstance(data, list):
        bundle.services = [tag(s, path.name, i + 1) for i, s in enumerate(data)]
        return bundle
    if not isinstance(data, dict):
        raise ImportFailed(path.name, None, None, "expected an object or a list")
    if "services" not in data and "organizations" not in data:
        # One service — if it looks like one (HSDS requires both). Anything else (a taxonomy,
        # a settings file) holds nothing to import, which ``save_bundle`` refuses by name.
        if "id" in data and "name" in data:
            bundle.services = [tag(data, path.name, None)]
        return bundle
    for key in ("taxonomy_terms", "organizations", "services", "be_pathways"):
        value = data.get(key, [])
        if not isinstance(value, list):
            raise ImportFailed(path.name, None, key, "expected a list")
    bundle.terms = [tag(t, path.name, i + 1) for i, t in enumerate(data.get("taxonomy_terms", []))]
    bundle.organizations = [tag(o, path.name, i + 1)
                            for i, o in enumerate(data.get("organizations", []))]
    bundle.services = [tag(s, path.name, i + 1) for i, s in enumerate(data.get("services", []))]
    bundle.pathways = [tag(p, path.name, i + 1) for i, p in enumerate(data.get("be_pathways", []))]
    bundle.ours = "be_pathways" in data
    return bundle


def read_ndjson(path: Path) -> Bundle:
    """One object a line; ``be_type`` (our export) says which kind, services otherwise."""
    bundle = Bundle()
    # split("\n"), not splitlines(): a JSON string may hold U+2028 or other line separators.
    for n, line in enumerate(read_text(path).split("\n"), start=1):
        if not line.strip():
            continue
        try:
            obj = json.loads(line)
        except ValueError as exc:
            raise ImportFailed(path.name, n, None, f"not valid JSON: {exc}") from None
        except RecursionError:
            raise ImportFailed(path.name, n, None, "not valid JSON: nested too deep") from None
        kind = obj.pop("be_type", "service") if isinstance(obj, dict) else "service"
        kind = kind if isinstance(kind, str) else "service"
        bundle.ours = bundle.ours or kind != "service"
        target = {"taxonomy_term": bundle.terms, "organization": bundle.organizations,
                  "pathway": bundle.pathways}.get(kind, bundle.services)
        target.append(tag(obj, path.name, n))
    return bundle

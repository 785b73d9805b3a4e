"""Open Referral UK JSON list feeds: services with their organisation, nothing nested."""

from __future__ import annotations

import html
import re
from pathlib import Path
from typing import Any

from .bundle import Bundle, ImportFailed, Skipped, read_json, tag


def read_oruk(path: Path) -> Bundle:
    """Open Referral UK list items: services with their organisation, nothing nested."""
    bundle = Bundle()
    orgs: dict[str, dict] = {}
    items = read_json(path)
    if not isinstance(items, list):
        raise ImportFailed(path.name, None, None, "expected a list of services")
    for n, item in enumerate(items, start=1):
        tag(item, path.name, n)
        name = (item.get("name") or "").strip()
        org = item.get("organization")
        if not name:
            bundle.skipped.append(Skipped("service", str(item.get("id")), "no name"))
            continue
        if not isinstance(org, dict) or not org.get("id"):
            bundle.skipped.append(Skipped("service", str(item.get("id")), "no organisation"))
            continue
        if org["id"] not in orgs:
            orgs[org["id"]] = {"id": org["id"], "name": org.get("name") or name,
                               "description": _text(org.get("description")),
                               "website": org.get("url") or None, "_at": (path.name, n)}
        meta = item.get("pc_metadata") or {}
        bundle.services.append({
            "id": item.get("id"), "organization_id": org["id"], "name": name,
            "description": _text(item.get("description")), "url": item.get("url") or None,
            "email": item.get("email") or None, "status": item.get("status") or "active",
            "fees_description": item.get("fees") or None,
            "assured_date": item.get("assured_date") or meta.get("date_assured"),
            "_attending": item.get("attending_type"), "_at": (path.name, n)})
    bundle.organizations = list(orgs.values())
    return bundle


def _text(value: Any) -> str:
    """Plain text from the HTML some feeds carry."""
    text = re.sub(r"<br\s*/?>|</p>", "\n", str(value or ""))
    text = html.unescape(re.sub(r"<[^>]+>", "", text))
    return re.sub(r"\n{3,}", "\n\n", text).strip()

"""Open Referral UK JSON list feeds: services with their organisation, nothing nested. A feed
is either one page of the API (``{"content": [...], "totalElements": N, ...}``, Spring's page
shape) or the items of several pages in one list (how the Bristol file was harvested)."""

from __future__ import annotations

import html
import re
from pathlib import Path
from typing import Any

from .bundle import Bundle, ImportFailed, Skipped, read_json, tag, text


def read_oruk(path: Path) -> Bundle:
    """Open Referral UK list items: services with their organisation, nothing nested."""
    bundle = Bundle()
    orgs: dict[str, dict] = {}
    items = read_json(path)
    if is_page(items):
        items = items["content"]
    if not isinstance(items, list):
        raise ImportFailed(path.name, None, None, "expected a list of services or a page "
                           "of them ({\"content\": [...]})")
    for n, item in enumerate(items, start=1):
        tag(item, path.name, n)
        name = text(item, "name").strip()
        org = item.get("organization")
        if not name:
            bundle.skipped.append(Skipped("service", str(item.get("id")), "no name"))
            continue
        if not isinstance(org, dict) or not org.get("id"):
            bundle.skipped.append(Skipped("service", str(item.get("id")), "no organisation"))
            continue
        org["_at"] = (path.name, n)
        org_id = text(org, "id") if not isinstance(org["id"], int) else str(org["id"])
        if org_id not in orgs:
            orgs[org_id] = {"id": org_id, "name": text(org, "name") or name,
                            "description": _text(text(org, "description")),
                            "website": text(org, "url") or None, "_at": (path.name, n)}
        categories = _categories(item)
        meta = item.get("pc_metadata")
        meta = {**meta, "_at": (path.name, n)} if isinstance(meta, dict) else {}
        bundle.services.append({
            "id": item.get("id"), "organization_id": org_id, "name": name,
            "description": _text(text(item, "description")), "url": text(item, "url") or None,
            "email": text(item, "email") or None, "status": text(item, "status") or "active",
            "fees_description": text(item, "fees") or None,
            "assured_date": text(item, "assured_date") or text(meta, "date_assured") or None,
            "_attending": text(item, "attending_type"), "_at": (path.name, n),
            "_categories": categories,
            "be_categories": [c["name"] for c in categories if c["name"]]})
    bundle.organizations = list(orgs.values())
    return bundle


def _categories(item: dict) -> list[dict]:
    """The categories of a full ORUK service (``service_taxonomys``: a taxonomy term with its
    vocabulary); list feeds often carry none."""
    out = []
    links = item.get("service_taxonomys")
    for link in links if isinstance(links, list) else []:
        term = link.get("taxonomy") if isinstance(link, dict) else None
        if not isinstance(term, dict):
            continue
        name = term.get("name") if isinstance(term.get("name"), str) else ""
        code = term.get("id") if isinstance(term.get("id"), str) else ""
        scheme = term.get("vocabulary") if isinstance(term.get("vocabulary"), str) else "oruk"
        if name or code:
            out.append({"scheme": scheme or "oruk", "code": code, "name": name.strip()})
    return out


def is_page(data: Any) -> bool:
    """Whether ``data`` is one page of an ORUK API answer (Spring's page shape)."""
    return isinstance(data, dict) and isinstance(data.get("content"), list) and (
        "totalElements" in data or "totalPages" in data)


def _text(value: Any) -> str:
    """Plain text from the HTML some feeds carry."""
    text = re.sub(r"<br\s*/?>|</p>", "\n", str(value or ""))
    text = html.unescape(re.sub(r"<[^>]+>", "", text))
    return re.sub(r"\n{3,}", "\n\n", text).strip()

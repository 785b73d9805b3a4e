"""Import directories published by others: HSDS 3.x JSON or ndjson (our own export too), HSDS
1.x / Ohana CSV packages, and Open Referral UK JSON list feeds.

Every format is first read into the same intermediate shape (``bundle.Bundle``) — HSDS 3
objects as dicts: fully nested organizations and services, taxonomy terms, and our
``be_pathways`` — each dict tagged with where it came from (file and row). One mapping
(``mapper``) then turns those into ``models`` records, which are saved through ``store`` in one
transaction: the first malformed value stops the import with an error naming file, row and
field, and the database is left as it was. A file with nothing to import (``[]``, a taxonomy,
a feed whose every record is skipped) is refused the same way rather than reported as an
import of nothing. Files are read as UTF-8, with or without a BOM, else Windows-1252 (Excel on
a Belgian Windows, with semicolons and decimal commas); a binary file is refused by name. An id
given twice in one feed keeps its fuller copy, and the report names both rows
(``bundle.keep_richest`` says why).

Modules: ``hsds_json`` (HSDS JSON and ndjson), ``tabular`` (CSV folders: HSDS 3, HSDS 1.1,
Ohana), ``oruk`` (Open Referral UK), ``bundle`` (the shared shape and report), ``mapper``
(ids, our models, store writes; the ids and skipping rules are described there),
``categories`` (the editable map from source categories to our needs).

Our model is Belgian and the datasets are not: imported records often lack contact persons and
opening hours, addresses abroad get region "autre" (a Belgian one its commune and region from
its postal code), and source categories are mapped onto our needs through
``seed/category_map.yaml``; the original category names are kept as keywords. An import into a
database without the needs taxonomy loads it first (the kiosk's home tiles are its ten needs).
Pathways only come from our own exports.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

from sqlite_utils import Database

from .. import seed as seeding
from .. import store
from ..errors import InvalidData
from .bundle import Bundle, Duplicate, ImportFailed, Report, Skipped, read_json, read_text
from .hsds_json import read_hsds_json, read_ndjson
from .categories import DEFAULT_MAP, CategoryMap
from .mapper import IMPORT_NAMESPACE, save_bundle
from .oruk import is_page, read_oruk
from .tabular import read_tabular

__all__ = ["DEFAULT_MAP", "FORMATS", "IMPORT_NAMESPACE", "Bundle", "CategoryMap", "Duplicate",
           "ImportFailed", "Report", "Skipped", "detect", "load", "read", "unmapped_categories"]

FORMATS = ("hsds-json", "hsds-ndjson", "hsds-csv", "oruk-json")


def detect(path: Path) -> str:
    """The format of a file or folder, from its name and first bytes (one of ``FORMATS``)."""
    path = Path(path)
    if path.is_dir():
        if (path / "services.csv").exists() or (path / "organizations.csv").exists():
            return "hsds-csv"
        raise InvalidData(f"{path}: no services.csv or organizations.csv in this folder")
    if not path.exists():
        raise InvalidData(f"{path}: no such file")
    if path.suffix.lower() == ".csv":
        return detect(path.parent)
    head = read_text(path)[:4096].lstrip()
    if path.suffix.lower() in (".ndjson", ".jsonl"):
        return "hsds-ndjson"
    if head.startswith("["):
        data = read_json(path)
        first = data[0] if data else {}
        return "oruk-json" if _oruk_item(first) else "hsds-json"
    if head.startswith("{"):
        first_line = head.split("\n", 1)[0]
        try:
            json.loads(first_line)
            if "\n{" in head:
                return "hsds-ndjson"
        except (ValueError, RecursionError):
            pass
        data = read_json(path)
        if is_page(data) and (not data["content"] or _oruk_item(data["content"][0])):
            return "oruk-json"
        return "hsds-json"
    raise InvalidData(f"{path.name}: not JSON, ndjson or a CSV package")


def _oruk_item(item: object) -> bool:
    """Whether a list item has the fields only Open Referral UK feeds carry."""
    return isinstance(item, dict) and ("pc_metadata" in item or "deliverable_type" in item
                                       or "attending_access" in item)


def read(path: Path, fmt: str | None = None) -> tuple[str, Bundle]:
    """(format, bundle) for a file or folder; ``fmt`` overrides detection."""
    path = Path(path)
    fmt = fmt or detect(path)
    if fmt not in FORMATS:
        raise InvalidData(f"unknown format {fmt!r}: use one of {', '.join(FORMATS)}")
    if fmt != "hsds-csv" and path.is_dir():
        raise InvalidData(f"{path}: a folder, and format {fmt} is one file")
    reader = {"hsds-json": read_hsds_json, "hsds-ndjson": read_ndjson,
              "hsds-csv": lambda p: read_tabular(p if p.is_dir() else p.parent),
              "oruk-json": read_oruk}[fmt]
    return fmt, reader(path)


def load(db: Database, path: Path, *, source: str | None = None, fmt: str | None = None,
         actor: str = "import", category_map: Path | None = None) -> Report:
    """Import ``path`` in one transaction and report what was created, updated and skipped.
    A database without the needs taxonomy gets it in the same transaction."""
    path = Path(path)
    categories = CategoryMap.load(category_map)
    fmt, bundle = read(path, fmt)
    source = source or (path.name if path.is_dir() else path.stem)
    with store.transaction(db):
        seeding.ensure_taxonomy(db)
        return save_bundle(db, bundle, source=source, fmt=fmt, actor=actor, name=path.name,
                           categories=categories)


def unmapped_categories(db: Database, category_map: Path | None = None) -> list[str]:
    """One line per category an imported source used that the category map sends to no need
    (nor says "none on purpose"), most used first; and one per need code the map names that
    the taxonomy does not have."""
    categories = CategoryMap.load(category_map)
    lines = []
    known = {t.code for t in store.list_terms(db)}
    for code in sorted(categories.need_codes() - known if known else ()):
        lines.append(f"category map {categories.path.name}: need {code!r} is not in the "
                     "taxonomy")
    # Codes are grouped under their top level ("PX" for PX-1000, PX-2000.1500…): one line
    # per gap an editor would fill with one entry, not one per leaf of a 9,000-code taxonomy.
    groups: dict[tuple[str, str, str], list[dict]] = {}
    for r in store.source_categories(db):
        if categories.needs(code=r["code"], name=r["name"]) is not None:
            continue
        root = re.split(r"[-.]", r["code"])[0] if r["code"] else ""
        groups.setdefault((r["source"], r["scheme"], root or r["name"]), []).append(r)
    ordered = sorted(groups.items(), key=lambda g: (-max(r["services"] for r in g[1]), g[0]))
    for (source, scheme, key), rows in ordered:
        most = max(rows, key=lambda r: r["services"])
        if most["code"]:
            named = f" {most['name']!r}" if most["name"] else ""
            label = (f"{key} ({len(rows)} codes, most used {most['code']}{named})"
                     if len(rows) > 1 else f"{most['code']}{named}")
        else:
            label = repr(most["name"])
        lines.append(f"source {source}: category {label} ({scheme}) maps to no need "
                     f"({most['services']} services): add it to {categories.path.name}")
    return lines

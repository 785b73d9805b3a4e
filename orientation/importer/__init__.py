"""Import directories published by others: HSDS 3.x JSON or ndjson (our own export too), HSDS
1.x / Ohana CSV packages, and Open Referral UK JSON list feeds.

Every format is first read into the same intermediate shape (``bundle.Bundle``) — HSDS 3
objects as dicts: fully nested organizations and services, taxonomy terms, and our
``be_pathways`` — each dict tagged with where it came from (file and row). One mapping
(``mapper``) then turns those into ``models`` records, which are saved through ``store`` in one
transaction: the first malformed value stops the import with an error naming file, row and
field, and the database is left as it was.

Modules: ``hsds_json`` (HSDS JSON and ndjson), ``tabular`` (CSV folders: HSDS 3, HSDS 1.1,
Ohana), ``oruk`` (Open Referral UK), ``bundle`` (the shared shape and report), ``mapper``
(ids, our models, store writes; the ids and skipping rules are described there).

Our model is Belgian and the datasets are not: imported records often lack contact persons and
opening hours, addresses are outside Belgium (region "autre"), and source categories are
mapped onto our needs only where their words clearly say so (``NEED_WORDS``); the original
category names are kept as keywords. Pathways only come from our own exports.
"""

from __future__ import annotations

import json
from pathlib import Path

from sqlite_utils import Database

from ..errors import InvalidData
from .bundle import Bundle, ImportFailed, Report, Skipped, read_json
from .hsds_json import read_hsds_json, read_ndjson
from .mapper import IMPORT_NAMESPACE, NEED_WORDS, save_bundle
from .oruk import read_oruk
from .tabular import read_tabular

__all__ = ["FORMATS", "IMPORT_NAMESPACE", "NEED_WORDS", "Bundle", "ImportFailed", "Report",
           "Skipped", "detect", "load", "read"]

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
    if path.suffix == ".csv":
        return detect(path.parent)
    with path.open(encoding="utf-8-sig") as f:
        head = f.read(4096).lstrip()
    if path.suffix in (".ndjson", ".jsonl"):
        return "hsds-ndjson"
    if head.startswith("["):
        data = read_json(path)
        first = data[0] if data else {}
        if isinstance(first, dict) and ("pc_metadata" in first or "deliverable_type" in first
                                         or "attending_access" in first):
            return "oruk-json"
        return "hsds-json"
    if head.startswith("{"):
        first_line = head.split("\n", 1)[0]
        try:
            json.loads(first_line)
            return "hsds-ndjson" if "\n{" in head else "hsds-json"
        except ValueError:
            return "hsds-json"
    raise InvalidData(f"{path.name}: not JSON, ndjson or a CSV package")


def read(path: Path, fmt: str | None = None) -> tuple[str, Bundle]:
    """(format, bundle) for a file or folder; ``fmt`` overrides detection."""
    path = Path(path)
    fmt = fmt or detect(path)
    if fmt not in FORMATS:
        raise InvalidData(f"unknown format {fmt!r}: use one of {', '.join(FORMATS)}")
    reader = {"hsds-json": read_hsds_json, "hsds-ndjson": read_ndjson,
              "hsds-csv": lambda p: read_tabular(p if p.is_dir() else p.parent),
              "oruk-json": read_oruk}[fmt]
    return fmt, reader(path)


def load(db: Database, path: Path, *, source: str | None = None, fmt: str | None = None,
         actor: str = "import") -> Report:
    """Import ``path`` in one transaction and report what was created, updated and skipped."""
    path = Path(path)
    fmt, bundle = read(path, fmt)
    source = source or (path.name if path.is_dir() else path.stem)
    return save_bundle(db, bundle, source=source, fmt=fmt, actor=actor)

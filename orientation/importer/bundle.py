"""The intermediate shape every reader produces (``Bundle``: HSDS 3 objects as dicts, each
tagged with the file and row it came from), the import report, and the helpers readers share."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import msgspec

from ..errors import InvalidData

#: Weekday names and numbers -> RRULE days, in week order (the first seven values).
WEEKDAYS = {"monday": "MO", "tuesday": "TU", "wednesday": "WE", "thursday": "TH",
            "friday": "FR", "saturday": "SA", "sunday": "SU",
            "1": "MO", "2": "TU", "3": "WE", "4": "TH", "5": "FR", "6": "SA", "7": "SU"}


class ImportFailed(InvalidData):
    """A malformed input: names the file, the row (1 = header line of a CSV) and the field."""

    def __init__(self, file: str, row: int | None, field: str | None, message: str):
        self.file, self.row = file, row
        where = file + (f", row {row}" if row is not None else "") + \
            (f", field {field!r}" if field else "")
        super().__init__(f"{where}: {message}", field=field)


class Skipped(msgspec.Struct, frozen=True):
    entity: str
    source_id: str
    reason: str


class Duplicate(msgspec.Struct, frozen=True):
    """One id given to several records of a feed: the copy kept and the copies dropped."""

    entity: str
    source_id: str
    kept: str  # "file, row n"
    dropped: tuple[str, ...]


class Report(msgspec.Struct, kw_only=True):
    source: str
    format: str
    created: dict[str, int]
    updated: dict[str, int]
    skipped: list[Skipped]
    duplicates: list[Duplicate] = []

    def lines(self) -> list[str]:
        out = [f"{self.format} from {self.source}:"]
        for entity in self.created.keys() | self.updated.keys():
            out.append(f"  {entity}: {self.created.get(entity, 0)} new, "
                       f"{self.updated.get(entity, 0)} updated")
        reasons: dict[tuple[str, str], int] = {}
        for s in self.skipped:
            reasons[(s.entity, s.reason)] = reasons.get((s.entity, s.reason), 0) + 1
        for (entity, reason), n in sorted(reasons.items()):
            out.append(f"  skipped {n} {entity}(s): {reason}")
        for d in self.duplicates:
            out.append(f"  duplicate {d.entity} id {d.source_id}: kept {d.kept} (more fields "
                       f"filled), dropped {'; '.join(d.dropped)}")
        return out


class Bundle(msgspec.Struct, kw_only=True):
    """HSDS 3 shaped dicts, each with ``_at`` = (file, row) for error messages."""

    terms: list[dict] = []
    organizations: list[dict] = []
    services: list[dict] = []
    pathways: list[dict] = []
    skipped: list[Skipped] = []
    duplicates: list[Duplicate] = []
    #: written by Orientation (our export): source ids travel in be_source_id
    ours: bool = False


def read_text(path: Path) -> str:
    """The text of a file: UTF-8 (with or without a BOM), else Windows-1252 — what Excel
    writes on a Belgian or French Windows ("CSV (séparateur: point-virgule)"). A binary file
    (a spreadsheet, a zip, a picture) is refused by name rather than decoded into garbage."""
    if path.is_dir():
        raise ImportFailed(path.name, None, None, "is a folder, not a file")
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise ImportFailed(path.name, None, None, f"cannot be read ({exc.strerror})") from None
    # Text never holds a NUL byte; UTF-16 does, and so does every binary format.
    if b"\0" in data[:65536]:
        raise ImportFailed(path.name, None, None, "not a text file (binary data): is it an "
                           "export in HSDS JSON, ndjson or CSV?")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        pass
    try:
        return data.decode("cp1252")
    except UnicodeDecodeError:
        raise ImportFailed(path.name, None, None, "not text in UTF-8 or Windows-1252: is it "
                           "an export in HSDS JSON, ndjson or CSV?") from None


def read_json(path: Path) -> Any:
    """The parsed file, or ``ImportFailed`` naming the file and line."""
    text = read_text(path)
    try:
        return json.loads(text)
    except ValueError as exc:
        raise ImportFailed(path.name, getattr(exc, "lineno", None), None,
                           f"not valid JSON: {exc}") from None
    except RecursionError:  # thousands of nested brackets
        raise ImportFailed(path.name, None, None, "not valid JSON: nested too deep") from None


def tag(obj: Any, file: str, row: int | None) -> dict:
    """``obj`` (which must be a JSON object) with ``_at`` set to where it came from."""
    if not isinstance(obj, dict):
        raise ImportFailed(file, row, None, "expected a JSON object")
    obj["_at"] = (file, row)  # a key "_at" in the file itself is never trusted
    return obj


def text(obj: dict, key: str) -> str:
    """A text field of a tagged object ("" when absent); a number or a list where text is
    expected is an error naming the field, not text made up from it."""
    value = obj.get(key)
    if value is None:
        return ""
    if not isinstance(value, str):
        at = obj.get("_at") or ("?", None)
        raise ImportFailed(at[0], at[1], key, f"expected text, found {value!r:.40}")
    return value


def where(at: tuple) -> str:
    return f"{at[0]}, row {at[1]}" if at[1] is not None else str(at[0])


def filled(value: Any) -> int:
    """How many values are filled in (nested ones counted one by one)."""
    if isinstance(value, dict):
        return sum(filled(v) for k, v in value.items() if k != "_at")
    if isinstance(value, list):
        return sum(filled(v) for v in value)
    if isinstance(value, str):
        return 1 if value.strip() else 0
    return 0 if value is None or value is False else 1


def keep_richest(entity: str, records: list[dict],
                 duplicates: list[Duplicate]) -> list[dict]:
    """One record per id: where a feed gives an id twice, the copy with more fields filled.

    Why keep one rather than refuse the feed: a council feed with one duplicated id out of
    800 would otherwise never import, and saving both (the old behaviour) silently kept
    whichever came last — in the Bristol feed, the copy whose description is empty. A
    directory editor wants the fuller record and a line in the report naming both rows, to
    check by hand; on a tie, the first copy is kept (feeds list records in a stable order).
    """
    groups: dict[str, list[dict]] = {}
    order: list[Any] = []
    for record in records:
        key = record.get("id")
        if not isinstance(key, (str, int)) or isinstance(key, bool) or key == "":
            order.append(record)  # no usable id: the mapper reports it
            continue
        if str(key) not in groups:
            groups[str(key)] = []
            order.append(str(key))
        groups[str(key)].append(record)
    out = []
    for item in order:
        if isinstance(item, dict):
            out.append(item)
            continue
        copies = groups[item]
        best = max(copies, key=filled)  # max() keeps the first of equals
        if len(copies) > 1:
            duplicates.append(Duplicate(
                entity, item, where(best["_at"]),
                tuple(where(c["_at"]) for c in copies if c is not best)))
        out.append(best)
    return out

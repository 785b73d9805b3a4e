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


class Report(msgspec.Struct, kw_only=True):
    source: str
    format: str
    created: dict[str, int]
    updated: dict[str, int]
    skipped: list[Skipped]

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
        return out


class Bundle(msgspec.Struct, kw_only=True):
    """HSDS 3 shaped dicts, each with ``_at`` = (file, row) for error messages."""

    terms: list[dict] = []
    organizations: list[dict] = []
    services: list[dict] = []
    pathways: list[dict] = []
    skipped: list[Skipped] = []
    #: written by Orientation (our export): source ids travel in be_source_id
    ours: bool = False


def read_json(path: Path) -> Any:
    """The parsed file, or ``ImportFailed`` naming the file and line."""
    try:
        return json.loads(path.read_text(encoding="utf-8-sig"))
    except ValueError as exc:
        raise ImportFailed(path.name, getattr(exc, "lineno", None), None,
                           f"not valid JSON: {exc}") from None


def tag(obj: Any, file: str, row: int | None) -> dict:
    """``obj`` (which must be a JSON object) with ``_at`` set to where it came from."""
    if not isinstance(obj, dict):
        raise ImportFailed(file, row, None, "expected a JSON object")
    obj.setdefault("_at", (file, row))
    return obj

"""A partner list kept in a spreadsheet (a CPAS's "liste des partenaires"): CSV or XLSX, one
organisation a row, with a column mapping file saying which column holds what.

CSV is read as UTF-8 or Windows-1252, with ``;`` or ``,`` (what Excel writes on a Belgian
Windows); XLSX with openpyxl. ``preview`` checks every row and reports errors in plain French
words with the row number (as the spreadsheet shows it) and the column's own name, so the
person who keeps the list can fix it; ``load`` imports the rows through the same mapper and
store writes as every other format, in one transaction (a row with an error stops it).

The mapping file (YAML) maps our fields to column headings::

    name: Nom du partenaire        # required
    service: Service               # the service's name (default: the organisation's)
    description: Description
    street: Adresse
    postal_code: Code postal
    city: Commune
    phone: Téléphone
    email: E-mail
    website: Site internet
    categories: Thèmes             # several, separated by , or ;  (mapped to needs)
    id: Numéro                     # a stable id, e.g. the BCE/KBO number (default: the name)
"""

from __future__ import annotations

import csv
import io
import re
from pathlib import Path

import msgspec
import yaml
from sqlite_utils import Database

from .. import seed as seeding
from .. import store
from ..errors import InvalidData
from ..fields import is_email
from .bundle import Bundle, ImportFailed, Report, read_text
from .categories import CategoryMap
from .mapper import clean_url, save_bundle

FIELDS = ("name", "service", "description", "street", "postal_code", "city", "phone", "email",
          "website", "categories", "id")
LABELS = {"name": "le nom", "service": "le service", "description": "la description",
          "street": "l'adresse", "postal_code": "le code postal", "city": "la commune",
          "phone": "le téléphone", "email": "l'adresse e-mail", "website": "le site internet",
          "categories": "les thèmes", "id": "le numéro"}


class RowError(msgspec.Struct, frozen=True):
    row: int
    column: str
    message: str

    def __str__(self) -> str:
        return f"Ligne {self.row}, colonne « {self.column} » : {self.message}"


class Preview(msgspec.Struct, kw_only=True):
    """What an import would do: rows read, rows ready, and the errors, in French."""

    file: str
    rows: int
    ready: list[dict]
    errors: list[RowError]


def read_mapping(path: Path) -> dict[str, str]:
    """Our field -> column heading, from the mapping file; ``name`` is required."""
    try:
        data = yaml.safe_load(Path(path).read_text(encoding="utf-8")) or {}
    except (OSError, yaml.YAMLError) as exc:
        raise InvalidData(f"column mapping {Path(path).name}: cannot be read: {exc}") from None
    if not isinstance(data, dict) or "name" not in data:
        raise InvalidData(f"column mapping {Path(path).name}: expected 'field: column "
                          "heading' lines, with at least 'name:'")
    unknown = sorted(set(map(str, data)) - set(FIELDS))
    if unknown:
        raise InvalidData(f"column mapping {Path(path).name}: unknown field(s) "
                          f"{', '.join(unknown)} (known: {', '.join(FIELDS)})")
    return {str(k): str(v) for k, v in data.items() if v}


def read_rows(path: Path) -> list[tuple[int, dict[str, str]]]:
    """(row number as the spreadsheet shows it, heading -> text) for each non-empty row."""
    path = Path(path)
    if path.suffix.lower() in (".xlsx", ".xlsm"):
        return _xlsx_rows(path)
    content = read_text(path)
    header = content.split("\n", 1)[0]
    delimiter = ";" if header.count(";") > header.count(",") else ","
    reader = csv.reader(io.StringIO(content, newline=""), delimiter=delimiter)
    try:
        table = list(reader)
    except csv.Error as exc:
        raise ImportFailed(path.name, reader.line_num or None, None,
                           f"not valid CSV: {exc}") from None
    return _records(table)


def _xlsx_rows(path: Path) -> list[tuple[int, dict[str, str]]]:
    import openpyxl  # only for .xlsx files

    try:
        book = openpyxl.load_workbook(path, read_only=True, data_only=True)
    except Exception as exc:  # zipfile.BadZipFile, KeyError, InvalidFileException…
        raise ImportFailed(path.name, None, None, f"not a readable .xlsx file ({exc})") from None
    try:
        sheet = book.worksheets[0]
        table = [["" if v is None else _cell(v) for v in row]
                 for row in sheet.iter_rows(values_only=True)]
    finally:
        book.close()
    return _records(table)


def _cell(value: object) -> str:
    if isinstance(value, float) and value.is_integer():  # 1050 typed as a number
        return str(int(value))
    return str(value)


def _records(table: list[list[str]]) -> list[tuple[int, dict[str, str]]]:
    if not table:
        return []
    headings = [h.strip() for h in table[0]]
    out = []
    for n, cells in enumerate(table[1:], start=2):
        row = {h: (cells[i].strip() if i < len(cells) else "") for i, h in enumerate(headings)
               if h}
        if any(row.values()):
            out.append((n, row))
    return out


def preview(path: Path, mapping: dict[str, str]) -> Preview:
    """Check every row against the mapping; nothing is written."""
    path = Path(path)
    rows = read_rows(path)
    errors: list[RowError] = []
    headings = set(rows[0][1]) if rows else set()
    missing = [column for column in mapping.values() if rows and column not in headings]
    for column in missing:
        errors.append(RowError(1, column, "cette colonne n'existe pas dans le fichier "
                                          "(vérifiez le fichier de correspondance)"))
    ready = []
    seen: dict[str, int] = {}
    for n, row in rows:
        value = {field: row.get(column, "") for field, column in mapping.items()}
        row_errors = _check(n, value, mapping)
        key = (value.get("id") or value.get("name") or "").casefold()
        if key and key in seen:
            row_errors.append(RowError(n, mapping.get("id") or mapping["name"],
                                       f"déjà à la ligne {seen[key]} (un partenaire par ligne)"))
        seen.setdefault(key, n)
        errors += row_errors
        if not row_errors:
            ready.append({"_row": n, **value})
    return Preview(file=path.name, rows=len(rows), ready=ready, errors=errors)


def _check(n: int, value: dict[str, str], mapping: dict[str, str]) -> list[RowError]:
    errors = []
    if not value.get("name"):
        errors.append(RowError(n, mapping["name"], "le nom est vide"))
    code = value.get("postal_code", "")
    if code and not re.fullmatch(r"\d{4}", code):
        errors.append(RowError(n, mapping["postal_code"],
                               f"« {code} » n'est pas un code postal belge (4 chiffres)"))
    email = value.get("email", "")
    if email and not is_email(email):
        errors.append(RowError(n, mapping["email"], f"« {email} » n'est pas une adresse e-mail"))
    site = value.get("website", "")
    if site and not clean_url(site):
        errors.append(RowError(n, mapping["website"],
                               f"« {site} » n'est pas une adresse de site internet"))
    phone = value.get("phone", "")
    if phone and len(re.sub(r"\D", "", phone)) < 8:
        errors.append(RowError(n, mapping["phone"],
                               f"« {phone} » : il manque des chiffres au numéro"))
    return errors


def to_bundle(result: Preview) -> Bundle:
    """The ready rows as HSDS-shaped records: one organisation, location and service a row."""
    bundle = Bundle()
    for row in result.ready:
        at = (result.file, row["_row"])
        key = row.get("id") or row["name"]
        location = None
        if row.get("street") or row.get("city") or row.get("postal_code"):
            location = {"id": f"{key}:location", "name": row["name"], "_at": at,
                        "addresses": [{"address_1": row.get("street", ""),
                                       "city": row.get("city", ""),
                                       "postal_code": row.get("postal_code", ""),
                                       "country": "BE"}]}
        phones = [{"id": f"{key}:phone", "number": row["phone"], "_at": at}] \
            if row.get("phone") else []
        categories = [c.strip() for c in re.split(r"[;,]", row.get("categories", ""))
                      if c.strip()]
        bundle.organizations.append({
            "id": key, "name": row["name"], "description": row.get("description", ""),
            "email": row.get("email") or None, "website": row.get("website") or None,
            "phones": phones, "locations": [location] if location else [], "_at": at})
        bundle.services.append({
            "id": f"{key}:service", "organization_id": key,
            "name": row.get("service") or row["name"],
            "description": row.get("description", ""), "status": "active",
            "email": row.get("email") or None, "url": row.get("website") or None,
            "phones": [{**p, "id": f"{key}:service-phone"} for p in phones],
            "service_at_locations": [{"location_id": location["id"], "location": location}]
            if location else [],
            "be_categories": categories, "_at": at})
    return bundle


def load(db: Database, path: Path, mapping: dict[str, str], *, source: str | None = None,
         actor: str = "import", category_map: Path | None = None) -> Report:
    """Import the spreadsheet in one transaction; any row error refuses the whole file,
    naming the first rows (run ``preview`` to see them all)."""
    path = Path(path)
    result = preview(path, mapping)
    if result.errors:
        shown = "; ".join(str(e) for e in result.errors[:5])
        more = f" (et {len(result.errors) - 5} autres)" if len(result.errors) > 5 else ""
        raise InvalidData(f"{path.name}: {len(result.errors)} erreur(s) : {shown}{more}")
    categories = CategoryMap.load(category_map)
    with store.transaction(db):
        seeding.ensure_taxonomy(db)
        return save_bundle(db, to_bundle(result), source=source or path.stem,
                           fmt="spreadsheet", actor=actor, name=path.name,
                           categories=categories)

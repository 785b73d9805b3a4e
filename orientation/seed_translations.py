"""Organisation translation files: ``seed/translations/<lang>/organizations/<org>.yaml``.

One file per language and organisation carries what a person reads about it in nl, en or ar:
the organisation's description; its services' names, descriptions and access texts; its
contacts' roles; its places' transport lines and accessibility details (see ``seed/FORMAT.md``).
Names of people and places, addresses, phones and hours are never in these files: they stay as
written. A file is read against the French it translates and refused, naming the file, when it
does not follow it (an unknown slug, a field the French does not have, a list of another
length): a translation that does not line up would print under the wrong line of a slip.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import msgspec
import yaml

from .errors import InvalidData
from .models import (
    LANGUAGES,
    Contact,
    ContactTranslation,
    Location,
    LocationTranslation,
    Organization,
    OrganizationTranslation,
    Service,
    Translation,
    slug_id,
)

#: A service's translatable fields in a file, with where the French lives on the Service.
SERVICE_FIELDS = {"name": "name", "description": "description", "audience": "access.audience",
                  "eligibility": "access.eligibility",
                  "cost_description": "access.cost_description",
                  "interpretation": "interpretation", "documents": "access.documents",
                  "digital_note": "digital.note"}
LOCATION_FIELDS = {"transport": "transport", "accessibility": "accessibility.details"}
CONTACT_FIELDS = {"role": "role"}
TOP_KEYS = {"id", "description", "services", "contacts", "locations"}

Parsed = tuple[Organization, list[Location], list[Contact], list[Service]]


class TranslationFileError(InvalidData):
    """A translation file that does not follow its French (``seed.SeedError`` wraps it)."""


def _french(record: Any, where: str) -> Any:
    for part in where.split("."):
        record = getattr(record, part)
    return record


def read_files(seed_dir: Path) -> list[tuple[str, Path, dict]]:
    """Every ``translations/<lang>/organizations/*.yaml``, read: (lang, path, data)."""
    found = []
    folder = Path(seed_dir) / "translations"
    if not folder.is_dir():
        return found
    for lang_dir in sorted(p for p in folder.iterdir() if p.is_dir()):
        orgs = lang_dir / "organizations"
        if not orgs.is_dir():
            continue
        lang = lang_dir.name
        for path in sorted(orgs.glob("*.yaml")):
            where = f"translations/{lang}/organizations/{path.name}"
            if lang not in LANGUAGES or lang == "fr":
                raise TranslationFileError(f"translations/{lang}: not a translation language "
                                           f"({', '.join(LANGUAGES[1:])}): {where}")
            try:
                data = yaml.safe_load(path.read_text(encoding="utf-8"))
            except yaml.YAMLError as exc:
                raise TranslationFileError(f"{where}: not valid YAML: {exc}") from None
            if not isinstance(data, dict):
                raise TranslationFileError(f"{where}: expected a mapping at the top level")
            found.append((lang, path, data))
    return found


def _text(value: Any, where: str, field: str) -> str:
    if not isinstance(value, (str, int, float)) or isinstance(value, bool) \
            or not str(value).strip():
        raise TranslationFileError(f"{where}: {field}: expected a text, not {value!r}")
    return str(value)


def _fields(data: Any, french_record: Any, allowed: dict[str, str], where: str,
            label: str) -> dict[str, Any]:
    """The translated fields of one record, checked against its French."""
    if not isinstance(data, dict):
        raise TranslationFileError(f"{where}: {label}: expected a mapping of fields")
    values: dict[str, Any] = {}
    for field, value in data.items():
        if field not in allowed:
            raise TranslationFileError(f"{where}: {label}: unknown field {field!r} "
                                       f"(expected {', '.join(allowed)})")
        french = _french(french_record, allowed[field])
        if not french:
            raise TranslationFileError(f"{where}: {label}: {field}, but the French has none")
        if isinstance(french, list):
            if not isinstance(value, list):
                raise TranslationFileError(f"{where}: {label}: {field}: expected a list")
            if len(value) != len(french):
                raise TranslationFileError(
                    f"{where}: {label}: {field} has {len(value)} items, the French "
                    f"{len(french)}; translate every item, in the same order")
            values[field] = [_text(v, where, f"{label}: {field}") for v in value]
        else:
            values[field] = _text(value, where, f"{label}: {field}")
    return values


def _merge(inline: msgspec.Struct | None, cls: type, values: dict[str, Any]) -> msgspec.Struct:
    """The file wins field by field; what it does not say keeps the inline translation."""
    base = msgspec.structs.asdict(inline) if inline is not None else {}
    return cls(**{**base, **values})


def _with(record: Any, lang: str, cls: type, values: dict[str, Any]) -> Any:
    translations = dict(record.translations)
    translations[lang] = _merge(translations.get(lang), cls, values)
    return msgspec.structs.replace(record, translations=translations)


def apply(seed_dir: Path, parsed: list[tuple[Path, Parsed]]) -> list[tuple[Path, Parsed]]:
    """``parsed`` (each organisation file's records) with its translation files applied."""
    files = read_files(seed_dir)
    if not files:
        return parsed
    orgs = {org.id: i for i, (_, (org, *_)) in enumerate(parsed)}
    # Which organisation each service, contact and location id belongs to, to tell "unknown"
    # from "someone else's" in the error.
    owner: dict[str, str] = {}
    for _, (org, locations, contacts, services) in parsed:
        for record in (*locations, *contacts, *services):
            owner[record.id] = org.name
    result = [(path, (org, list(locs), list(cons), list(svcs)))
              for path, (org, locs, cons, svcs) in parsed]
    for lang, path, data in files:
        where = f"translations/{lang}/organizations/{path.name}"
        unknown = set(data) - TOP_KEYS
        if unknown:
            raise TranslationFileError(f"{where}: unknown field(s) {', '.join(sorted(unknown))} "
                                       f"(expected {', '.join(sorted(TOP_KEYS))})")
        slug = data.get("id")
        if slug != path.stem:
            raise TranslationFileError(f"{where}: id {slug!r} is not the file name "
                                       f"({path.stem!r})")
        index = orgs.get(slug_id("organization", str(slug)))
        if index is None:
            raise TranslationFileError(f"{where}: no organisation {slug!r} in seed/organizations")
        org_path, (org, locations, contacts, services) = result[index]
        if "description" in data:
            org = _with(org, lang, OrganizationTranslation,
                        _fields({"description": data["description"]}, org,
                                {"description": "description"}, where, "organisation"))
        groups = (("services", "service", services, SERVICE_FIELDS, Translation),
                  ("contacts", "contact", contacts, CONTACT_FIELDS, ContactTranslation),
                  ("locations", "location", locations, LOCATION_FIELDS, LocationTranslation))
        for key, kind, records, allowed, cls in groups:
            items = data.get(key) or {}
            if not isinstance(items, dict):
                raise TranslationFileError(f"{where}: {key}: expected a mapping keyed by "
                                           f"{kind} slug")
            by_id = {r.id: n for n, r in enumerate(records)}
            for item_slug, fields in items.items():
                record_id = slug_id(kind, str(item_slug))
                if record_id not in by_id:
                    if record_id in owner:
                        raise TranslationFileError(
                            f"{where}: {kind} {item_slug!r} belongs to {owner[record_id]}, "
                            f"not to {org.name}")
                    raise TranslationFileError(f"{where}: no {kind} {item_slug!r} in "
                                               f"{org_path.name}")
                n = by_id[record_id]
                values = _fields(fields, records[n], allowed, where, f"{kind} {item_slug}")
                records[n] = _with(records[n], lang, cls, values)
        result[index] = (org_path, (org, locations, contacts, services))
    return result

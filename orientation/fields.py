"""Field-level rules every stored record obeys, whoever writes it (API, staff editor, importer,
seed): web addresses that are really web addresses, e-mail addresses, UUIDs for nested ids,
no control or bidi-override characters, bounded sizes.

Why here and not only in the API schema: a record reaches the store by five paths, and one
unchecked path is enough for a ``javascript:`` link in an admin's console (stored XSS) or a
phone id that breaks every HSDS export. The store calls :func:`check_record` before each write.
"""

from __future__ import annotations

import re
import unicodedata
import uuid
from typing import Any
from urllib.parse import urlsplit

import msgspec

from .errors import InvalidData

#: Fields that hold a web address a person may open.
URL_FIELDS = frozenset({"url", "website"})
EMAIL_FIELDS = frozenset({"email"})
#: Short single-line fields (a name on a slip, a phone number): 300 characters is already more
#: than a slip line; the longest real organisation name in the imported datasets is ~120.
SHORT_FIELDS = frozenset({"name", "alternate_name", "given_name", "family_name", "civility",
                          "role", "number", "code", "byday", "opens_at", "closes_at", "street",
                          "postal_code", "city", "country", "need", "source_id", "id"})
MAX_SHORT = 300
MAX_TEXT = 20_000
MAX_URL = 2_000
MAX_ITEMS = 500

EMAIL = re.compile(r"[^@\s<>\"'()\[\],;:\\]+@[^@\s<>\"'()\[\],;:\\]+\.[^@\s<>\"'()\[\],;:\\]+")
#: Line breaks and tabs are fine in free text; every other control character is not, nor the
#: bidi overrides and isolates that can make a phone number or a name read backwards on screen.
BIDI_CONTROLS = frozenset("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")
ALLOWED_CONTROLS = frozenset("\n\r\t")


def web_url(value: str | None) -> str | None:
    """``value`` if it is an http(s) address with a host, else None (used again at render time,
    so a bad address already stored is shown as text, never as a link)."""
    if not value or len(value) > MAX_URL or any(c.isspace() for c in value):
        return None
    try:
        parts = urlsplit(value)
    except ValueError:
        return None
    if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
        return None
    return value


def is_email(value: str | None) -> bool:
    return bool(value) and len(value) <= MAX_SHORT and EMAIL.fullmatch(value) is not None


def _bad_character(text: str) -> str | None:
    for char in text:
        if char in BIDI_CONTROLS:
            return f"U+{ord(char):04X}"
        if char not in ALLOWED_CONTROLS and unicodedata.category(char) in ("Cc", "Cs"):
            return f"U+{ord(char):04X}"
    return None


def _check_text(path: str, name: str, value: str) -> None:
    bad = _bad_character(value)
    if bad:
        raise InvalidData(f"{path}: contains a control character ({bad})", field=path)
    limit = MAX_SHORT if name in SHORT_FIELDS else MAX_TEXT
    if len(value) > limit:
        raise InvalidData(f"{path}: {len(value)} characters, at most {limit}", field=path)
    if name in SHORT_FIELDS and ("\n" in value or "\r" in value):
        raise InvalidData(f"{path}: must be one line", field=path)


def _walk(value: Any, path: str, name: str, nested: bool) -> None:
    if isinstance(value, msgspec.Struct):
        for field in value.__struct_fields__:
            child = getattr(value, field)
            child_path = f"{path}.{field}" if path else field
            if field == "id" and nested and isinstance(child, str):
                try:
                    uuid.UUID(child)
                except ValueError:
                    raise InvalidData(f"{child_path}: {child!r} is not a UUID",
                                      field=child_path) from None
            if field in URL_FIELDS and child is not None and web_url(child) is None:
                raise InvalidData(f"{child_path}: {child!r} is not a web address "
                                  "(http:// or https://)", field=child_path)
            if field in EMAIL_FIELDS and child is not None and not is_email(child):
                raise InvalidData(f"{child_path}: {child!r} is not an e-mail address",
                                  field=child_path)
            _walk(child, child_path, field, True)
    elif isinstance(value, str):
        _check_text(path, name, value)
    elif isinstance(value, (list, tuple)):
        if len(value) > MAX_ITEMS:
            raise InvalidData(f"{path}: {len(value)} items, at most {MAX_ITEMS}", field=path)
        for i, item in enumerate(value):
            _walk(item, f"{path}[{i}]", name, nested)
    elif isinstance(value, dict):
        if len(value) > MAX_ITEMS:
            raise InvalidData(f"{path}: {len(value)} items, at most {MAX_ITEMS}", field=path)
        for key, item in value.items():
            if isinstance(key, str):
                _check_text(path, "code", key)
            _walk(item, f"{path}.{key}", name, nested)


def clean_text(value: str, name: str = "") -> str:
    """Imported text made storable: control and bidi characters dropped, line breaks of a
    one-line field folded to spaces. Importers clean; people writing get an error instead."""
    value = "".join(c for c in value if c in ALLOWED_CONTROLS or (
        c not in BIDI_CONTROLS and unicodedata.category(c) not in ("Cc", "Cs")))
    if name in SHORT_FIELDS:
        value = " ".join(value.split())
    return value


def clean_data(data: Any, name: str = "") -> Any:
    """:func:`clean_text` over every string of decoded JSON-like data, by field name."""
    if isinstance(data, str):
        return clean_text(data, name)
    if isinstance(data, list):
        return [clean_data(item, name) for item in data]
    if isinstance(data, dict):
        return {key: clean_data(item, key if isinstance(key, str) else name)
                for key, item in data.items()}
    return data


def check_translations(record: msgspec.Struct) -> None:
    """Translations follow the French item by item: a pathway translation's ``steps`` is empty
    or has one entry per step, a step's ``bring`` (a service's ``documents``, a place's
    ``transport``) is empty or has one entry per French item. Otherwise a translated text would print under the wrong step."""
    steps = getattr(record, "steps", None)
    for lang, translation in (getattr(record, "translations", None) or {}).items():
        path = f"translations.{lang}"
        if steps is not None and translation.steps and len(translation.steps) != len(steps):
            raise InvalidData(f"{path}.steps: {len(translation.steps)} translated steps for "
                              f"{len(steps)} steps; translate every step, in the same order",
                              field=f"{path}.steps")
        for i, step in enumerate(getattr(translation, "steps", None) or []):
            if step.bring and len(step.bring) != len(steps[i].bring):
                raise InvalidData(f"{path}.steps[{i}].bring: {len(step.bring)} items for "
                                  f"{len(steps[i].bring)} in French", field=f"{path}.steps[{i}].bring")
        transport = getattr(translation, "transport", None)
        if transport and len(transport) != len(record.transport):
            raise InvalidData(f"{path}.transport: {len(transport)} items for "
                              f"{len(record.transport)} in French", field=f"{path}.transport")
        access = getattr(record, "access", None)
        documents = getattr(translation, "documents", None)
        if access is not None and documents and len(documents) != len(access.documents):
            raise InvalidData(f"{path}.documents: {len(documents)} items for "
                              f"{len(access.documents)} in French", field=f"{path}.documents")


def check_record(record: msgspec.Struct) -> None:
    """Raise :class:`InvalidData` naming the first field that breaks a rule above."""
    _walk(record, "", "", False)
    check_translations(record)

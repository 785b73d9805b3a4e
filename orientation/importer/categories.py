"""Source categories -> our needs, through an editable mapping file (``seed/category_map.yaml``).

Directories from elsewhere classify services with their own taxonomies: Open Eligibility
(Ohana, iCarol exports), AIRS/211 codes, Open Referral UK category names. Which of those mean
one of our ten needs is a judgement a directory editor should be able to change without a
release, so it lives in a YAML file the importers read on every import. A category the file
does not know is recorded per source (``store.record_source_categories``) and listed by
``orientation check``, so gaps are seen rather than silently lost.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import yaml

from ..errors import InvalidData

DEFAULT_MAP = Path(__file__).resolve().parent.parent.parent / "seed" / "category_map.yaml"
CODE_SECTIONS = ("open_eligibility", "airs")


class CategoryMap:
    """Lookups by code (longest prefix), exact name, then words inside the name."""

    def __init__(self, codes: dict[str, list[str]], names: dict[str, list[str]],
                 words: list[tuple[str, list[str]]], path: Path | None = None) -> None:
        self.codes, self.names, self.words, self.path = codes, names, words, path

    @classmethod
    def load(cls, path: Path | None = None) -> CategoryMap:
        path = Path(path or DEFAULT_MAP)
        try:
            data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        except OSError as exc:
            raise InvalidData(f"category map {path}: cannot be read ({exc.strerror})") from None
        except yaml.YAMLError as exc:
            raise InvalidData(f"category map {path.name}: not valid YAML: {exc}") from None
        if not isinstance(data, dict):
            raise InvalidData(f"category map {path.name}: expected sections at the top level")
        codes: dict[str, list[str]] = {}
        for section in CODE_SECTIONS:
            for code, needs in _mapping(data, section, path).items():
                codes[str(code).strip().upper()] = _needs(needs, path, code)
        names = {str(name).strip().casefold(): _needs(needs, path, name)
                 for name, needs in _mapping(data, "names", path).items()}
        words = []
        for item in data.get("words") or []:
            if not isinstance(item, dict) or len(item) != 1:
                raise InvalidData(f"category map {path.name}: each entry of 'words' is one "
                                  f"'word: need', not {item!r}")
            [(word, needs)] = item.items()
            words.append((str(word).casefold(), _needs(needs, path, word)))
        return cls(codes, names, words, path)

    def needs(self, *, code: str | None = None, name: str | None = None) -> list[str] | None:
        """Our need codes for a category, ``[]`` when the map says "no need of ours", or
        ``None`` when the map does not know it."""
        if code:
            key = str(code).strip().upper()
            while key:
                if key in self.codes:
                    return self.codes[key]
                cut = max(key.rfind("-"), key.rfind("."))
                key = key[:cut] if cut > 0 else ""
        if name:
            text = re.sub(r"\s+", " ", str(name)).strip().casefold()
            if text in self.names:
                return self.names[text]
            for word, needs in self.words:
                if word in text:
                    return needs
        return None

    def need_codes(self) -> set[str]:
        """Every need code the map names (to check it against the taxonomy)."""
        values = list(self.codes.values()) + list(self.names.values()) + \
            [n for _, n in self.words]
        return {code for needs in values for code in needs}


def _mapping(data: dict, section: str, path: Path) -> dict[Any, Any]:
    value = data.get(section) or {}
    if not isinstance(value, dict):
        raise InvalidData(f"category map {path.name}: '{section}' must map categories to needs")
    return value


def _needs(value: Any, path: Path, key: Any) -> list[str]:
    if value in (None, ""):
        return []
    values = value if isinstance(value, list) else [value]
    if not all(isinstance(v, str) and re.fullmatch(r"[a-z][a-z0-9-]*", v) for v in values):
        raise InvalidData(f"category map {path.name}: {key!r}: a need code (like "
                          f"aide-alimentaire) or a list of them, not {value!r}")
    return values

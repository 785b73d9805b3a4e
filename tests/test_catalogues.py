"""No interface string is forgotten by the catalogues: the strings `make messages` would
extract (with kiosk/babel.cfg, the same keywords as the Makefile) are each in the four
catalogues, and translated in Dutch, English and Arabic. Extraction runs in memory with
Babel's Python API, so the committed catalogues are never rewritten by a test."""

from __future__ import annotations

from pathlib import Path

from babel.messages.extract import DEFAULT_KEYWORDS, extract_from_dir
from babel.messages.frontend import parse_mapping_cfg
from babel.messages.pofile import read_po

from kiosk import i18n

ROOT = Path(__file__).resolve().parent.parent
#: The Makefile's `pybabel extract -k _n:1,2 -k _` on top of Babel's defaults (N_, gettext…).
KEYWORDS = {**DEFAULT_KEYWORDS, "_n": (1, 2), "_": None}


def _key(msgid) -> str:
    return msgid[0] if isinstance(msgid, (list, tuple)) else msgid


def extracted() -> dict[str, str]:
    """{msgid: file it was found in} for every string of the kiosk, the desk, the staff
    console, the verification pages and the taxonomy."""
    with (ROOT / "kiosk" / "babel.cfg").open(encoding="utf-8") as cfg:
        method_map, options_map = parse_mapping_cfg(cfg, str(ROOT / "kiosk" / "babel.cfg"))
    found = {}
    for filename, _lineno, message, _comments, _context in extract_from_dir(
            str(ROOT), method_map, options_map, keywords=KEYWORDS):
        if _key(message):
            found.setdefault(_key(message), filename)
    return found


def test_extraction_reaches_every_part_of_the_interface():
    files = set(extracted().values())
    for part in ("kiosk/templates/home.html", "kiosk/templates/desk.html",
                 "kiosk/templates/staff/login.html", "kiosk/templates/staff/edit.html",
                 "kiosk/templates/verify/form.html", "kiosk/labels.py", "kiosk/staff/edit.py",
                 "kiosk/staff/translate.py", "seed/taxonomy.yaml"):
        assert part in files, part


def test_every_extracted_string_is_in_the_four_catalogues_and_translated():
    strings = extracted()
    assert len(strings) > 700
    for lang in ("fr", "nl", "en", "ar"):
        po = read_po((i18n.LOCALE_DIR / lang / "LC_MESSAGES" / "messages.po").open("rb"))
        catalogue = {_key(m.id): m.string for m in po if m.id}
        missing = sorted(f"{where}: {msgid}" for msgid, where in strings.items()
                         if msgid not in catalogue)
        assert not missing, (lang, missing)
        if lang == "fr":
            continue  # the source language: French msgstrs may stay empty
        empty = sorted(f"{strings[msgid]}: {msgid}" for msgid in strings
                       if not all(catalogue[msgid] if isinstance(catalogue[msgid], (list, tuple))
                                  else [catalogue[msgid]]))
        assert not empty, (lang, empty)

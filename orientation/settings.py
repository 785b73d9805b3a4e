"""Every setting, declared once as data: (name, default, help).

The CLI builds its options from this table (each readable from ``ORIENTATION_<NAME>``), the
README documents it and a test checks both. Nothing reads the environment anywhere else.
"""

from __future__ import annotations

from typing import Any, NamedTuple


class Setting(NamedTuple):
    name: str
    default: Any
    help: str


SETTINGS: tuple[Setting, ...] = (
    Setting("db", "data/orientation.db", "SQLite database file (created and seeded on first run)."),
    Setting("index_dir", "data/index", "Folder of the whoosh search index (rebuilt from the database when missing or stale)."),
    Setting("seed_dir", "", "Seed folder loaded into an empty database (default: the bundled seed/)."),
    Setting("kiosk_commune", "Ixelles", "Commune where the kiosk stands: nearby services are shown first."),
    Setting("kiosk_px_per_mm", 4.03, "Screen density of the kiosk (px per mm) for text and touch-target sizes; 4.03 = 21.5-inch full HD."),
    Setting("idle_seconds", 120, "Seconds without a touch before the kiosk warns, then resets."),
    Setting("idle_warning_seconds", 30, "How long the 'Continuer ?' warning stays before the reset."),
    Setting("printer", "file", "Slip printer backend: file, cups or escpos."),
    Setting("printer_target", "data/slips", "file: output folder; cups: queue name; escpos: host[:port] or usb:VENDOR:PRODUCT."),
    Setting("chromium", "/usr/bin/chromium", "Chromium executable that renders slips to PDF (the same page as the on-screen preview)."),
    Setting("public_url", "", "Public address of this site, printed as a QR code on slips (empty: the address the kiosk uses)."),
    Setting("speech_dir", "data/speech", "Folder where the kiosk's spoken audio (espeak-ng WAV) is cached."),
    Setting("stale_months", 6, "Records not verified by a human for this many months are flagged as stale."),
    Setting("cors_origins", "", "Comma-separated partner origins allowed to call the API from a browser."),
    Setting("rate_limit", 120, "API requests per minute per key or IP address."),
)

DEFAULTS = {s.name: s.default for s in SETTINGS}


def envvar(name: str) -> str:
    return f"ORIENTATION_{name.upper()}"

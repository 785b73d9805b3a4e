"""Every setting, declared once as data: (name, default, help).

The CLI builds its options from this table (each readable from ``ORIENTATION_<NAME>``), the
README documents it and a test checks both. Nothing reads the environment anywhere else.

:class:`Settings` is the same table as typed fields: ``Settings.from_mapping`` converts and
checks values once, at start-up (strings from the environment become numbers), so a bad value
stops the server with one line naming it instead of failing later as a 500.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, NamedTuple

import msgspec

from .errors import OrientationError


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
    Setting("rate_limit", 120, "API requests per minute per key or IP address (0: no limit)."),
    Setting("prints_per_10_minutes", 20, "Slips one client address may print from the kiosk in 10 minutes (0: no limit)."),
    Setting("reports_per_hour", 20, "'Cette information est fausse' reports one client address may send in an hour (0: no limit)."),
    Setting("speech_per_minute", 30, "Read-aloud requests one client address may make in a minute (0: no limit)."),
    Setting("help_request_minutes", 5.0, "Minutes a call for a person waits unanswered before the kiosk says nobody came and shows where else to go."),
    Setting("desk_hours", "", "Hours someone is expected at this kiosk's desk, like 'MO-FR 09:00-17:00; SA 09:00-12:00' (empty: whenever someone is on duty)."),
    Setting("help_requests_per_10_minutes", 5, "Calls to the desk one client address may make in 10 minutes (0: no limit)."),
    Setting("login_failures_per_account", 5, "Failed staff logins, from anywhere, that lock one account for 15 minutes."),
    Setting("login_failures_per_address", 50, "Failed staff logins, across accounts, that lock one address for 15 minutes (an office behind one NAT shares it)."),
    Setting("allowed_hosts", "", "Comma-separated host names this site answers to; other Host headers get 400 (empty: localhost, 127.0.0.1, ::1 and the host of public_url; * for any)."),
    Setting("max_body_kb", 256, "Largest request body accepted, in KiB (larger: 413)."),
    Setting("smtp_host", "", "SMTP server that sends the organisations' verification reminders (empty: no e-mail is sent)."),
    Setting("smtp_port", 587, "Port of the SMTP server (587 for STARTTLS, 465 for SSL, 25 for none)."),
    Setting("smtp_tls", "starttls", "How the connection to the SMTP server is secured: none, starttls or ssl."),
    Setting("smtp_user", "", "User name for the SMTP server (empty: no login)."),
    Setting("smtp_password", "", "Password for the SMTP server (set it through the environment, not on the command line)."),
    Setting("mail_from", "", "Sender address of the e-mails, like 'Orientation <donnees@example.org>'."),
    Setting("verify_link_days", 14, "Days a verification link sent to an organisation stays valid."),
    Setting("verify_escalate_days", 21, "Days without an answer to a reminder before the editors see it in their queue."),
    Setting("capacity_fresh_hours", 6.0, "Hours a published count of free places ('3 places ce soir') stays shown as current; an older count is never shown as tonight's."),
)

DEFAULTS = {s.name: s.default for s in SETTINGS}
#: Settings that must be positive numbers.
POSITIVE = ("kiosk_px_per_mm", "idle_seconds", "help_request_minutes", "idle_warning_seconds", "stale_months",
            "login_failures_per_account", "login_failures_per_address", "max_body_kb",
            "smtp_port", "verify_link_days", "verify_escalate_days", "capacity_fresh_hours")
#: Limits where 0 means "no limit"; only a negative count is wrong.
LIMITS = ("rate_limit", "prints_per_10_minutes", "reports_per_hour", "speech_per_minute",
          "help_requests_per_10_minutes")
PRINTERS = ("file", "cups", "escpos")
SMTP_TLS = ("none", "starttls", "ssl")


class SettingsError(OrientationError):
    """A setting with a value the server cannot use; the message names both."""

    code = "bad-setting"

    def __init__(self, name: str, value: Any, expected: str):
        self.name = name
        self.value = value
        super().__init__(f"setting {name} ({envvar(name)}): {value!r} is not {expected}")


_EXPECTED = {str: "text", int: "a whole number", float: "a number"}


def _convert(setting: Setting, value: Any) -> Any:
    kind = type(setting.default)
    if value is None:
        return setting.default
    if isinstance(value, bool) or not isinstance(value, (str, int, float)):
        raise SettingsError(setting.name, value, _EXPECTED[kind])
    if kind is str:
        return str(value)
    try:
        converted = kind(value.strip() if isinstance(value, str) else value)
    except (TypeError, ValueError):
        raise SettingsError(setting.name, value, _EXPECTED[kind]) from None
    if kind is int and isinstance(value, float) and value != converted:
        raise SettingsError(setting.name, value, _EXPECTED[kind])
    return converted


def _from_mapping(values: Mapping[str, Any] | None = None) -> Any:
    """Settings from a partial mapping (CLI options, a test's dict, strings from the
    environment); unknown names and unusable values raise :class:`SettingsError`."""
    values = dict(values or {})
    known = {s.name: s for s in SETTINGS}
    for name in values:
        if name not in known:
            raise SettingsError(name, values[name], "a known setting")
    converted = {name: _convert(known[name], value) for name, value in values.items()}
    for name in POSITIVE:
        if name in converted and converted[name] <= 0:
            raise SettingsError(name, converted[name], "a positive number")
    for name in LIMITS:
        if converted.get(name, 0) < 0:
            raise SettingsError(name, converted[name], "zero or a positive number")
    if converted.get("printer", "file") not in PRINTERS:
        raise SettingsError("printer", converted["printer"], "one of " + ", ".join(PRINTERS))
    if converted.get("smtp_tls", "starttls") not in SMTP_TLS:
        raise SettingsError("smtp_tls", converted["smtp_tls"], "one of " + ", ".join(SMTP_TLS))
    return Settings(**converted)


# The Struct is built from the table so that each setting is declared in one place only; a
# field's type is the type of its default (str, int or float).
Settings = msgspec.defstruct(
    "Settings",
    [(s.name, type(s.default), s.default) for s in SETTINGS],
    kw_only=True, frozen=True, module=__name__,
    namespace={"__doc__": "Every setting as a typed, checked value (see SETTINGS).",
               "from_mapping": staticmethod(_from_mapping)},
)


def envvar(name: str) -> str:
    return f"ORIENTATION_{name.upper()}"

"""E-mail through a real SMTP server (stdlib ``smtplib`` and ``email.message``).

The directory writes to organisations only: reminders to check their own records, with a link
to the form. An e-mail never carries anything about a person who used the kiosk or the
console (no search, no slip, no commune): only the organisation's own public records and a
link. Plain text only, so every mail client shows it the same and nothing loads from outside.

The server comes from the settings (``smtp_host``, ``smtp_port``, ``smtp_tls`` none /
starttls / ssl, ``smtp_user``, ``smtp_password``, ``mail_from``); an empty ``smtp_host`` means
"no e-mail configured", which :func:`send` refuses in words rather than silently dropping.
"""

from __future__ import annotations

import smtplib
import ssl
from collections.abc import Iterable
from email.message import EmailMessage
from email.utils import make_msgid

import msgspec

from .errors import OrientationError
from .fields import is_email


class MailError(OrientationError):
    """E-mail could not be sent (no server configured, refused, unreachable)."""

    code = "mail-failed"
    status = 503

    def __init__(self, message: str, *, sent: int = 0):
        self.sent = sent  # how many messages of the batch went out before the failure
        super().__init__(message)


class MailSettings(msgspec.Struct, kw_only=True, frozen=True):
    host: str
    port: int
    tls: str = "starttls"
    user: str = ""
    password: str = ""
    sender: str = ""
    timeout: float = 30.0

    @classmethod
    def from_settings(cls, settings: object) -> MailSettings:
        """The SMTP part of the app's :class:`~orientation.settings.Settings`."""
        return cls(host=settings.smtp_host, port=settings.smtp_port, tls=settings.smtp_tls,
                   user=settings.smtp_user, password=settings.smtp_password,
                   sender=settings.mail_from)


def message(config: MailSettings, *, to: str, subject: str, text: str,
            lang: str = "fr") -> EmailMessage:
    """A plain-text UTF-8 message from the configured sender."""
    if not is_email(to):
        raise MailError(f"not an e-mail address: {to!r}")
    if not config.sender:
        raise MailError("no sender address: set mail_from (ORIENTATION_MAIL_FROM)")
    msg = EmailMessage()
    msg["From"] = config.sender
    msg["To"] = to
    msg["Subject"] = subject
    msg["Content-Language"] = lang
    domain = config.sender.rsplit("@", 1)[-1].strip("> ") or None
    msg["Message-ID"] = make_msgid(domain=domain)
    # Automated mail: out-of-office replies should not answer it.
    msg["Auto-Submitted"] = "auto-generated"
    msg.set_content(text)
    return msg


def _connect(config: MailSettings) -> smtplib.SMTP:
    context = ssl.create_default_context()
    if config.tls == "ssl":
        smtp: smtplib.SMTP = smtplib.SMTP_SSL(config.host, config.port,
                                              timeout=config.timeout, context=context)
    else:
        smtp = smtplib.SMTP(config.host, config.port, timeout=config.timeout)
        if config.tls == "starttls":
            smtp.starttls(context=context)
    if config.user:
        smtp.login(config.user, config.password)
    return smtp


def send(config: MailSettings, messages: Iterable[EmailMessage]) -> int:
    """Send every message over one connection; returns how many were sent.

    Raises :class:`MailError` (with the server's words) when nothing can be sent at all; a
    message the server refuses stops the batch there, and the error's ``sent`` says how many
    went out before it, so the caller records only those.
    """
    messages = list(messages)
    if not messages:
        return 0
    if not config.host:
        raise MailError("no SMTP server: set smtp_host (ORIENTATION_SMTP_HOST)")
    sent = 0
    try:
        with _connect(config) as smtp:
            for msg in messages:
                smtp.send_message(msg)
                sent += 1
    except (smtplib.SMTPException, OSError) as exc:
        raise MailError(f"e-mail not sent ({sent} of {len(messages)} sent): {exc}",
                        sent=sent) from exc
    return sent

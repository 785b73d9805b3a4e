"""A real local SMTP server for the tests (aiosmtpd), and what it received.

``Mailbox`` runs aiosmtpd's ``Controller`` on a free port of 127.0.0.1 in its own thread; the
code under test connects to it with plain ``smtplib`` like to any server, and the test reads
the messages it received, parsed back with the stdlib ``email`` package.
"""

from __future__ import annotations

import email
import email.policy
import socket
from email.message import EmailMessage

from aiosmtpd.controller import Controller


class _Handler:
    def __init__(self) -> None:
        self.messages: list[EmailMessage] = []
        self.envelopes: list[tuple[str, list[str]]] = []

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 - aiosmtpd's name
        self.envelopes.append((envelope.mail_from, list(envelope.rcpt_tos)))
        self.messages.append(email.message_from_bytes(envelope.content,
                                                      policy=email.policy.default))
        return "250 Message accepted for delivery"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Mailbox:
    def __init__(self) -> None:
        self.handler = _Handler()
        self.port = free_port()
        self.controller = Controller(self.handler, hostname="127.0.0.1", port=self.port)

    def __enter__(self) -> Mailbox:
        self.controller.start()
        return self

    def __exit__(self, *exc) -> None:
        self.controller.stop()

    @property
    def messages(self) -> list[EmailMessage]:
        return self.handler.messages

    def settings(self) -> dict:
        """The settings that send mail to this server (no TLS, no login)."""
        return {"smtp_host": "127.0.0.1", "smtp_port": self.port, "smtp_tls": "none",
                "mail_from": "Orientation <donnees@orientation.example.org>"}

"""E-mail through a real SMTP server: aiosmtpd on 127.0.0.1, messages read back as received."""

from __future__ import annotations

import pytest

from smtp_box import Mailbox
from orientation import mail
from orientation.settings import Settings, SettingsError


@pytest.fixture
def mailbox():
    with Mailbox() as box:
        yield box


def config(box: Mailbox, **changes) -> mail.MailSettings:
    return mail.MailSettings.from_settings(Settings.from_mapping({**box.settings(), **changes}))


def test_messages_reach_the_server_as_plain_utf8_text(mailbox):
    cfg = config(mailbox)
    msgs = [mail.message(cfg, to=f"contact{i}@asbl.example.org", subject="Vos données à vérifier",
                         text=f"Bonjour,\nvoici le lien n° {i} : https://x.example/verify/abc\n"
                              "Merci — l'équipe d'Orientation")
            for i in range(2)]
    assert mail.send(cfg, msgs) == 2
    received = mailbox.messages
    assert [m["To"] for m in received] == ["contact0@asbl.example.org", "contact1@asbl.example.org"]
    first = received[0]
    assert first["Subject"] == "Vos données à vérifier"
    assert first["From"] == "Orientation <donnees@orientation.example.org>"
    assert first["Auto-Submitted"] == "auto-generated"
    assert first.get_content_type() == "text/plain"
    assert "voici le lien n° 0 : https://x.example/verify/abc" in first.get_content()
    assert mailbox.handler.envelopes[1] == ("donnees@orientation.example.org",
                                            ["contact1@asbl.example.org"])


def test_no_server_configured_is_said_in_words():
    cfg = mail.MailSettings.from_settings(Settings.from_mapping(
        {"mail_from": "o@example.org"}))
    with pytest.raises(mail.MailError, match="smtp_host"):
        mail.send(cfg, [mail.message(cfg, to="a@example.org", subject="s", text="t")])


def test_unreachable_server_raises_mail_error_naming_what_was_sent():
    from smtp_box import free_port

    cfg = mail.MailSettings(host="127.0.0.1", port=free_port(), tls="none",
                            sender="o@example.org", timeout=5)
    with pytest.raises(mail.MailError, match="0 of 1 sent") as caught:
        mail.send(cfg, [mail.message(cfg, to="a@example.org", subject="s", text="t")])
    assert caught.value.sent == 0


def test_starttls_against_a_server_without_it_fails_cleanly(mailbox):
    cfg = config(mailbox, smtp_tls="starttls")
    with pytest.raises(mail.MailError):
        mail.send(cfg, [mail.message(cfg, to="a@example.org", subject="s", text="t")])
    assert mailbox.messages == []


def test_bad_address_and_bad_tls_setting_are_refused():
    cfg = mail.MailSettings(host="h", port=25, sender="o@example.org")
    with pytest.raises(mail.MailError, match="not an e-mail"):
        mail.message(cfg, to="pas une adresse", subject="s", text="t")
    with pytest.raises(SettingsError, match="smtp_tls"):
        Settings.from_mapping({"smtp_tls": "tls"})

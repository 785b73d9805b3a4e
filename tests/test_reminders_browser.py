"""The organisations' verification loop in Debian's Chromium: the link is read from the
e-mail a real SMTP server received, the form is filled in by clicking and typing, an editor
accepts the suggestion in the console; a reused link shows a plain refusal."""

from __future__ import annotations

import re

import pytest
from click.testing import CliRunner

from api.app import create_app
from conftest import LiveServer, _free_port, local_settings
from orientation import accounts, reminders, store, suggestions
from orientation.cli import cli
from smtp_box import Mailbox

pytestmark = pytest.mark.browser
PASSWORD = "correct horse battery"


def test_reminder_link_form_queue_accept_in_chromium(browser, db_path, tmp_path, index_dir,
                                                     screenshots):
    with Mailbox() as box:
        port = _free_port()
        url = f"http://127.0.0.1:{port}"
        env = {f"ORIENTATION_{k.upper()}": str(v) for k, v in box.settings().items()}
        result = CliRunner().invoke(cli, ["remind", "--db", str(db_path), "--stale-months", "1",
                                          "--public-url", url], env=env)
        assert result.exit_code == 0, result.output
        message = box.messages[0]
        link = re.search(r"http://\S+/verify/\S+", message.get_content()).group(0)
    db = store.connect(db_path)
    org_id = reminders.open_link(db, link.rsplit("/", 1)[1]).organization_id
    service = store.list_services(db, organization_id=org_id, status="active")[0]
    accounts.create_user(db, "eddy", PASSWORD, role="editor", organization_id=org_id,
                         display_name="Eddy", actor="test")
    db.close()
    app = create_app(db_path, index_dir, settings={**local_settings(tmp_path),
                                                   "public_url": url})
    with LiveServer(app, port):
        context = browser.new_context(viewport={"width": 1280, "height": 900}, locale="fr-BE")
        tab = context.new_page()
        tab.goto(link)
        field = tab.locator(f'[name="{reminders.field_name("service", service.id, "phone")}"]')
        field.fill("+32 2 555 98 76")
        tab.screenshot(path=str(screenshots / "verify-form.png"))
        tab.get_by_role("button", name="Envoyer mes corrections").click()
        tab.wait_for_load_state()
        tab.get_by_text("Vos changements seront vérifiés par notre équipe").wait_for()
        # The same link again: refused in plain words.
        tab.goto(link)
        tab.get_by_text("Il a déjà servi").wait_for()
        tab.screenshot(path=str(screenshots / "verify-used.png"))
        # The editor accepts the suggestion in the queue.
        tab.goto(f"{url}/staff/login")
        tab.get_by_label("Nom d'utilisateur").fill("eddy")
        tab.get_by_label("Mot de passe").fill(PASSWORD)
        tab.get_by_role("button", name="Se connecter").click()
        tab.goto(f"{url}/staff/queue")
        item = tab.locator("li.suggestion", has_text="+32 2 555 98 76")
        item.wait_for()
        tab.screenshot(path=str(screenshots / "staff-queue.png"), full_page=True)
        item.get_by_role("button", name="Accepter", exact=True).click()
        tab.get_by_text("Aucun changement en attente.").wait_for()
        context.close()
    db = store.connect(db_path)
    assert store.get_service(db, service.id).phones[0].number == "+32 2 555 98 76"
    assert [s.status for s in suggestions.pending(db, organization_id=org_id, status=None)] \
        == ["accepted"]
    assert any(a.actor == "Eddy (eddy)" and a.field == "phones"
               for a in store.history(db, "service", service.id))

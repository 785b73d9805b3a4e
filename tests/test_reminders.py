"""Organisations keep their records true: reminder e-mail (real SMTP server), signed link,
form, suggestion, editor's decision, audit trail and search; expired and reused links refused.
"""

from __future__ import annotations

import datetime as dt
import html
import re

import pytest
from click.testing import CliRunner
from litestar.testing import TestClient

from api.app import create_app
from conftest import local_settings
from orientation import accounts, reminders, store, suggestions
from orientation.cli import cli
from smtp_box import Mailbox

ORIGIN = {"Origin": "http://testserver.local"}
PASSWORD = "correct horse battery"


@pytest.fixture
def mailbox():
    with Mailbox() as box:
        yield box


def settings(tmp_path, box, **more):
    return {**local_settings(tmp_path), **box.settings(), "public_url": "http://testserver.local",
            **more}


def send_reminders(db_path, box, *extra) -> list[str]:
    """Run `orientation remind` like the daily timer; return the links of the e-mails."""
    env = {f"ORIENTATION_{k.upper()}": str(v) for k, v in box.settings().items()}
    result = CliRunner().invoke(cli, ["remind", "--db", str(db_path), "--stale-months", "1",
                                      "--public-url", "http://testserver.local", *extra],
                                env=env)
    assert result.exit_code == 0, result.output
    return [re.search(r"https?://\S+/verify/\S+", m.get_content()).group(0)
            for m in box.messages]


def test_remind_writes_each_due_organisation_once_in_its_language(db_path, mailbox):
    db = store.connect(db_path)
    org = store.list_organizations(db)[0]
    store.save(db, org.__class__(**{**{f: getattr(org, f) for f in org.__struct_fields__},
                                    "data_contact_lang": "nl"}), actor="test")
    due = reminders.due_organizations(db, default_months=1)
    db.close()
    links = send_reminders(db_path, mailbox)
    assert len(links) == len(due) > 0
    by_to = {m["To"]: m for m in mailbox.messages}
    assert by_to[org.data_contact_email]["Subject"] == "Orientation: kloppen uw gegevens nog?"
    body = by_to[org.data_contact_email].get_content()
    assert org.name in body
    # Only the organisation's name and the link: no search, no person, no commune.
    assert "@" not in body.replace(org.data_contact_email, "")
    # A second run the same day writes to nobody: every link is still waiting.
    assert send_reminders(db_path, mailbox) == links


def test_the_whole_loop_through_the_form_and_the_queue(db_path, tmp_path, index_dir, mailbox):
    url = send_reminders(db_path, mailbox)[0]
    token = url.rsplit("/", 1)[1]
    db = store.connect(db_path)
    org_id = reminders.open_link(db, token).organization_id
    editor_org = store.get_organization(db, org_id)
    accounts.create_user(db, "eddy", PASSWORD, role="editor", organization_id=org_id,
                         display_name="Eddy", actor="test")
    service = store.list_services(db, organization_id=org_id, status="active")[0]
    db.close()
    app = create_app(db_path, index_dir, settings=settings(tmp_path, mailbox))
    with TestClient(app) as client:
        page = client.get(f"/verify/{token}")
        assert page.status_code == 200
        assert editor_org.name in html.unescape(page.text)
        assert service.name in html.unescape(page.text)
        # The form as a browser would post it, with one phone changed.
        form = {}
        for rec in reminders.form(store.connect(db_path), org_id, default_months=1):
            for field, value in rec.values.items():
                name = reminders.field_name(rec.entity, rec.id, field)
                if value is True:
                    form[name] = "on"
                elif value is not False:
                    form[name] = "\n".join(value) if isinstance(value, list) else value
        form[reminders.field_name("service", service.id, "phone")] = "+32 2 555 12 34"
        form[reminders.field_name("service", service.id, "eligibility")] = \
            "Réservé aux xylophonistes du quartier"
        form["answer"] = "changes"
        done = client.post(f"/verify/{token}", data=form, headers=ORIGIN)
        assert done.status_code == 200, done.text
        assert "vérifiés par notre équipe" in done.text
        again = client.post(f"/verify/{token}", data=form, headers=ORIGIN)
        assert again.status_code == 410 and "déjà servi" in again.text
        assert client.get(f"/verify/{token}").status_code == 410
        # The editor sees the diff in the queue and accepts it.
        form_page = client.get("/staff/login")
        login_csrf = re.search(r'name="csrf" value="([^"]+)"', form_page.text).group(1)
        login = client.post("/staff/login", data={"username": "eddy", "password": PASSWORD,
                                                  "csrf": login_csrf, "next": "/staff"},
                            follow_redirects=False)
        assert login.status_code == 303, login.text
        queue = client.get("/staff/queue")
        assert "+32 2 555 12 34" in queue.text and service.name in html.unescape(queue.text)
        db = store.connect(db_path)
        pending = suggestions.pending(db, organization_id=org_id)
        assert sorted((s.entity_id, s.field, s.after) for s in pending) == [
            (service.id, "eligibility", "Réservé aux xylophonistes du quartier"),
            (service.id, "phone", "+32 2 555 12 34")]
        # Not searchable before an editor accepts it.
        assert not client.get("/api/v1/services", params={"q": "xylophonistes"}).json()["items"]
        csrf = re.search(r'name="csrf" value="([^"]+)"', queue.text).group(1)
        for suggestion in pending:
            decided = client.post(f"/staff/queue/suggestion/{suggestion.id}",
                                  data={"action": "accept", "csrf": csrf},
                                  follow_redirects=False)
            assert decided.status_code == 303, decided.text
        saved = store.get_service(db, service.id)
        assert saved.phones[0].number == "+32 2 555 12 34"
        trail = [(a.actor, a.field) for a in store.history(db, "service", service.id)]
        assert ("Eddy (eddy)", "phones") in trail and ("Eddy (eddy)", "access") in trail
        assert [a.after for a in store.history(db, "suggestion", pending[0].id)][-1] == \
            "accepted"
        assert suggestions.get(db, pending[0].id).status == "accepted"
        # The other records of the organisation were marked checked by its data contact.
        contact = store.list_contacts(db, organization_id=org_id)[0]
        assert contact.assured_by == reminders.data_contact(editor_org)
        assert contact.assured_date == dt.date.today()
        db.close()
        found = client.get("/api/v1/services", params={"q": "xylophonistes"}).json()["items"]
        assert [item["id"] for item in found] == [service.id]


def test_expired_altered_and_reused_links_are_refused_in_plain_words(db_path, tmp_path,
                                                                     index_dir, mailbox):
    db = store.connect(db_path)
    org = store.list_organizations(db)[0]
    old = reminders.new_link(db, org.id, days=14,
                             now=dt.datetime.now(dt.UTC) - dt.timedelta(days=15))
    fresh = reminders.new_link(db, org.id, days=14)
    db.close()
    app = create_app(db_path, index_dir, settings=settings(tmp_path, mailbox))
    with TestClient(app) as client:
        expired = client.get(f"/verify/{old}")
        assert expired.status_code == 410 and "délai est passé" in expired.text
        altered = client.get(f"/verify/{fresh[:-2]}xx")
        assert altered.status_code == 410 and "modifié" in altered.text
        ok = client.post(f"/verify/{fresh}", data={"answer": "all_correct"}, headers=ORIGIN)
        assert ok.status_code == 200 and "tout est toujours correct" in ok.text
        reused = client.post(f"/verify/{fresh}", data={"answer": "all_correct"},
                             headers=ORIGIN)
        assert reused.status_code == 410 and "déjà servi" in reused.text
    db = store.connect(db_path)
    links = store.link_rows(db, org.id)
    # Only hashes are stored, never the token.
    assert all(fresh not in str(row.values()) for row in links)
    assert [r["answer"] for r in links] == [None, "confirmed"]


def test_trusted_organisations_changes_apply_at_once(db_path):
    db = store.connect(db_path)
    org = store.list_organizations(db)[0]
    import msgspec
    store.save(db, msgspec.structs.replace(org, trusted=True), actor="admin")
    service = store.list_services(db, organization_id=org.id, status="active")[0]
    token = reminders.new_link(db, org.id, days=14)
    posted = {reminders.field_name("service", service.id, "eligibility"): "Habiter la commune"}
    result = reminders.answer(db, token, posted, all_correct=False)
    assert result.kind == "applied"
    assert store.get_service(db, service.id).access.eligibility == "Habiter la commune"
    assert [s.status for s in suggestions.pending(db, organization_id=org.id, status=None)
            if s.field == "eligibility"] == ["applied"]


def test_unanswered_reminders_escalate_and_freshness_counts(db_path):
    db = store.connect(db_path)
    org = store.list_organizations(db)[0]
    reminders.new_link(db, org.id, days=14,
                       now=dt.datetime.now(dt.UTC) - dt.timedelta(days=30))
    found = reminders.escalations(db, escalate_days=21)
    assert [(e.organization_id, e.days) for e in found] == [(org.id, 30)]
    rows = {f.organization_id: f for f in reminders.freshness(db, default_months=6)}
    assert 0 <= rows[org.id].percent <= 100 and rows[org.id].records > 0


def test_the_form_speaks_the_data_contacts_language(db_path, tmp_path, index_dir, mailbox):
    import msgspec

    db = store.connect(db_path)
    org = store.list_organizations(db)[0]
    store.save(db, msgspec.structs.replace(org, data_contact_lang="nl"), actor="admin")
    token = reminders.new_link(db, org.id, days=14)
    db.close()
    app = create_app(db_path, index_dir, settings=settings(tmp_path, mailbox))
    with TestClient(app) as client:
        page = client.get(f"/verify/{token}")
        assert page.status_code == 200
        assert '<html lang="nl"' in page.text and "Alles klopt nog" in page.text
        assert page.headers["cache-control"] == "no-store"

"""Organisations keep their own records true: reminders, signed links, answers, freshness.

Each organisation names a data contact (an e-mail address and a language). When one of its
records has not been checked within its period (a service's ``update_months``, else the
``stale_months`` setting), ``orientation remind`` (run daily by cron or a systemd timer) sends
the data contact an e-mail in their language with a link to a plain form of their services and
people, no account needed. "Tout est toujours correct" records the check (``assured_date``,
``assured_by`` and the audit trail name the data contact); changes become suggested edits for
the editors (:mod:`orientation.suggestions`), or apply at once for a trusted organisation.

The link is ``<id>.<expiry>.<nonce>.<signature>``: an HMAC-SHA256 of the rest with a key the
server generates and keeps (``app_secrets``), so a forged or altered link is refused before the
database is read. Only a SHA-256 of the whole token is stored, and a link works once and until
its expiry (``verify_link_days``). A reminder nobody answers for ``verify_escalate_days``
appears in the editors' queue, with the freshness of every organisation.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
import logging
import secrets
from typing import Any

import msgspec
from sqlite_utils import Database

from . import mail, store, suggestions, verification
from .errors import OrientationError
from .models import Organization, new_id

log = logging.getLogger("orientation.reminders")
LINK_KEY = "verify_link_key"


class LinkRefused(OrientationError):
    """A verification link that cannot be used: ``reason`` is invalid, expired or used."""

    code = "link-refused"
    status = 410

    def __init__(self, reason: str):
        self.reason = reason
        super().__init__(f"verification link {reason}")


def _now(at: dt.datetime | None) -> dt.datetime:
    return (at or dt.datetime.now(dt.UTC)).astimezone(dt.UTC)


def _iso(at: dt.datetime) -> str:
    return at.isoformat(timespec="seconds")


def _key(db: Database) -> bytes:
    return bytes.fromhex(store.app_secret(db, LINK_KEY, lambda: secrets.token_hex(32)))


def _signature(key: bytes, payload: str) -> str:
    digest = hmac.new(key, payload.encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).decode().rstrip("=")


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def new_link(db: Database, organization_id: str, *, days: int,
             now: dt.datetime | None = None) -> str:
    """A fresh single-use link token for an organisation, valid ``days`` days."""
    now = _now(now)
    expires = now + dt.timedelta(days=days)
    link_id = new_id()
    payload = f"{link_id}.{int(expires.timestamp())}.{secrets.token_urlsafe(16)}"
    token = f"{payload}.{_signature(_key(db), payload)}"
    store.insert_link(db, {"id": link_id, "organization_id": organization_id,
                           "token_hash": token_hash(token), "created_at": _iso(now),
                           "expires_at": _iso(expires), "used_at": None, "answer": None,
                           "escalated": 0})
    return token


class Link(msgspec.Struct, kw_only=True):
    id: str
    organization_id: str
    created_at: dt.datetime
    expires_at: dt.datetime


def open_link(db: Database, token: str, *, now: dt.datetime | None = None) -> Link:
    """The link a token stands for, or :class:`LinkRefused` saying why not."""
    payload, _, signature = (token or "").rpartition(".")
    parts = payload.split(".")
    if len(parts) != 3 or not hmac.compare_digest(signature, _signature(_key(db), payload)):
        raise LinkRefused("invalid")
    try:
        expires = int(parts[1])
    except ValueError:
        raise LinkRefused("invalid") from None
    if _now(now).timestamp() > expires:
        raise LinkRefused("expired")
    row = store.link_by_hash(db, token_hash(token))
    if row is None or row["id"] != parts[0]:
        raise LinkRefused("invalid")
    if row["used_at"]:
        raise LinkRefused("used")
    return msgspec.convert(row, Link, strict=False)


# --- What is due ----------------------------------------------------------------------------


def period(record: Any, default_months: int) -> int:
    return getattr(record, "update_months", None) or default_months


def records_of(db: Database, organization_id: str) -> list[tuple[str, Any]]:
    """An organisation's active services and people, as (entity, record)."""
    return ([("service", s) for s in store.list_services(db, organization_id=organization_id,
                                                         status="active")]
            + [("contact", c) for c in store.list_contacts(db, organization_id=organization_id)
               if c.status == "active"])


def is_due(record: Any, default_months: int, today: dt.date) -> bool:
    return verification.is_stale(record, period(record, default_months), today)


def _live_link(db: Database, organization_id: str, now: dt.datetime) -> bool:
    return any(not r["used_at"] and dt.datetime.fromisoformat(r["expires_at"]) > now
               for r in store.link_rows(db, organization_id))


def due_organizations(db: Database, *, default_months: int,
                      now: dt.datetime | None = None) -> list[Organization]:
    """Active organisations with a data contact, a record past its period and no link still
    waiting for an answer (one reminder at a time: a new one once the last has expired)."""
    now = _now(now)
    today = now.date()
    return [org for org in store.list_organizations(db)
            if org.status == "active" and org.data_contact_email
            and any(is_due(r, default_months, today) for _, r in records_of(db, org.id))
            and not _live_link(db, org.id, now)]


# --- The e-mail -----------------------------------------------------------------------------

#: The reminder in each language of the data contact: subject, then the body. It names the
#: organisation and carries the link, nothing else (no one's searches, no person's data).
TEXTS = {
    "fr": ("Orientation : vos informations sont-elles toujours correctes ?",
           "Bonjour,\n\n"
           "Orientation aide les personnes à trouver le bon service social à Bruxelles et en "
           "Brabant wallon. Nous montrons les informations de « {org} ».\n\n"
           "Pouvez-vous vérifier qu'elles sont toujours correctes ? Cela prend 5 minutes. "
           "Ouvrez ce lien :\n\n{url}\n\n"
           "Vous verrez vos services, vos horaires, qui peut venir et les personnes à "
           "contacter. Si tout est juste, cliquez sur « Tout est toujours correct ». "
           "Sinon, corrigez ce qui a changé.\n\n"
           "Ce lien marche une seule fois, jusqu'au {until}. Vous n'avez pas besoin de compte.\n\n"
           "Merci,\nl'équipe d'Orientation\n"),
    "nl": ("Orientation: kloppen uw gegevens nog?",
           "Goeiedag,\n\n"
           "Orientation helpt mensen de juiste sociale dienst te vinden in Brussel en "
           "Waals-Brabant. Wij tonen de gegevens van \"{org}\".\n\n"
           "Kunt u nagaan of ze nog kloppen? Het duurt 5 minuten. Open deze link:\n\n{url}\n\n"
           "U ziet uw diensten, uw openingsuren, wie mag komen en de contactpersonen. "
           "Klopt alles, klik dan op \"Alles klopt nog\". Zo niet, verbeter wat veranderd is.\n\n"
           "Deze link werkt één keer, tot {until}. U hebt geen account nodig.\n\n"
           "Dank u,\nhet team van Orientation\n"),
    "en": ("Orientation: is your information still correct?",
           "Hello,\n\n"
           "Orientation helps people find the right social service in Brussels and Walloon "
           "Brabant. We show the information of \"{org}\".\n\n"
           "Could you check that it is still correct? It takes 5 minutes. Open this link:\n\n"
           "{url}\n\n"
           "You will see your services, your opening hours, who can come and the people to "
           "contact. If everything is right, click \"Everything is still correct\". "
           "Otherwise, correct what has changed.\n\n"
           "This link works once, until {until}. You do not need an account.\n\n"
           "Thank you,\nthe Orientation team\n"),
    "ar": ("Orientation: هل معلوماتكم ما زالت صحيحة؟",
           "مرحبًا،\n\n"
           "يساعد Orientation الناس على إيجاد الخدمة الاجتماعية المناسبة في بروكسل وبرابانت "
           "الوالونية. نعرض معلومات «{org}».\n\n"
           "هل يمكنكم التحقق من أنها ما زالت صحيحة؟ يستغرق ذلك 5 دقائق. افتحوا هذا الرابط:\n\n"
           "{url}\n\n"
           "سترون خدماتكم ومواعيدكم ومن يمكنه الحضور والأشخاص الذين يمكن الاتصال بهم. "
           "إذا كان كل شيء صحيحًا، انقروا على «كل شيء ما زال صحيحًا». وإلا، صحّحوا ما تغيّر.\n\n"
           "يعمل هذا الرابط مرة واحدة، حتى {until}. لا تحتاجون إلى حساب.\n\n"
           "شكرًا،\nفريق Orientation\n"),
}


def reminder(config: mail.MailSettings, org: Organization, url: str, until: dt.date):
    """The reminder e-mail of one organisation, in its data contact's language."""
    subject, body = TEXTS.get(org.data_contact_lang, TEXTS["fr"])
    return mail.message(config, to=org.data_contact_email, subject=subject,
                        text=body.format(org=org.name, url=url, until=until.isoformat()),
                        lang=org.data_contact_lang)


def link_url(base_url: str, token: str) -> str:
    return f"{base_url.rstrip('/')}/verify/{token}"


class Sent(msgspec.Struct, kw_only=True):
    organization_id: str
    name: str
    to: str


def remind(db: Database, config: mail.MailSettings, *, base_url: str, link_days: int,
           default_months: int, now: dt.datetime | None = None,
           dry_run: bool = False) -> list[Sent]:
    """E-mail every due organisation a fresh link; returns who was written to.

    One message per organisation, each sent before the next link is made: a link whose
    e-mail failed is deleted (nobody has it), and the error stops the run, so running again
    later writes only to those still due."""
    if not base_url:
        raise mail.MailError("no public address to put in the links: set public_url")
    now = _now(now)
    sent = []
    for org in due_organizations(db, default_months=default_months, now=now):
        if dry_run:
            sent.append(Sent(organization_id=org.id, name=org.name, to=org.data_contact_email))
            continue
        token = new_link(db, org.id, days=link_days, now=now)
        link_id = token.split(".", 1)[0]
        try:
            msg = reminder(config, org, link_url(base_url, token),
                           (now + dt.timedelta(days=link_days)).date())
            mail.send(config, [msg])
        except mail.MailError:
            store.delete_link(db, link_id)
            raise
        sent.append(Sent(organization_id=org.id, name=org.name, to=org.data_contact_email))
    return sent


# --- The organisation's answer --------------------------------------------------------------


class FormRecord(msgspec.Struct, kw_only=True):
    entity: str
    id: str
    name: str
    values: dict[str, Any]
    due: bool


def form(db: Database, organization_id: str, *, default_months: int,
         today: dt.date | None = None) -> list[FormRecord]:
    """What the organisation's form shows: each active service and person, with the value of
    every field it may change, records past their period first."""
    today = today or dt.date.today()
    rows = [FormRecord(entity=entity, id=record.id, name=record.name,
                       values={f: suggestions.read(record, entity, f)
                               for f in suggestions.fields_of(entity)},
                       due=is_due(record, default_months, today))
            for entity, record in records_of(db, organization_id)]
    return sorted(rows, key=lambda r: (r.entity != "service", r.name.casefold()))


def field_name(entity: str, record_id: str, field: str) -> str:
    """The form input of one field of one record."""
    return f"{entity}.{record_id}.{field}"


class Answer(msgspec.Struct, kw_only=True):
    kind: str  # "confirmed" | "suggested" | "applied"
    confirmed: int = 0  # records marked checked
    changes: int = 0  # fields suggested (or applied, for a trusted organisation)


def data_contact(org: Organization) -> str:
    """How the audit trail and "vérifié par" name someone answering from the link."""
    return f"{org.data_contact_email} (contact données, lien e-mail)"


def answer(db: Database, token: str, posted: dict[str, Any], *, all_correct: bool,
           now: dt.datetime | None = None) -> Answer:
    """Record an organisation's answer to its link (which then no longer works).

    ``all_correct``: every active record is marked checked today. Otherwise each changed field
    becomes a suggestion (applied at once for a trusted organisation: a change a rule refuses
    waits as a suggestion instead), and the records without changes are marked checked."""
    now = _now(now)
    link = open_link(db, token, now=now)
    org = store.get_organization(db, link.organization_id)
    actor = data_contact(org)
    found: list[tuple[str, Any, list]] = []
    if not all_correct:
        for entity, record in records_of(db, org.id):
            values = {f: posted.get(field_name(entity, record.id, f))
                      for f in suggestions.fields_of(entity)}
            if all(v is None for v in values.values()):
                continue  # not in the form (added since it was opened): left as it is
            found.append((entity, record, suggestions.changes(record, entity, values)))
    kind = "confirmed" if not any(c for _, _, c in found) else \
        "applied" if org.trusted else "suggested"
    # Used first: two answers sent at once cannot both be taken.
    if not store.use_link(db, link.id, answer=kind, at=_iso(now)):
        raise LinkRefused("used")
    result = Answer(kind=kind)
    changed = {record.id for _, record, c in found if c}
    rows = []
    for entity, record, fields in found:
        for field, before, after in fields:
            status = "open"
            if org.trusted and suggestions.kind(entity, field) != "note":
                try:
                    current = store.get(db, entity, record.id)
                    store.save(db, suggestions.apply(current, entity, field, after),
                               actor=actor)
                    status = "applied"
                except OrientationError as exc:
                    log.info("trusted change of %s %s.%s waits for an editor: %s",
                             entity, record.id, field, exc)
            rows.append(suggestions.row(org.id, entity, record.id, field, before, after,
                                        source="organization", status=status,
                                        link_id=link.id, at=_iso(now)))
    if rows:
        store.insert_suggestions(db, rows, actor=actor)
    result.changes = len(rows)
    for entity, record in records_of(db, org.id):
        if record.id in changed:
            continue
        try:
            store.mark_verified(db, entity, record.id, actor=actor, day=now.date())
            result.confirmed += 1
        except OrientationError as exc:
            # A record another rule now refuses (a pathway whose contact is away) stays as
            # it is: the editors see it in their checks, the answer is still recorded.
            log.info("could not mark %s %s checked: %s", entity, record.id, exc)
    return result


# --- What the editors see -------------------------------------------------------------------


class Escalation(msgspec.Struct, kw_only=True):
    organization_id: str
    name: str
    to: str | None
    sent_at: dt.datetime
    days: int


def escalations(db: Database, *, escalate_days: int, organization_id: str | None = None,
                now: dt.datetime | None = None) -> list[Escalation]:
    """Organisations whose first reminder since their last answer has waited more than
    ``escalate_days`` days: an editor should call them."""
    now = _now(now)
    waiting: dict[str, dict] = {}
    for row in store.link_rows(db, organization_id):
        if row["used_at"]:
            waiting.pop(row["organization_id"], None)
        else:
            waiting.setdefault(row["organization_id"], row)
    found = []
    for org_id, row in waiting.items():
        sent = dt.datetime.fromisoformat(row["created_at"])
        days = (now - sent).days
        if days >= escalate_days:
            org = store.get_organization(db, org_id)
            found.append(Escalation(organization_id=org_id, name=org.name,
                                    to=org.data_contact_email, sent_at=sent, days=days))
    return sorted(found, key=lambda e: e.sent_at)


class Freshness(msgspec.Struct, kw_only=True):
    organization_id: str
    name: str
    records: int
    verified: int
    data_contact_email: str | None
    data_contact_lang: str
    trusted: bool

    @property
    def percent(self) -> int:
        return round(100 * self.verified / self.records) if self.records else 100


def freshness(db: Database, *, default_months: int, organization_id: str | None = None,
              today: dt.date | None = None) -> list[Freshness]:
    """Per organisation: how many of its active records were checked within their period,
    least fresh first."""
    today = today or dt.date.today()
    orgs = [store.get_organization(db, organization_id)] if organization_id else \
        store.list_organizations(db)
    rows = []
    for org in orgs:
        records = [r for _, r in records_of(db, org.id)]
        rows.append(Freshness(
            organization_id=org.id, name=org.name, records=len(records),
            verified=sum(not is_due(r, default_months, today) for r in records),
            data_contact_email=org.data_contact_email,
            data_contact_lang=org.data_contact_lang, trusted=org.trusted))
    return sorted(rows, key=lambda f: (f.percent, f.name.casefold()))

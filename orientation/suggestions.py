"""Suggested edits: one field of one record, its value now and the value someone proposes.

An organisation answering its reminder (``orientation.reminders``) does not edit records: what
it changes becomes suggestions that wait in the editors' queue, where an editor accepts
(possibly after editing the value), or rejects each one. Only an organisation an admin marks
as trusted has its changes applied at once. Either way the record is saved through the normal
path (``store.save``: field rules, pathway checks, audit rows).

The fields an organisation can change are the ones that go stale and turn a referral into a
dead end: phone, e-mail, website, who can come (walk-in, appointment, referral), documents to
bring, conditions, "this service no longer exists", and for a person their phone, e-mail and
role. Opening hours are told in words: schedules have too many parts for a plain form, so a
changed hours text is a note for the editor, who edits the schedule rows themselves.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

import msgspec
from sqlite_utils import Database

from . import hours, store
from .access import Caller, check_change
from .errors import InvalidData, NotFound, OrientationError
from .models import Contact, Phone, Service, new_id

#: Where a suggestion comes from.
SOURCES = ("organization", "kiosk", "staff")
STATUSES = ("open", "accepted", "rejected", "applied")


def _first_public_phone(record: Any) -> str:
    return next((p.number for p in record.phones if p.visibility == "public"), "")


def _set_phone(record: Any, number: str) -> Any:
    phones = list(record.phones)
    for i, phone in enumerate(phones):
        if phone.visibility == "public":
            if number:
                phones[i] = msgspec.structs.replace(phone, number=number)
            else:
                del phones[i]
            return msgspec.structs.replace(record, phones=phones)
    if number:
        phones.insert(0, Phone(number=number))
    return msgspec.structs.replace(record, phones=phones)


def _access(name: str) -> tuple[Callable, Callable]:
    return (lambda s: getattr(s.access, name),
            lambda s, v: msgspec.structs.replace(
                s, access=msgspec.structs.replace(s.access, **{name: v})))


def _plain(name: str) -> tuple[Callable, Callable]:
    return (lambda r: getattr(r, name) or "",
            lambda r, v: msgspec.structs.replace(r, **{name: v or None}))


#: (entity, field) -> (kind, read, write). kind says how the form shows it: "text", "lines",
#: "bool", "note" (told to an editor, never applied by the machine).
FIELDS: dict[tuple[str, str], tuple[str, Callable, Callable | None]] = {
    ("service", "phone"): ("text", _first_public_phone, _set_phone),
    ("service", "email"): ("text", *_plain("email")),
    ("service", "url"): ("text", *_plain("url")),
    ("service", "walk_in"): ("bool", *_access("walk_in")),
    ("service", "appointment"): ("bool", *_access("appointment")),
    ("service", "referral"): ("bool", *_access("referral")),
    ("service", "documents"): ("lines", lambda s: list(s.access.documents),
                               lambda s, v: msgspec.structs.replace(
                                   s, access=msgspec.structs.replace(s.access, documents=v))),
    ("service", "eligibility"): ("text", lambda s: s.access.eligibility or "",
                                 lambda s, v: msgspec.structs.replace(
                                     s, access=msgspec.structs.replace(s.access,
                                                                       eligibility=v or None))),
    ("service", "hours"): ("note", lambda s: " ".join(hours.describe(s.schedules)), None),
    ("service", "closed"): ("bool", lambda s: s.status == "inactive",
                            lambda s, v: msgspec.structs.replace(
                                s, status="inactive" if v else "active")),
    ("contact", "phone"): ("text", _first_public_phone, _set_phone),
    ("contact", "email"): ("text", *_plain("email")),
    ("contact", "role"): ("text", lambda c: c.role, lambda c, v: msgspec.structs.replace(
        c, role=v or c.role)),
}


def fields_of(entity: str) -> list[str]:
    return [field for (e, field) in FIELDS if e == entity]


def kind(entity: str, field: str) -> str:
    return FIELDS[(entity, field)][0]


def read(record: msgspec.Struct, entity: str, field: str) -> Any:
    """The value of an editable field as the form shows it."""
    return FIELDS[(entity, field)][1](record)


def parse(entity: str, field: str, raw: Any) -> Any:
    """A posted form value as the field's value: text trimmed, lines split, a checkbox on."""
    form_kind = kind(entity, field)
    if form_kind == "bool":
        return raw in ("on", "1", "true", True)
    text = " ".join(raw.split()) if isinstance(raw, str) and form_kind != "lines" else raw
    if form_kind == "lines":
        lines = raw.splitlines() if isinstance(raw, str) else list(raw or ())
        return [" ".join(line.split()) for line in lines if line.strip()]
    return (text or "").strip()


def apply(record: msgspec.Struct, entity: str, field: str, value: Any) -> msgspec.Struct:
    """The record with one field changed (InvalidData for a note-only field)."""
    write = FIELDS[(entity, field)][2]
    if write is None:
        raise InvalidData(f"{field} is changed by an editor, not applied", field=field)
    return write(record, value)


def changes(record: msgspec.Struct, entity: str, form: dict[str, Any]) -> list[tuple[str, Any, Any]]:
    """(field, value now, value posted) for every field the form changed."""
    found = []
    for field in fields_of(entity):
        before = read(record, entity, field)
        after = parse(entity, field, form.get(field, False if kind(entity, field) == "bool"
                                              else ""))
        if after != before:
            found.append((field, before, after))
    return found


class Suggestion(msgspec.Struct, kw_only=True):
    id: str
    organization_id: str
    entity: str
    entity_id: str
    field: str
    before: Any = None
    after: Any = None
    source: str
    created_at: dt.datetime
    status: str
    closed_at: dt.datetime | None = None
    closed_by: str | None = None
    link_id: str | None = None
    record_name: str = ""

    @property
    def kind(self) -> str:
        return kind(self.entity, self.field)


def row(organization_id: str, entity: str, entity_id: str, field: str, before: Any,
        after: Any, *, source: str, status: str = "open", link_id: str | None = None,
        at: str) -> dict[str, Any]:
    return {"id": new_id(), "organization_id": organization_id, "entity": entity,
            "entity_id": entity_id, "field": field, "before": before, "after": after,
            "source": source, "link_id": link_id, "created_at": at, "status": status,
            "closed_at": None, "closed_by": None}


def _name(db: Database, entity: str, entity_id: str) -> str:
    try:
        return store.get(db, entity, entity_id).name
    except NotFound:
        return "?"


def _convert(db: Database, data: dict[str, Any]) -> Suggestion:
    return msgspec.convert({**{k: v for k, v in data.items() if v is not None},
                            "before": data["before"], "after": data["after"],
                            "record_name": _name(db, data["entity"], data["entity_id"])},
                           Suggestion, strict=False)


def pending(db: Database, *, organization_id: str | None = None,
            status: str | None = "open") -> list[Suggestion]:
    """The suggestions of one organisation (all: None), oldest first."""
    return [_convert(db, r) for r in store.list_suggestions(
        db, organization_id=organization_id, status=status)]


def get(db: Database, suggestion_id: str) -> Suggestion:
    return _convert(db, store.get_suggestion(db, suggestion_id))


class AlreadyDecided(OrientationError):
    code = "already-decided"
    status = 409


def decide(db: Database, caller: Caller, suggestion_id: str, *, accept: bool,
           value: Any = None) -> Suggestion:
    """Accept (with the proposed value, or ``value`` as the editor changed it) or reject a
    suggestion. Accepting saves the record through ``store.save`` as the editor (the audit
    trail shows their name on the field), then closes the suggestion; a note-only field is
    closed as accepted once the editor has changed the record themselves."""
    found = get(db, suggestion_id)
    if found.status != "open":
        raise AlreadyDecided(f"suggestion {suggestion_id!r} is already {found.status}")
    record = store.get(db, found.entity, found.entity_id)
    check_change(db, caller, record, record)  # their own organisation's records only
    applied = None
    # One transaction: the record saved and the suggestion closed together, or neither (a
    # record that breaks a rule, another editor deciding first).
    with store.transaction(db):
        if accept and found.kind != "note":
            applied = found.after if value is None else value
            after = apply(record, found.entity, found.field, applied)
            check_change(db, caller, record, after)
            store.save(db, after, actor=caller.actor)
        if not store.close_suggestion(db, suggestion_id,
                                      status="accepted" if accept else "rejected",
                                      by=caller.actor,
                                      after=applied if value is not None else None):
            raise AlreadyDecided(f"suggestion {suggestion_id!r} was decided by someone else")
    return get(db, suggestion_id)


def entity_of(record: msgspec.Struct) -> str:
    return "service" if isinstance(record, Service) else "contact" \
        if isinstance(record, Contact) else type(record).__name__.lower()

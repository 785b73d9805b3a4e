"""Keeping the directory true: "vérifié le … par …" and the queue of records to check again.

A service or a contact is *stale* when no human has confirmed it for ``stale_months`` months
(the setting), or never. Editors see their organisation's stale records in a queue and confirm
one with a single click ("toujours correct"), which saves the record through the normal path:
the audit trail then says who checked and when. Staff see a stale flag in search results, so a
worker knows to double-check before sending someone.

A pathway, a service or an organisation (its description, its contacts' roles, its places'
directions) whose texts are not all translated into a kiosk language is *à traduire* in that
language: the kiosk shows the French meanwhile (marked as French), and the queue lists it.
"""

from __future__ import annotations

import datetime as dt

import msgspec
from sqlite_utils import Database

from . import store, translations
from .access import organizations_of


class StaleRecord(msgspec.Struct, kw_only=True):
    entity: str  # "service" | "contact"
    id: str
    name: str
    organization_id: str
    assured_date: dt.date | None = None
    assured_by: str | None = None


def cutoff(months: int, today: dt.date | None = None) -> dt.date:
    """The day before which a verification is too old (same day of month, ``months`` back)."""
    today = today or dt.date.today()
    month = today.month - 1 - int(months)
    year, month = today.year + month // 12, month % 12 + 1
    # 31 March minus one month is the last day of February.
    for day in range(today.day, 0, -1):
        try:
            return dt.date(year, month, day)
        except ValueError:
            continue
    raise AssertionError("unreachable")


def is_stale(record: msgspec.Struct, months: int, today: dt.date | None = None) -> bool:
    assured = getattr(record, "assured_date", None)
    return assured is None or assured < cutoff(months, today)


def queue(db: Database, *, months: int, organization_id: str | None = None,
          today: dt.date | None = None) -> list[StaleRecord]:
    """Stale active services and contacts (of one organisation, or all), oldest first."""
    rows = store.stale_records(db, before=cutoff(months, today),
                               organization_id=organization_id)
    return [msgspec.convert({k: v for k, v in r.items() if v is not None}, StaleRecord,
                            strict=False) for r in rows]


def confirm(db: Database, entity: str, entity_id: str, *, actor: str,
            today: dt.date | None = None) -> msgspec.Struct:
    """"Toujours correct": set assured_date/assured_by, written to the audit trail."""
    return store.mark_verified(db, entity, entity_id, actor=actor,
                               day=today or dt.date.today())


class ToTranslate(msgspec.Struct, kw_only=True):
    """A pathway, service or organisation with texts left to translate into ``lang``: "à
    traduire"."""

    entity: str = "pathway"  # "pathway" | "service" | "organization"
    id: str
    name: str
    lang: str
    missing: int  # fields left to translate
    total: int  # fields to translate
    fields: list[str]  # which: "need", "step 2 action", "step 1 bring 3"…


def to_translate(db: Database, *, organization_id: str | None = None) -> list[ToTranslate]:
    """Active pathways (those that send people to one of the organisation's services, or all),
    then active services and organisations (the organisation's own, or all), with texts still
    in French only: one row per record and language, most missing first within each kind."""
    rows = []
    for pathway in store.list_pathways(db, status="active"):
        if organization_id is not None and organization_id not in organizations_of(db, pathway):
            continue
        for lang in translations.TARGETS:
            fields = translations.pathway_fields(pathway, lang)
            missing = translations.missing(fields)
            if missing:
                rows.append(ToTranslate(id=pathway.id, name=pathway.need, lang=lang,
                                        missing=len(missing), total=len(fields),
                                        fields=missing))
    others = [("service", service.id, service.name, service, translations.service_fields)
              for service in store.list_services(db, organization_id=organization_id,
                                                 status="active")]
    others += [("organization", item.organization.id, item.organization.name, item,
                translations.people_fields)
               for item in translations.organizations_with_people(db, organization_id)]
    for entity, record_id, name, record, fields_of in others:
        for lang in translations.TARGETS:
            fields = fields_of(record, lang)
            missing = translations.missing(fields)
            if missing:
                rows.append(ToTranslate(entity=entity, id=record_id, name=name, lang=lang,
                                        missing=len(missing), total=len(fields),
                                        fields=missing))
    order = {"pathway": 0, "service": 1, "organization": 2}
    return sorted(rows, key=lambda r: (order[r.entity], -r.missing / r.total, r.name, r.lang))

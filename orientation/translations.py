"""What is translated and what is not: every text a person reads, per language.

French is the source. A pathway's need, summary and each step's action, what to bring (item by
item) and fallback; a need's label and description; a service's name, description, access
texts and digital note; an organisation's description, its contacts' roles and its places'
transport lines and accessibility details: each is one *field to translate* per language. A field with no translation is shown in
French, marked as French, and listed here, so the verification queue can say "à traduire" and
``orientation check`` can print the coverage.
"""

from __future__ import annotations

import msgspec
from sqlite_utils import Database

from . import store
from .models import (
    LANGUAGES,
    SERVICE_TEXTS,
    Contact,
    Location,
    Organization,
    Pathway,
    Service,
    TaxonomyTerm,
)

#: The languages content is translated into (French is the source).
TARGETS = tuple(lang for lang in LANGUAGES if lang != "fr")


def pathway_fields(pathway: Pathway, lang: str) -> list[tuple[str, bool]]:
    """Every field of ``pathway`` that has French text, and whether ``lang`` has it."""
    translated = pathway.translations.get(lang)
    fields = [(name, bool(getattr(translated, name, None)))
              for name in ("need", "summary") if getattr(pathway, name)]
    steps = translated.steps if translated and len(translated.steps) == len(pathway.steps) \
        else [None] * len(pathway.steps)
    for n, (step, done) in enumerate(zip(pathway.steps, steps), start=1):
        if step.action:
            fields.append((f"step {n} action", bool(done and done.action)))
        for i, _ in enumerate(step.bring, start=1):
            fields.append((f"step {n} bring {i}", bool(
                done and len(done.bring) == len(step.bring) and done.bring[i - 1])))
        if step.fallback:
            fields.append((f"step {n} fallback", bool(done and done.fallback)))
    return fields


def term_fields(term: TaxonomyTerm, lang: str) -> list[tuple[str, bool]]:
    fields = [("label", bool(term.labels.get(lang)))]
    if term.descriptions.get("fr"):
        fields.append(("description", bool(term.descriptions.get(lang))))
    return fields


def service_fields(service: Service, lang: str) -> list[tuple[str, bool]]:
    translated = service.translations.get(lang)
    fields = []
    for name in SERVICE_TEXTS:
        french, _ = service.texts(name, "fr")
        if french:
            fields.append((name, bool(getattr(translated, name, None))))
    for i, _ in enumerate(service.access.documents, start=1):
        fields.append((f"document {i}", bool(
            translated and len(translated.documents) == len(service.access.documents)
            and translated.documents[i - 1])))
    return fields


def organization_fields(organization: Organization, lang: str) -> list[tuple[str, bool]]:
    text, text_lang = organization.texts("description", lang)
    return [("description", text_lang == lang)] if text else []


def contact_fields(contact: Contact, lang: str) -> list[tuple[str, bool]]:
    text, text_lang = contact.texts("role", lang)
    return [(f"{contact.name}: role", text_lang == lang)] if text else []


def location_fields(location: Location, lang: str) -> list[tuple[str, bool]]:
    translated = location.translations.get(lang)
    done = translated.transport if translated and \
        len(translated.transport) == len(location.transport) else [None] * len(location.transport)
    fields = [(f"{location.name}: transport {i}", bool(line))
              for i, line in enumerate(done, start=1)]
    text, text_lang = location.texts("accessibility", lang)
    if text:
        fields.append((f"{location.name}: accessibility", text_lang == lang))
    return fields


class People(msgspec.Struct, kw_only=True):
    """An organisation with its active contacts and its places: what its translation file
    carries besides its services."""

    organization: Organization
    contacts: list[Contact]
    locations: list[Location]


def people_fields(item: People, lang: str) -> list[tuple[str, bool]]:
    return (organization_fields(item.organization, lang)
            + [f for c in item.contacts for f in contact_fields(c, lang)]
            + [f for loc in item.locations for f in location_fields(loc, lang)])


def organizations_with_people(db: Database, organization_id: str | None = None
                              ) -> list[People]:
    """Active organisations (or one) with their active contacts and their places."""
    contacts: dict[str, list[Contact]] = {}
    for contact in store.list_contacts(db, organization_id=organization_id, status="active"):
        contacts.setdefault(contact.organization_id, []).append(contact)
    locations: dict[str, list[Location]] = {}
    for location in store.list_locations(db, organization_id=organization_id):
        locations.setdefault(location.organization_id, []).append(location)
    return [People(organization=org, contacts=contacts.get(org.id, []),
                   locations=locations.get(org.id, []))
            for org in store.list_organizations(db, status="active")
            if organization_id is None or org.id == organization_id]


def missing(fields: list[tuple[str, bool]]) -> list[str]:
    return [name for name, done in fields if not done]


def untranslated(pathway: Pathway) -> dict[str, list[str]]:
    """The languages ``pathway`` still lacks something in, with the fields: "à traduire"."""
    found = {lang: missing(pathway_fields(pathway, lang)) for lang in TARGETS}
    return {lang: fields for lang, fields in found.items() if fields}


class Coverage(msgspec.Struct, kw_only=True):
    lang: str
    kind: str  # "pathways" | "needs" | "services" | "organizations"
    done: int
    total: int
    #: What is missing: "<record>: <field>, <field>", one line per record.
    missing: list[str] = []

    @property
    def percent(self) -> float:
        return 100.0 * self.done / self.total if self.total else 100.0


def _count(lang: str, kind: str, records: list, fields, label) -> Coverage:
    done = total = 0
    lines = []
    for record in records:
        found = fields(record, lang)
        total += len(found)
        done += sum(1 for _, ok in found if ok)
        if gaps := missing(found):
            lines.append(f"{label(record)}: {', '.join(gaps)}")
    return Coverage(lang=lang, kind=kind, done=done, total=total, missing=lines)


def coverage(db: Database, *, services: bool = False) -> list[Coverage]:
    """Fields translated over fields to translate, per language, for the active pathways and
    every need (and, if asked, the active services and the active organisations with their
    contacts and places): what ``orientation check`` prints."""
    pathways = store.list_pathways(db, status="active")
    terms = store.list_terms(db)
    if services:
        active = store.list_services(db, status="active")
        orgs = organizations_with_people(db)
    result = []
    for lang in TARGETS:
        result.append(_count(lang, "pathways", pathways, pathway_fields, lambda p: p.need))
        result.append(_count(lang, "needs", terms, term_fields, lambda t: t.code))
        if services:
            result.append(_count(lang, "services", active, service_fields, lambda s: s.name))
            result.append(_count(lang, "organizations", orgs, people_fields,
                                 lambda p: p.organization.name))
    return result


def report(items: list[Coverage]) -> list[str]:
    """"translations nl: pathways 312/312 (100 %), needs 86/86 (100 %)", one line a language."""
    lines = []
    for lang in dict.fromkeys(c.lang for c in items):
        parts = [f"{c.kind} {c.done}/{c.total} ({c.percent:.0f} %)"
                 for c in items if c.lang == lang]
        lines.append(f"translations {lang}: " + ", ".join(parts))
    return lines

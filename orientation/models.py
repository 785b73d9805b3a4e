"""The directory's domain model.

Names follow Open Referral HSDS 3.1 where HSDS has the concept (Organization, Service, Location,
ServiceAtLocation, Phone, Schedule, Contact, TaxonomyTerm) so that the HSDS profile is a thin
mapping. What HSDS lacks and the field reports ask for (access rules, the digital requirement,
named contacts with absences and substitutes, referral pathways) is modelled here explicitly.

Nested value objects (address, access rules, phones, schedules, absences) belong to their parent
and are saved with it; links between aggregates (a service's locations and contacts, a pathway's
steps) are plain ids, checked by the store.
"""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Annotated, Literal

import msgspec

#: uuid5 namespace for ids derived from readable seed slugs, so re-seeding never changes ids.
SLUG_NAMESPACE = uuid.UUID("6f1c8a52-3c1e-4f57-9a55-0b7e3e1f2a10")


def new_id() -> str:
    return str(uuid.uuid4())


def slug_id(kind: str, slug: str) -> str:
    """A stable UUID for a seed slug (the kind keeps slugs of different kinds apart)."""
    return str(uuid.uuid5(SLUG_NAMESPACE, f"{kind}:{slug}"))


Region = Literal["bruxelles", "brabant-wallon", "wallonie", "flandre", "belgique", "autre"]
Attending = Literal["walk_in", "appointment", "phone", "online"]
DigitalLevel = Literal["none", "optional", "required"]
Visibility = Literal["public", "staff"]
Status = Literal["active", "inactive"]
LANGUAGES = ("fr", "nl", "en", "ar")
#: Who may do what, shared by API keys and staff accounts: anonymous < staff < editor < admin.
#: staff reads staff-only lines; an editor writes their own organisation's records; admin all.
Role = Literal["staff", "editor", "admin"]
ROLES = ("staff", "editor", "admin")
#: What a pathway step can name instead of one service, resolved from the person's commune by
#: ``orientation.competence``: the CPAS of their commune, their region's employment office, the
#: legal aid office (BAJ) of their judicial district.
ReferralRole = Literal["cpas", "emploi", "baj"]
REFERRAL_ROLES = ("cpas", "emploi", "baj")
AreaKind = Literal["commune", "region", "country"]


class Base(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    pass


class Phone(Base, kw_only=True):
    id: str = msgspec.field(default_factory=new_id)
    number: str
    type: Literal["voice", "sms", "textphone", "fax"] = "voice"
    description: str | None = None
    # A staff-only line is never shown to the public (kiosk, anonymous API callers).
    visibility: Visibility = "public"
    # Whether a voicemail with a clear message exists: the field reports' "nobody at the end of
    # the line" is worse when a line just rings out.
    voicemail: bool = False
    free: bool = False
    languages: list[str] = []


class Address(Base, kw_only=True):
    street: str
    postal_code: str
    city: str
    region: Region = "bruxelles"
    country: str = "BE"


class Accessibility(Base, kw_only=True):
    step_free: bool = False
    hearing_loop: bool = False
    toilets: bool = False
    details: str | None = None


class Schedule(Base, kw_only=True):
    """One weekly opening row, like an HSDS schedule with freq=WEEKLY.

    Times are local (Europe/Brussels) wall-clock times, "HH:MM"; ``closes_at`` may be "24:00".
    """

    id: str = msgspec.field(default_factory=new_id)
    byday: str  # "MO,TU,WE"
    opens_at: str
    closes_at: str
    attending_type: Attending = "walk_in"
    location_id: str | None = None
    valid_from: dt.date | None = None
    valid_to: dt.date | None = None
    note: str | None = None


class Closure(Base, kw_only=True):
    """An exceptional closure (holiday weeks, training days), both dates included."""

    date_from: dt.date
    date_to: dt.date
    reason: str | None = None


class Absence(Base, kw_only=True):
    date_from: dt.date
    date_to: dt.date
    reason: str | None = None
    substitute_id: str | None = None


class TaxonomyTerm(Base, kw_only=True):
    id: str
    code: str
    parent_id: str | None = None
    labels: dict[str, str]
    descriptions: dict[str, str] = {}
    pictogram: str | None = None
    position: int = 0

    def label(self, lang: str = "fr") -> str:
        return self.labels.get(lang) or self.labels["fr"]


def _in(lang: str, french, translated):
    """A person-read text in ``lang`` when translated (and there is a French to translate),
    else the French, with the language it is written in."""
    if lang != "fr" and translated and french:
        return translated, lang
    return french, "fr"


class OrganizationTranslation(Base, kw_only=True):
    """An organisation's person-read text in one language (None: shown in French)."""

    description: str | None = None


class ContactTranslation(Base, kw_only=True):
    """A contact's role in one language; their name stays as written."""

    role: str | None = None


class LocationTranslation(Base, kw_only=True):
    """A place's directions in one language: ``transport`` follows the French list item by
    item (same count; stop names and line numbers kept), ``accessibility`` translates
    ``accessibility.details``. The place's name and address stay as written."""

    transport: list[str] = []
    accessibility: str | None = None


class Organization(Base, kw_only=True):
    id: str = msgspec.field(default_factory=new_id)
    name: str
    alternate_name: str | None = None
    kind: str = "autre"
    description: str
    website: str | None = None
    email: str | None = None
    phones: list[Phone] = []
    status: Status = "active"
    source_id: str | None = None
    #: the organisation number (BCE/KBO), HSDS organization_identifiers: finds duplicates
    company_number: str | None = None
    #: the organisation this one was merged into (orientation.duplicates); it is inactive
    merged_into: str | None = None
    # Who checks this organisation's records when reminded (orientation.reminders): an
    # e-mail address, the language the reminder is written in, and whether an admin lets
    # their changes apply at once instead of waiting in the editors' queue.
    data_contact_email: str | None = None
    data_contact_lang: Literal["fr", "nl", "en", "ar"] = "fr"
    trusted: bool = False
    translations: dict[str, OrganizationTranslation] = {}

    def texts(self, field: Literal["description"], lang: str = "fr") -> tuple[str | None, str]:
        translated = self.translations.get(lang)
        return _in(lang, getattr(self, field), getattr(translated, field, None))


class Location(Base, kw_only=True):
    id: str = msgspec.field(default_factory=new_id)
    organization_id: str
    name: str
    description: str | None = None
    address: Address | None = None
    latitude: float | None = None
    longitude: float | None = None
    transport: list[str] = []
    accessibility: Accessibility = msgspec.field(default_factory=Accessibility)
    # Confidential locations (a shelter) never show their address publicly, only the city.
    confidential: bool = False
    phones: list[Phone] = []
    source_id: str | None = None
    translations: dict[str, LocationTranslation] = {}

    def texts(self, field: Literal["accessibility"], lang: str = "fr") -> tuple[str | None, str]:
        """``accessibility.details`` in ``lang`` (or French), with its language."""
        translated = self.translations.get(lang)
        return _in(lang, self.accessibility.details, getattr(translated, field, None))

    def transport_in(self, lang: str = "fr") -> tuple[list[str], str]:
        """How to get there, translated when the translation has every line."""
        translated = self.translations.get(lang) if lang != "fr" else None
        if translated and len(translated.transport) == len(self.transport) \
                and all(translated.transport):
            return list(translated.transport), lang
        return list(self.transport), "fr"


class Contact(Base, kw_only=True):
    """A named human to ask for: the end of every referral."""

    id: str = msgspec.field(default_factory=new_id)
    organization_id: str
    civility: str | None = None
    given_name: str
    family_name: str
    role: str
    phones: list[Phone] = []
    email: str | None = None
    languages: list[str] = msgspec.field(default_factory=lambda: ["fr"])
    availability: list[Schedule] = []
    absences: list[Absence] = []
    status: Status = "active"
    assured_date: dt.date | None = None
    assured_by: str | None = None
    source_id: str | None = None
    translations: dict[str, ContactTranslation] = {}

    def texts(self, field: Literal["role"], lang: str = "fr") -> tuple[str | None, str]:
        translated = self.translations.get(lang)
        return _in(lang, getattr(self, field), getattr(translated, field, None))

    @property
    def name(self) -> str:
        return " ".join(p for p in (self.civility, self.given_name, self.family_name) if p)

    def public_phones(self) -> list[Phone]:
        return [p for p in self.phones if p.visibility == "public"]

    def absence_on(self, day: dt.date) -> Absence | None:
        return next((a for a in self.absences if a.date_from <= day <= a.date_to), None)


class Area(Base, kw_only=True):
    """Where a service is competent, an HSDS ``service_area``: a commune (its name as in
    ``orientation.communes``), a region ("bruxelles", "wallonie", "brabant-wallon",
    "flandre") or the whole country (``name`` is then "Belgique")."""

    kind: AreaKind
    name: str


class AccessRules(Base, kw_only=True):
    walk_in: bool = False
    appointment: bool = False
    referral: bool = False
    documents: list[str] = []
    cost_free: bool = True
    cost_description: str | None = None
    audience: str | None = None
    eligibility: str | None = None
    # Only for people who live (or, without a home address, stay) in the service's areas: a
    # CPAS, a regional employment office. Sending anyone else there is a wasted trip.
    residents_only: bool = False


class DigitalRequirement(Base, kw_only=True):
    """What digital means a person needs: the field reports show this is what excludes people."""

    level: DigitalLevel = "none"
    what: list[Literal["itsme", "eid-reader", "email", "smartphone", "app", "internet"]] = []
    note: str | None = None


class Translation(Base, kw_only=True):
    """A service's person-read texts in one language; None (or []) = not translated, the
    French is shown instead, marked as French. ``documents`` follows ``access.documents`` item
    by item (same count)."""

    name: str | None = None
    description: str | None = None
    audience: str | None = None
    eligibility: str | None = None
    cost_description: str | None = None
    documents: list[str] = []
    interpretation: str | None = None
    digital_note: str | None = None


#: The fields of a service a translation may carry, with where the French lives.
SERVICE_TEXTS = {"name": "name", "description": "description", "audience": "access.audience",
                 "eligibility": "access.eligibility",
                 "cost_description": "access.cost_description",
                 "interpretation": "interpretation", "digital_note": "digital.note"}


class Service(Base, kw_only=True):
    id: str = msgspec.field(default_factory=new_id)
    organization_id: str
    name: str
    alternate_name: str | None = None
    description: str
    url: str | None = None
    email: str | None = None
    phones: list[Phone] = []
    needs: list[str] = []  # taxonomy term ids
    keywords: list[str] = []
    location_ids: list[str] = []
    contact_ids: list[str] = []  # first = main contact
    languages: list[str] = msgspec.field(default_factory=lambda: ["fr"])
    interpretation: str | None = None
    access: AccessRules = msgspec.field(default_factory=AccessRules)
    digital: DigitalRequirement = msgspec.field(default_factory=DigitalRequirement)
    schedules: list[Schedule] = []
    closures: list[Closure] = []
    open_on_public_holidays: bool = False
    translations: dict[str, Translation] = {}
    # Where the service is competent (empty: not stated, anywhere); see orientation.competence.
    areas: list[Area] = []
    # The roles this service fills for its areas ("cpas" on a CPAS's general social desk):
    # declared by an editor, never guessed from a name or keyword.
    acts_as: list[ReferralRole] = []
    status: Status = "active"
    assured_date: dt.date | None = None
    assured_by: str | None = None
    source_id: str | None = None
    #: the service this one was merged into (orientation.duplicates); it is inactive
    merged_into: str | None = None
    # How often the organisation is asked to check this service, in months (1-16, as DORA
    # does); None: the ``stale_months`` setting.
    update_months: Annotated[int, msgspec.Meta(ge=1, le=16)] | None = None

    def text(self, field: Literal["name", "description"], lang: str = "fr") -> str:
        translated = self.translations.get(lang)
        value = getattr(translated, field, None) if translated else None
        return value or getattr(self, field)

    def texts(self, field: str, lang: str = "fr") -> tuple[str | None, str]:
        """A person-read text (a key of ``SERVICE_TEXTS``) and the language it is written in:
        the translation when there is one, else the French ("fr")."""
        french = self
        for part in SERVICE_TEXTS[field].split("."):
            french = getattr(french, part)
        translated = self.translations.get(lang) if lang != "fr" else None
        value = getattr(translated, field, None) if translated else None
        return (value, lang) if value and french else (french, "fr")

    def documents(self, lang: str = "fr") -> tuple[list[str], str]:
        """What to bring, translated item by item when the translation has every item."""
        translated = self.translations.get(lang) if lang != "fr" else None
        if translated and len(translated.documents) == len(self.access.documents) \
                and all(translated.documents):
            return list(translated.documents), lang
        return list(self.access.documents), "fr"


class PathwayStep(Base, kw_only=True):
    # With a role, ``service_id`` (and its location and contact) is the default, shown when the
    # person's commune is unknown; otherwise the role's competent service takes its place.
    service_id: str
    role: ReferralRole | None = None
    location_id: str | None = None
    contact_id: str
    action: str
    bring: list[str] = []
    fallback: str | None = None


class StepTranslation(Base, kw_only=True):
    """One step's texts in one language; ``bring`` follows the French list item by item."""

    action: str | None = None
    bring: list[str] = []
    fallback: str | None = None


class PathwayTranslation(Base, kw_only=True):
    """A pathway's texts in one language. ``steps`` is empty (no step translated) or follows
    the French steps one by one, in the same order (checked on every write)."""

    need: str | None = None
    summary: str | None = None
    steps: list[StepTranslation] = []


class Pathway(Base, kw_only=True):
    """A need in plain words, then ordered steps that end with a named human contact."""

    id: str = msgspec.field(default_factory=new_id)
    need: str
    summary: str | None = None
    themes: list[str] = []  # taxonomy term ids
    region: Literal["bruxelles", "brabant-wallon", "both"] = "both"
    # The communes the pathway is for, when not all of its region's: every role of its steps
    # must resolve for each of them (orientation.competence.covered_communes).
    communes: list[str] = []
    steps: list[PathwayStep]
    translations: dict[str, PathwayTranslation] = {}
    status: Status = "active"

    def text(self, field: Literal["need", "summary"], lang: str = "fr") -> str | None:
        translated = self.translations.get(lang)
        value = getattr(translated, field, None) if translated else None
        return value or getattr(self, field)

    def texts(self, field: Literal["need", "summary"], lang: str = "fr") -> tuple[str | None, str]:
        """The text and the language it is written in (the French, "fr", when untranslated)."""
        translated = self.translations.get(lang) if lang != "fr" else None
        value = getattr(translated, field, None) if translated else None
        return (value, lang) if value else (getattr(self, field), "fr")

    def step_translations(self, lang: str) -> list[StepTranslation | None]:
        """One entry per step: its translation into ``lang``, or None."""
        translated = self.translations.get(lang) if lang != "fr" else None
        if not translated or len(translated.steps) != len(self.steps):
            return [None] * len(self.steps)
        return list(translated.steps)


class AuditEntry(Base, kw_only=True):
    id: int
    at: dt.datetime
    actor: str
    action: Literal["create", "update", "delete"]
    entity: str
    entity_id: str
    field: str
    before: object = None
    after: object = None


class ApiKey(msgspec.Struct, kw_only=True):
    """An API key as stored and listed; its secret is never kept, only a hash of it (the key
    policy, how secrets are made and hashed, is ``orientation.access``)."""

    id: str
    name: str  # the owner, recorded as the actor of every write made with the key
    role: Role
    organization_id: str | None = None
    prefix: str  # the first characters of the secret, to tell keys apart in listings
    created_at: dt.datetime
    revoked_at: dt.datetime | None = None

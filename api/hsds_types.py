"""Response types of the /hsds API: the HSDS 3.1 shapes ``orientation.hsds`` builds, with the
``be_*`` fields of our profile, for the OpenAPI document (and a client generated from it).

They describe; they do not build. The handlers return the dicts of ``orientation.hsds``
as they are (converting every answer into these Structs and back would cost time on the
busiest listing for no change in the bytes sent); ``tests/test_openapi_hsds.py`` validates
the real answers for the seed against the component schemas generated from these types, so
the two cannot drift apart unnoticed.

A field ``orientation.hsds`` leaves out when it has no value (it never sends null where HSDS
types a plain string) is ``T | UnsetType = UNSET``: not required, and never null. Required
fields are the ones HSDS requires and we always send. Class names carry an ``Hsds`` prefix
where ``orientation.models`` (the /api/v1 bodies) has a class of the same name, so that each
OpenAPI component keeps one plain name; the module's short names (``Service``…) are what
``api/hsds.py`` uses.
"""

from __future__ import annotations

from typing import Annotated, Any

import msgspec
from msgspec import UNSET, UnsetType

from orientation import hsds, store
from orientation.models import AccessRules, Closure, DigitalRequirement, Translation, slug_id

#: Ids of the sample directory (seed/), for the document's examples: each one answers on a
#: server loaded with the seed (seed ids are derived from the seed's slugs).
EXAMPLE_IDS = {
    "service": slug_id("service", "actiris-inscription"),
    "organization": slug_id("organization", "actiris"),
    "service_at_location": store.service_at_location_id(
        slug_id("service", "actiris-inscription"), slug_id("location", "actiris-anspach")),
    "taxonomy": hsds.TAXONOMY_ID,
    "taxonomy_term": slug_id("term", "emploi"),
}

Id = Annotated[str, msgspec.Meta(description="A UUID.")]
Uri = Annotated[str, msgspec.Meta(description="An absolute URL.")]
Day = Annotated[str, msgspec.Meta(description="A date, YYYY-MM-DD.")]


class _Open(msgspec.Struct, kw_only=True, omit_defaults=True):
    """Every HSDS object: extension fields of newer profile versions may be added."""


class Language(_Open, kw_only=True):
    id: Id
    name: str
    code: str
    service_id: Id | UnsetType = UNSET
    location_id: Id | UnsetType = UNSET
    phone_id: Id | UnsetType = UNSET


class HsdsPhone(_Open, kw_only=True):
    id: Id
    number: str
    organization_id: Id | UnsetType = UNSET
    service_id: Id | UnsetType = UNSET
    location_id: Id | UnsetType = UNSET
    contact_id: Id | UnsetType = UNSET
    type: str | UnsetType = UNSET
    description: str | UnsetType = UNSET
    languages: list[Language] = []
    be_visibility: Annotated[str, msgspec.Meta(
        description="public, or staff (staff lines only reach staff callers)")] | UnsetType \
        = UNSET
    be_voicemail: bool | UnsetType = UNSET
    be_free: bool | UnsetType = UNSET


class HsdsSchedule(_Open, kw_only=True):
    id: Id
    service_id: Id | UnsetType = UNSET
    service_at_location_id: Id | UnsetType = UNSET
    location_id: Id | UnsetType = UNSET
    freq: str | UnsetType = UNSET
    byday: str | UnsetType = UNSET
    opens_at: Annotated[str, msgspec.Meta(examples=["09:00"])] | UnsetType = UNSET
    closes_at: Annotated[str, msgspec.Meta(examples=["12:30"])] | UnsetType = UNSET
    valid_from: Day | UnsetType = UNSET
    valid_to: Day | UnsetType = UNSET
    attending_type: str | UnsetType = UNSET
    notes: str | UnsetType = UNSET
    description: str | UnsetType = UNSET


class Metadata(_Open, kw_only=True):
    """One change of the record's history (values only for staff callers)."""

    id: Id
    resource_id: Id
    resource_type: str
    last_action_date: str
    last_action_type: str
    field_name: str
    previous_value: str
    replacement_value: str
    updated_by: str


class Taxonomy(_Open, kw_only=True):
    id: Id
    name: Annotated[str, msgspec.Meta(examples=["orientation-needs"])]
    description: str
    version: str | UnsetType = UNSET


class HsdsTaxonomyTerm(_Open, kw_only=True):
    id: Id
    name: str
    description: str
    code: str | UnsetType = UNSET
    parent_id: Id | UnsetType = UNSET
    taxonomy: str | UnsetType = UNSET
    taxonomy_id: Id | UnsetType = UNSET
    language: str | UnsetType = UNSET
    taxonomy_detail: Taxonomy | UnsetType = UNSET
    be_labels: dict[str, str] | UnsetType = UNSET
    be_descriptions: dict[str, str] | UnsetType = UNSET
    be_pictogram: str | UnsetType = UNSET


class Attribute(_Open, kw_only=True):
    """A need the record meets: a link to a term of the orientation-needs taxonomy."""

    id: Id
    link_id: Id
    taxonomy_term_id: Id
    link_type: str | UnsetType = UNSET
    link_entity: str
    label: str | UnsetType = UNSET
    value: str | UnsetType = UNSET
    taxonomy_term: HsdsTaxonomyTerm | UnsetType = UNSET


class HsdsAddress(_Open, kw_only=True):
    id: Id
    location_id: Id | UnsetType = UNSET
    address_1: str
    city: str
    state_province: str
    postal_code: str
    country: str
    address_type: str


class HsdsAccessibility(_Open, kw_only=True):
    id: Id
    location_id: Id | UnsetType = UNSET
    description: str | UnsetType = UNSET
    details: str | UnsetType = UNSET


class HsdsLocation(_Open, kw_only=True):
    id: Id
    location_type: str
    organization_id: Id | UnsetType = UNSET
    name: str | UnsetType = UNSET
    description: str | UnsetType = UNSET
    transportation: str | UnsetType = UNSET
    latitude: float | UnsetType = UNSET
    longitude: float | UnsetType = UNSET
    addresses: list[HsdsAddress] | UnsetType = UNSET
    accessibility: list[HsdsAccessibility] | UnsetType = UNSET
    phones: list[HsdsPhone] = []
    be_confidential: bool | UnsetType = UNSET
    be_city: str | UnsetType = UNSET
    be_region: str | UnsetType = UNSET


class ContactAbsence(_Open, kw_only=True):
    date_from: Day
    date_to: Day
    substitute_id: Id | UnsetType = UNSET


class HsdsContact(_Open, kw_only=True):
    id: Id
    organization_id: Id | UnsetType = UNSET
    service_id: Id | UnsetType = UNSET
    name: str | UnsetType = UNSET
    title: str | UnsetType = UNSET
    email: str | UnsetType = UNSET
    phones: list[HsdsPhone] = []
    be_role: str | UnsetType = UNSET
    be_languages: list[str] | UnsetType = UNSET
    be_absence: ContactAbsence | UnsetType = UNSET


class ServiceArea(_Open, kw_only=True):
    id: Id
    service_id: Id | UnsetType = UNSET
    name: str | UnsetType = UNSET
    description: str | UnsetType = UNSET
    be_kind: str | UnsetType = UNSET
    be_code: str | UnsetType = UNSET
    be_residents_only: bool | UnsetType = UNSET


class RequiredDocument(_Open, kw_only=True):
    id: Id
    service_id: Id | UnsetType = UNSET
    document: str


class PathwayUse(_Open, kw_only=True):
    """A referral pathway that sends people to the service, and at which step."""

    id: Id
    need: str
    step: int


class HsdsOrganization(_Open, kw_only=True):
    id: Id
    name: Annotated[str, msgspec.Meta(examples=["Actiris"])]
    description: str
    alternate_name: str | UnsetType = UNSET
    email: str | UnsetType = UNSET
    website: Uri | UnsetType = UNSET
    be_kind: str | UnsetType = UNSET
    phones: list[HsdsPhone] | UnsetType = UNSET
    locations: list[HsdsLocation] | UnsetType = UNSET
    contacts: list[HsdsContact] | UnsetType = UNSET
    metadata: list[Metadata] | UnsetType = UNSET
    services: list[HsdsService] | UnsetType = UNSET


class HsdsService(_Open, kw_only=True):
    """A service: the list shape (one-to-one fields and its organization), the fully
    nested shape (``full=true`` and ``/services/{id}``: everything below ``alert``), or the
    minimal one (``minimal=true``: id, name, status, last_modified)."""

    id: Id
    name: Annotated[str, msgspec.Meta(examples=["Inscription comme chercheur d'emploi"])]
    status: Annotated[str, msgspec.Meta(examples=["active"])]
    organization_id: Id | UnsetType = UNSET
    alternate_name: str | UnsetType = UNSET
    description: str | UnsetType = UNSET
    url: Uri | UnsetType = UNSET
    email: str | UnsetType = UNSET
    interpretation_services: str | UnsetType = UNSET
    application_process: str | UnsetType = UNSET
    fees_description: str | UnsetType = UNSET
    eligibility_description: str | UnsetType = UNSET
    assured_date: Day | UnsetType = UNSET
    alert: str | UnsetType = UNSET
    last_modified: str | UnsetType = UNSET
    organization: HsdsOrganization | UnsetType = UNSET
    phones: list[HsdsPhone] | UnsetType = UNSET
    schedules: list[HsdsSchedule] | UnsetType = UNSET
    service_at_locations: list[HsdsServiceAtLocation] | UnsetType = UNSET
    languages: list[Language] | UnsetType = UNSET
    service_areas: list[ServiceArea] | UnsetType = UNSET
    required_documents: list[RequiredDocument] | UnsetType = UNSET
    contacts: list[HsdsContact] | UnsetType = UNSET
    capacities: list[dict[str, Any]] | UnsetType = UNSET
    attributes: list[Attribute] | UnsetType = UNSET
    metadata: list[Metadata] | UnsetType = UNSET
    be_access: AccessRules | UnsetType = UNSET
    be_digital: DigitalRequirement | UnsetType = UNSET
    be_translations: dict[str, Translation] | UnsetType = UNSET
    be_keywords: list[str] | UnsetType = UNSET
    be_acts_as: list[str] | UnsetType = UNSET
    be_hours: list[str] | UnsetType = UNSET
    be_open_now: bool | UnsetType = UNSET
    be_next_opening: str | UnsetType = UNSET
    be_closures: list[Closure] | UnsetType = UNSET
    be_open_on_public_holidays: bool | UnsetType = UNSET
    be_pathways: list[PathwayUse] | UnsetType = UNSET


class HsdsServiceAtLocation(_Open, kw_only=True):
    id: Id
    service_id: Id
    location_id: Id
    location: HsdsLocation | UnsetType = UNSET
    service: HsdsService | UnsetType = UNSET
    schedules: list[HsdsSchedule] | UnsetType = UNSET
    contacts: list[HsdsContact] | UnsetType = UNSET
    phones: list[HsdsPhone] | UnsetType = UNSET


class _Page(_Open, kw_only=True):
    """The HSDS 3.1.x paginated shape (``empty`` required since 3.1.1)."""

    total_items: int
    total_pages: int
    page_number: int
    size: int
    first_page: bool
    last_page: bool
    empty: bool


class HsdsServicePage(_Page, kw_only=True):
    contents: list[HsdsService]


class HsdsOrganizationPage(_Page, kw_only=True):
    contents: list[HsdsOrganization]


class HsdsServiceAtLocationPage(_Page, kw_only=True):
    contents: list[HsdsServiceAtLocation]


class HsdsTaxonomyPage(_Page, kw_only=True):
    contents: list[Taxonomy]


class HsdsTaxonomyTermPage(_Page, kw_only=True):
    contents: list[HsdsTaxonomyTerm]


class Publisher(_Open, kw_only=True):
    name: str
    website: Uri | UnsetType = UNSET


class ApiMeta(_Open, kw_only=True):
    """``GET /hsds/``: the HSDS version, our profile and this OpenAPI document."""

    version: Annotated[str, msgspec.Meta(examples=["3.1"])]
    profile: Uri
    openapi_url: Uri
    description: str | UnsetType = UNSET
    publisher: Publisher | UnsetType = UNSET


class ProfileIndex(_Open, kw_only=True):
    """``GET /hsds/profile``: the profile, links to its files, its extension fields."""

    name: str
    hsds_version: str
    base: Uri
    description: str
    licence: str
    datapackage: Uri
    patches: dict[str, Uri]
    schemas: dict[str, Uri]
    extensions: dict[str, str]


Service = HsdsService
Organization = HsdsOrganization
ServiceAtLocation = HsdsServiceAtLocation
TaxonomyTerm = HsdsTaxonomyTerm
ServicePage = HsdsServicePage
OrganizationPage = HsdsOrganizationPage
ServiceAtLocationPage = HsdsServiceAtLocationPage
TaxonomyPage = HsdsTaxonomyPage
TaxonomyTermPage = HsdsTaxonomyTermPage

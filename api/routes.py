"""Our REST API under /api/v1: the directory to read, and authenticated writes.

Every write goes through ``orientation.writes`` (permission, one store transaction with audit
rows naming the API key's owner and pathway invariants, then the search index sync), the same
pipeline as the staff editor's. Reads hide staff-only
phone lines and confidential addresses from anonymous callers (``orientation.access.view``).

No ``from __future__ import annotations`` here: the write handlers are made by a factory for
each record type, and Litestar reads their (real, not string) annotations.
"""

import datetime as dt
from typing import Annotated, Any, Generic, Literal, TypeVar
from uuid import UUID

import msgspec
from litestar import Request, Response, Router, delete, get, patch, post, put
from litestar.di import NamedDependency, Provide
from litestar.openapi.spec import Example
from litestar.params import Body, FromPath, FromQuery, JSONBody, Parameter
from sqlite_utils import Database

from orientation import communes, hours, store, writes
from orientation.access import Caller, require_role, view
from orientation.errors import Conflict, InvalidData, NotFound
from orientation.models import (
    AuditEntry,
    Contact,
    Location,
    Organization,
    Pathway,
    Schedule,
    Service,
    TaxonomyTerm,
)
from orientation.search import Filters, SearchIndex

from .capacity import HANDLERS as CAPACITY_HANDLERS
from .http import (
    MIDDLEWARE,
    key_required,
    link_header,
    page_links,
    provide_caller,
)

T = TypeVar("T")
#: Explicit dependency markers (the per-request connection, the search index, the caller).
DB = NamedDependency[Database]
Index = NamedDependency[SearchIndex]
Who = NamedDependency[Caller]
PerPage = Parameter(default=20, ge=1, le=100, description="Items per page (1-100).")
PageNumber = Parameter(default=1, ge=1, le=100_000, description="Page number, from 1.")


class Page(msgspec.Struct, Generic[T], kw_only=True):
    items: list[T]
    total: int
    page: int
    per_page: int
    total_pages: int
    links: dict[str, str]


class ServiceSummary(msgspec.Struct, kw_only=True):
    id: str
    name: str
    snippet: str  # HTML-escaped, matched words in <mark>
    description: str
    organization_id: str
    organization: str
    needs: list[str]  # need codes
    communes: list[str]
    open_now: bool
    near: bool
    score: float


class ServicePage(Page[ServiceSummary], kw_only=True):
    #: filter name -> value -> number of matching services (over every page)
    facets: dict[str, dict[str, int]]
    corrected: str | None = None
    did_you_mean: str | None = None


class PathwayRef(msgspec.Struct, kw_only=True):
    id: str
    need: str
    step: int


class ServiceDetail(msgspec.Struct, kw_only=True):
    service: Service
    organization: Organization
    locations: list[Location]
    contacts: list[Contact]
    hours: list[str]
    open_now: bool
    when: str
    next_opening: dt.datetime | None = None
    pathways: list[PathwayRef]


class ApiIndex(msgspec.Struct, kw_only=True):
    name: str
    version: str
    counts: dict[str, int]
    openapi: str
    hsds: str
    role: str


def _page_response(request: Request, cls: type[Page], items: list, page: int,
                   per_page: int) -> Response:
    """One page of ``items`` with its links (in the body and in a Link header)."""
    total_pages = max(1, -(-len(items) // per_page))
    links = page_links(request, page, total_pages)
    body = cls(items=items[(page - 1) * per_page: page * per_page], total=len(items),
               page=page, per_page=per_page, total_pages=total_pages, links=links)
    return Response(body, headers={"Link": link_header(links)})


# --- index ----------------------------------------------------------------------------------


@get("/", operation_id="api_index", summary="What this API offers", tags=["directory"],
     sync_to_thread=True)
def api_index(db: DB, caller: Who) -> ApiIndex:
    return ApiIndex(name="Orientation", version="v1", counts=store.counts(db),
                    openapi="/schema/openapi.json", hsds="/hsds/",
                    role=caller.role or "anonymous")


class ApiVersion(msgspec.Struct, kw_only=True):
    version: str
    url: str
    status: str
    description: str


class ApiVersions(msgspec.Struct, kw_only=True):
    versions: list[ApiVersion]
    openapi: str
    docs: str


@get("/api", operation_id="api_versions", summary="The versions of the API", tags=["directory"],
     include_in_schema=True)
async def api_versions() -> ApiVersions:
    """What /api answers (the README and the start-up line name it): where each version is."""
    return ApiVersions(versions=[
        ApiVersion(version="v1", url="/api/v1/", status="stable",
                   description="Our REST API: search, records, writes, history."),
        ApiVersion(version="hsds-3.1", url="/hsds/", status="stable",
                   description="Open Referral HSDS 3.1 (read-only), Belgian profile.")],
        openapi="/schema/openapi.json", docs="/schema")


# --- services -------------------------------------------------------------------------------


def _term_ids(db: Database, need: str) -> set[str]:
    """A need given by code or id, with its sub-needs."""
    terms = store.list_terms(db)
    root = next((t for t in terms if need in (t.id, t.code)), None)
    if root is None:
        raise InvalidData(f"need: unknown need {need!r}", field="need")
    return {root.id} | {t.id for t in terms if t.parent_id == root.id}


def _flag(description: str) -> Any:
    return Parameter(default=False, description=description)


@get("/services", operation_id="list_services", tags=["services"], sync_to_thread=True,
     summary="Search and filter services",
     description="Full-text search (`q`, typos and synonyms understood) with every filter of "
                 "the directory's search; without `q`, browse by filters. `facets` count the "
                 "matching services per filter value over all pages.")
def list_services(
    request: Request, db: DB, index: Index,
    q: str = Parameter(default="", max_length=500, description="Search words.",
                       examples=[Example(summary="words", value="dettes loyer")]),
    need: list[str] | None = Parameter(default=None, description="Need codes or ids "
                                "(any of them; a need includes its sub-needs)."),
    commune: str | None = Parameter(
        default=None, max_length=60,
        description="Serves the people of this commune (a commune, former commune or postal "
                    "code): its service areas hold the commune, or it has none. Also the "
                    "person's commune for ranking: services of its region first, and those "
                    "for their own residents only (a CPAS, Actiris, Le Forem) of another "
                    "commune below the ones competent for it."),
    located_in: str | None = Parameter(
        default=None, max_length=60,
        description="Has a place in this commune (a commune, former commune or postal code)."),
    nearby: bool = _flag("With `located_in`: also the neighbouring communes."),
    near: str | None = Parameter(default=None, max_length=60,
                                 description="Where the person is: ranks closer services first "
                                             "(and, without `commune`, its region's first)."),
    open_now: bool = _flag("Only services open now."),
    open_today: bool = _flag("Only services with opening hours today."),
    walk_in: bool = _flag("Only services where one can come without an appointment."),
    free: bool = _flag("Only free services."),
    step_free: bool = _flag("Only services with a step-free place."),
    no_digital: bool = _flag("Only services that need no digital means."),
    language: list[str] | None = Parameter(default=None,
                                    description="Speaks any of these languages (fr, nl, en…)."),
    audience: list[str] | None = Parameter(default=None,
                                    description="Any of these audiences (jeunes, seniors…)."),
    lang: Literal["fr", "nl", "en"] = Parameter(default="fr",
                                                description="Language of names and snippets."),
    page: int = PageNumber, per_page: int = PerPage,
) -> Response[ServicePage]:
    filters = Filters(needs=need or [], commune=commune, located_in=located_in,
                      nearby=nearby, open_now=open_now,
                      open_today=open_today, walk_in=walk_in, free=free, step_free=step_free,
                      no_digital=no_digital, languages=language or [],
                      audiences=audience or [], kind="service")
    # An unknown commune is refused by the filter, under its own name.
    home = communes.commune(commune) if commune else None
    found = index.search(db, q, filters=filters, near=near, home=home, lang=lang,
                         limit=per_page, offset=(page - 1) * per_page, facets=True)
    services = store.get_services(db, [hit.id for hit in found.hits])
    orgs = {o.id: o.name for o in store.get_organizations(
        db, [s.organization_id for s in services.values()]).values()}
    items = []
    for hit in found.hits:
        service = services.get(hit.id)
        if service is None:
            continue  # deleted since the index looked
        items.append(ServiceSummary(
            id=hit.id, name=hit.title, snippet=hit.snippet, description=service.description,
            organization_id=service.organization_id,
            organization=orgs.get(service.organization_id, ""), needs=hit.needs,
            communes=hit.communes, open_now=hit.open_now, near=hit.near, score=hit.score))
    total_pages = max(1, -(-found.total // per_page))
    links = page_links(request, page, total_pages)
    body = ServicePage(items=items, total=found.total, page=page, per_page=per_page,
                       total_pages=total_pages, links=links,
                       facets={name: {c.value: c.count for c in counts}
                               for name, counts in found.facets.items()},
                       corrected=found.corrected, did_you_mean=found.did_you_mean)
    return Response(body, headers={"Link": link_header(links)})


# {record_id}, like the writes of the same path: OpenAPI 3.1 allows one name per template.
@get("/services/{record_id:uuid}", operation_id="get_service", tags=["services"],
     sync_to_thread=True, summary="A service with its places, hours, contacts and pathways")
def get_service(db: DB, caller: Who, record_id: FromPath[UUID]) -> ServiceDetail:
    service = store.get_service(db, str(record_id))
    now = hours.now()
    kwargs = {"closures": service.closures,
              "open_on_public_holidays": service.open_on_public_holidays}
    current, upcoming = hours.open_or_next(service.schedules, now, **kwargs)
    pathways = [PathwayRef(**row) for row in store.pathway_steps_using(db, service.id)]
    return ServiceDetail(
        service=view(service, caller),
        organization=view(store.get_organization(db, service.organization_id), caller),
        locations=[view(store.get_location(db, i), caller) for i in service.location_ids],
        contacts=[view(store.get_contact(db, i), caller) for i in service.contact_ids],
        hours=hours.describe(service.schedules), open_now=current is not None,
        when=hours.describe_when(service.schedules, now, **kwargs),
        next_opening=None if current or not upcoming else upcoming.start, pathways=pathways)


# --- other reads ----------------------------------------------------------------------------


@get("/organizations", operation_id="list_organizations", tags=["organizations"],
     sync_to_thread=True, summary="Organisations, by name")
def list_organizations(request: Request, db: DB, caller: Who,
                       kind: str | None = Parameter(default=None, max_length=40),
                       page: int = PageNumber, per_page: int = PerPage
                       ) -> Response[Page[Organization]]:
    items = [view(o, caller) for o in store.list_organizations(db, kind=kind)]
    return _page_response(request, Page[Organization], items, page, per_page)


@get("/locations", operation_id="list_locations", tags=["locations"], sync_to_thread=True,
     summary="Places where services are given")
def list_locations(request: Request, db: DB, caller: Who,
                   organization_id: FromQuery[UUID | None] = None, page: int = PageNumber,
                   per_page: int = PerPage) -> Response[Page[Location]]:
    items = [view(x, caller) for x in store.list_locations(
        db, organization_id=str(organization_id) if organization_id else None)]
    return _page_response(request, Page[Location], items, page, per_page)


@get("/contacts", operation_id="list_contacts", tags=["contacts"], sync_to_thread=True,
     summary="Named people to ask for (public view for anonymous callers)")
def list_contacts(request: Request, db: DB, caller: Who,
                  organization_id: FromQuery[UUID | None] = None, page: int = PageNumber,
                  per_page: int = PerPage) -> Response[Page[Contact]]:
    items = [view(x, caller) for x in store.list_contacts(
        db, organization_id=str(organization_id) if organization_id else None,
        status=None if caller.staff else "active")]
    return _page_response(request, Page[Contact], items, page, per_page)


@get("/pathways", operation_id="list_pathways", tags=["pathways"], sync_to_thread=True,
     summary="Referral pathways, optionally for one need or matching search words")
def list_pathways(request: Request, db: DB, index: Index,
                  q: str = Parameter(default="", max_length=500,
                                     description="Search words, as a person would say the need "
                                                 "(best match first).",
                                     examples=[Example(summary="words", value="facture gaz")]),
                  need: str | None = Parameter(default=None, max_length=100,
                                               description="Need code or id."),
                  page: int = PageNumber, per_page: int = PerPage) -> Response[Page[Pathway]]:
    items = store.list_pathways(db, status="active")
    if q.strip():
        # The search ranks; every matching pathway is kept so that need filtering and
        # pagination work on the whole ranked list (there are tens of pathways, not thousands).
        found = index.search(db, q, filters=Filters(kind="pathway"), limit=len(items) or 1)
        by_id = {p.id: p for p in items}
        items = [by_id[h.id] for h in found.hits if h.id in by_id]
    if need:
        wanted = _term_ids(db, need)
        items = [p for p in items if wanted & set(p.themes)]
    return _page_response(request, Page[Pathway], items, page, per_page)


@get("/needs", operation_id="list_needs", tags=["taxonomy"], sync_to_thread=True,
     summary="The needs taxonomy (top needs first, then sub-needs, with fr/nl/en labels)")
def list_needs(db: DB) -> list[TaxonomyTerm]:
    return store.list_terms(db)


def _getter(entity: str, cls: type, path: str, tag: str):
    @get(f"{path}/{{record_id:uuid}}", operation_id=f"get_{entity}", tags=[tag],
         sync_to_thread=True, summary=f"One {entity.replace('_', ' ')}")
    def handler(db: DB, caller: Who, record_id: FromPath[UUID]) -> Any:
        return view(store.get(db, entity, str(record_id)), caller)

    handler.fn.__annotations__["return"] = cls
    return handler


def _history(entity: str, path: str, tag: str):
    @get(f"{path}/{{record_id:uuid}}/history", operation_id=f"get_{entity}_history",
         opt={"needs_key": True},
         tags=[tag, "history"], sync_to_thread=True,
         summary=f"Every recorded change of a {entity} (staff keys)",
         description="Who changed what and when: the audit trail, with the API key's owner "
                     "as actor. Values may include staff-only lines, hence a key is needed.")
    def handler(db: DB, caller: Who, record_id: FromPath[UUID]) -> list[AuditEntry]:
        require_role(caller, "staff")
        store.get(db, entity, str(record_id))  # 404 for an unknown record
        return store.history(db, entity, str(record_id))

    return handler


# --- writes ---------------------------------------------------------------------------------


EXAMPLES: dict[str, dict[str, Any]] = {
    "organization": {"name": "CPAS d'Exemple", "kind": "cpas",
                     "description": "Le service social de la commune."},
    "service": {"organization_id": "00000000-0000-4000-8000-000000000000",
                "name": "Permanence énergie", "description": "Aide pour les factures.",
                "access": {"walk_in": True},
                "schedules": [{"byday": "MO,TH", "opens_at": "09:00", "closes_at": "12:00"}]},
    "location": {"organization_id": "00000000-0000-4000-8000-000000000000",
                 "name": "Siège", "address": {"street": "Rue de l'Exemple 1",
                                              "postal_code": "1050", "city": "Ixelles"}},
    "contact": {"organization_id": "00000000-0000-4000-8000-000000000000",
                "given_name": "Marie", "family_name": "Exemple", "role": "Assistante sociale",
                "phones": [{"number": "+32 2 000 00 00"}]},
    "pathway": {"need": "Je ne sais pas payer mon loyer",
                "steps": [{"service_id": "00000000-0000-4000-8000-000000000000",
                           "contact_id": "00000000-0000-4000-8000-000000000000",
                           "action": "Allez à la permanence sans rendez-vous."}]},
}


def _writers(entity: str, cls: type, path: str, tag: str) -> list:
    label = entity.replace("_", " ")
    example = [Example(summary=f"a new {label}", value=EXAMPLES[entity])]

    def save(db: Database, index: SearchIndex, caller: Caller, before: Any, record: Any) -> Any:
        return view(writes.save(db, index, caller, before, record), caller)

    @post(path, operation_id=f"create_{entity}", tags=[tag], sync_to_thread=True,
          summary=f"Create a {label}", status_code=201)
    def create(db: DB, index: Index, caller: Who,
               data: Annotated[cls, Body(examples=example)]) -> cls:  # type: ignore[valid-type]
        if store.exists(db, entity, data.id):
            raise Conflict(f"{label} {data.id!r} already exists: use PUT or PATCH")
        return save(db, index, caller, None, data)

    @put(f"{path}/{{record_id:uuid}}", operation_id=f"replace_{entity}", tags=[tag],
         sync_to_thread=True, summary=f"Replace a {label}")
    def replace(db: DB, index: Index, caller: Who, record_id: FromPath[UUID],
                data: Annotated[cls, Body(examples=example)]) -> cls:  # type: ignore[valid-type]
        before = store.get(db, entity, str(record_id))
        return save(db, index, caller, before, msgspec.structs.replace(data, id=before.id))

    @patch(f"{path}/{{record_id:uuid}}", operation_id=f"update_{entity}", tags=[tag],
           sync_to_thread=True, summary=f"Change some fields of a {label}",
           description="Send only the fields to change; nested objects are replaced whole.")
    def update(db: DB, index: Index, caller: Who, record_id: FromPath[UUID],
               data: Annotated[dict[str, Any], Body(examples=[Example(
                   summary="change one field", value={"status": "inactive"})])],
               ) -> cls:  # type: ignore[valid-type]
        before = store.get(db, entity, str(record_id))
        writes.check(db, caller, before, before)  # 403 before any word about the body
        merged = {**msgspec.to_builtins(before), **data, "id": before.id}
        try:
            record = msgspec.convert(merged, cls)
        except msgspec.ValidationError as exc:
            field = str(exc).rpartition(" - at `$.")[2].rstrip("`") or None
            raise InvalidData(str(exc), field=field) from None
        return save(db, index, caller, before, record)

    @delete(f"{path}/{{record_id:uuid}}", operation_id=f"delete_{entity}", tags=[tag],
            sync_to_thread=True, summary=f"Delete a {label}",
            description="Refused (409) while another record still uses it.")
    def remove(db: DB, index: Index, caller: Who, record_id: FromPath[UUID]) -> None:
        before = store.get(db, entity, str(record_id))
        writes.delete(db, index, caller, entity, before)

    for handler in (create, replace, update):
        handler.fn.__annotations__["return"] = cls
    return [create, replace, update, remove]


@put("/services/{service_id:uuid}/schedules", operation_id="replace_schedules",
     tags=["services"], sync_to_thread=True, summary="Replace the opening hours of a service")
def replace_schedules(db: DB, index: Index, caller: Who, service_id: FromPath[UUID],
                      data: Annotated[list[Schedule], Body(examples=[Example(
                          summary="Monday and Thursday mornings",
                          value=[{"byday": "MO,TH", "opens_at": "09:00",
                                  "closes_at": "12:00", "attending_type": "walk_in"}])])]
                      ) -> list[Schedule]:
    before = store.get_service(db, str(service_id))
    saved = writes.save(db, index, caller, before, msgspec.structs.replace(before, schedules=data))
    return saved.schedules


@post("/services/{service_id:uuid}/schedules", operation_id="add_schedule", tags=["services"],
      sync_to_thread=True, summary="Add one opening-hours row to a service", status_code=201)
def add_schedule(db: DB, index: Index, caller: Who, service_id: FromPath[UUID],
                 data: JSONBody[Schedule]) -> Schedule:
    before = store.get_service(db, str(service_id))
    writes.check(db, caller, before, before)  # 403 before 409
    if any(row.id == data.id for row in before.schedules):
        raise Conflict(f"schedule {data.id!r} already exists")
    writes.save(db, index, caller, before,
                msgspec.structs.replace(before, schedules=[*before.schedules, data]))
    return data


@delete("/services/{service_id:uuid}/schedules/{schedule_id:str}",
        operation_id="delete_schedule", tags=["services"], sync_to_thread=True,
        summary="Remove one opening-hours row")
def delete_schedule(db: DB, index: Index, caller: Who, service_id: FromPath[UUID],
                    schedule_id: FromPath[str]) -> None:
    before = store.get_service(db, str(service_id))
    writes.check(db, caller, before, before)  # 403 before 404
    rows = [row for row in before.schedules if row.id != schedule_id]
    if len(rows) == len(before.schedules):
        raise NotFound("schedule", schedule_id)
    writes.save(db, index, caller, before, msgspec.structs.replace(before, schedules=rows))


RECORDS = (
    ("organization", Organization, "/organizations", "organizations"),
    ("service", Service, "/services", "services"),
    ("location", Location, "/locations", "locations"),
    ("contact", Contact, "/contacts", "contacts"),
    ("pathway", Pathway, "/pathways", "pathways"),
)

api_router = Router(
    path="/api/v1",
    route_handlers=[
        api_index, list_services, get_service, list_organizations, list_locations,
        list_contacts, list_pathways, list_needs, replace_schedules,
        add_schedule, delete_schedule, *CAPACITY_HANDLERS,
        *[_getter(e, c, p, t) for e, c, p, t in RECORDS if e != "service"],
        *[_history(e, p, t) for e, c, p, t in RECORDS],
        *[h for e, c, p, t in RECORDS for h in _writers(e, c, p, t)],
    ],
    dependencies={"caller": Provide(provide_caller, sync_to_thread=True)},
    guards=[key_required],
    middleware=MIDDLEWARE,
)

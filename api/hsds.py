"""The Open Referral HSDS 3.1 API under /hsds (read-only), with the Belgian profile extensions.

Paths, parameters and the paginated shape follow the HSDS 3.1.x OpenAPI description (released
3.1.3: tests/hsds/openapi.json); objects come from ``orientation.hsds``. Every documented
parameter of every listing is served, and parameters combine with AND: each one narrows the
result. Each listing has a POST twin taking the same parameters in a JSON body, so that a
search never has to travel in a URL (URLs end up in logs and proxies). ``format=ndjson``
gives every result without pagination; for services it is streamed on a connection of its own
(the request's connection closes when the handler returns, before the stream is read).
"""

import datetime as dt
import json
import logging
from collections.abc import Callable, Iterator
from typing import Annotated, Any, Literal
from uuid import UUID

import msgspec
from litestar import Request, Response, Router, get, post
from litestar.datastructures import State
from litestar.di import NamedDependency, Provide
from litestar.openapi.spec import Example
from litestar.params import FromPath, FromQuery, JSONBody, Parameter, PathParameter
from litestar.response import Stream
from sqlite_utils import Database

from orientation import communes, competence, geo, hsds, store
from orientation.access import Caller
from orientation.errors import NotFound
from orientation.search import Filters, SearchIndex

from . import hsds_types as ht
from .hsds_profile import profile_file, profile_index
from .http import MIDDLEWARE, NDJSON, link_header, page_links, provide_caller

log = logging.getLogger(__name__)


class FeedInterrupted(RuntimeError):
    """A streamed feed could not be finished; the connection is dropped so it looks cut."""


DB = NamedDependency[Database]
Index = NamedDependency[SearchIndex]
Who = NamedDependency[Caller]
Search = Annotated[str, msgspec.Meta(max_length=200)]
PageNo = Annotated[int, msgspec.Meta(ge=1, le=100_000)]
PerPage = Annotated[int, msgspec.Meta(ge=1, le=100)]
SEARCH = Parameter(default=None, max_length=200, description="Full text search.")
PAGE = Parameter(default=1, ge=1, le=100_000, description="Page number, from 1.")
PER_PAGE = Parameter(default=20, ge=1, le=100, description="Results in one page (1-100).")
FORMAT = Parameter(default="json", description="`json` (paginated) or `ndjson` (every "
                                               "result, one per line, no pagination).")
TERM = Parameter(default=None, description="Only records linked to this taxonomy term (or one "
                                           "of its sub-terms).")
TAXONOMY = Parameter(default=None, description="Only records linked to a term of this "
                                               "taxonomy.")
MODIFIED = Parameter(default=None, description="Only records modified on or after this time "
                                               "(ISO 8601; UTC when no offset is given).")



def _seed_id(kind: str) -> Any:
    """A record id in the path, with an example that answers on a server loaded with the
    sample directory."""
    return Annotated[UUID, PathParameter(description=f"The {kind.replace('_', ' ')}'s id.",
                                         examples=[Example(summary="From the sample data",
                                                           value=ht.EXAMPLE_IDS[kind])])]


ServiceId, OrganizationId, ServiceAtLocationId, TaxonomyId, TermId = (
    _seed_id(k) for k in ("service", "organization", "service_at_location", "taxonomy",
                          "taxonomy_term"))


# --- parameters: one Struct per listing, from the query (GET) or a JSON body (POST) ---------


class ListQuery(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    search: Search | None = None
    page: PageNo = 1
    per_page: PerPage = 20
    format: Literal["json", "ndjson"] = "json"


class TaxonomyFilter(ListQuery, kw_only=True, forbid_unknown_fields=True):
    taxonomy_term_id: UUID | None = None
    taxonomy_id: UUID | None = None


class ServiceQuery(TaxonomyFilter, kw_only=True, forbid_unknown_fields=True):
    organization_id: UUID | None = None
    modified_after: dt.datetime | None = None
    minimal: bool = False
    full: bool = False


class ServiceAtLocationQuery(TaxonomyFilter, kw_only=True, forbid_unknown_fields=True):
    organization_id: UUID | None = None
    modified_after: dt.datetime | None = None
    full: bool = False
    postcode: Annotated[str, msgspec.Meta(max_length=20)] | None = None
    proximity: Annotated[float, msgspec.Meta(ge=0, le=1_000_000)] | None = None


class OrganizationQuery(TaxonomyFilter, kw_only=True, forbid_unknown_fields=True):
    full: bool = False
    full_service: bool = False


class TaxonomyTermQuery(ListQuery, kw_only=True, forbid_unknown_fields=True):
    taxonomy_id: UUID | None = None
    parent_id: UUID | None = None
    top_only: bool = False


def _merged(query: ListQuery, body: ListQuery | None) -> ListQuery:
    """The query string's parameters, overridden by every field the JSON body sets."""
    if body is None:
        return query
    default = type(body)()
    changes = {f: getattr(body, f) for f in body.__struct_fields__
               if getattr(body, f) != getattr(default, f)}
    return msgspec.structs.replace(query, **changes)


def list_query(search: str | None = SEARCH, page: int = PAGE, per_page: int = PER_PAGE,
               format: Literal["json", "ndjson"] = FORMAT) -> ListQuery:
    return ListQuery(search=search, page=page, per_page=per_page, format=format)


def service_query(base: NamedDependency[ListQuery],
                  taxonomy_term_id: FromQuery[UUID | None] = TERM,
                  taxonomy_id: FromQuery[UUID | None] = TAXONOMY,
                  organization_id: FromQuery[UUID | None] = Parameter(
                      default=None, description="Only services of this organization."),
                  modified_after: dt.datetime | None = MODIFIED,
                  minimal: bool = Parameter(default=False, description="Only id, name, status "
                                                                       "and last_modified."),
                  full: bool = Parameter(default=False, description="Fully nested services.")
                  ) -> ServiceQuery:
    return ServiceQuery(**msgspec.structs.asdict(base), taxonomy_term_id=taxonomy_term_id,
                        taxonomy_id=taxonomy_id, organization_id=organization_id,
                        modified_after=modified_after, minimal=minimal, full=full)


def sal_query(base: NamedDependency[ListQuery],
              taxonomy_term_id: FromQuery[UUID | None] = TERM,
              taxonomy_id: FromQuery[UUID | None] = TAXONOMY,
              organization_id: FromQuery[UUID | None] = Parameter(
                  default=None, description="Only services of this organization."),
              modified_after: dt.datetime | None = MODIFIED,
              full: bool = Parameter(default=False, description="Nest schedules, contacts "
                                                                "and phones."),
              postcode: str | None = Parameter(
                  default=None, max_length=20,
                  description="A Belgian postal code: services whose service_areas cover its "
                              "commune (or, without service_areas, whose place is in it)."),
              proximity: float | None = Parameter(
                  # minimum given twice: Litestar drops a bound of 0 from the document
                  default=None, ge=0, le=1_000_000, schema_extra={"minimum": 0},
                  description="With `postcode`: places within this many metres of the "
                              "commune's centre (ignored without `postcode`).")
              ) -> ServiceAtLocationQuery:
    return ServiceAtLocationQuery(
        **msgspec.structs.asdict(base), taxonomy_term_id=taxonomy_term_id,
        taxonomy_id=taxonomy_id, organization_id=organization_id,
        modified_after=modified_after, full=full, postcode=postcode, proximity=proximity)


def organization_query(base: NamedDependency[ListQuery],
                       taxonomy_term_id: FromQuery[UUID | None] = TERM,
                       taxonomy_id: FromQuery[UUID | None] = TAXONOMY,
                       full: bool = Parameter(default=False, description="Fully nested "
                                                                         "organizations."),
                       full_service: bool = Parameter(
                           default=False, description="Also nest each organization's services.")
                       ) -> OrganizationQuery:
    return OrganizationQuery(**msgspec.structs.asdict(base), taxonomy_term_id=taxonomy_term_id,
                             taxonomy_id=taxonomy_id, full=full, full_service=full_service)


def term_query(base: NamedDependency[ListQuery],
               taxonomy_id: FromQuery[UUID | None] = TAXONOMY,
               parent_id: FromQuery[UUID | None] = Parameter(
                   default=None, description="Only the sub-terms of this term."),
               top_only: bool = Parameter(default=False, description="Only terms without a "
                                                                     "parent.")
               ) -> TaxonomyTermQuery:
    return TaxonomyTermQuery(**msgspec.structs.asdict(base), taxonomy_id=taxonomy_id,
                             parent_id=parent_id, top_only=top_only)


SERVICE_Q = {"params": Provide(service_query, sync_to_thread=False)}
ORG_Q = {"params": Provide(organization_query, sync_to_thread=False)}
SAL_Q = {"params": Provide(sal_query, sync_to_thread=False)}
TERM_Q = {"params": Provide(term_query, sync_to_thread=False)}


# --- answers --------------------------------------------------------------------------------


def _answer(request: Request, q: ListQuery, items: list, convert: Callable[[Any], dict]
            ) -> Response:
    """A page of ``items`` (converted), or all of them as ndjson."""
    if q.format == "ndjson":
        return Response(b"".join(json.dumps(convert(x), ensure_ascii=False).encode() + b"\n"
                                 for x in items), media_type=NDJSON)
    total_pages = max(1, -(-len(items) // q.per_page))
    current = [convert(x) for x in items[(q.page - 1) * q.per_page: q.page * q.per_page]]
    return Response(hsds.page(current, total=len(items), page_number=q.page,
                              per_page=q.per_page), headers=_links(request, q.page, total_pages))


def _links(request: Request, page: int, total_pages: int) -> dict[str, str]:
    # A POST's parameters are in its body: a URL cannot lead to its other pages.
    if request.method != "GET":
        return {}
    return {"Link": link_header(page_links(request, page, total_pages))}


def _words(text: str | None) -> list[str]:
    return text.casefold().split() if text and text.strip() else []


def _has_words(words: list[str], *fields: str | None) -> bool:
    haystack = " ".join(f or "" for f in fields).casefold()
    return all(w in haystack for w in words)


@get("/", operation_id="getAPIMetaInformation", tags=["hsds"],
     summary="HSDS version, profile and OpenAPI description")
async def meta(request: Request) -> ht.ApiMeta:
    # The public address when it is set; otherwise the request's, whose Host the app's guard
    # has already checked against allowed_hosts (a forged Host never reaches this line).
    base = request.app.state.settings.public_url.rstrip("/") or str(request.base_url).rstrip("/")
    return ht.ApiMeta(
        version=hsds.HSDS_VERSION, profile=f"{base}/hsds/profile",
        openapi_url=f"{base}/schema/openapi.json",
        description="Orientation: services sociaux à Bruxelles et en Brabant wallon "
                    "(Open Referral HSDS 3.1, profil belge).",
        publisher=ht.Publisher(name="Orientation", website=base + "/"))


@get("/profile", operation_id="getProfile", tags=["hsds"],
     summary="The Belgian profile: links to its merge patches, compiled schemas and "
             "datapackage, and its extension fields")
async def profile(request: Request) -> ht.ProfileIndex:
    base = request.app.state.settings.public_url.rstrip("/") or str(request.base_url).rstrip("/")
    return profile_index(f"{base}/hsds/profile")


@get("/profile/{name:path}", operation_id="getProfileFile", tags=["hsds"],
     summary="One file of the profile: a merge patch (`profile/…`), a compiled JSON schema "
             "(`schema/…`) or `datapackage.json`")
async def profile_json(name: FromPath[str]) -> dict[str, Any]:
    return profile_file(name.lstrip("/"))


# --- services -------------------------------------------------------------------------------


def _search(db: Database, index: SearchIndex, text: str) -> list[str]:
    """Ids of every service matching ``text``, best first (the index answers 100 at a time)."""
    ids: list[str] = []
    while True:
        found = index.search(db, text, filters=Filters(kind="service"), limit=100,
                             offset=len(ids))
        ids += [hit.id for hit in found.hits]
        if not found.hits or len(ids) >= found.total:
            return ids


def _terms(db: Database, q: TaxonomyFilter) -> set[str] | None:
    """Term ids a record must be linked to (any of them), or None when not filtered."""
    terms = None
    if q.taxonomy_term_id is not None:
        term = str(q.taxonomy_term_id)
        terms = {term} | {t.id for t in store.list_terms(db) if t.parent_id == term}
    if q.taxonomy_id is not None:
        if str(q.taxonomy_id) != hsds.TAXONOMY_ID:
            return set()
        terms = terms if terms is not None else {t.id for t in store.list_terms(db)}
    return terms


def _utc(moment: dt.datetime | None) -> str | None:
    if moment is None:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=dt.timezone.utc)
    return moment.astimezone(dt.timezone.utc).isoformat(timespec="seconds")


def _service_ids(db: Database, index: SearchIndex, q: ServiceQuery | ServiceAtLocationQuery
                 ) -> list[str]:
    ids = store.service_ids(
        db, organization_id=str(q.organization_id) if q.organization_id else None,
        term_ids=_terms(db, q), modified_after=_utc(q.modified_after))
    if _words(q.search):
        wanted = set(ids)
        ids = [i for i in _search(db, index, q.search) if i in wanted]
    return ids


def _ndjson(state: State, ids: list[str], caller: Caller, full: bool, minimal: bool
            ) -> Iterator[bytes]:
    db = store.connect(state.db_path, migrate=False)
    sent = 0
    try:
        for start in range(0, len(ids), 50):
            chunk = list(store.get_services(db, ids[start:start + 50]).values())
            for item in hsds.iter_services(db, chunk, full=full, caller=caller,
                                           minimal=minimal):
                yield json.dumps(item, ensure_ascii=False).encode() + b"\n"
                sent += 1
    except Exception:
        # The 200 and the first lines are already on the wire. A feed that stops short must
        # not look complete: say so in a last line a client can tell from a service (it has
        # no "id"), then break the chunked body (no final chunk), so even a client that
        # ignores the line sees a transport error instead of a shorter feed.
        log.exception("ndjson feed failed after %d of %d services", sent, len(ids))
        yield json.dumps({"error": {
            "status": 500, "title": "The feed stopped before its end",
            "detail": f"{sent} of {len(ids)} services were sent; retry later.",
        }}).encode() + b"\n"
        # Not a bare ``raise``: Litestar's sync-iterator wrapper takes any ValueError (a JSON
        # or UUID error is one) for the end of the iteration and would close the body cleanly.
        raise FeedInterrupted(f"stopped after {sent} of {len(ids)} services") from None
    finally:
        db.close()


def _services(request: Request, state: State, db: Database, index: SearchIndex,
              caller: Caller, q: ServiceQuery) -> Response:
    if q.format != "ndjson" and not _words(q.search):
        # A page without search words: the page's ids and the count from the database (an
        # index answers both), not every id of the directory to slice one page from.
        filters = {"organization_id": str(q.organization_id) if q.organization_id else None,
                   "term_ids": _terms(db, q), "modified_after": _utc(q.modified_after)}
        total = store.count_services(db, **filters)
        page_ids = store.service_ids(db, **filters, limit=q.per_page,
                                     offset=(q.page - 1) * q.per_page)
    else:
        ids = _service_ids(db, index, q)
        if q.format == "ndjson":
            return Stream(_ndjson(state, ids, caller, q.full, q.minimal), media_type=NDJSON)
        total = len(ids)
        page_ids = ids[(q.page - 1) * q.per_page: q.page * q.per_page]
    current = list(store.get_services(db, page_ids).values())
    items = list(hsds.iter_services(db, current, full=q.full, caller=caller,
                                    minimal=q.minimal))
    total_pages = max(1, -(-total // q.per_page))
    return Response(hsds.page(items, total=total, page_number=q.page, per_page=q.per_page),
                    headers=_links(request, q.page, total_pages))


SERVICES_DOC = ("`full=true` nests everything, `minimal=true` gives id, name, status and "
                "last_modified, `format=ndjson` streams all results without pagination. "
                "Parameters combine with AND.")


@get("/services", operation_id="getPaginatedListOfServices", dependencies=SERVICE_Q, sync_to_thread=True,
     tags=["hsds"], summary="Paginated services (one-to-one fields), or every service as ndjson",
     description=SERVICES_DOC)
def list_services(request: Request, state: State, db: DB, index: Index, caller: Who,
                  params: NamedDependency[ServiceQuery]) -> Response[ht.ServicePage]:
    return _services(request, state, db, index, caller, params)


@post("/services", operation_id="searchServices", dependencies=SERVICE_Q, sync_to_thread=True, status_code=200,
      tags=["hsds"], summary="The same listing, with the parameters in a JSON body",
      description=SERVICES_DOC + " Body fields override the query string's; the answer has "
                                 "no Link header (a URL cannot carry a body).")
def search_services(request: Request, state: State, db: DB, index: Index, caller: Who,
                    params: NamedDependency[ServiceQuery],
                    data: JSONBody[ServiceQuery | None] = None) -> Response[ht.ServicePage]:
    return _services(request, state, db, index, caller, _merged(params, data))


@get("/services/{id:uuid}", operation_id="getFullyNestedServiceById", tags=["hsds"],
     sync_to_thread=True, summary="A fully nested service")
def get_service(db: DB, caller: Who, id: ServiceId) -> ht.Service:
    return hsds.service_full(db, store.get_service(db, str(id)), caller=caller)


# --- organizations --------------------------------------------------------------------------


def _organizations(request: Request, db: Database, caller: Caller, q: OrganizationQuery
                   ) -> Response:
    orgs = store.list_organizations(db)
    words = _words(q.search)
    if words:
        orgs = [o for o in orgs if _has_words(words, o.name, o.alternate_name, o.description)]
    terms = _terms(db, q)
    if terms is not None:
        having = {s.organization_id for s in store.get_services(
            db, store.service_ids(db, term_ids=terms)).values()}
        orgs = [o for o in orgs if o.id in having]

    def convert(org: Any) -> dict[str, Any]:
        data = hsds.organization(org, caller=caller, db=db, full=q.full)
        if q.full_service:
            data["services"] = list(hsds.iter_services(
                db, store.iter_services(db, organization_id=org.id, status="active")))
        return data

    return _answer(request, q, orgs, convert)


@get("/organizations", operation_id="getPaginatedListOfOrganizations", dependencies=ORG_Q, sync_to_thread=True,
     tags=["hsds"], summary="Paginated organizations (parameters combine with AND)")
def list_organizations(request: Request, db: DB, caller: Who,
                       params: NamedDependency[OrganizationQuery]
                       ) -> Response[ht.OrganizationPage]:
    return _organizations(request, db, caller, params)


@post("/organizations", operation_id="searchOrganizations", dependencies=ORG_Q, sync_to_thread=True,
      status_code=200, tags=["hsds"], summary="The same listing, parameters in a JSON body")
def search_organizations(request: Request, db: DB, caller: Who,
                         params: NamedDependency[OrganizationQuery],
                         data: JSONBody[OrganizationQuery | None] = None
                         ) -> Response[ht.OrganizationPage]:
    return _organizations(request, db, caller, _merged(params, data))


@get("/organizations/{id:uuid}", operation_id="getOrganizationById", tags=["hsds"],
     sync_to_thread=True, summary="An organization with its phones, locations and contacts")
def get_organization(db: DB, caller: Who, id: OrganizationId,
                     full_service: bool = Parameter(
                         default=False, description="Also nest its services (list shape)")
                     ) -> ht.Organization:
    org = store.get_organization(db, str(id))
    data = hsds.organization(org, caller=caller, db=db, full=True)
    if full_service:
        data["services"] = list(hsds.iter_services(
            db, store.iter_services(db, organization_id=org.id, status="active")))
    return data


# --- services at locations ------------------------------------------------------------------


def _place_filter(db: Database, q: ServiceAtLocationQuery) -> Callable[[Any, Any], bool]:
    """Whether a (service, location) pair answers ``postcode`` (and ``proximity``)."""
    if q.postcode is None:
        return lambda service, loc: True
    commune = communes.commune(postal_code=q.postcode.strip())
    if commune is None:
        return lambda service, loc: False
    centre = geo.locate_commune(db, commune) if q.proximity is not None else None

    def covered(service: Any, loc: Any) -> bool:
        if service.areas:
            inside = competence.covers(service, commune)
        else:
            inside = loc.address is not None and communes.commune(
                loc.address.city, loc.address.postal_code) == commune
        if not inside or q.proximity is None:
            return inside
        # and, with proximity, a place that close to the commune's centre
        point = geo.point_of(loc)
        return (centre is not None and point is not None
                and geo.distance_km(centre, point) * 1000 <= q.proximity)
    return covered


def _service_at_locations(request: Request, db: Database, index: SearchIndex, caller: Caller,
                          q: ServiceAtLocationQuery) -> Response:
    ids = _service_ids(db, index, q)
    places = store.locations_by_service(db)
    keep = _place_filter(db, q)
    placed = [sid for sid in ids if places.get(sid)]
    services = store.get_services(db, placed)
    locations = store.get_locations(db, [i for sid in placed for i in places[sid]])
    pairs = []
    for sid, service in services.items():
        pairs += [(service, loc) for loc in (locations[i] for i in places[sid]
                                             if i in locations)
                  if keep(service, loc)]
    orgs = store.get_organizations(db, [s.organization_id for s in services.values()])
    return _answer(request, q, pairs, lambda pair: hsds.service_at_location(
        db, pair[0], pair[1], caller=caller, full=q.full,
        org=orgs.get(pair[0].organization_id)))


@get("/service_at_locations", operation_id="getPaginatedListOfServiceAtLocation", dependencies=SAL_Q,
     sync_to_thread=True, tags=["hsds"],
     summary="Paginated services at their locations (parameters combine with AND)")
def list_service_at_locations(request: Request, db: DB, index: Index, caller: Who,
                              params: NamedDependency[ServiceAtLocationQuery]
                              ) -> Response[ht.ServiceAtLocationPage]:
    return _service_at_locations(request, db, index, caller, params)


@post("/service_at_locations", operation_id="searchServiceAtLocations", dependencies=SAL_Q, sync_to_thread=True,
      status_code=200, tags=["hsds"], summary="The same listing, parameters in a JSON body")
def search_service_at_locations(request: Request, db: DB, index: Index, caller: Who,
                                params: NamedDependency[ServiceAtLocationQuery],
                                data: JSONBody[ServiceAtLocationQuery | None] = None
                                ) -> Response[ht.ServiceAtLocationPage]:
    return _service_at_locations(request, db, index, caller, _merged(params, data))


@get("/service_at_locations/{id:uuid}", operation_id="getServiceAtLocationWithNestedDataById",
     tags=["hsds"], sync_to_thread=True, summary="A service at one location, fully nested")
def get_service_at_location(db: DB, caller: Who, id: ServiceAtLocationId
                            ) -> ht.ServiceAtLocation:
    service_id, location_id = store.service_at_location_link(db, str(id))
    return hsds.service_at_location(db, store.get_service(db, service_id),
                                    store.get_location(db, location_id),
                                    caller=caller, full=True)


# --- taxonomies -----------------------------------------------------------------------------


def _taxonomies(request: Request, q: ListQuery) -> Response:
    items = [hsds.taxonomy()]
    words = _words(q.search)
    items = [t for t in items if _has_words(words, t["name"], t["description"])]
    return _answer(request, q, items, lambda t: t)


@get("/taxonomies", operation_id="getPaginatedListOfTaxonomies", tags=["hsds"],
     summary="Taxonomies")
async def list_taxonomies(request: Request, base: NamedDependency[ListQuery]
                          ) -> Response[ht.TaxonomyPage]:
    return _taxonomies(request, base)


@post("/taxonomies", operation_id="searchTaxonomies", status_code=200, tags=["hsds"],
      summary="The same listing, parameters in a JSON body")
async def search_taxonomies(request: Request, base: NamedDependency[ListQuery],
                            data: JSONBody[ListQuery | None] = None
                            ) -> Response[ht.TaxonomyPage]:
    return _taxonomies(request, _merged(base, data))


@get("/taxonomies/{id:uuid}", operation_id="getTaxonomyById", tags=["hsds"],
     summary="A taxonomy")
async def get_taxonomy(id: TaxonomyId) -> ht.Taxonomy:
    if str(id) != hsds.TAXONOMY_ID:
        raise NotFound("taxonomy", str(id))
    return hsds.taxonomy()


def _taxonomy_terms(request: Request, db: Database, q: TaxonomyTermQuery) -> Response:
    terms = store.list_terms(db)
    if q.taxonomy_id is not None and str(q.taxonomy_id) != hsds.TAXONOMY_ID:
        terms = []
    if q.parent_id is not None:
        terms = [t for t in terms if t.parent_id == str(q.parent_id)]
    if q.top_only:
        terms = [t for t in terms if t.parent_id is None]
    words = _words(q.search)
    if words:
        terms = [t for t in terms if _has_words(words, t.code, *t.labels.values(),
                                                *t.descriptions.values())]
    return _answer(request, q, terms, hsds.taxonomy_term)


@get("/taxonomy_terms", operation_id="getPaginatedListOfTaxonomyTerms", dependencies=TERM_Q, sync_to_thread=True,
     tags=["hsds"], summary="Taxonomy terms (our needs and sub-needs)")
def list_taxonomy_terms(request: Request, db: DB, params: NamedDependency[TaxonomyTermQuery]
                        ) -> Response[ht.TaxonomyTermPage]:
    return _taxonomy_terms(request, db, params)


@post("/taxonomy_terms", operation_id="searchTaxonomyTerms", dependencies=TERM_Q, sync_to_thread=True,
      status_code=200, tags=["hsds"], summary="The same listing, parameters in a JSON body")
def search_taxonomy_terms(request: Request, db: DB, params: NamedDependency[TaxonomyTermQuery],
                          data: JSONBody[TaxonomyTermQuery | None] = None
                          ) -> Response[ht.TaxonomyTermPage]:
    return _taxonomy_terms(request, db, _merged(params, data))


@get("/taxonomy_terms/{id:uuid}", operation_id="getTaxonomyTermById", sync_to_thread=True,
     tags=["hsds"], summary="A taxonomy term")
def get_taxonomy_term(db: DB, id: TermId) -> ht.TaxonomyTerm:
    return hsds.taxonomy_term(store.get_term(db, str(id)), detail=True)


hsds_router = Router(
    path="/hsds",
    route_handlers=[meta, profile, profile_json, list_services, search_services, get_service,
                    list_organizations, search_organizations, get_organization,
                    list_service_at_locations, search_service_at_locations,
                    get_service_at_location, list_taxonomies, search_taxonomies, get_taxonomy,
                    list_taxonomy_terms, search_taxonomy_terms, get_taxonomy_term],
    dependencies={"caller": Provide(provide_caller, sync_to_thread=True),
                  "base": Provide(list_query, sync_to_thread=False)},
    middleware=MIDDLEWARE,
)

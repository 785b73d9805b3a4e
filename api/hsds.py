"""The Open Referral HSDS 3.1 API under /hsds (read-only), with the Belgian profile extensions.

Paths, parameters and the paginated shape follow the HSDS 3.1 OpenAPI description; objects come
from ``orientation.hsds``. ``format=ndjson`` streams every matching service, one per line,
without pagination, on a connection of its own (the request's connection closes when the
handler returns, before the stream is read).
"""

import datetime as dt
import json
import logging
from collections.abc import Iterator
from typing import Any, Literal
from uuid import UUID

from litestar import Request, Response, Router, get
from litestar.datastructures import State
from litestar.di import NamedDependency, Provide
from litestar.params import FromPath, FromQuery, Parameter
from litestar.response import Stream
from sqlite_utils import Database

from orientation import hsds, store
from orientation.access import Caller
from orientation.errors import NotFound
from orientation.search import Filters, SearchIndex

from .http import MIDDLEWARE, link_header, page_links, provide_caller

log = logging.getLogger(__name__)


class FeedInterrupted(RuntimeError):
    """A streamed feed could not be finished; the connection is dropped so it looks cut."""

Page = dict[str, Any]
DB = NamedDependency[Database]
Index = NamedDependency[SearchIndex]
Who = NamedDependency[Caller]
SEARCH = Parameter(default=None, max_length=200, description="Full text search.")
PAGE = Parameter(default=1, ge=1, le=100_000, description="Page number, from 1.")
PER_PAGE = Parameter(default=20, ge=1, le=100, description="Results in one page (1-100).")


def _page(request: Request, items: list, page: int, per_page: int, convert) -> Response:
    total_pages = max(1, -(-len(items) // per_page))
    current = [convert(x) for x in items[(page - 1) * per_page: page * per_page]]
    links = page_links(request, page, total_pages)
    return Response(hsds.page(current, total=len(items), page_number=page, per_page=per_page),
                    headers={"Link": link_header(links)})


@get("/", operation_id="hsds_meta", summary="HSDS version, profile and OpenAPI description")
async def meta(request: Request) -> dict[str, Any]:
    # The public address when it is set; otherwise the request's, whose Host the app's guard
    # has already checked against allowed_hosts (a forged Host never reaches this line).
    base = request.app.state.settings.public_url.rstrip("/") or str(request.base_url).rstrip("/")
    return {
        "version": hsds.HSDS_VERSION,
        "profile": f"{base}/hsds/profile",
        "openapi_url": f"{base}/schema/openapi.json",
        "description": "Orientation: services sociaux à Bruxelles et en Brabant wallon "
                       "(Open Referral HSDS 3.1, profil belge).",
        "publisher": {"name": "Orientation", "website": base + "/"},
    }


@get("/profile", operation_id="hsds_profile", summary="The Belgian profile: extension fields")
async def profile() -> dict[str, Any]:
    return hsds.PROFILE


def _search(db: Database, index: SearchIndex, text: str) -> list[str]:
    """Ids of every service matching ``text``, best first (the index answers 100 at a time)."""
    ids: list[str] = []
    while True:
        found = index.search(db, text, filters=Filters(kind="service"), limit=100,
                             offset=len(ids))
        ids += [hit.id for hit in found.hits]
        if not found.hits or len(ids) >= found.total:
            return ids


def _service_ids(db: Database, index: SearchIndex, *, search: str | None,
                 taxonomy_term_id: UUID | None, taxonomy_id: UUID | None,
                 organization_id: UUID | None, modified_after: dt.datetime | None
                 ) -> list[str]:
    terms = None
    if taxonomy_term_id is not None:
        term = str(taxonomy_term_id)
        terms = {term} | {t.id for t in store.list_terms(db) if t.parent_id == term}
    if taxonomy_id is not None:
        ours = str(taxonomy_id) == hsds.TAXONOMY_ID
        terms = (terms if terms is not None else {t.id for t in store.list_terms(db)}) \
            if ours else set()
    if modified_after is not None and modified_after.tzinfo is None:
        modified_after = modified_after.replace(tzinfo=dt.timezone.utc)
    ids = store.service_ids(
        db, organization_id=str(organization_id) if organization_id else None,
        term_ids=terms, modified_after=modified_after and modified_after.astimezone(
            dt.timezone.utc).isoformat(timespec="seconds"))
    if search and search.strip():
        wanted = set(ids)
        ids = [i for i in _search(db, index, search) if i in wanted]
    return ids


def _ndjson(state: State, ids: list[str], caller: Caller, full: bool, minimal: bool
            ) -> Iterator[bytes]:
    db = store.connect(state.db_path, migrate=False)
    sent = 0
    try:
        for start in range(0, len(ids), 50):
            chunk = [store.get_service(db, i) for i in ids[start:start + 50]]
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


@get("/services", operation_id="getPaginatedListOfServices", sync_to_thread=True,
     summary="Paginated services (one-to-one fields), or every service as ndjson",
     description="`full=true` nests everything, `minimal=true` gives id, name, status and "
                 "last_modified, `format=ndjson` streams all results without pagination.")
def list_services(
    request: Request, state: State, db: DB, index: Index, caller: Who,
    search: str | None = SEARCH, page: int = PAGE, per_page: int = PER_PAGE,
    taxonomy_term_id: FromQuery[UUID | None] = None, taxonomy_id: FromQuery[UUID | None] = None,
    organization_id: FromQuery[UUID | None] = None,
    modified_after: dt.datetime | None = Parameter(
        default=None, description="Only services modified on or after this time (ISO 8601)."),
    minimal: FromQuery[bool] = False, full: FromQuery[bool] = False,
    format: Literal["json", "ndjson"] = Parameter(default="json", description="json or ndjson."),
) -> Response[Page]:
    ids = _service_ids(db, index, search=search, taxonomy_term_id=taxonomy_term_id,
                       taxonomy_id=taxonomy_id, organization_id=organization_id,
                       modified_after=modified_after)
    if format == "ndjson":
        return Stream(_ndjson(state, ids, caller, full, minimal),
                      media_type="application/x-ndjson")
    current = [store.get_service(db, i) for i in ids[(page - 1) * per_page: page * per_page]]
    items = list(hsds.iter_services(db, current, full=full, caller=caller, minimal=minimal))
    total_pages = max(1, -(-len(ids) // per_page))
    links = page_links(request, page, total_pages)
    return Response(hsds.page(items, total=len(ids), page_number=page, per_page=per_page),
                    headers={"Link": link_header(links)})


@get("/services/{service_id:uuid}", operation_id="getFullyNestedServiceById",
     sync_to_thread=True, summary="A fully nested service")
def get_service(db: DB, caller: Who, service_id: FromPath[UUID]) -> dict[str, Any]:
    return hsds.service_full(db, store.get_service(db, str(service_id)), caller=caller)


@get("/organizations", operation_id="getPaginatedListOfOrganizations", sync_to_thread=True,
     summary="Paginated organizations")
def list_organizations(request: Request, db: DB, search: str | None = SEARCH,
                       page: int = PAGE, per_page: int = PER_PAGE) -> Response[Page]:
    orgs = store.list_organizations(db)
    if search and search.strip():
        words = search.casefold().split()
        orgs = [o for o in orgs if all(w in f"{o.name} {o.alternate_name or ''} "
                                            f"{o.description}".casefold() for w in words)]
    return _page(request, orgs, page, per_page, hsds.organization)


@get("/organizations/{organization_id:uuid}", operation_id="getFullyNestedOrganizationById",
     sync_to_thread=True, summary="An organization with its phones, locations and contacts")
def get_organization(db: DB, caller: Who, organization_id: FromPath[UUID],
                     full_service: bool = Parameter(
                         default=False, description="Also nest its services (list shape)")
                     ) -> dict[str, Any]:
    org = store.get_organization(db, str(organization_id))
    data = hsds.organization(org, caller=caller, db=db, full=True)
    if full_service:
        data["services"] = list(hsds.iter_services(
            db, store.iter_services(db, organization_id=org.id, status="active")))
    return data


@get("/service_at_locations", operation_id="getPaginatedListOfServiceAtLocations",
     sync_to_thread=True, summary="Paginated services at their locations")
def list_service_at_locations(request: Request, db: DB, caller: Who,
                              page: int = PAGE, per_page: int = PER_PAGE,
                              organization_id: FromQuery[UUID | None] = None,
                              taxonomy_term_id: FromQuery[UUID | None] = None
                              ) -> Response[Page]:
    ids = store.service_ids(db, organization_id=str(organization_id) if organization_id
                            else None,
                            term_ids=[str(taxonomy_term_id)] if taxonomy_term_id else None)
    places = store.locations_by_service(db)
    pairs = [(sid, loc) for sid in ids for loc in places.get(sid, [])]
    return _page(request, pairs, page, per_page, lambda pair: hsds.service_at_location(
        db, store.get_service(db, pair[0]), store.get_location(db, pair[1]), caller=caller))


@get("/service_at_locations/{sal_id:uuid}", operation_id="getFullyNestedServiceAtLocationById",
     sync_to_thread=True, summary="A service at one location, fully nested")
def get_service_at_location(db: DB, caller: Who, sal_id: FromPath[UUID]) -> dict[str, Any]:
    service_id, location_id = store.service_at_location_link(db, str(sal_id))
    return hsds.service_at_location(db, store.get_service(db, service_id),
                                    store.get_location(db, location_id),
                                    caller=caller, full=True)


@get("/taxonomies", operation_id="getPaginatedListOfTaxonomies", summary="Taxonomies")
async def list_taxonomies(request: Request, page: int = PAGE, per_page: int = PER_PAGE
                          ) -> Response[Page]:
    return _page(request, [hsds.taxonomy()], page, per_page, lambda t: t)


@get("/taxonomies/{taxonomy_id:uuid}", operation_id="getTaxonomyById", summary="A taxonomy")
async def get_taxonomy(taxonomy_id: FromPath[UUID]) -> dict[str, Any]:
    if str(taxonomy_id) != hsds.TAXONOMY_ID:
        raise NotFound("taxonomy", str(taxonomy_id))
    return hsds.taxonomy()


@get("/taxonomy_terms", operation_id="getPaginatedListOfTaxonomyTerms", sync_to_thread=True,
     summary="Taxonomy terms (our needs and sub-needs)")
def list_taxonomy_terms(request: Request, db: DB, page: int = PAGE,
                        per_page: int = PER_PAGE, taxonomy_id: FromQuery[UUID | None] = None,
                        parent_id: FromQuery[UUID | None] = None,
                        top_only: bool = Parameter(default=False,
                                                   description="Only terms without a parent.")
                        ) -> Response[Page]:
    terms = store.list_terms(db)
    if taxonomy_id is not None and str(taxonomy_id) != hsds.TAXONOMY_ID:
        terms = []
    if parent_id is not None:
        terms = [t for t in terms if t.parent_id == str(parent_id)]
    if top_only:
        terms = [t for t in terms if t.parent_id is None]
    return _page(request, terms, page, per_page, hsds.taxonomy_term)


@get("/taxonomy_terms/{term_id:uuid}", operation_id="getTaxonomyTermById", sync_to_thread=True,
     summary="A taxonomy term")
def get_taxonomy_term(db: DB, term_id: FromPath[UUID]) -> dict[str, Any]:
    return hsds.taxonomy_term(store.get_term(db, str(term_id)), detail=True)


hsds_router = Router(
    path="/hsds",
    route_handlers=[meta, profile, list_services, get_service, list_organizations,
                    get_organization, list_service_at_locations, get_service_at_location,
                    list_taxonomies, get_taxonomy, list_taxonomy_terms, get_taxonomy_term],
    dependencies={"caller": Provide(provide_caller, sync_to_thread=True)},
    middleware=MIDDLEWARE,
    tags=["hsds"],
)

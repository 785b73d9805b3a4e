"""The one place where the web app is assembled: the API (/api/v1, /hsds), the public kiosk
(/), the desk page (/desk) and the staff console (/staff).

Everything the app needs is passed in (``create_app(db_path, index_dir, settings=…)``), so tests
build as many independent apps as they like. The environment is read only by
``app_from_environment``, the factory ``orientation serve`` hands to uvicorn (by import string,
so that several workers can each build their own app).
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Iterator, Mapping
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from litestar import Litestar, Request, get
from litestar.di import NamedDependency
from litestar.datastructures import State
from litestar.config.cors import CORSConfig
from litestar.di import Provide
from litestar.exceptions import NotFoundException
from litestar.openapi import OpenAPIConfig
from litestar.openapi.plugins import OpenAPIRenderPlugin
from litestar.openapi.spec import (
    Components,
    OpenAPIMediaType,
    OpenAPIResponse,
    OpenAPIType,
    Reference,
    Schema,
    SecurityScheme,
    Tag,
)
from sqlite_utils import Database

from api import security
from api.hsds import hsds_router
from api.http import EXCEPTION_HANDLERS, NDJSON, PROBLEM
from api.routes import api_router, api_versions
from kiosk.desk import desk_router
from kiosk.public import kiosk_router, not_found, template_config
from kiosk.staff import staff_router
from kiosk.places import places_router
from kiosk.verify import verify_router
from orientation import startup, store
from orientation.search import SearchIndex
from orientation.settings import SETTINGS, Settings, envvar


def provide_db(state: State) -> Iterator[Database]:
    """One connection per request: SQLite connections are cheap and this keeps threads apart."""
    db = store.connect(state.db_path, migrate=False)
    try:
        yield db
    finally:
        db.close()


def provide_index(state: State) -> SearchIndex:
    return state.index


@get("/healthz", include_in_schema=False, sync_to_thread=True)
def healthz(db: NamedDependency[Database], index: NamedDependency[SearchIndex]) -> dict[str, Any]:
    return {"status": "ok", "counts": store.counts(db), "index_documents": index.doc_count()}


@get("/livez", include_in_schema=False, media_type="text/plain")
async def livez() -> str:
    """Is the process answering at all (no database, no index): a process manager's liveness
    probe, and the framework floor of ``bench.load``."""
    return "ok"


class SwaggerDocs(OpenAPIRenderPlugin):
    """The /schema page: Swagger UI from our own /static/swagger-ui (vendored, see
    kiosk/static/VENDORED.md), so the docs work offline and under the site's
    Content-Security-Policy: no CDN, no web font, no inline script or style (Litestar's own
    plugins load from CDNs and inline their start-up script)."""

    def __init__(self) -> None:
        super().__init__(path=["/", "/swagger"])

    def render(self, request: Request, openapi_schema: dict[str, Any]) -> bytes:
        title = str(openapi_schema["info"]["title"]).replace("<", "&lt;")
        return f"""<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title} · API</title>
<link rel="icon" href="data:,">
<link rel="stylesheet" href="/static/swagger-ui/swagger-ui.css">
<script src="/static/swagger-ui/swagger-ui-bundle.js" defer></script>
<script src="/static/swagger-ui/docs.js" defer></script>
</head>
<body>
<div id="swagger-ui" data-spec-url="{self.get_openapi_json_route(request)}"></div>
</body>
</html>
""".encode()


def openapi_config() -> OpenAPIConfig:
    return OpenAPIConfig(
        title="Orientation",
        version="1.0.0",
        description=(
            "Referral directory of social services in Brussels and Brabant wallon. "
            "`/api/v1`: our REST API (reads are public; writes need an API key sent as "
            "`Authorization: Bearer <key>` or `X-API-Key`). `/hsds`: Open Referral HSDS 3.1 "
            "with the Belgian profile (`/hsds/profile`). Errors are RFC 9457 problem+json."),
        path="/schema",
        render_plugins=[SwaggerDocs()],
        tags=[Tag(name=name, description=text) for name, text in (
            ("services", "Services: search, details, hours, writes."),
            ("organizations", "Organisations."), ("locations", "Places."),
            ("contacts", "Named people to ask for."), ("pathways", "Referral pathways."),
            ("taxonomy", "Needs and sub-needs."), ("history", "Audit trail."),
            ("hsds", "Open Referral HSDS 3.1 (read-only)."))],
        # Reads need no key ({}): writes and staff-only reads take either scheme.
        security=[{}, {"apiKey": []}, {"bearer": []}],
        components=Components(security_schemes={
            "apiKey": SecurityScheme(type="apiKey", name="X-API-Key",
                                     security_scheme_in="header"),
            "bearer": SecurityScheme(type="http", scheme="bearer"),
        }),
    )


def _closed_structs() -> dict[str, type]:
    """Struct name -> Struct, for every body or record type that refuses unknown fields."""
    import msgspec

    from api import hsds as hsds_api
    from orientation import models

    found = {}
    for module in (models, hsds_api):
        for value in vars(module).values():
            if isinstance(value, type) and issubclass(value, msgspec.Struct) \
                    and value.__struct_config__.forbid_unknown_fields:
                found[value.__name__] = value
    return found


def close_schemas(app: Litestar) -> None:
    """Make the OpenAPI document tell the truth about bodies: a Struct that refuses unknown
    fields ("unknown field" 400) is ``additionalProperties: false``, and the optional JSON
    body of the HSDS POST twins is not required. Litestar builds the document once and keeps
    it; this edits that copy before the first request."""
    schema = app.openapi_schema
    closed = _closed_structs()
    for name, component in (schema.components.schemas or {}).items():
        if name in closed or name.rsplit("_", 1)[-1] in closed:
            component.additional_properties = False
    for path, item in schema.paths.items():
        if path.startswith("/hsds") and item.post is not None and item.post.request_body:
            item.post.request_body.required = False
    _document_errors(schema)


#: what each status means, as api/http.py answers it (problem+json)
STATUSES = {"400": "Malformed request or parameter", "401": "No key, or an unknown key",
            "403": "The key may not do this", "404": "Unknown record",
            "409": "Already exists, or still used by another record",
            "413": "Body over max_body_kb", "422": "Breaks a rule of the directory",
            "429": "Over the rate limit (see Retry-After)"}
PROBLEM_SCHEMA = Schema(type=OpenAPIType.OBJECT, required=["type", "title", "status"],
                        properties={
    "type": Schema(type=OpenAPIType.STRING), "title": Schema(type=OpenAPIType.STRING),
    "status": Schema(type=OpenAPIType.INTEGER), "detail": Schema(type=OpenAPIType.STRING),
    "instance": Schema(type=OpenAPIType.STRING), "code": Schema(type=OpenAPIType.STRING),
    "errors": Schema(type=OpenAPIType.ARRAY, items=Schema(type=OpenAPIType.OBJECT))},
                        description="RFC 9457 problem details")


def _document_errors(schema: Any) -> None:
    """Every status code and media type the server really sends: the problem+json errors of
    api/http.py on every API operation, and ndjson on the HSDS listings."""
    schema.components.schemas["Problem"] = PROBLEM_SCHEMA
    problem = {PROBLEM: OpenAPIMediaType(schema=Reference("#/components/schemas/Problem"))}
    for path, item in schema.paths.items():
        if not path.startswith(("/api", "/hsds")):
            continue
        for method in ("get", "post", "put", "patch", "delete"):
            op = getattr(item, method)
            if op is None:
                continue
            codes = {"400", "401", "429"}
            if "{" in path:
                codes.add("404")
            if path.startswith("/api/"):
                codes.add("422")  # an unknown need or commune, a broken rule
            if method != "get" and path.startswith("/api"):
                codes |= {"403", "404", "409", "413", "422"}
            elif method == "post":
                codes.add("413")
            if op.operation_id and op.operation_id.endswith("_history"):
                codes.add("403")
            for code in sorted(codes):
                # replaces Litestar's own 400 entry, which says application/json
                op.responses[code] = OpenAPIResponse(description=STATUSES[code],
                                                     content=problem)
            ok = op.responses.get("200")
            if path.startswith("/hsds") and ok is not None and ok.content \
                    and "format" in {getattr(p, "name", "") for p in op.parameters or []}:
                ok.content[NDJSON] = OpenAPIMediaType(schema=Schema(
                    type=OpenAPIType.STRING, description="With format=ndjson: every result, "
                                                         "one JSON object a line."))


def cors_config(origins: str) -> CORSConfig | None:
    """CORS for the partner origins of the ``cors_origins`` setting (none: no CORS)."""
    allowed = [o.strip() for o in str(origins).split(",") if o.strip()]
    if not allowed:
        return None
    return CORSConfig(
        allow_origins=allowed, allow_methods=["GET", "POST", "PUT", "PATCH", "DELETE"],
        allow_headers=["Authorization", "X-API-Key", "Content-Type", "If-None-Match"],
        expose_headers=["ETag", "Link", "Retry-After"], max_age=600)


def create_app(
    db_path: Path,
    index_dir: Path,
    *,
    settings: Settings | Mapping[str, Any] | None = None,
    debug: bool = False,
) -> Litestar:
    """The app, its settings checked at once (``SettingsError`` names a bad value)."""
    # Checked now, so that a bad value stops the start, never a request later.
    config = settings if isinstance(settings, Settings) else Settings.from_mapping(settings)

    @asynccontextmanager
    async def lifespan(app: Litestar) -> AsyncIterator[None]:
        seed_dir = Path(config.seed_dir) if config.seed_dir else None
        app.state.index = startup.open_index(db_path, index_dir, seed_dir=seed_dir)
        try:
            yield
        finally:
            app.state.index.close()

    app = Litestar(
        route_handlers=[healthz, livez, api_versions, api_router, hsds_router, kiosk_router,
                        staff_router, desk_router, verify_router, places_router],
        openapi_config=openapi_config(),
        cors_config=cors_config(config.cors_origins),
        # Unknown pages outside the API get the kiosk's plain-words page, not JSON.
        exception_handlers={**EXCEPTION_HANDLERS,
                            NotFoundException: not_found(EXCEPTION_HANDLERS[Exception])},
        dependencies={"db": Provide(provide_db), "index": Provide(provide_index, sync_to_thread=False)},
        lifespan=[lifespan],
        state=State({"db_path": Path(db_path), "index_dir": Path(index_dir), "settings": config}),
        template_config=template_config(),
        debug=debug,
        # The guard below checks the size first; this is Litestar's own limit, kept equal.
        request_max_body_size=config.max_body_kb * 1024,
    )
    close_schemas(app)
    return security.guard(
        app, hosts=security.allowed_hosts(config.allowed_hosts, config.public_url),
        max_body=config.max_body_kb * 1024)


def app_from_environment() -> Litestar:
    """The app of ``orientation serve``, built by uvicorn in each worker from the
    ``ORIENTATION_*`` variables the CLI checked and exported."""
    values = {s.name: os.environ[envvar(s.name)] for s in SETTINGS
              if envvar(s.name) in os.environ}
    settings = Settings.from_mapping(values)
    return create_app(Path(settings.db), Path(settings.index_dir), settings=settings)

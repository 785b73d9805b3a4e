"""HTTP plumbing shared by /api/v1 and /hsds: who is calling, problem+json errors, ETags and
caching, rate limiting and pagination links.

Domain errors (``orientation.errors``) are translated here, at the edge, into RFC 9457 problem
details; nothing below this module knows about HTTP.
"""

from __future__ import annotations

import hashlib
import http
import logging
from typing import Any
from urllib.parse import urlencode

import anyio
from litestar import Request, Response
from litestar.connection import ASGIConnection
from litestar.handlers import BaseRouteHandler
from litestar.datastructures import State
from litestar.exceptions import (
    HTTPException,
    NotAuthorizedException,
    TooManyRequestsException,
    ValidationException,
)
from litestar.exceptions.responses import create_exception_response
from litestar.types import ASGIApp, Message, Receive, Scope, Send

from orientation import limits, store
from orientation.access import ANONYMOUS, Caller, caller_for, find_api_key
from orientation.errors import (
    InvalidData,
    NotFound,
    OrientationError,
    PathwayInvalid,
    describe,
)
from orientation.models import ApiKey

log = logging.getLogger("orientation.api")

PROBLEM = "application/problem+json"
NDJSON = "application/x-ndjson"
#: Paths whose errors are problem+json (the kiosk renders its own error pages).
API_PREFIXES = ("/api", "/hsds", "/schema")


# --- who is calling -------------------------------------------------------------------------


def secret_from(request: ASGIConnection) -> str | None:
    """The API key sent as ``Authorization: Bearer <key>`` or ``X-API-Key: <key>``."""
    header = request.headers.get("authorization")
    if header:
        scheme, _, value = header.partition(" ")
        if scheme.lower() != "bearer" or not value.strip():
            raise NotAuthorizedException("use 'Authorization: Bearer <key>'",
                                         headers={"WWW-Authenticate": "Bearer"})
        return value.strip()
    return request.headers.get("x-api-key") or None


def key_required(connection: ASGIConnection, handler: BaseRouteHandler) -> None:
    """Router guard: writes (and handlers marked ``opt={"needs_key": True}``) without any key
    get 401 at once, before the body is read, so an anonymous caller never learns more."""
    reads = set(getattr(handler, "http_methods", ())) <= {"GET", "HEAD", "OPTIONS"}
    if (not reads or handler.opt.get("needs_key")) and secret_from(connection) is None:
        raise NotAuthorizedException("an API key is needed (Authorization: Bearer <key>)",
                                     headers={"WWW-Authenticate": "Bearer"})


def provide_caller(request: Request) -> Caller:
    """The caller ``caller_middleware`` recognised (it runs on every API route)."""
    return request.state.caller


# --- problem details ------------------------------------------------------------------------


def _problem(request: Request, status: int, detail: str | None, *,
             headers: dict[str, str] | None = None, **extra: Any) -> Response:
    body = {"type": "about:blank", "title": http.HTTPStatus(status).phrase, "status": status}
    if detail:
        body["detail"] = detail
    body["instance"] = request.url.path
    body.update({k: v for k, v in extra.items() if v is not None})
    return Response(body, status_code=status, media_type=PROBLEM, headers=headers)


def _field_errors(exc: ValidationException) -> list[dict[str, str]]:
    errors = []
    for item in exc.extra if isinstance(exc.extra, list) else []:
        if isinstance(item, dict):
            errors.append({"field": str(item.get("key") or "body"),
                           "source": str(getattr(item.get("source"), "value", None)
                                         or item.get("source") or "body"),
                           "message": str(item.get("message", ""))})
    return errors


def problem_from(request: Request, exc: Exception) -> Response:
    """Any exception raised while serving the API, as an RFC 9457 problem."""
    if isinstance(exc, OrientationError):
        status, code = describe(exc)
        if status == 403 and "authorization" not in request.headers \
                and "x-api-key" not in request.headers:
            # The API's own addition to the table: no credentials at all is a 401.
            return _problem(request, 401, f"an API key is needed: {exc}", code="unauthorized",
                            headers={"WWW-Authenticate": "Bearer"})
        extra: dict[str, Any] = {}
        if isinstance(exc, PathwayInvalid):
            # The refusal's stable reason ("role-unresolved"…) and what fills its message,
            # so a client can say it in its own words, as the staff editor does.
            extra.update(step=exc.step, reason=exc.reason, params=exc.params or None)
        if isinstance(exc, InvalidData):
            default = "steps" if isinstance(exc, PathwayInvalid) else "body"
            extra["errors"] = [{"field": exc.field or default, "message": str(exc)}]
        if isinstance(exc, NotFound):
            extra["entity"] = exc.entity
        return _problem(request, status, str(exc), code=code, **extra)
    if isinstance(exc, ValidationException):
        errors = _field_errors(exc)
        detail = "; ".join(f"{e['field']}: {e['message']}" for e in errors) or exc.detail
        return _problem(request, 400, detail, code="validation", errors=errors or None)
    if isinstance(exc, HTTPException):
        detail = exc.detail if exc.detail != http.HTTPStatus(exc.status_code).phrase else None
        return _problem(request, exc.status_code, detail, headers=exc.headers)
    # Never echo an unexpected error: it may carry data. Log the type and path only.
    log.error("unexpected %s on %s %s", type(exc).__name__, request.method, request.url.path,
              exc_info=exc)
    return _problem(request, 500, "an unexpected error happened; it has been logged")


def exception_handler(request: Request, exc: Exception) -> Response:
    """App-wide handler: problem+json for the API paths, Litestar's default elsewhere."""
    if request.url.path.startswith(API_PREFIXES):
        return problem_from(request, exc)
    if isinstance(exc, HTTPException):
        return create_exception_response(request, exc)
    return create_exception_response(request, HTTPException(status_code=500))


EXCEPTION_HANDLERS = {Exception: exception_handler}


# --- caching --------------------------------------------------------------------------------


def _header(message: Message, name: bytes) -> bytes | None:
    return next((v for k, v in message.get("headers", []) if k.lower() == name), None)


def etag_middleware(app: ASGIApp) -> ASGIApp:
    """ETag + If-None-Match -> 304, and Cache-Control, on successful GET responses.

    The ETag is a hash of the body, so it changes exactly when the representation does
    (including when a key sees staff-only lines). Streamed bodies (ndjson) pass through.
    """

    async def middleware(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] not in ("GET", "HEAD"):
            await app(scope, receive, send)
            return
        request_headers = dict(scope["headers"])
        authenticated = b"authorization" in request_headers or b"x-api-key" in request_headers
        start: Message | None = None

        async def wrapped(message: Message) -> None:
            nonlocal start
            if message["type"] == "http.response.start":
                start = message
                return
            if message["type"] != "http.response.body" or start is None:
                await send(message)
                return
            held, start = start, None
            headers = [(k, v) for k, v in held.get("headers", [])]
            if held["status"] == 200:
                headers.append((b"cache-control", b"private, no-cache" if authenticated
                                else b"public, max-age=60"))
                headers.append((b"vary", b"Authorization, X-API-Key"))
            if held["status"] != 200 or message.get("more_body"):
                await send({**held, "headers": headers})
                await send(message)
                return
            body = message.get("body", b"")
            etag = b'"' + hashlib.sha256(body).hexdigest()[:32].encode() + b'"'
            headers.append((b"etag", etag))
            wanted = request_headers.get(b"if-none-match", b"")
            if etag in [t.strip().removeprefix(b"W/") for t in wanted.split(b",")] \
                    or wanted.strip() == b"*":
                keep = {b"etag", b"cache-control", b"vary", b"access-control-allow-origin",
                        b"access-control-expose-headers"}
                await send({"type": "http.response.start", "status": 304,
                            "headers": [(k, v) for k, v in headers if k.lower() in keep]})
                await send({"type": "http.response.body", "body": b""})
                return
            await send({**held, "headers": headers})
            await send(message)

        await app(scope, receive, wrapped)

    return middleware


# --- who is calling, and how often -----------------------------------------------------------


def _identify(state: State, secret: str | None, address: str) -> tuple[ApiKey | None, int | None]:
    """(the key behind ``secret`` or None, seconds to wait or None), in one connection.

    A recognised key is counted in its own bucket (by its id, so its two spellings share it);
    everyone else, including a caller sending an unknown key, is counted by address, so that
    guessing keys is limited like anything else."""
    limit = limits.api(state.settings)
    if secret is None and limit.count <= 0:
        return None, None
    db = store.connect(state.db_path, migrate=False)
    try:
        key = find_api_key(db, secret) if secret is not None else None
        who = f"key:{key.id}" if key is not None else f"ip:{address}"
        return key, limits.hit(db, limit, who)
    finally:
        db.close()


def caller_middleware(app: ASGIApp) -> ASGIApp:
    """Who is calling, checked once per request before any route runs: a key that is sent but
    not recognised (unknown or revoked) gets 401 on every route, reads included, and every
    caller is counted against ``rate_limit`` in the SQLite counters that all workers share
    (429 with Retry-After once over). The caller is left in the request's state."""

    async def middleware(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["method"] != "OPTIONS":
            connection = ASGIConnection(scope)
            secret = secret_from(connection)
            address = connection.client.host if connection.client else "?"
            state = scope["litestar_app"].state
            key, wait = await anyio.to_thread.run_sync(_identify, state, secret, address)
            if wait is not None:
                raise TooManyRequestsException(
                    f"more than {state.settings.rate_limit} requests a minute; retry later",
                    headers={"Retry-After": str(wait)})
            if secret is not None and key is None:
                raise NotAuthorizedException("unknown or revoked API key",
                                             headers={"WWW-Authenticate": "Bearer"})
            connection.state.caller = ANONYMOUS if key is None else caller_for(key)
        await app(scope, receive, send)

    return middleware


MIDDLEWARE = [caller_middleware, etag_middleware]


# --- pagination -----------------------------------------------------------------------------


def page_links(request: Request, page: int, total_pages: int) -> dict[str, str]:
    """first/prev/next/last URLs of a paginated listing (same query, another page)."""
    query = [(k, v) for k, v in request.query_params.multi_items() if k != "page"]

    def url(n: int) -> str:
        return f"{request.url.path}?{urlencode([*query, ('page', n)])}"

    links = {"self": url(page), "first": url(1), "last": url(max(total_pages, 1))}
    if page > 1:
        links["prev"] = url(min(page - 1, max(total_pages, 1)))
    if page < total_pages:
        links["next"] = url(page + 1)
    return links


def link_header(links: dict[str, str]) -> str:
    return ", ".join(f'<{url}>; rel="{rel}"' for rel, url in links.items() if rel != "self")

"""Who may change something through the public kiosk: same-origin checks and per-address limits.

The kiosk's POSTs are anonymous (no login, no CSRF token to carry), so two guards stand in:
a request must come from a page of this site (``Origin``, else ``Referer``), and each costly
action is counted per client address in the SQLite counters every worker shares (see
``orientation.limits``). Over the limit, the kiosk answers 429 in plain words.
"""

from __future__ import annotations

from urllib.parse import urlsplit

import anyio
from litestar.connection import ASGIConnection
from litestar.exceptions import PermissionDeniedException, TooManyRequestsException
from litestar.handlers import BaseRouteHandler

from orientation import limits, store


def _host(url: str) -> str | None:
    """host[:port] of an http(s) URL, without its scheme's default port (None if not one)."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        return None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return None
    default = 443 if parts.scheme == "https" else 80
    return parts.hostname if port in (None, default) else f"{parts.hostname}:{port}"


def same_origin(connection: ASGIConnection) -> bool:
    """Whether a request comes from a page of this site: its ``Origin`` (else its ``Referer``)
    names this host, or ``public_url``'s.

    Chromium sends Origin on every POST (forms, htmx, fetch), so a POST with neither header
    did not come from the kiosk's pages and is refused too. The scheme is left out of the
    comparison: behind a TLS proxy the page is https while the request reaching us is http."""
    sent = connection.headers.get("origin") or connection.headers.get("referer")
    if not sent:
        return False
    ours = {_host(str(connection.url)), _host(connection.app.state.settings.public_url)}
    return _host(sent) in ours - {None}


def _hit(connection: ASGIConnection, action: str) -> int | None:
    db = store.connect(connection.app.state.db_path, migrate=False)
    try:
        address = connection.client.host if connection.client else "?"
        return limits.hit(db, limits.kiosk(connection.app.state.settings, action), address)
    finally:
        db.close()


async def post_guard(connection: ASGIConnection, handler: BaseRouteHandler) -> None:
    """Router guard for every kiosk request that changes something (any method but GET and
    HEAD, so a new POST route is covered without asking): refused (403) from another site,
    then counted per client address against the limit of its ``opt["limit"]`` action
    (``limits.KIOSK_ACTIONS``), 429 with Retry-After once over."""
    if connection.scope["method"] in ("GET", "HEAD", "OPTIONS"):
        return
    if not same_origin(connection):
        raise PermissionDeniedException("this request does not come from this site")
    action = handler.opt.get("limit")
    wait = await anyio.to_thread.run_sync(_hit, connection, action) if action else None
    if wait is not None:
        raise TooManyRequestsException("too many requests from this address; retry later",
                                       headers={"Retry-After": str(wait)})

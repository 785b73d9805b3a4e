"""Rendered kiosk pages, kept for the current minute of the current directory.

A need page costs ~100 ms to build (a search, then a card per service: its places, its
organisation, its hours now), and every person who touches the same tile gets the same page.
So the finished response of the read-only screens is kept and served again while nothing that
shapes it has changed. The key is everything the page is made of:

- the directory's generation (``store.generation``, the newest audit row: every write moves it);
- the address asked for (path and query), the Host (the slip's QR code carries it) and whether
  htmx asked for a fragment;
- the language (``?lang=``, else the cookie) and the person's commune: both come from the
  request's cookies at every request and exist nowhere else than in this key, in memory;
- the current minute, since "open now" and "opens at 14 h" change with the clock: a service's
  opening status is computed once per minute per page at most.

When the generation or the minute moves, every kept page is dropped: nothing stays in memory
for longer than the minute it was made in.

Nothing personal is kept: these screens show the directory, the same to anyone with the same
language and commune. Responses that set a cookie, or are not a plain 200, are never kept, and
screens that depend on more (search words, a call for help, a print) are not cached here.
"""

from __future__ import annotations

import asyncio
import time
from collections import OrderedDict
from pathlib import Path
from typing import Any

from litestar.enums import ScopeType
from litestar.middleware import ASGIMiddleware
from litestar.types import ASGIApp, Message, Receive, Scope, Send

from orientation import store

from . import i18n
from .place import BY_SLUG, COOKIE

#: Route handler names whose pages are kept (read-only, the same for everyone alike).
CACHED = frozenset({"home", "need", "service", "pathway", "slip"})
#: Pages kept at most per app and process (a page is 10–60 kB: ~30 MB at worst).
MAX_PAGES = 1000
LANG_COOKIE = "lang"


class PageCache:
    """The kept pages of one app (one database), in one process."""

    def __init__(self, db_path: Path):
        self.db_path = db_path
        self._db = None
        self.generation = -1
        self.minute = -1
        self.pages: OrderedDict[tuple, tuple[list, bytes]] = OrderedDict()
        #: Pages being made: the same page asked for meanwhile waits for it (at a new minute
        #: or generation, the kiosk's busy pages are made once, not once per request).
        self.making: dict[tuple, asyncio.Future] = {}
        self.hits = self.misses = 0

    def current(self) -> tuple[int, int]:
        """The directory's generation and the current minute; when either moves, every kept
        page is dropped (so nothing stays in memory past its minute)."""
        if self._db is None:
            self._db = store.connect(self.db_path, migrate=False)
        generation, minute = store.generation(self._db), int(time.time() // 60)
        if (generation, minute) != (self.generation, self.minute):
            self.pages.clear()
            self.generation, self.minute = generation, minute
        return generation, minute

    def get(self, key: tuple) -> tuple[list, bytes] | None:
        page = self.pages.get(key)
        if page is not None:
            self.pages.move_to_end(key)
        return page

    def put(self, key: tuple, headers: list, body: bytes) -> None:
        self.pages[key] = (headers, body)
        while len(self.pages) > MAX_PAGES:
            self.pages.popitem(last=False)


def _cookies(header: str) -> dict[str, str]:
    cookies = {}
    for part in header.split(";"):
        name, _, value = part.strip().partition("=")
        if name in (LANG_COOKIE, COOKIE):
            cookies[name] = value
    return cookies


def page_key(scope: Scope, now: tuple[int, int]) -> tuple:
    headers = {name: value for name, value in scope["headers"]
               if name in (b"host", b"hx-request", b"cookie")}
    cookies = _cookies(headers.get(b"cookie", b"").decode("latin-1"))
    lang = cookies.get(LANG_COOKIE)
    return (now, scope["path"], scope.get("query_string", b""), headers.get(b"host"),
            headers.get(b"hx-request"), lang if lang in i18n.LANGUAGES else None,
            BY_SLUG.get(cookies.get(COOKIE, "")))


def _cache(scope: Scope) -> PageCache:
    state = scope["app"].state
    cache = state.get("page_cache")
    if cache is None:
        cache = state["page_cache"] = PageCache(state["db_path"])
    return cache


class PageCacheMiddleware(ASGIMiddleware):
    """Serves a kept page when its key matches, else keeps the page the handler makes."""

    scopes = (ScopeType.HTTP,)

    async def handle(self, scope: Scope, receive: Receive, send: Send,
                     next_app: ASGIApp) -> None:
        handler = scope.get("route_handler")
        if scope["method"] != "GET" or handler is None or handler.name not in CACHED:
            await next_app(scope, receive, send)
            return
        cache = _cache(scope)
        key = page_key(scope, cache.current())
        page = cache.get(key)
        if page is None and key in cache.making:
            page = await asyncio.shield(cache.making[key])
        if page is not None:
            cache.hits += 1
            headers, body = page
            await send({"type": "http.response.start", "status": 200, "headers": headers})
            await send({"type": "http.response.body", "body": body})
            return
        cache.misses += 1
        start: dict[str, Any] = {}
        chunks: list[bytes] = []
        made: asyncio.Future = asyncio.get_running_loop().create_future()
        cache.making.setdefault(key, made)

        async def keep(message: Message) -> None:
            if message["type"] == "http.response.start":
                start.update(message)
            elif message["type"] == "http.response.body":
                chunks.append(message.get("body", b""))
                if not message.get("more_body") and _keepable(start):
                    page = (list(start.get("headers", [])), b"".join(chunks))
                    cache.put(key, *page)
                    if not made.done():
                        made.set_result(page)
            await send(message)

        try:
            await next_app(scope, receive, keep)
        finally:
            if not made.done():
                made.set_result(None)  # not keepable: those waiting make their own
            if cache.making.get(key) is made:
                del cache.making[key]


def _keepable(start: dict[str, Any]) -> bool:
    return start.get("status") == 200 and not any(
        name.lower() == b"set-cookie" for name, _ in start.get("headers", []))

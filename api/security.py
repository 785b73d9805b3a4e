"""The site's outer guard: what every request and every answer goes through, before routing.

It wraps the Litestar app's ASGI handler (``guard(app, …)`` in ``create_app``) rather than
being a Litestar middleware, because Litestar runs middlewares only after it has matched a
route: a forged Host, a path with a NUL byte, a HEAD request or an oversized body must be
handled even when no route matches (or when routing itself would fail).

- Host: only the names of the ``allowed_hosts`` setting are served (400 otherwise), so a forged
  Host header can never end up in a link or a QR code.
- Paths with control characters (``%00``…) are a 404, never a 500 from the file system.
- HEAD is answered as GET without the body (uptime monitors use it), and ``Allow`` lists the
  real methods of the path (Litestar lists only those of the matched handler group).
- Request bodies are bounded in size and JSON bodies in nesting depth before anything decodes
  them: a deeply nested array would otherwise exhaust the decoder's recursion (500).
- Every answer carries the security headers; HTML pages also a Content-Security-Policy
  without 'unsafe-inline' (our templates have no inline script, style or handler).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from itertools import accumulate
from urllib.parse import urlsplit

from litestar import Litestar
from litestar.types import ASGIApp, Message, Receive, Scope, Send

#: Paths answered in problem+json (the rest of the site answers in plain words).
API_PREFIXES = ("/api", "/hsds", "/schema")
#: Deepest JSON nesting accepted; our records nest four or five levels.
MAX_JSON_DEPTH = 32
#: Hosts always allowed: the machine itself (the kiosk's browser, health checks).
LOCAL_HOSTS = ("localhost", "127.0.0.1", "::1")

CSP = "; ".join((
    "default-src 'self'",
    "script-src 'self'",
    "style-src 'self'",
    # data: for the empty favicon and Swagger UI's icons; blob: for the kiosk's spoken audio.
    "img-src 'self' data:",
    "media-src 'self' blob:",
    "connect-src 'self'",
    "font-src 'self'",
    "object-src 'none'",
    "base-uri 'none'",
    "form-action 'self'",
    "frame-ancestors 'none'",
))
HEADERS = (
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"same-origin"),
    (b"x-frame-options", b"DENY"),
    (b"permissions-policy", b"camera=(), microphone=(), geolocation=()"),
)
HSTS = (b"strict-transport-security", b"max-age=31536000")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_JSON_STRING = re.compile(rb'"(?:[^"\\]|\\.)*"', re.DOTALL)
_BRACKETS = re.compile(rb"[\[\]{}]")


def allowed_hosts(setting: str, public_url: str) -> frozenset[str]:
    """The Host names served: the setting's list, or (empty) the machine's own names and the
    host of ``public_url``. ``*`` allows any host (behind a proxy that checks it)."""
    names = [n.strip().lower() for n in setting.split(",") if n.strip()]
    if not names:
        names = list(LOCAL_HOSTS)
        public = urlsplit(public_url.strip()).hostname if public_url.strip() else None
        if public:
            names.append(public.lower())
    return frozenset(n.strip("[]") for n in names)


def host_name(value: str) -> str:
    """``Host`` header without its port: ``example.org:8000`` -> ``example.org``,
    ``[::1]:8000`` -> ``::1``."""
    value = value.strip().lower()
    if value.startswith("["):
        return value[1:value.find("]")] if "]" in value else value
    return value.rsplit(":", 1)[0] if value.count(":") == 1 else value


def json_depth(body: bytes) -> int:
    """Deepest nesting of arrays and objects in a JSON text (strings skipped). Malformed JSON
    gives some number: the decoder reports it afterwards."""
    if body.count(b"[") + body.count(b"{") <= MAX_JSON_DEPTH:
        return 0  # cannot be too deep: the common case costs two counts
    brackets = _BRACKETS.findall(_JSON_STRING.sub(b"", body))
    return max(accumulate(1 if b in (b"[", b"{") else -1 for b in brackets), default=0)


class _Routes:
    """The methods each path answers, from the app's routes (for ``Allow``)."""

    def __init__(self, app: Litestar):
        self.app = app
        self.table: list[tuple[re.Pattern[str], set[str]]] | None = None

    def _build(self) -> list[tuple[re.Pattern[str], set[str]]]:
        table: dict[str, tuple[re.Pattern[str], set[str]]] = {}
        for route in self.app.routes:
            methods = set(getattr(route, "methods", ()) or ())
            pattern = re.sub(r"\\\{[^}]*:path\\\}", ".*", re.escape(route.path))
            pattern = re.sub(r"\\\{[^}]*\\\}", "[^/]+", pattern)
            entry = table.setdefault(pattern, (re.compile(pattern + "/?"), set()))
            entry[1].update(methods)
        return list(table.values())

    def methods(self, path: str) -> set[str]:
        if self.table is None:
            self.table = self._build()
        found: set[str] = set()
        for regex, methods in self.table:
            if regex.fullmatch(path):
                found |= methods
        if "GET" in found:
            found.add("HEAD")
        return found | {"OPTIONS"} if found else found


def _answer(scope: Scope, status: int, detail: str) -> tuple[list[tuple[bytes, bytes]], bytes]:
    """An error answer made before the app runs: problem+json on the API, words elsewhere."""
    if scope["path"].startswith(API_PREFIXES):
        title = {400: "Bad Request", 404: "Not Found", 413: "Content Too Large"}[status]
        body = json.dumps({"type": "about:blank", "title": title, "status": status,
                           "detail": detail, "instance": scope["path"]}).encode()
        return [(b"content-type", b"application/problem+json")], body
    return [(b"content-type", b"text/plain; charset=utf-8")], detail.encode()


class Guard:
    """ASGI wrapper around the app's handler; see the module docstring."""

    def __init__(self, handler: ASGIApp, app: Litestar, *, hosts: Iterable[str],
                 max_body: int):
        self.handler = handler
        self.routes = _Routes(app)
        self.hosts = frozenset(hosts)
        self.max_body = max_body

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.handler(scope, receive, send)
            return
        method = scope["method"]
        send = self._secure_send(scope, send, method)
        problem = self._refusal(scope)
        if problem is None and method in ("POST", "PUT", "PATCH", "DELETE"):
            receive, problem = await self._bounded(scope, receive)
        if problem is not None:
            status, detail = problem
            headers, body = _answer(scope, status, detail)
            if method == "HEAD":
                body = b""
            await send({"type": "http.response.start", "status": status,
                        "headers": [*headers, (b"content-length", str(len(body)).encode())]})
            await send({"type": "http.response.body", "body": body})
            return
        if method == "HEAD":
            # Served as GET; _secure_send drops the body and keeps the headers (length too).
            scope = {**scope, "method": "GET"}
        await self.handler(scope, receive, send)

    def _refusal(self, scope: Scope) -> tuple[int, str] | None:
        if "*" not in self.hosts:
            host = next((v.decode("latin-1") for k, v in scope["headers"] if k == b"host"), "")
            if host_name(host) not in self.hosts:
                return 400, "unknown host"
        if _CONTROL.search(scope["path"]):
            return 404, "not found"
        return None

    async def _bounded(self, scope: Scope, receive: Receive
                       ) -> tuple[Receive, tuple[int, str] | None]:
        """Read the whole body (bounded), check JSON depth, and replay it to the app."""
        headers = dict(scope["headers"])
        length = headers.get(b"content-length", b"0")
        if not length.isdigit():
            return receive, (400, "bad content-length")
        if int(length) > self.max_body:
            return receive, (413, f"the body is larger than {self.max_body} bytes")
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                return receive, (400, "the body was cut short")
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self.max_body:
                return receive, (413, f"the body is larger than {self.max_body} bytes")
            chunks.append(chunk)
            if not message.get("more_body", False):
                break
        body = b"".join(chunks)
        content_type = headers.get(b"content-type", b"").lower()
        if b"json" in content_type and json_depth(body) > MAX_JSON_DEPTH:
            return receive, (400, f"JSON nested deeper than {MAX_JSON_DEPTH} levels")
        sent = False

        async def replay() -> Message:
            nonlocal sent
            if not sent:
                sent = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()  # after the body: wait for the disconnect

        return replay, None

    def _secure_send(self, scope: Scope, send: Send, method: str) -> Send:
        https = scope.get("scheme") == "https"
        path = scope["path"]

        async def secure_send(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = [(k.lower(), v) for k, v in message.get("headers", [])]
                names = {k for k, _ in headers}
                headers += [h for h in HEADERS if h[0] not in names]
                if https:
                    headers.append(HSTS)
                content_type = dict(headers).get(b"content-type", b"")
                if content_type.startswith(b"text/html") \
                        and b"content-security-policy" not in names:
                    headers.append((b"content-security-policy", CSP.encode()))
                status = message["status"]
                if status == 405 or (method == "OPTIONS" and b"allow" in names):
                    methods = self.routes.methods(path)
                    if methods:
                        headers = [h for h in headers if h[0] != b"allow"]
                        headers.append((b"allow", ", ".join(sorted(methods)).encode()))
                message = {**message, "headers": headers}
            elif message["type"] == "http.response.body" and method == "HEAD":
                message = {**message, "body": b""}
            await send(message)

        return secure_send


def guard(app: Litestar, *, hosts: Iterable[str], max_body: int) -> Litestar:
    """Put the guard in front of ``app``'s handler (after Litestar's own error handling, so
    errors raised inside the app are answered by it as before)."""
    app.asgi_handler = Guard(app.asgi_handler, app, hosts=hosts, max_body=max_body)
    return app

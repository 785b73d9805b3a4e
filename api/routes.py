"""The partner API under /api (first version: read-only directory; issue #4 extends it)."""

from __future__ import annotations

from typing import Any

from litestar import Router, get
from sqlite_utils import Database

from orientation import store


@get("/", operation_id="api_index", sync_to_thread=True, summary="What this API offers")
def api_index(db: Database) -> dict[str, Any]:
    return {"name": "Orientation", "version": "v1", "counts": store.counts(db),
            "openapi": "/schema/openapi.json"}


api_router = Router(path="/api", route_handlers=[api_index], tags=["directory"])

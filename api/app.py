"""The application factory: one Litestar app serving the kiosk (/), staff pages and the API.

Everything the app needs is passed in (``create_app(db_path, index_dir, settings=…)``); nothing
is read from the environment here, so tests build as many independent apps as they like.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from litestar import Litestar, get
from litestar.datastructures import State
from litestar.di import Provide
from sqlite_utils import Database

from orientation import seed as seeding
from orientation import store
from orientation.search import SearchIndex
from orientation.settings import DEFAULTS


def prepare(db_path: Path, index_dir: Path, *, seed_dir: Path | None = None) -> dict[str, int]:
    """First-run work, done once before the server starts: migrate, seed an empty database,
    and make sure the search index matches the database. Returns the directory's counts."""
    db = store.connect(db_path)
    try:
        if store.is_empty(db):
            seeding.load(db, seed_dir or seeding.DEFAULT_SEED_DIR)
        SearchIndex.open(index_dir, db).close()
        return store.counts(db)
    finally:
        db.close()


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
def healthz(db: Database, index: SearchIndex) -> dict[str, Any]:
    return {"status": "ok", "counts": store.counts(db), "index_documents": index.doc_count()}


def create_app(
    db_path: Path,
    index_dir: Path,
    *,
    settings: dict[str, Any] | None = None,
    debug: bool = False,
) -> Litestar:
    from api.routes import api_router
    from kiosk.routes import kiosk_router, template_config

    config = {**DEFAULTS, **(settings or {})}

    @asynccontextmanager
    async def lifespan(app: Litestar) -> AsyncIterator[None]:
        db = store.connect(db_path)
        try:
            if store.is_empty(db):
                seeding.load(db, Path(config.get("seed_dir") or seeding.DEFAULT_SEED_DIR))
            app.state.index = SearchIndex.open(index_dir, db)
        finally:
            db.close()
        try:
            yield
        finally:
            app.state.index.close()

    return Litestar(
        route_handlers=[healthz, api_router, kiosk_router],
        dependencies={"db": Provide(provide_db), "index": Provide(provide_index, sync_to_thread=False)},
        lifespan=[lifespan],
        state=State({"db_path": Path(db_path), "index_dir": Path(index_dir), "settings": config}),
        template_config=template_config(),
        debug=debug,
    )

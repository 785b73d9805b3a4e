"""Kiosk pages (first version: the home screen; issue #5 builds the full kiosk)."""

from __future__ import annotations

from pathlib import Path

from litestar import Router, get
from litestar.contrib.jinja import JinjaTemplateEngine
from litestar.response import Template
from litestar.static_files import create_static_files_router
from litestar.template.config import TemplateConfig
from sqlite_utils import Database

from orientation import store

HERE = Path(__file__).parent


def template_config() -> TemplateConfig:
    return TemplateConfig(directory=HERE / "templates", engine=JinjaTemplateEngine)


@get("/", sync_to_thread=True)
def home(db: Database) -> Template:
    needs = [t for t in store.list_terms(db) if t.parent_id is None]
    return Template("home.html", context={"needs": needs})


kiosk_router = Router(
    path="/",
    route_handlers=[home, create_static_files_router(path="/static", directories=[HERE / "static"])],
    include_in_schema=False,
)

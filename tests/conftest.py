"""Shared fixtures: real SQLite files, a real whoosh index, a real app and a real server.

The seed is loaded once per session into a template database; each test gets its own copy
(copying a file is much faster than seeding), so tests can write freely.
"""

from __future__ import annotations

import os
import shutil
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import uvicorn
from litestar.testing import TestClient

from api.app import create_app
from orientation import access, store
from orientation import seed as seeding

HERE = Path(__file__).parent


@pytest.fixture(scope="session")
def seeded_template(tmp_path_factory) -> Path:
    return seeded_file(tmp_path_factory.mktemp("template") / "seeded.db")


def seeded_file(path: Path, seed_dir: Path | None = None) -> Path:
    """A database file at ``path`` seeded (from ``seed_dir``, default the product's seed) and
    checkpointed, so a plain file copy of it is a whole database."""
    db = store.connect(path)
    seeding.load(db, seed_dir) if seed_dir else seeding.load(db)
    db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    db.close()
    return path


@pytest.fixture
def db_path(tmp_path, seeded_template) -> Path:
    path = tmp_path / "orientation.db"
    shutil.copy(seeded_template, path)
    return path


@pytest.fixture
def db(db_path):
    database = store.connect(db_path)
    yield database
    database.close()


@pytest.fixture
def empty_db(tmp_path):
    database = store.connect(tmp_path / "empty.db")
    yield database
    database.close()


#: The app answers only the hosts it is told (allowed_hosts): here the Host of Litestar's
#: TestClient and the LiveServer's 127.0.0.1.
TEST_HOST = "testserver.local, 127.0.0.1, localhost"


def local_settings(tmp_path: Path) -> dict:
    """Settings that write only under the test's tmp_path (slips, spoken audio), for the
    TestClient's host."""
    return {"printer_target": str(tmp_path / "slips"), "speech_dir": str(tmp_path / "speech"),
            "allowed_hosts": TEST_HOST}


@pytest.fixture
def app(db_path, tmp_path):
    return create_app(db_path, tmp_path / "index", settings=local_settings(tmp_path))


@pytest.fixture
def client(app) -> Iterator[TestClient]:
    with TestClient(app) as test_client:
        yield test_client


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class LiveServer:
    """uvicorn in a thread on 127.0.0.1 (a real server: Chromium keeps connections alive)."""

    def __init__(self, app, port: int):
        self.app = app
        self.port = port
        self.url = f"http://127.0.0.1:{port}"
        self.server = uvicorn.Server(
            uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning",
                           access_log=False, lifespan="on")
        )
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    def __enter__(self) -> LiveServer:
        self.thread.start()
        deadline = time.monotonic() + 30
        while not self.server.started:
            if time.monotonic() > deadline or not self.thread.is_alive():
                raise RuntimeError("server did not start")
            time.sleep(0.05)
        return self

    def __exit__(self, *exc) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)


@pytest.fixture
def live_server(db_path, tmp_path) -> Iterator[LiveServer]:
    app = create_app(db_path, tmp_path / "index", settings=local_settings(tmp_path))
    with LiveServer(app, _free_port()) as server:
        yield server


@pytest.fixture
def screenshots(tmp_path) -> Path:
    """Where the browser tests save their screenshots. Only ``ORIENTATION_SCREENSHOTS`` (a
    folder, or ``1`` for docs/screenshots; ``make screenshots``) writes into the work tree;
    otherwise they go under the test's tmp_path (still taken, so that code runs)."""
    wanted = os.environ.get("ORIENTATION_SCREENSHOTS", "").strip()
    if wanted == "1":
        folder = HERE.parent / "docs" / "screenshots"
    elif wanted:
        folder = Path(wanted)
    else:
        folder = tmp_path / "screenshots"
    folder.mkdir(parents=True, exist_ok=True)
    return folder


@pytest.fixture(scope="session")
def browser():
    """One headless Debian Chromium for the whole session (no browser download)."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(
            executable_path="/usr/bin/chromium",
            args=["--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                  "--disable-background-networking", "--disable-component-update",
                  "--disable-sync", "--no-first-run", "--autoplay-policy=no-user-gesture-required"])
        yield chromium
        chromium.close()


@pytest.fixture
def api_keys(db_path):
    """One API key per caller of the role x action matrix, made in the test's own database.

    ``org`` is the organisation with the most services (the editor's own), ``other_org`` another
    one; ``headers[role]`` is what each caller sends (anonymous sends nothing).
    """
    from types import SimpleNamespace

    db = store.connect(db_path)
    orgs = [row["organization_id"] for row in db.query(
        "select organization_id, count(*) n from services group by organization_id "
        "order by n desc, organization_id limit 2")]
    headers = {"anonymous": {}}
    for role, org in (("staff", None), ("editor", orgs[0]), ("other_editor", orgs[1]),
                      ("admin", None)):
        _, secret = access.create_api_key(db, name=f"Test {role}", organization_id=org,
                                          role="editor" if role == "other_editor" else role,
                                          actor="test")
        headers[role] = {"Authorization": f"Bearer {secret}"}
    db.close()
    return SimpleNamespace(headers=headers, org=orgs[0], other_org=orgs[1])


@pytest.fixture(scope="session")
def seeded_index(seeded_template, tmp_path_factory) -> Path:
    """The search index of the seeded template, built once (building one takes seconds)."""
    from orientation.search import SearchIndex

    path = tmp_path_factory.mktemp("seeded-index") / "index"
    db = store.connect(seeded_template, migrate=False)
    SearchIndex.create(path, db).close()
    db.close()
    return path


@pytest.fixture
def index_dir(seeded_index, tmp_path) -> Path:
    """A copy of the seeded index for this test's database copy (it syncs what follows)."""
    target = tmp_path / "index"
    shutil.copytree(seeded_index, target)
    return target


@pytest.fixture
def api_client(db_path, index_dir, api_keys) -> Iterator[TestClient]:
    """A client of an app without rate limiting (tests send many requests a minute)."""
    settings = {"rate_limit": 0, "allowed_hosts": TEST_HOST}
    with TestClient(create_app(db_path, index_dir, settings=settings)) as c:
        yield c


#: Translations written for the tests, in the seed's format (tests/data/README.md).
TEST_TRANSLATIONS = HERE / "data" / "translations"


def translated_seed(target: Path) -> Path:
    """A copy of the seed directory with the test translations added where the seed has no
    file for that language and pathway or organisation (the seed's own translations win once
    they exist)."""
    shutil.copytree(seeding.DEFAULT_SEED_DIR, target)
    for path in sorted([*TEST_TRANSLATIONS.glob("*/*.yaml"),
                        *TEST_TRANSLATIONS.glob("*/organizations/*.yaml")]):
        wanted = target / path.relative_to(TEST_TRANSLATIONS.parent)
        if not wanted.exists():
            wanted.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy(path, wanted)
    return target


@pytest.fixture(scope="session")
def translated_template(tmp_path_factory) -> Path:
    """A database seeded from ``translated_seed``: pathways translated whole in nl and ar."""
    folder = tmp_path_factory.mktemp("translated")
    return seeded_file(folder / "translated.db", translated_seed(folder / "seed"))


@pytest.fixture
def translated_db_path(translated_template, tmp_path) -> Path:
    path = tmp_path / "translated.db"
    shutil.copy(translated_template, path)
    return path


@pytest.fixture
def translated_db(translated_db_path):
    database = store.connect(translated_db_path)
    yield database
    database.close()


@pytest.fixture
def translated_client(translated_db_path, tmp_path) -> Iterator[TestClient]:
    app = create_app(translated_db_path, tmp_path / "index", settings=local_settings(tmp_path))
    with TestClient(app) as test_client:
        yield test_client

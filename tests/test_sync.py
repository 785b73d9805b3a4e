"""`orientation sync`: a kiosk fed by a central directory, two real servers on 127.0.0.1.

One seeded central server is shared by the module (the tests that change it run in order
and change different services); each test gets an empty kiosk database and its own kiosk
server, as a kiosk set up from nothing would be.
"""

from __future__ import annotations

import datetime as dt
import http.server
import json
import shutil
import threading
import time
from collections.abc import Iterator
from types import SimpleNamespace

import httpx
import msgspec
import pytest
from click.testing import CliRunner

from api.app import create_app
from orientation import access, helpdesk, store
from orientation import seed as seeding
from orientation.cli import cli
from orientation.errors import InvalidData
from orientation.models import Organization, Service
from orientation.sync import SyncFailed, every, parse_every, sync

from conftest import TEST_HOST, LiveServer, _free_port

SETTINGS = {"rate_limit": 0, "allowed_hosts": TEST_HOST}


class Central:
    def __init__(self, server: LiveServer, db_path, admin: dict[str, str]) -> None:
        self.server, self.url, self.db_path, self.admin = server, server.url, db_path, admin

    def services(self) -> dict[str, str]:
        db = store.connect(self.db_path, migrate=False)
        try:
            return {s.id: s.name for s in store.list_services(db, status="active")}
        finally:
            db.close()


@pytest.fixture(scope="module")
def central(seeded_template, seeded_index, tmp_path_factory) -> Iterator[Central]:
    folder = tmp_path_factory.mktemp("central")
    db_path = folder / "central.db"
    shutil.copy(seeded_template, db_path)
    shutil.copytree(seeded_index, folder / "index")
    db = store.connect(db_path)
    _, secret = access.create_api_key(db, name="Central admin", role="admin", actor="test",
                                        organization_id=None)
    db.close()
    app = create_app(db_path, folder / "index", settings=SETTINGS)
    with LiveServer(app, _free_port()) as server:
        yield Central(server, db_path, {"Authorization": f"Bearer {secret}"})


def _kiosk_from_nothing(path):
    """A kiosk set up from nothing: ``orientation seed --no-sample`` (the needs only)."""
    db = store.connect(path)
    seeding.ensure_taxonomy(db)
    return db


@pytest.fixture(scope="module")
def first_sync(central, tmp_path_factory) -> SimpleNamespace:
    """An empty kiosk after its first sync from the central server (copied by each test:
    the first sync is the slow one)."""
    path = tmp_path_factory.mktemp("kiosk") / "kiosk.db"
    db = _kiosk_from_nothing(path)
    report = sync(db, central.url)
    db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    db.close()
    return SimpleNamespace(path=path, report=report)


@pytest.fixture
def kiosk_db(first_sync, tmp_path):
    shutil.copy(first_sync.path, tmp_path / "kiosk.db")
    db = store.connect(tmp_path / "kiosk.db")
    yield db
    db.close()


@pytest.fixture
def empty_kiosk_db(tmp_path):
    db = _kiosk_from_nothing(tmp_path / "kiosk.db")
    yield db
    db.close()


@pytest.fixture
def kiosk(kiosk_db, tmp_path) -> Iterator[LiveServer]:
    app = create_app(tmp_path / "kiosk.db", tmp_path / "kiosk-index", settings=SETTINGS)
    with LiveServer(app, _free_port()) as server:
        yield server


def _snapshot(db) -> dict[str, list]:
    """Every directory row and help request of a database, to compare before and after."""
    tables = ("organizations", "locations", "contacts", "services", "taxonomy_terms",
              "service_at_locations", "service_contacts", "service_terms", "help_requests",
              "audit", "sync_sources")
    return {t: [tuple(r.values()) for r in db.query(f"select * from [{t}] order by rowid")]
            for t in tables}


def _patch(central: Central, service_id: str, **fields) -> None:
    answer = httpx.patch(f"{central.url}/api/v1/services/{service_id}", json=fields,
                         headers=central.admin)
    assert answer.status_code == 200, answer.text


def test_first_sync_copies_services_and_need_tiles(central, first_sync, kiosk_db, kiosk):
    report = first_sync.report
    expected = central.services()
    assert {c.id: c.name for c in report.added if c.entity == "service"} == expected
    assert not (report.updated or report.conflicts or report.deactivated or report.skipped)
    assert {s.id: s.name for s in store.list_services(kiosk_db, status="active")} == expected
    db = store.connect(central.db_path, migrate=False)
    pathways = {p.id: p.need for p in store.list_pathways(db, status="active")}
    db.close()
    assert {c.id: c.name for c in report.added if c.entity == "pathway"} == pathways
    assert {p.id for p in store.list_pathways(kiosk_db, status="active")} == pathways.keys()

    mine = httpx.get(f"{kiosk.url}/hsds/services", params={"per_page": 100}).json()
    theirs = httpx.get(f"{central.url}/hsds/services", params={"per_page": 100}).json()
    assert [s["id"] for s in mine["contents"]] == [s["id"] for s in theirs["contents"]]
    home = httpx.get(kiosk.url + "/").text
    for label in ("Argent", "Logement", "Santé"):
        assert label in home, label

    # Nothing changed at the source: nothing written; the HSDS address of the same server is
    # the same source.
    again = sync(kiosk_db, central.url + "/hsds/")
    assert again.source == central.url
    assert again.since is not None and not again.changed, again.lines()


def test_second_sync_updates_only_what_changed_and_keeps_local_records(
        central, kiosk_db, kiosk):
    ids = sorted(central.services())
    changed, edited_here = ids[3], ids[7]
    # At the kiosk: a help request, a service of its own, and an edit of a synced service.
    helpdesk.ask(kiosk_db, "Salle d'attente")
    own = Organization(name="Épicerie sociale du quartier", description="Une épicerie locale.")
    store.save(kiosk_db, own, actor="kiosk-admin")
    local = Service(organization_id=own.id, name="Colis du mardi",
                    description="Des colis de vivres le mardi.")
    store.save(kiosk_db, local, actor="kiosk-admin")
    before_edit = store.get_service(kiosk_db, edited_here)
    store.save(kiosk_db, msgspec.structs.replace(before_edit, description="Édité au kiosque."),
               actor="kiosk-admin")
    # At the centre: two services change, one of them the one edited at the kiosk.
    _patch(central, changed, description="Nouvelle permanence le jeudi soir à Koekelberg.")
    _patch(central, edited_here, description="Changé au central.")

    result = CliRunner().invoke(cli, ["sync", "--db", str(kiosk_db.conn.execute(
        "pragma database_list").fetchone()[2]), "--from", central.url])
    assert result.exit_code == 0, result.output
    assert "1 updated" in result.output.splitlines()[0], result.output
    assert f"updated service {central.services()[changed]!r} ({changed})" in result.output
    assert f"conflict service {central.services()[edited_here]!r} ({edited_here}): " \
           "edited here since the last sync" in result.output

    assert store.get_service(kiosk_db, edited_here).description == "Édité au kiosque."
    assert store.get_service(kiosk_db, changed).description.startswith("Nouvelle permanence")
    assert store.get_service(kiosk_db, local.id).description == "Des colis de vivres le mardi."
    assert len(store.list_help_requests(kiosk_db)) == 1
    found = httpx.get(f"{kiosk.url}/api/v1/services",
                      params={"q": "permanence jeudi soir Koekelberg"}).json()
    assert changed in [s["id"] for s in found["items"]][:3], found
    # The audit rows name the source.
    actors = {e.actor for e in store.history(kiosk_db, "service", changed)}
    assert actors == {f"sync from {central.url}"}


def test_service_gone_from_the_source_becomes_inactive(central, kiosk_db):
    db = store.connect(central.db_path, migrate=False)
    gone = next(i for i in sorted(central.services())[11:]
                if not store.pathways_using(db, service_id=i))  # a pathway keeps it active
    db.close()
    _patch(central, gone, status="inactive")
    # No margin: the seeded central's records all changed minutes ago (the overlap that
    # absorbs clock differences is what the other tests go through).
    now = dt.timedelta(0)
    report = sync(kiosk_db, central.url, dry_run=True, margin=now)
    assert [c.id for c in report.deactivated] == [gone]
    assert store.get_service(kiosk_db, gone).status == "active"  # a dry run writes nothing
    report = sync(kiosk_db, central.url, margin=now)
    assert [c.id for c in report.deactivated] == [gone]
    assert store.get_service(kiosk_db, gone).status == "inactive"


def test_central_down_changes_nothing_and_the_kiosk_keeps_serving(central, kiosk_db, kiosk):
    """Last of the tests that use the shared central server: it stops it."""
    central.server.__exit__(None, None, None)
    before = _snapshot(kiosk_db)
    kiosk_path = kiosk_db.conn.execute("pragma database_list").fetchone()[2]
    result = CliRunner().invoke(cli, ["sync", "--db", kiosk_path, "--from", central.url])
    assert result.exit_code == 1
    assert result.output.startswith(f"Error: sync failed, nothing changed: cannot reach "
                                    f"{central.url}/hsds/"), result.output
    assert len(result.output.strip().splitlines()) == 1
    assert _snapshot(kiosk_db) == before
    found = httpx.get(f"{kiosk.url}/api/v1/services", params={"q": "logement"}).json()
    assert found["items"], found
    assert "Logement" in httpx.get(kiosk.url + "/").text


class _Bad(http.server.BaseHTTPRequestHandler):
    mode = "500"

    def do_GET(self):  # noqa: N802 - the stdlib's name
        if self.mode == "slow":
            time.sleep(2)
        status, body = {"500": (500, b"{}"), "garbage": (200, b"<html>proxy login</html>"),
                        "page": (200, json.dumps({"items": []}).encode()),
                        "item": (200, json.dumps({"contents": [{"name": "x"}],
                                                  "total_pages": 1}).encode()),
                        "slow": (200, b"{}")}[self.mode]
        try:
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.end_headers()
            self.wfile.write(body)
        except OSError:
            pass  # the client gave up (the timeout case)

    def log_message(self, *args):
        pass


@pytest.mark.parametrize("mode, message", [
    ("500", "answered 500"), ("garbage", "did not answer JSON"),
    ("page", "is not an HSDS page"), ("item", "an item without a text id and name"),
    ("slow", "cannot reach")])
def test_a_source_answering_garbage_changes_nothing(empty_kiosk_db, mode, message):
    kiosk_db = empty_kiosk_db
    before = _snapshot(kiosk_db)
    handler = type("Handler", (_Bad,), {"mode": mode})
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        url = f"http://127.0.0.1:{server.server_address[1]}/hsds"
        with pytest.raises(SyncFailed, match=message):
            sync(kiosk_db, url, timeout=0.5)
    finally:
        server.shutdown()
        server.server_close()
    assert _snapshot(kiosk_db) == before


def test_every_keeps_trying_after_a_failed_round():
    """`--every`: a round that fails is logged and the next one runs (a kiosk whose link is
    down keeps its copy and keeps trying)."""
    rounds, logged, slept = [], [], []

    def run():
        rounds.append(len(rounds))
        if len(rounds) == 1:
            raise SyncFailed("cannot reach http://central.invalid/hsds/: refused")

    every(parse_every("15m"), run, log=logged.append, sleep=slept.append, rounds=3)
    assert rounds == [0, 1, 2]
    assert logged == [("sync failed, local copy kept: cannot reach "
                       "http://central.invalid/hsds/: refused")]
    assert slept == [900.0, 900.0]


@pytest.mark.parametrize("text, seconds", [("15m", 900), ("1h", 3600), ("90s", 90),
                                           ("300", 300)])
def test_every_reads_durations(text, seconds):
    assert parse_every(text) == seconds


@pytest.mark.parametrize("text", ["10s", "soon", "-5m"])
def test_every_refuses_nonsense(text):
    with pytest.raises(InvalidData, match="--every"):
        parse_every(text)

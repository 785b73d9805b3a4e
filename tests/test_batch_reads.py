"""Reading many records at once: the batch reads give exactly what the one-record reads give,
and a result page costs a number of SQL statements that does not grow with its hits."""

from __future__ import annotations

import datetime as dt
import sqlite3
import uuid

import msgspec
import pytest
from litestar.testing import TestClient

from api.app import create_app
from orientation import hours, store

from conftest import TEST_HOST, local_settings


def test_get_services_is_get_service_for_every_seed_service(db):
    ids = store.service_ids(db, status=None)
    assert len(ids) > 50
    many = store.get_services(db, list(reversed(ids)))
    assert list(many) == list(reversed(ids))  # the order asked
    for service_id in ids:
        assert msgspec.to_builtins(many[service_id]) == \
            msgspec.to_builtins(store.get_service(db, service_id))


def test_services_reach_is_the_access_and_areas_of_each_service(db):
    ids = store.service_ids(db, status=None)
    reach = store.services_reach(db, ids)
    assert list(reach) == ids
    assert any(r.access.residents_only for r in reach.values())
    assert any(r.areas for r in reach.values())
    for service in store.get_services(db, ids).values():
        assert msgspec.to_builtins(reach[service.id]) == msgspec.to_builtins(
            {"id": service.id, "access": service.access, "areas": service.areas})


@pytest.mark.parametrize("entity, many", [
    ("organization", store.get_organizations), ("location", store.get_locations),
    ("contact", store.get_contacts), ("taxonomy_term", store.get_terms),
    ("pathway", store.get_pathways)])
def test_other_batch_reads_match_the_single_reads(db, entity, many):
    table = store.ENTITIES[entity][0]
    ids = [row[0] for row in db.execute(f"select id from [{table}] order by id").fetchall()]
    assert ids
    found = many(db, ids)
    assert list(found) == ids
    for record_id in ids:
        assert msgspec.to_builtins(found[record_id]) == \
            msgspec.to_builtins(store.get(db, entity, record_id))


def test_batch_reads_skip_unknown_and_malformed_ids_and_read_long_lists(db):
    ids = store.service_ids(db, status=None)
    unknown = str(uuid.uuid4())
    found = store.get_services(db, [unknown, ids[0], "not-an-id", ids[0], ids[1]])
    assert list(found) == [ids[0], ids[1]]  # duplicates once, the rest left out
    assert store.get_services(db, []) == {}
    # More ids than one statement takes: read in chunks, nothing lost.
    padded = [str(uuid.uuid4()) for _ in range(1200)] + ids
    assert list(store.get_services(db, padded)) == ids


def test_snapshot_moves_with_a_write(db, db_path):
    file, generation = store.snapshot(db)
    assert file == str(db_path.resolve())
    term = store.list_terms(db)[0]
    db.execute("insert into audit (at, actor, action, entity, entity_id, field) values "
               "('2026-01-01T00:00:00+00:00', 'test', 'update', 'taxonomy_term', ?, '*')",
               [term.id])
    db.conn.commit()
    assert store.snapshot(db) == (file, generation + 1)


class Statements:
    """Counts the SQL statements of every SQLite connection opened while it is installed."""

    def __init__(self, monkeypatch):
        self.seen: list[str] = []
        original = sqlite3.connect

        def connect(*args, **kwargs):
            conn = original(*args, **kwargs)
            conn.set_trace_callback(self.seen.append)
            return conn

        monkeypatch.setattr(sqlite3, "connect", connect)

    def count(self, client: TestClient, url: str) -> int:
        self.seen.clear()
        response = client.get(url)
        assert response.status_code == 200, response.text
        return len(self.seen)


@pytest.fixture
def counted(db_path, index_dir, tmp_path, monkeypatch):
    statements = Statements(monkeypatch)
    settings = {**local_settings(tmp_path), "rate_limit": 0, "allowed_hosts": TEST_HOST}
    with TestClient(create_app(db_path, index_dir, settings=settings)) as client:
        yield client, statements


def test_statements_of_a_result_page_do_not_grow_with_its_hits(counted):
    client, statements = counted
    # Warm: the first request of a process opens the index and fills per-process caches.
    for url in ("/search?q=loyer", "/api/v1/services?q=loyer", "/hsds/services?per_page=2"):
        client.get(url)
    # A word with few hits and one with many, on the same pages: the same statements.
    few = client.get("/api/v1/services?q=cpas&per_page=2").json()
    many = client.get("/api/v1/services?q=cpas&per_page=40").json()
    assert len(few["items"]) == 2 and len(many["items"]) > 10
    assert statements.count(client, "/api/v1/services?q=cpas&per_page=2") == \
        statements.count(client, "/api/v1/services?q=cpas&per_page=40")
    assert statements.count(client, "/hsds/services?per_page=2") == \
        statements.count(client, "/hsds/services?per_page=50")
    # Kiosk search: a page shows 4 cards, but every hit is placed (region, residents only):
    # 4 services found, or 107, on a page of service cards.
    assert client.get("/api/v1/services?q=cpas+ixelles").json()["total"] < 10
    assert client.get("/api/v1/services?q=aide+sociale").json()["total"] > 50
    narrow, wide = "/search?q=cpas+ixelles&page=2", "/search?q=aide+sociale&page=5"
    for url in (narrow, wide):
        assert '/service/' in client.get(url).text
    assert statements.count(client, narrow) == statements.count(client, wide)


def test_per_minute_computes_once_per_key_and_minute():
    kept = hours.PerMinute(size=3)
    at = dt.datetime(2026, 3, 2, 9, 0, 5, tzinfo=hours.TZ)
    calls: list[str] = []

    def value(name: str):
        return lambda: calls.append(name) or f"{name}@{len(calls)}"

    assert kept.get("a", at, value("a")) == "a@1"
    assert kept.get("a", at.replace(second=59), value("a")) == "a@1"  # same minute: kept
    assert kept.get("b", at, value("b")) == "b@2"
    later = at + dt.timedelta(minutes=1)
    assert kept.get("a", later, value("a")) == "a@3"  # a new minute: computed again
    # A late request of the minute before is answered, not kept over the current minute's.
    assert kept.get("a", at, value("a")) == "a@4"
    assert kept.get("a", later, value("a")) == "a@3"
    for name in "cde":  # past ``size`` values the cache starts again, never grows
        kept.get(name, later, value(name))
    assert len(calls) == 7 and kept.get("a", later, value("a")) == "a@8"


def test_the_kiosk_commune_point_follows_a_write(db):
    from orientation import geo

    before = geo.locate_commune(db, "Ixelles")
    assert before is not None and geo.locate_commune(db, "Ixelles") == before
    place = next(loc for loc in store.list_locations(db) if loc.address
                 and loc.address.city == "Ixelles" and loc.latitude is not None)
    moved = msgspec.structs.replace(place, latitude=place.latitude + 0.5)
    store.save(db, moved, actor="test")
    after = geo.locate_commune(db, "Ixelles")
    assert after is not None and after.latitude > before.latitude

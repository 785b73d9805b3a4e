"""Concurrent writers wait their turn: no "database is locked", no lost write.

Each writer opens its own connection to the same SQLite file (as each request and each worker
process does). A transaction that starts with a deferred BEGIN, reads, then writes cannot be
upgraded to a write lock once another connection has committed in between, and SQLite then fails
at once without waiting for the busy timeout; writes must take the lock up front.
"""

from __future__ import annotations

import threading

import httpx
import msgspec

from api.app import create_app
from orientation import store

from conftest import LiveServer, _free_port

WRITERS = 8
WRITES_EACH = 12


def _services(db_path, n):
    db = store.connect(db_path)
    ids = [row["id"] for row in db.query("select id from services order by id limit ?", [n])]
    db.close()
    return ids


def test_concurrent_store_writes_never_fail_and_are_all_kept(db_path):
    # Every writer edits the same few services: the worst case for lock upgrades.
    targets = _services(db_path, 3)
    errors: list[BaseException] = []
    barrier = threading.Barrier(WRITERS)

    def writer(n: int) -> None:
        db = store.connect(db_path, migrate=False)
        try:
            barrier.wait()
            for i in range(WRITES_EACH):
                service = store.get_service(db, targets[(n + i) % len(targets)])
                changed = msgspec.structs.replace(
                    service, description=f"{service.description.split(' #')[0]} #{n}-{i}")
                store.save_service(db, changed, actor=f"writer-{n}")
        except BaseException as exc:  # noqa: BLE001 - the test counts every failure
            errors.append(exc)
        finally:
            db.close()

    threads = [threading.Thread(target=writer, args=(n,)) for n in range(WRITERS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert errors == []
    db = store.connect(db_path)
    written = db.execute(
        "select count(*) from audit where actor like 'writer-%' and field = 'description'"
    ).fetchone()[0]
    db.close()
    # Every acknowledged write changed the description, so each left exactly one audit row.
    assert written == WRITERS * WRITES_EACH


def test_concurrent_api_writes_answer_no_server_error(db_path, index_dir, api_keys):
    targets = _services(db_path, 4)
    app = create_app(db_path, index_dir, settings={"rate_limit": 0})
    statuses: list[int] = []
    lock = threading.Lock()
    barrier = threading.Barrier(WRITERS)
    with LiveServer(app, _free_port()) as server:

        def writer(n: int) -> None:
            with httpx.Client(base_url=server.url, headers=api_keys.headers["admin"],
                              timeout=60) as http:
                barrier.wait()
                for i in range(WRITES_EACH // 2):
                    sid = targets[(n + i) % len(targets)]
                    if n % 2:
                        response = http.get(f"/api/v1/services/{sid}")
                    else:
                        response = http.patch(f"/api/v1/services/{sid}",
                                              json={"interpretation": f"writer {n} pass {i}"})
                    with lock:
                        statuses.append(response.status_code)

        threads = [threading.Thread(target=writer, args=(n,)) for n in range(WRITERS)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=120)
    assert len(statuses) == WRITERS * (WRITES_EACH // 2)
    assert [s for s in statuses if s >= 500] == []
    assert set(statuses) == {200}

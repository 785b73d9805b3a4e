"""Staff console latency: prints figures, asserts nothing.

    .venv/bin/python -m bench.staff [--repeat 20]

Seeds a fresh database in a temporary folder, serves the real app through Litestar's
TestClient (in-process, no network), logs an admin in, then times the console's main pages:
p50/p95 in milliseconds over ``--repeat`` runs each, after one warm-up request. The login is
timed separately (argon2id verification dominates it), and so are the slip renderings through
Chromium (PDF).
"""

from __future__ import annotations

import argparse
import re
import statistics
import tempfile
import time
from pathlib import Path

from litestar.testing import TestClient

from api.app import create_app
from orientation import accounts, seed, store

PASSWORD = "benchmark password"


def timed(call, repeat: int) -> tuple[float, float]:
    call()  # warm-up
    runs = []
    for _ in range(repeat):
        start = time.perf_counter()
        response = call()
        runs.append((time.perf_counter() - start) * 1000)
        assert response.status_code < 400, response.status_code
    runs.sort()
    return statistics.median(runs), runs[min(len(runs) - 1, round(0.95 * (len(runs) - 1)))]


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.staff", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeat", type=int, default=20, help="Timed runs per page.")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as folder:
        folder = Path(folder)
        db = store.connect(folder / "bench.db")
        seed.load(db)
        accounts.create_user(db, "bench", PASSWORD, role="admin", actor="bench")
        service = store.list_services(db, status="active")[0]
        pathway = store.list_pathways(db, status="active")[0]
        db.close()
        app = create_app(folder / "bench.db", folder / "index",
                         settings={"printer_target": str(folder / "slips")})
        with TestClient(app) as client:
            token = re.search(r'name="csrf" value="([^"]+)"',
                              client.get("/staff/login").text).group(1)
            start = time.perf_counter()
            client.post("/staff/login", data={"username": "bench", "password": PASSWORD,
                                              "csrf": token}, follow_redirects=False)
            login_ms = (time.perf_counter() - start) * 1000
            csrf = re.search(r'name="csrf" value="([^"]+)"', client.get("/staff").text).group(1)
            pages = {
                "search 'loyer'": lambda: client.get("/staff/search?q=loyer"),
                "search + 3 filters": lambda: client.get(
                    "/staff/search?q=logement&walk_in=1&free=1&commune=Ixelles&nearby=1"),
                "service page": lambda: client.get(f"/staff/service/{service.id}"),
                "who to call: a service": lambda: client.get(
                    f"/staff/call/service/{service.id}"),
                "who to call: need 'logement'": lambda: client.get(
                    "/staff/call/need/logement"),
                "composer (pathway)": lambda: client.get(f"/staff/slip?pathway={pathway.id}"),
                "edit pathway page": lambda: client.get(f"/staff/edit/pathway/{pathway.id}"),
                "verification queue": lambda: client.get("/staff/verify"),
                "report (12 weeks)": lambda: client.get("/staff/reports"),
            }
            print(f"staff console, seed database, {args.repeat} runs per page (ms)")
            print(f"{'page':<32} {'p50':>8} {'p95':>8}")
            for name, call in pages.items():
                p50, p95 = timed(call, args.repeat)
                print(f"{name:<32} {p50:8.1f} {p95:8.1f}")
            print(f"{'login (argon2id verify)':<32} {login_ms:8.1f}")
            form = {"csrf": csrf, "pathway": pathway.id, "paper": "a4"}
            p50, p95 = timed(lambda: client.post("/staff/slip/pdf", data=form),
                             max(3, args.repeat // 5))
            print(f"{'slip PDF (Chromium, A4)':<32} {p50:8.1f} {p95:8.1f}")


if __name__ == "__main__":
    main()

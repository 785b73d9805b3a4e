"""Concurrent writers against a real server: prints errors and lost writes (both must be 0).

    python -m bench.writers [--workers 2] [--seconds 20] [--writers 8] [--readers 4]

Starts ``orientation serve`` on a fresh seeded database in a temporary folder (loopback only),
then for a bounded time runs writer threads (PATCH of a service through the API, each with a
unique marker, plus kiosk problem reports) beside reader threads (API search, kiosk pages).
Afterwards every write the server acknowledged (2xx) is looked up in the database's audit
trail: a marker that is missing is a lost write. A benchmark, not a test: it prints figures.
"""

from __future__ import annotations

import argparse
import os
import re
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import httpx

from orientation import store

from .server import cli, free_port, wait_up


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--seconds", type=float, default=20)
    parser.add_argument("--writers", type=int, default=8)
    parser.add_argument("--readers", type=int, default=4)
    args = parser.parse_args()

    work = Path(tempfile.mkdtemp(prefix="orientation-writers-"))
    db_path = work / "orientation.db"
    env = {**os.environ, "ORIENTATION_DB": str(db_path), "ORIENTATION_INDEX_DIR": str(work / "index"),
           "ORIENTATION_RATE_LIMIT": "0", "ORIENTATION_PRINTER_TARGET": str(work / "slips"),
           "ORIENTATION_SPEECH_DIR": str(work / "speech")}
    cli("seed", env=env)
    secret = cli("keys", "create", "--name", "Load test", "--role", "admin", env=env
                  ).strip().splitlines()[-1]
    db = store.connect(db_path)
    services = [row["id"] for row in db.query("select id from services order by id limit 12")]
    db.close()

    port = free_port()
    serve = [sys.executable, "-m", "orientation.cli", "serve", "--port", str(port)]
    if args.workers > 1:
        serve += ["--workers", str(args.workers)]
    server = subprocess.Popen(serve, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                              text=True)
    base = f"http://127.0.0.1:{port}"
    wait_up(server, base)

    lock = threading.Lock()
    acknowledged: list[str] = []
    statuses: dict[str, list[int]] = {"write": [], "read": []}
    errors: list[str] = []
    latencies: dict[str, list[float]] = {"write": [], "read": []}
    stop = time.monotonic() + args.seconds

    def record(kind: str, started: float, status: int | None, error: str | None = None):
        with lock:
            latencies[kind].append(time.perf_counter() - started)
            if status is not None:
                statuses[kind].append(status)
            if error or (status is not None and status >= 500):
                errors.append(error or f"{kind} answered {status}")

    def writer(n: int) -> None:
        headers = {"Authorization": f"Bearer {secret}"}
        with httpx.Client(base_url=base, headers=headers, timeout=60) as http:
            i = 0
            while time.monotonic() < stop:
                marker = f"load {n}-{i}"
                sid = services[(n + i) % len(services)]
                started = time.perf_counter()
                try:
                    response = http.patch(f"/api/v1/services/{sid}",
                                          json={"interpretation": marker})
                    record("write", started, response.status_code)
                    if 200 <= response.status_code < 300:
                        with lock:
                            acknowledged.append(marker)
                except httpx.HTTPError as exc:
                    record("write", started, None, f"write failed: {exc!r}")
                i += 1

    def reader(n: int) -> None:
        paths = ["/", "/need/argent", "/search?q=loyer", "/api/v1/services?q=cpas",
                 "/hsds/services?per_page=20"]
        with httpx.Client(base_url=base, timeout=60) as http:
            i = 0
            while time.monotonic() < stop:
                started = time.perf_counter()
                try:
                    response = http.get(paths[(n + i) % len(paths)])
                    record("read", started, response.status_code)
                except httpx.HTTPError as exc:
                    record("read", started, None, f"read failed: {exc!r}")
                i += 1

    threads = [threading.Thread(target=writer, args=(n,)) for n in range(args.writers)]
    threads += [threading.Thread(target=reader, args=(n,)) for n in range(args.readers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    server.terminate()
    try:
        server.wait(timeout=30)
    except subprocess.TimeoutExpired:
        server.kill()

    db = store.connect(db_path)
    stored = {row["after"] for row in db.query(
        "select after from audit where entity = 'service' and field = 'interpretation'")}
    db.close()
    stored = {re.sub(r'^"|"$', "", value or "") for value in stored}
    lost = [m for m in acknowledged if m not in stored]

    def pct(values: list[float], q: float) -> str:
        if not values:
            return "-"
        values = sorted(values)
        return f"{values[min(len(values) - 1, int(q * len(values)))] * 1000:.0f} ms"

    print(f"workers={args.workers} writers={args.writers} readers={args.readers} "
          f"seconds={args.seconds:g}")
    for kind in ("write", "read"):
        codes = statuses[kind]
        summary = ", ".join(f"{code}: {codes.count(code)}" for code in sorted(set(codes)))
        print(f"  {kind + 's':<7} {len(codes):>6} ({len(codes) / args.seconds:.0f}/s)  "
              f"p50 {pct(latencies[kind], 0.5)}  p95 {pct(latencies[kind], 0.95)}  "
              f"p99 {pct(latencies[kind], 0.99)}  [{summary}]")
    print(f"  errors (5xx or failed requests): {len(errors)}")
    print(f"  acknowledged writes: {len(acknowledged)}, lost: {len(lost)}")
    if errors:
        print("  first errors:", *sorted(set(errors))[:5], sep="\n    ")
    if statistics and (errors or lost):
        sys.exit(1)


if __name__ == "__main__":
    main()

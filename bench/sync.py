"""A kiosk synced from a central server, and duplicates found across two imports: prints times.

    python -m bench.sync [--baltimore]

Starts ``orientation serve`` on a fresh seeded database (loopback only), then times, into a
kiosk database made with ``seed --no-sample``: the first sync (everything), a sync when nothing
changed (the 10-minute overlap re-reads what the seed wrote), and one after a PATCH of one
service with no overlap. ``--baltimore`` also imports the Baltimore feed twice under two
source names and times ``duplicates.find`` over both copies. A benchmark: it asserts nothing.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

from orientation import duplicates, importer, store
from orientation import seed as seeding
from orientation.sync import sync

from .server import cli, free_port, wait_up

BALTIMORE = Path(__file__).parent.parent / "tests" / "data" / "baltimore-icarol" / "icarol-csv"


def _timed(label: str, call):
    started = time.perf_counter()
    result = call()
    print(f"{label}: {time.perf_counter() - started:.2f} s")
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--baltimore", action="store_true")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="orientation-sync-"))
    env = {**os.environ, "ORIENTATION_DB": str(work / "central.db"),
           "ORIENTATION_INDEX_DIR": str(work / "index"), "ORIENTATION_RATE_LIMIT": "0"}
    cli("seed", env=env)
    secret = cli("keys", "create", "--name", "Bench", "--role", "admin", env=env
                  ).strip().splitlines()[-1]
    port = free_port()
    server = subprocess.Popen([sys.executable, "-m", "orientation.cli", "serve", "--port",
                               str(port)], env=env, stdout=subprocess.DEVNULL,
                              stderr=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}"
    try:
        wait_up(server, base)
        kiosk = store.connect(work / "kiosk.db")
        seeding.ensure_taxonomy(kiosk)
        report = _timed("first sync (everything)", lambda: sync(kiosk, base))
        print("  " + report.lines()[0])
        report = _timed("sync, nothing changed (10-minute overlap)", lambda: sync(kiosk, base))
        print("  " + report.lines()[0])
        service_id = next(kiosk.query("select id from services order by id limit 1"))["id"]
        answer = httpx.patch(f"{base}/api/v1/services/{service_id}",
                             json={"description": "Changé."},
                             headers={"Authorization": f"Bearer {secret}"})
        if answer.status_code != 200:
            sys.exit(f"PATCH answered {answer.status_code}: {answer.text[:300]}")
        report = _timed("sync after one PATCH (no overlap)",
                        lambda: sync(kiosk, base, margin=dt.timedelta(0)))
        print("  " + report.lines()[0])
    finally:
        server.terminate()
        server.wait(timeout=30)
    if args.baltimore:
        db = store.connect(work / "twice.db")
        seeding.ensure_taxonomy(db)
        for source in ("baltimore-a", "baltimore-b"):
            _timed(f"import {source}", lambda: importer.load(db, BALTIMORE, source=source))
        pairs = _timed("duplicates.find over both copies", lambda: duplicates.find(db))
        kinds = {k: sum(p.entity == k for p in pairs) for k in ("service", "organization")}
        print(f"  {kinds['service']} service pairs, {kinds['organization']} organisation pairs")


if __name__ == "__main__":
    main()

"""API, import and export benchmark: prints figures, asserts nothing.

    python -m bench.api              # seed, then seed + the Baltimore iCarol export (1,875 services)
    python -m bench.api --no-large   # the seed only

For each directory: import time of the real datasets in tests/data/, export time and size per
format, then HTTP latency (p50/p95, warm, a real uvicorn server on 127.0.0.1, one client) of
the main reads of /api/v1 and /hsds, and the time to stream every service as HSDS ndjson.
"""

from __future__ import annotations

import argparse
import logging
import statistics
import tempfile
import threading
import time
from pathlib import Path

import httpx
import uvicorn

from orientation import export, importer, seed, store

DATA = Path(__file__).resolve().parent.parent / "tests" / "data"
DATASETS = {"ohana sample": DATA / "ohana-sample" / "sample-csv",
            "hsds 1.1 sample": DATA / "hsds-1.1-sample" / "all_resources",
            "oruk bristol": DATA / "oruk-bristol" / "bristol_council.json"}
LARGE = DATA / "baltimore-icarol" / "icarol-csv"


def _ms(samples: list[float]) -> str:
    cuts = statistics.quantiles(samples, n=20) if len(samples) > 1 else samples * 19
    return f"p50 {statistics.median(samples) * 1000:7.1f} ms   p95 {cuts[18] * 1000:7.1f} ms"


def _serve(db_path: Path, index_dir: Path, port: int) -> uvicorn.Server:
    from api.app import create_app

    server = uvicorn.Server(uvicorn.Config(
        create_app(db_path, index_dir, settings={"rate_limit": 0}), host="127.0.0.1",
        port=port, log_level="warning", access_log=False))
    threading.Thread(target=server.run, daemon=True).start()
    while not server.started:
        time.sleep(0.05)
    return server


def http_figures(db_path: Path, work: Path, repeat: int, port: int) -> None:
    db = store.connect(db_path)
    services = store.list_services(db, status="active")
    sample = [s.id for s in services[:: max(1, len(services) // repeat)]][:repeat]
    org = services[0].organization_id
    db.close()
    server = _serve(db_path, work / "index", port)
    base = f"http://127.0.0.1:{port}"
    reads = {
        "/api/v1/services?q=dettes": lambda i: "/api/v1/services?q=dettes",
        "/api/v1/services?need=logement&walk_in=true": lambda i: "/api/v1/services?need="
                                                                 "logement&walk_in=true",
        "/api/v1/services/{id}": lambda i: f"/api/v1/services/{sample[i % len(sample)]}",
        "/hsds/services?page=N": lambda i: f"/hsds/services?page={i % 5 + 1}",
        "/hsds/services?search=logement": lambda i: "/hsds/services?search=logement",
        "/hsds/services/{id}": lambda i: f"/hsds/services/{sample[i % len(sample)]}",
        "/hsds/organizations/{id}": lambda i: f"/hsds/organizations/{org}",
    }
    try:
        with httpx.Client(base_url=base, timeout=120) as client:
            for name, url in reads.items():
                client.get(url(0))  # warm
                samples = []
                for i in range(repeat):
                    start = time.perf_counter()
                    response = client.get(url(i))
                    samples.append(time.perf_counter() - start)
                    response.raise_for_status()
                print(f"  GET {name:<46} {_ms(samples)}")
            for full in (False, True):
                start = time.perf_counter()
                response = client.get(f"/hsds/services?format=ndjson&full={str(full).lower()}")
                lines = response.text.count("\n")
                print(f"  ndjson stream, full={full!s:<5} {lines:>6} services in "
                      f"{time.perf_counter() - start:6.2f} s ({len(response.content) / 1e6:.1f} MB)")
    finally:
        server.should_exit = True


def run(name: str, large: bool, repeat: int, port: int) -> None:
    work = Path(tempfile.mkdtemp(prefix="orientation-bench-"))
    db_path = work / "bench.db"
    db = store.connect(db_path)
    seed.load(db)
    print(f"\n== {name}")
    for label, path in (DATASETS | ({"baltimore icarol": LARGE} if large else {})).items():
        start = time.perf_counter()
        report = importer.load(db, path)
        total = sum(report.created.values()) + sum(report.updated.values())
        print(f"  import {label:<18} {total:>6} records in {time.perf_counter() - start:6.2f} s")
    print(f"  directory: {store.counts(db)}")
    for fmt, out in (("hsds-json", work / "x.json"), ("ndjson", work / "x.ndjson"),
                     ("csv", work / "csv")):
        start = time.perf_counter()
        export.export(db, out, fmt, complete=True)
        size = sum(p.stat().st_size for p in out.rglob("*")) if out.is_dir() \
            else out.stat().st_size
        print(f"  export {fmt:<10} {time.perf_counter() - start:6.2f} s, {size / 1e6:5.1f} MB")
    db.close()
    http_figures(db_path, work, repeat, port)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.api", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--no-large", action="store_true", help="Skip the Baltimore import.")
    parser.add_argument("--repeat", type=int, default=30, help="Requests per measured read.")
    parser.add_argument("--port", type=int, default=8799, help="Port on 127.0.0.1.")
    args = parser.parse_args(argv)
    logging.getLogger("httpx").setLevel(logging.WARNING)  # one line per request otherwise
    run("seed + small real datasets", False, args.repeat, args.port)
    if not args.no_large:
        run("seed + small real datasets + Baltimore iCarol", True, args.repeat, args.port + 1)


if __name__ == "__main__":
    main()

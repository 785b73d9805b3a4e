"""Load on a real server, row by row: req/s and p50/p95/p99 from ``wrk``. Prints, asserts nothing.

    python -m bench.load [--seconds 5] [--connections 8] [--workers 1,2] [--large 10000]
                         [--server uvicorn] [--rows home,need,...]

For each dataset (the seed; with ``--large N`` also the seed plus N generated services, built
by ``bench.search.synthetic``) the database and its index are built once in a temporary folder;
each server run then gets a fresh copy of both and starts ``orientation serve`` on 127.0.0.1
with 1, then 2 workers (``--workers``). Every row is driven by ``wrk -t1 -cC -dSs`` (Debian's
``wrk``; ``make bench-load`` installs it) one after the other, with the API rate limit raised
through the ``rate_limit`` setting. The ``floor`` row is a trivial route (``/livez``) in the
same run: read every other figure as a fraction of what the server can do at all. On a shared
machine absolute figures are noisy: compare ratios within one run.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

from orientation import store

from .search import seed_plus_synthetic
from .server import free_port, wait_up

#: wrk reports percentiles only through a Lua hook: one machine-readable line per run.
WRK_SCRIPT = """
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format("RESULT %d %d %d %d %d %d %d\\n", summary.requests, summary.duration,
    latency:percentile(50), latency:percentile(95), latency:percentile(99),
    e.status, e.connect + e.read + e.write + e.timeout))
end
"""

#: The issue's table (targets with 2 workers), the PDF slip and the framework floor.
ROWS = (
    ("floor", "framework floor /livez", None),
    ("home", "kiosk home /", 1500),
    ("need", "need page /need/argent", 1000),
    ("service", "service page", 1000),
    ("slip", "slip preview /slip?pathway=", 1000),
    ("search", "kiosk search /search?q=loyer", 600),
    ("api", "/api/v1/services?q=", 600),
    ("hsds", "/hsds/services?per_page=50", 400),
    ("pdf", "slip PDF /slip.pdf?pathway=", None),
)


def build(folder: Path, large: int) -> dict[str, str]:
    """A seeded database (plus ``large`` generated services) and its index in ``folder``;
    returns the paths the rows need."""
    folder.mkdir(parents=True)
    db_path = folder / "orientation.db"
    db = store.connect(db_path)
    seconds = seed_plus_synthetic(db, folder, large)
    if large:
        print(f"  generated {large} services in {seconds:.1f} s")
    pathway = next(p for p in store.list_pathways(db, status="active") if len(p.steps) > 1)
    service = next(s for s in store.iter_services(db, status="active") if s.contact_ids)
    db.close()
    started = time.perf_counter()
    from orientation.startup import prepare

    prepare(db_path, folder / "index")
    print(f"  index built in {time.perf_counter() - started:.1f} s")
    return {
        "floor": "/livez", "home": "/", "need": "/need/argent",
        "service": f"/service/{service.id}", "slip": f"/slip?pathway={pathway.id}",
        "search": "/search?q=loyer", "api": "/api/v1/services?q=loyer",
        "hsds": "/hsds/services?per_page=50", "pdf": f"/slip.pdf?pathway={pathway.id}",
    }


#: How each server is started on the same app factory (``--server``): ``serve`` is the product's
#: own command; the others run the factory directly, to compare servers in one run.
SERVERS = {
    "serve": lambda port, workers: [sys.executable, "-m", "orientation.cli", "serve",
                                    "--port", str(port), "--workers", str(workers)],
    "uvicorn-h11": lambda port, workers: [
        sys.executable, "-m", "uvicorn", "--factory", "api.app:app_from_environment",
        "--port", str(port), "--workers", str(workers), "--loop", "asyncio", "--http", "h11",
        "--no-access-log", "--log-level", "warning"],
    "uvicorn-httptools": lambda port, workers: [
        sys.executable, "-m", "uvicorn", "--factory", "api.app:app_from_environment",
        "--port", str(port), "--workers", str(workers), "--loop", "uvloop", "--http",
        "httptools", "--no-access-log", "--log-level", "warning"],
    "granian": lambda port, workers: [
        sys.executable, "-m", "granian", "--interface", "asgi", "--factory",
        "--port", str(port), "--workers", str(workers), "--no-access-log",
        "--log-level", "warning", "api.app:app_from_environment"],
}


def start(template: Path, work: Path, workers: int, server: str) -> tuple[subprocess.Popen, str]:
    """``orientation serve`` on a fresh copy of the template's database and index."""
    shutil.copytree(template, work)
    port = free_port()
    env = {**os.environ, "ORIENTATION_DB": str(work / "orientation.db"),
           "ORIENTATION_INDEX_DIR": str(work / "index"),
           "ORIENTATION_RATE_LIMIT": str(10**9), "ORIENTATION_PRINTER_TARGET": str(work / "slips"),
           "ORIENTATION_SPEECH_DIR": str(work / "speech")}
    command = SERVERS[server](port, workers)
    process = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL,
                               stderr=subprocess.PIPE, text=True)
    base = f"http://127.0.0.1:{port}"
    wait_up(process, base, seconds=180)
    return process, base


def wrk(url: str, *, seconds: float, connections: int, script: Path) -> dict[str, float]:
    result = subprocess.run(
        ["wrk", "-t1", f"-c{connections}", f"-d{seconds:g}s", "--timeout", "60s", "-s",
         str(script), url], capture_output=True, text=True)
    if result.returncode:
        sys.exit(f"wrk failed: {result.stderr or result.stdout}")
    line = next(l for l in result.stdout.splitlines() if l.startswith("RESULT "))
    requests, duration_us, p50, p95, p99, status, socket_errors = map(int, line.split()[1:])
    return {"rps": requests / (duration_us / 1e6), "p50": p50 / 1000, "p95": p95 / 1000,
            "p99": p99 / 1000, "non2xx": status, "errors": socket_errors, "n": requests}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.load", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=5, help="wrk duration per row")
    parser.add_argument("--pdf-seconds", type=float, default=10,
                        help="wrk duration of the PDF row (a slow renderer needs longer)")
    parser.add_argument("--connections", type=int, default=8, help="wrk -c")
    parser.add_argument("--workers", default="1,2", help="comma-separated worker counts")
    parser.add_argument("--large", type=int, default=0,
                        help="also run on the seed plus this many generated services")
    parser.add_argument("--server", default="serve", help="comma-separated: " + ", ".join(SERVERS))
    parser.add_argument("--rows", default=",".join(key for key, _, _ in ROWS),
                        help="comma-separated rows: " + ", ".join(key for key, _, _ in ROWS))
    args = parser.parse_args(argv)
    if shutil.which("wrk") is None:
        sys.exit("wrk is missing: `make bench-load` installs it (Debian package wrk)")
    wanted = args.rows.split(",")
    unknown = set(wanted) - {key for key, _, _ in ROWS}
    if unknown:
        sys.exit(f"unknown rows: {', '.join(sorted(unknown))}")
    workers = [int(n) for n in args.workers.split(",")]
    servers = args.server.split(",")
    if set(servers) - set(SERVERS):
        sys.exit(f"unknown servers: {', '.join(sorted(set(servers) - set(SERVERS)))}")

    with tempfile.TemporaryDirectory(prefix="orientation-load-") as tmp:
        tmp = Path(tmp)
        script = tmp / "report.lua"
        script.write_text(WRK_SCRIPT)
        datasets = [("seed", 0)] + ([(f"seed + {args.large} services", args.large)]
                                    if args.large else [])
        print(f"wrk -t1 -c{args.connections} -d{args.seconds:g}s (PDF: -d{args.pdf_seconds:g}s) "
              f"on 127.0.0.1, {os.cpu_count()} cores")
        for name, large in datasets:
            print(f"\n## {name}")
            template = tmp / f"template-{large}"
            paths = build(template, large)
            for count in workers:
                for server in servers:
                    print(f"\n{server}, {count} worker{'s' if count > 1 else ''}:")
                    run_rows(template, tmp / f"run-{large}-{count}-{server}", paths, count,
                             server, wanted, args, script)


def run_rows(template: Path, run: Path, paths: dict[str, str], count: int, server: str,
             wanted: list[str], args: argparse.Namespace, script: Path) -> None:
    process, base = start(template, run, count, server)
    try:
        # Every row once first (first-use work is not the figure), then a pause: the other
        # workers may still be opening the index after the first one answered.
        for key, _, _ in ROWS:
            if key in wanted:
                for _ in range(2 * count):
                    httpx.get(base + paths[key], timeout=60)
        time.sleep(3)
        print("| row | req/s | p50 ms | p95 ms | p99 ms | non-2xx | errors | target |")
        print("| --- | --- | --- | --- | --- | --- | --- | --- |")
        for key, label, target in ROWS:
            if key not in wanted:
                continue
            url = base + paths[key]
            seconds = args.pdf_seconds if key == "pdf" else args.seconds
            r = wrk(url, seconds=seconds, connections=args.connections, script=script)
            rps = f"{r['rps']:.{0 if r['rps'] >= 10 else 1}f}"
            print(f"| {label} | {rps} | {r['p50']:.1f} | {r['p95']:.1f} | {r['p99']:.1f} "
                  f"| {r['non2xx']} | {r['errors']} "
                  f"| {'≥ ' + format(target, ',') if target else ''} |", flush=True)
    finally:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        shutil.rmtree(run, ignore_errors=True)

if __name__ == "__main__":  # pragma: no cover
    main()

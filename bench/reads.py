"""Where an uncached read spends its time: per request, SQL statements and a profile. Prints,
asserts nothing.

    python -m bench.reads [--large 10000] [--repeat 30] [--rows search,api,hsds] [--top 18]
                          [--no-profile] [--folder DATASET]

For each dataset (the seed; with ``--large N`` also the seed plus N generated services, built
by ``bench.load.build``) the app runs in-process behind Litestar's test client. Each row is
requested once to warm it, then ``--repeat`` times: the wall time per request, the number of
SQL statements per request (a ``sqlite3`` trace callback on every connection the process
opens, installed here, not in the product), and a cProfile of the two threads a request
runs on: the handler's worker thread (reads, search, building the answer) and the event-loop
thread (routing, templates, encoding). Only the bench process is patched, never the code.
"""

from __future__ import annotations

import argparse
import cProfile
import io
import pstats
import shutil
import sqlite3
import statistics
import tempfile
import time
from pathlib import Path

#: Every statement of every connection opened after ``install_trace()``: (thread-free) counter.
STATEMENTS: list[str] = []
ROWS = {"search": "/search?q=loyer", "api": "/api/v1/services?q=loyer",
        "hsds": "/hsds/services?per_page=50"}


def install_trace() -> None:
    """Count the statements of every SQLite connection opened from now on."""
    original = sqlite3.connect

    def connect(*args, **kwargs):
        conn = original(*args, **kwargs)
        conn.set_trace_callback(STATEMENTS.append)
        return conn

    sqlite3.connect = connect


def install_profiler(profile: cProfile.Profile) -> None:
    """Profile every sync handler (and sync dependency) on its worker thread."""
    import litestar.utils.sync as lsync

    original = lsync.sync_to_thread

    async def profiled(fn, *args, **kwargs):
        def run(*a, **k):
            profile.enable()
            try:
                return fn(*a, **k)
            finally:
                profile.disable()
        return await original(run, *args, **kwargs)

    lsync.sync_to_thread = profiled


def _top(profile: cProfile.Profile, count: int, requests: int, key: str = "cumulative") -> str:
    out = io.StringIO()
    stats = pstats.Stats(profile, stream=out)
    stats.sort_stats(key).print_stats(count)
    text = out.getvalue()
    start = text.find("   ncalls")
    return (f"  (totals over {requests} requests)\n" + text[start:]) if start >= 0 else text


def run(folder: Path, rows: list[str], repeat: int, top: int) -> None:
    from litestar.testing import TestClient

    from api.app import create_app

    app = create_app(folder / "orientation.db", folder / "index",
                     settings={"rate_limit": 0})
    with TestClient(app, base_url="http://localhost") as client:
        # The index loads its typo word list in a thread at start-up (~2 s of CPU, holding
        # the GIL): wait for it, or the first figures are that thread's.
        from orientation.search import analysis

        analysis.dictionary()
        for key in rows:
            url = ROWS[key]
            for _ in range(2):
                assert client.get(url).status_code == 200  # warm; a failure is no figure
            STATEMENTS.clear()
            client.get(url)
            one = list(STATEMENTS)
            # Unprofiled first: wall and CPU time of the whole process per request. CPU time
            # stays steady on a shared machine where wall time carries other processes' load.
            walls, cpu_started = [], time.process_time()
            for _ in range(repeat):
                started = time.perf_counter()
                client.get(url)
                walls.append(time.perf_counter() - started)
            cpu = (time.process_time() - cpu_started) / repeat
            kinds: dict[str, int] = {}
            for sql in one:
                head = " ".join(sql.split()[:4])
                kinds[head] = kinds.get(head, 0) + 1
            print(f"\n### {url}\n")
            print(f"per request, in-process, unprofiled: wall p50 "
                  f"{statistics.median(walls) * 1000:.1f} ms, CPU {cpu * 1000:.1f} ms")
            print(f"SQL statements per request: {len(one)}")
            for head, n in sorted(kinds.items(), key=lambda kv: -kv[1])[:8]:
                print(f"  {n:4d}  {head}…")
            if top:
                profile(client, url, repeat, top)


def profile(client, url: str, repeat: int, top: int) -> None:
    import litestar.concurrency as concurrency
    import litestar.utils.sync as lsync

    # Timed in each thread's own CPU time (``time.thread_time``), not wall time: on a
    # shared machine wall time would charge other processes' load to whatever ran.
    worker = cProfile.Profile(time.thread_time)
    loop = cProfile.Profile(time.thread_time)
    install_profiler(worker)
    client.blocking_portal.call(loop.enable)
    for _ in range(repeat):
        client.get(url)
    client.blocking_portal.call(loop.disable)
    lsync.sync_to_thread = concurrency.sync_to_thread
    print("\nworker thread (handler), profiled (thread CPU time):")
    print(_top(worker, top, repeat))
    # By own time: the loop thread mostly waits (epoll) for the worker thread.
    print("event-loop thread (routing, rendering, encoding), by own time:")
    print(_top(loop, top, repeat, "tottime"))


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.reads", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--large", type=int, default=0)
    parser.add_argument("--repeat", type=int, default=30)
    parser.add_argument("--no-profile", action="store_true",
                        help="only the timings and statement counts")
    parser.add_argument("--top", type=int, default=18)
    parser.add_argument("--rows", default=",".join(ROWS))
    parser.add_argument("--no-seed", action="store_true", help="only the large dataset")
    parser.add_argument("--folder", type=Path,
                        help="a dataset built before by bench.load.build (copied, not changed)")
    args = parser.parse_args(argv)
    from bench.load import build

    install_trace()
    rows = args.rows.split(",")
    top = 0 if args.no_profile else args.top
    if args.folder:
        with tempfile.TemporaryDirectory(prefix="orientation-reads-") as tmp:
            shutil.copytree(args.folder, Path(tmp) / "data")
            run(Path(tmp) / "data", rows, args.repeat, top)
        return
    with tempfile.TemporaryDirectory(prefix="orientation-reads-") as tmp:
        datasets = ([] if args.no_seed else [("seed", 0)]) + (
            [(f"seed + {args.large} services", args.large)] if args.large else [])
        for name, large in datasets:
            print(f"\n## {name}")
            folder = Path(tmp) / f"data-{large}"
            build(folder, large)
            run(folder, rows, args.repeat, top)


if __name__ == "__main__":  # pragma: no cover
    main()

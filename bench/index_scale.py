"""The search index at scale: build, a single write, start-up, memory, search against FTS5.

    python -m bench.index_scale                          # 10 000 services (quick)
    python -m bench.index_scale --services 10000,100000  # make bench-index SERVICES=…

Prints figures, asserts nothing. For each size the dataset is generated once (the seed plus N
synthetic services through the store, ``bench.search.synthetic``: a real SQLite file), then each
measurement runs in its own fresh Python process, so that its time and memory are its own:

- **build**: ``SearchIndex.create`` from the database (what a new or restored server does),
  wall and CPU time, peak RSS of the process (and of its children, if the build forks);
- **start-up**: a new process opening the current index (``startup.open_index``: migrate,
  seed check, the index's schema/origin/generation check) and answering its first search;
- **worker**: a process that opened the index, ran 200 searches (five kinds, with and without
  the kiosk's commune), then the uncached p50/p95 of the five query kinds of
  ``bench.search`` against SQLite FTS5 over the same rows (built in that process), and its RSS;
- **writes**: in a warm worker, ~20 single writes (a service renamed with a new word through
  ``store.save`` + ``writes.sync_index``, what an API or editor write does), each timed until a
  search (uncached, on the new snapshot) finds the word; also the same seen from a *second*
  worker, which learns of the write only through the database's generation.

``--keep DIR`` keeps (and reuses) the generated databases and indexes in DIR between runs.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

QUERY_KINDS = ("one word", "two words", "unaccented", "typo", "filtered")


def _rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def _peak_mb() -> tuple[float, float]:
    """(peak RSS of this process, of its largest finished child) in MB."""
    return (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
            resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024)


def _pct(samples: list[float]) -> tuple[float, float]:
    from bench.search import _percentiles

    p50, p95, _ = _percentiles(samples)
    return p50, p95


# --- Phases (each in its own process) -------------------------------------------------------


def phase_generate(folder: Path, size: int) -> dict:
    from bench.search import seed_plus_synthetic
    from orientation import store

    db = store.connect(folder / "orientation.db")
    seconds = seed_plus_synthetic(db, folder, size)
    count = db["services"].count
    db.close()
    return {"seconds": seconds, "services": count}


def phase_build(folder: Path) -> dict:
    from orientation import store
    from orientation.search import SearchIndex

    db = store.connect(folder / "orientation.db", migrate=False)
    wall, cpu = time.perf_counter(), time.process_time()
    index = SearchIndex.create(folder / "index", db)
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    docs = index.doc_count()
    index.close()
    db.close()
    size = sum(p.stat().st_size for p in (folder / "index").rglob("*") if p.is_file())
    peak, children = _peak_mb()
    return {"seconds": wall, "cpu": cpu, "docs": docs, "mb": size / 1e6, "peak_mb": peak,
            "children_peak_mb": children}


def phase_startup(folder: Path) -> dict:
    started = time.perf_counter()
    from orientation import startup, store

    imported = time.perf_counter() - started
    index = startup.open_index(folder / "orientation.db", folder / "index")
    opened = time.perf_counter() - started
    db = store.connect(folder / "orientation.db", migrate=False)
    results = index.search(db, "logement", near="Ixelles", lang="fr", pathways_first=True)
    first = time.perf_counter() - started
    index.close()
    db.close()
    return {"import": imported, "open": opened, "first_search": first,
            "hits": results.total}


def _warm_searches(index, db, count: int) -> None:
    from bench.search import QUERIES
    from orientation.search import Filters

    queries = [(text, commune) for kind in QUERIES.values() for text, commune in kind]
    for n in range(count):
        text, commune = queries[n % len(queries)]
        near = "Ixelles" if n % 2 else None
        index.search(db, text, filters=Filters(located_in=commune) if commune else None,
                     near=near, pathways_first=bool(near), use_cache=False)


def phase_worker(folder: Path, repeat: int) -> dict:
    from bench.search import QUERIES, _fts, _fts_query, _time
    from orientation import store
    from orientation.search import Filters, SearchIndex, analysis

    db = store.connect(folder / "orientation.db", migrate=False)
    index = SearchIndex.open(folder / "index", db)
    analysis.dictionary()  # what the warm-up thread loads anyway
    _warm_searches(index, db, 200)
    rss = _rss_mb()
    fts_path = folder / "fts.db"
    fts_path.unlink(missing_ok=True)
    started = time.perf_counter()
    fts = _fts(db, fts_path)
    fts_build = time.perf_counter() - started
    kinds = {}
    for kind, queries in QUERIES.items():
        ours, lite = [], []
        for text, commune in queries:
            filters = Filters(located_in=commune) if commune else None
            ours += [w for w, _ in _time(lambda t=text, f=filters: index.search(
                db, t, filters=f, limit=10, use_cache=False), repeat)]
            lite += [w for w, _ in _time(lambda t=text, c=commune: _fts_query(fts, t, c),
                                         repeat)]
        kinds[kind] = {"search": _pct(ours), "fts5": _pct(lite)}
    fts.close()
    fts_path.unlink()
    index.close()
    db.close()
    return {"rss_mb": rss, "fts_build": fts_build, "kinds": kinds}


def _marker(n: int) -> str:
    """A word no service has ("zqxbaf"): letters only, so it is indexed as it is."""
    letters = "bcdfghjklmnpqrstvwxz"
    word = ""
    n += 1
    while n:
        n, r = divmod(n, len(letters))
        word += letters[r]
    return "zqx" + word + "a"


def phase_writes(folder: Path, count: int) -> dict:
    from orientation import store, writes
    from orientation.search import SearchIndex

    db = store.connect(folder / "orientation.db", migrate=False)
    index = SearchIndex.open(folder / "index", db)
    # A second worker on the same files: it sees the write only through the generation.
    db2 = store.connect(folder / "orientation.db", migrate=False)
    other = SearchIndex.open(folder / "index", db2)
    from orientation import hours
    from orientation.search import analysis

    analysis.dictionary()  # what each worker loads in the background after it starts
    hours.public_holiday(hours.now().date())
    _warm_searches(index, db, 50)
    _warm_searches(other, db2, 50)
    ids = [row["id"] for row in db.query(
        "select id from services where status = 'active' order by id limit ?", [count])]
    total, saved, synced, seen, other_seen, misses = [], [], [], [], [], 0
    cpu = []
    for n, service_id in enumerate(ids):
        service = store.get_service(db, service_id)
        word = _marker(n)
        changed = type(service)(**{**{f: getattr(service, f) for f in service.__struct_fields__},
                                   "name": f"{service.name} {word}"})
        started, cpu_started = time.perf_counter(), time.process_time()
        store.save(db, changed, actor="bench")
        t_saved = time.perf_counter()
        writes.sync_index(index, db)
        t_synced = time.perf_counter()
        hits = index.search(db, word, use_cache=False).hits
        t_seen = time.perf_counter()
        cpu.append((time.process_time() - cpu_started) * 1000)
        if not any(h.id == service_id for h in hits):
            misses += 1
        total.append((t_seen - started) * 1000)
        saved.append((t_saved - started) * 1000)
        synced.append((t_synced - t_saved) * 1000)
        seen.append((t_seen - t_synced) * 1000)
        t_other = time.perf_counter()
        hits = other.search(db2, word, use_cache=False).hits
        other_seen.append((time.perf_counter() - t_other) * 1000)
        if not any(h.id == service_id for h in hits):
            misses += 1
    segments = len(index.segments())
    index.merge_now()
    merged = len(index.segments())
    index.close()
    other.close()
    db.close()
    db2.close()
    return {"cpu": _pct(cpu), "segments": segments, "merged": merged, "total": _pct(total), "store": _pct(saved), "sync": _pct(synced),
            "search": _pct(seen), "other": _pct(other_seen), "misses": misses,
            "count": len(ids)}


PHASES = {"generate": phase_generate, "build": phase_build, "startup": phase_startup,
          "worker": phase_worker, "writes": phase_writes}


def _run_phase(name: str, folder: Path, *args) -> dict:
    """Run one phase in a fresh interpreter; returns what it printed as JSON."""
    command = [sys.executable, "-m", "bench.index_scale", "--phase", name, str(folder),
               *map(str, args)]
    result = subprocess.run(command, capture_output=True, text=True, check=False)
    if result.returncode:
        sys.exit(f"phase {name} failed:\n{result.stderr[-4000:]}")
    return json.loads(result.stdout.strip().splitlines()[-1])


# --- Driver ---------------------------------------------------------------------------------


def run_size(folder: Path, size: int, writes: int, repeat: int, skip_build: bool) -> None:
    print(f"\n## seed + {size:,} services", flush=True)
    if not (folder / "orientation.db").exists():
        folder.mkdir(parents=True, exist_ok=True)
        g = _run_phase("generate", folder, size)
        print(f"generated in {g['seconds']:.1f} s ({g['services']:,} services in the database)",
              flush=True)
    if not (skip_build and (folder / "index").exists()):
        b = _run_phase("build", folder)
        print(f"build: {b['seconds']:.1f} s wall, {b['cpu']:.1f} s CPU (parent), "
              f"{b['docs']:,} documents, {b['mb']:.1f} MB on disk, peak RSS "
              f"{b['peak_mb']:.0f} MB (children {b['children_peak_mb']:.0f} MB)", flush=True)
    s = _run_phase("startup", folder)
    print(f"start-up with a current index: imports {s['import']:.2f} s, index open "
          f"{s['open']:.2f} s, first search answered at {s['first_search']:.2f} s", flush=True)
    w = _run_phase("worker", folder, repeat)
    print(f"worker RSS after warm-up and 200 searches: {w['rss_mb']:.0f} MB", flush=True)
    print(f"uncached search against FTS5 (FTS5 built in {w['fts_build']:.1f} s), wall ms:")
    print("| queries | search p50 / p95 | FTS5 p50 / p95 | ratio p95 |")
    print("| --- | --- | --- | --- |")
    for kind, r in w["kinds"].items():
        (s50, s95), (f50, f95) = r["search"], r["fts5"]
        print(f"| {kind} | {s50:.2f} / {s95:.2f} | {f50:.2f} / {f95:.2f} "
              f"| {s95 / max(f95, 1e-6):.2f}× |")
    r = _run_phase("writes", folder, writes)
    print(f"single write until visible in search ({r['count']} writes, {r['misses']} not found),"
          " ms p50 / p95:")
    print(f"  total {r['total'][0]:.1f} / {r['total'][1]:.1f}  = store write "
          f"{r['store'][0]:.1f} / {r['store'][1]:.1f} + index sync {r['sync'][0]:.1f} / "
          f"{r['sync'][1]:.1f} + first search {r['search'][0]:.1f} / {r['search'][1]:.1f}")
    print(f"  a second worker's first search after the write: {r['other'][0]:.1f} / "
          f"{r['other'][1]:.1f}")
    print(f"  CPU of the writing process per write (all its threads): {r['cpu'][0]:.1f} / "
          f"{r['cpu'][1]:.1f}; index segments after the writes: {r['segments']} "
          f"({r['merged']} once the merges are done)", flush=True)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.index_scale", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--services", default="10000",
                        help="comma-separated synthetic service counts (default 10000)")
    parser.add_argument("--writes", type=int, default=20, help="single writes timed")
    parser.add_argument("--repeat", type=int, default=10, help="timed runs per query")
    parser.add_argument("--keep", type=Path, default=None,
                        help="keep and reuse datasets and indexes in this folder")
    parser.add_argument("--skip-build", action="store_true",
                        help="with --keep: reuse a kept index instead of building it again")
    parser.add_argument("--phase", nargs="+", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.phase:
        name, folder, *rest = args.phase
        print(json.dumps(PHASES[name](Path(folder), *map(int, rest))))
        return
    print(f"python -m bench.index_scale --services {args.services}: {os.cpu_count()} cores, "
          f"Python {sys.version.split()[0]}, load average "
          f"{' '.join(f'{x:.1f}' for x in os.getloadavg())}")
    base = args.keep or Path(tempfile.mkdtemp(prefix="orientation-index-"))
    try:
        for size in [int(s) for s in args.services.split(",") if s.strip()]:
            run_size(base / f"services-{size}", size, args.writes, args.repeat,
                     args.skip_build)
    finally:
        if args.keep is None:
            shutil.rmtree(base, ignore_errors=True)
    print(f"load average at the end: {' '.join(f'{x:.1f}' for x in os.getloadavg())}")


if __name__ == "__main__":
    main()

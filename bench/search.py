"""Search benchmark: relevance on the seed, speed on the seed and on synthetic corpora.

    python -m bench.search                 # seed + 10k + 100k services (make bench)
    python -m bench.search --sizes 10000   # a quicker run

Prints figures, asserts nothing. For each corpus: index build time and size, then query latency
(p50/p95/p99, warm, top 10) for one word, two words, unaccented, typo and filtered queries,
uncached and cached, and the same queries on SQLite FTS5 over the same corpus in the same run,
with the whoosh/FTS5 ratio. FTS5 has no typo tolerance, synonyms or stemming: it answers less
and does less work, which is why it is the yardstick and not a replacement.

Synthetic corpora are generated deterministically (fixed random seed) from the seed's own
French sentences, names, keywords and needs, spread over the 46 communes.
"""

from __future__ import annotations

import argparse
import random
import shutil
import sqlite3
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import msgspec
import yaml
from sqlite_utils import Database

from orientation import communes, store
from orientation.models import (
    Accessibility,
    AccessRules,
    Address,
    DigitalRequirement,
    Location,
    Organization,
    Schedule,
    Service,
    slug_id,
)
from orientation.search import Filters, SearchIndex, analysis

RELEVANCE_SET = Path(__file__).resolve().parent.parent / "tests" / "relevance.yaml"

#: query kind -> (query, commune filter or None); the same for every corpus and engine.
QUERIES = {
    "one word": [("chomage", None), ("expulsion", None), ("dettes", None),
                 ("mutuelle", None), ("itsme", None)],
    "two words": [("facture gaz", None), ("avocat gratuit", None), ("garantie locative", None),
                  ("revenu integration", None), ("declaration impots", None)],
    "unaccented": [("electricite", None), ("mutualite", None), ("energie", None),
                   ("reglement collectif", None), ("sante mentale", None)],
    "typo": [("allocaions", None), ("expulsoin", None), ("huisier", None),
             ("mutuelllle", None), ("logemnet", None)],
    "filtered": [("logement", "Schaerbeek"), ("energie", "Wavre"), ("dettes", "Ixelles"),
                 ("chomage", "Nivelles"), ("mutuelle", "Anderlecht")],
}


class Relevance(msgspec.Struct):
    precision_at_3: float
    mrr: float
    misses: list[str]


def relevance(index: SearchIndex, db: Database, cases: list[dict]) -> Relevance:
    """Share of queries with an expected record in the top 3, and mean reciprocal rank."""
    found, reciprocal, misses = 0, 0.0, []
    for case in cases:
        expected = {slug_id(*ref.split(":", 1)) for ref in case["expect"]}
        hits = index.search(db, case["q"], near=case.get("near"), limit=10,
                            use_cache=False).hits
        rank = next((n for n, hit in enumerate(hits, start=1) if hit.id in expected), None)
        if rank and rank <= 3:
            found += 1
        else:
            misses.append(f"{case['q']!r} (near {case.get('near')}): expected at rank "
                          f"{rank}, got {[h.title for h in hits[:3]]}")
        reciprocal += 1 / rank if rank else 0.0
    return Relevance(precision_at_3=found / len(cases), mrr=reciprocal / len(cases),
                     misses=misses)


# --- Synthetic corpus ---------------------------------------------------------------------

_PATTERNS = [
    [("MO,TU,WE,TH,FR", "09:00", "12:00", "walk_in")],
    [("MO,TU,TH", "13:30", "16:00", "appointment"), ("MO,TU,WE,TH,FR", "09:00", "16:00",
                                                     "phone")],
    [("MO,WE,FR", "08:30", "11:30", "walk_in"), ("TU,TH", "13:00", "17:00", "appointment")],
    [("SA", "09:30", "12:30", "walk_in")],
    [("MO,TU,WE,TH,FR,SA,SU", "00:00", "24:00", "phone")],
]


def seed_plus_synthetic(db: Database, folder: Path, size: int) -> float:
    """The seed loaded into ``db``, plus ``size`` services made from the seed's texts (through
    a scratch copy of the seed in ``folder``); returns the seconds the generation took."""
    from orientation import seed as seeding

    seeding.load(db)
    if not size:
        return 0.0
    source = store.connect(folder / "source.db")
    seeding.load(source)
    started = time.perf_counter()
    synthetic(db, source, size)
    source.close()
    (folder / "source.db").unlink()
    return time.perf_counter() - started


def synthetic(db: Database, source_db: Database, size: int, *, seed: int = 42) -> None:
    """Fill an empty database with ``size`` services made from ``source_db``'s texts."""
    source = list(store.iter_services(source_db, status="active"))
    for term in store.list_terms(source_db):
        store.save_term(db, term, actor="bench")
    sentences = [s.strip() + "." for svc in source
                 for s in svc.description.replace("?", ".").split(".") if len(s.strip()) > 20]
    rng = random.Random(seed)
    postal = {}
    for code, name in communes.POSTAL_CODES.items():
        postal.setdefault(name, code)
    names = sorted(postal)
    orgs, locations, services = [], [], []
    for n in range(max(1, size // 4)):
        commune = rng.choice(names)
        org = Organization(id=slug_id("organization", f"bench-{seed}-{n}"),
                           name=f"{rng.choice(['CPAS', 'Maison', 'Service', 'Antenne', 'ASBL'])}"
                                f" {rng.choice(source).name.split(' — ')[0]} {commune}",
                           description=rng.choice(sentences))
        orgs.append(org)
        locations.append(Location(
            id=slug_id("location", f"bench-{seed}-{n}"), organization_id=org.id,
            name=org.name,
            address=Address(street=f"Rue {rng.randint(1, 200)}", postal_code=postal[commune],
                            city=commune, region=communes.region(commune) or "autre"),
            accessibility=Accessibility(step_free=rng.random() < 0.6)))
    for i in range(size):
        model = rng.choice(source)
        org = orgs[i % len(orgs)]
        pattern = rng.choice(_PATTERNS)
        services.append(Service(
            id=slug_id("service", f"bench-{seed}-{i}"), organization_id=org.id,
            name=model.name if rng.random() < 0.5 else f"{model.name} — {rng.choice(names)}",
            description=" ".join(rng.sample(sentences, rng.randint(2, 4))),
            needs=model.needs, keywords=rng.sample(model.keywords, min(3, len(model.keywords))),
            location_ids=[locations[i % len(orgs)].id],
            languages=["fr"] + rng.sample(["nl", "en", "ar", "tr", "es"], rng.randint(0, 2)),
            access=AccessRules(walk_in=rng.random() < 0.5, appointment=rng.random() < 0.5,
                               cost_free=rng.random() < 0.8,
                               audience=rng.choice(["Tout le monde", f"Habitants de {org.name}",
                                                    "Seniors", "Parents d'élèves"])),
            digital=DigitalRequirement(level=rng.choice(["none", "none", "optional",
                                                         "required"])),
            schedules=[Schedule(id=slug_id("schedule", f"bench-{seed}-{i}-{k}"), byday=d,
                                opens_at=o, closes_at=c, attending_type=a)
                       for k, (d, o, c, a) in enumerate(pattern)],
        ))
    store.bulk_create(db, orgs, locations, services, actor="bench")


# --- SQLite FTS5 over the same corpus -----------------------------------------------------


def _fts(db: Database, path: Path) -> sqlite3.Connection:
    conn = sqlite3.connect(path)
    conn.execute("create virtual table fts using fts5(name, body, commune UNINDEXED, "
                 "tokenize = 'unicode61 remove_diacritics 2')")
    locations = {loc.id: loc for loc in store.list_locations(db)}
    rows = []
    for service in store.iter_services(db, status="active"):
        place = [locations[i].address for i in service.location_ids if locations[i].address]
        commune = communes.commune(place[0].city, place[0].postal_code) if place else None
        rows.append((service.name, f"{service.description} {' '.join(service.keywords)}",
                     commune))
    conn.executemany("insert into fts (name, body, commune) values (?, ?, ?)", rows)
    conn.commit()
    return conn


def _fts_query(conn: sqlite3.Connection, text: str, commune: str | None) -> list:
    words = [w for w in analysis.words(text) if w not in analysis.QUERY_STOP]
    match = " ".join(f'"{w}"' for w in words)
    sql = "select rowid from fts where fts match ?"
    params: list = [match]
    if commune:
        sql += " and commune = ?"
        params.append(commune)
    return conn.execute(sql + " order by bm25(fts, 3.0, 1.0) limit 10", params).fetchall()


# --- Measuring ----------------------------------------------------------------------------


def _percentiles(samples: list[float]) -> tuple[float, float, float]:
    ordered = sorted(samples)

    def at(q: float) -> float:
        return ordered[min(len(ordered) - 1, int(q * len(ordered)))]

    return statistics.median(ordered), at(0.95), at(0.99)


def _time(call: Callable[[], object], repeat: int) -> list[tuple[float, float]]:
    """(wall, CPU) milliseconds per call. CPU time is what the process itself spent: on a
    shared machine it stays steady while wall time grows with the other processes' load."""
    samples = []
    for _ in range(repeat):
        wall, cpu = time.perf_counter(), time.process_time()
        call()
        samples.append(((time.perf_counter() - wall) * 1000,
                        (time.process_time() - cpu) * 1000))
    return samples


def _size(folder: Path) -> float:
    return sum(p.stat().st_size for p in folder.rglob("*") if p.is_file()) / 1e6


def measure(name: str, db: Database, folder: Path, repeat: int) -> None:
    start = time.perf_counter()
    index = SearchIndex.create(folder / "index", db)
    build = time.perf_counter() - start
    start = time.perf_counter()
    fts = _fts(db, folder / "fts.db")
    fts_build = time.perf_counter() - start
    print(f"\n## {name}: {index.doc_count()} documents")
    print(f"index build {build:.1f} s, {_size(folder / 'index'):.1f} MB on disk "
          f"(FTS5: {fts_build:.1f} s, {(folder / 'fts.db').stat().st_size / 1e6:.1f} MB)")
    print(f"{'queries':<12} {'engine':<17} {'p50 ms':>8} {'p95 ms':>8} {'p99 ms':>8}"
          f" {'cpu p50':>8} {'cpu p95':>8}")
    for kind, queries in QUERIES.items():
        uncached, cached, lite = [], [], []
        for text, commune in queries:
            filters = Filters(located_in=commune) if commune else None

            def run(use_cache: bool, text=text, filters=filters):
                return index.search(db, text, filters=filters, limit=10, use_cache=use_cache)

            run(False)  # warm: searcher, vocabulary, filter sets
            uncached += _time(lambda: run(False), repeat)
            run(True)
            cached += _time(lambda: run(True), repeat)
            lite += _time(lambda t=text, c=commune: _fts_query(fts, t, c), repeat)
        rows = {"search uncached": uncached, "search cached": cached, "sqlite fts5": lite}
        for engine, samples in rows.items():
            p50, p95, p99 = _percentiles([wall for wall, _ in samples])
            c50, c95, _ = _percentiles([cpu for _, cpu in samples])
            label = kind if engine == "search uncached" else ""
            print(f"{label:<12} {engine:<17} {p50:8.2f} {p95:8.2f} {p99:8.2f}"
                  f" {c50:8.2f} {c95:8.2f}")
        ratio = _percentiles([w for w, _ in uncached])[1] / max(
            _percentiles([w for w, _ in lite])[1], 1e-6)
        cpu_ratio = _percentiles([c for _, c in uncached])[1] / max(
            _percentiles([c for _, c in lite])[1], 1e-3)
        print(f"{'':<12} {'ratio p95':<17} {ratio:8.1f}x wall, {cpu_ratio:.1f}x cpu "
              "(search uncached / FTS5)")
    fts.close()
    index.close()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.search", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default="10000,100000",
                        help="Synthetic corpus sizes, comma-separated (default 10000,100000).")
    parser.add_argument("--repeat", type=int, default=20,
                        help="Timed runs per query (default 20).")
    args = parser.parse_args(argv)
    folder = Path(tempfile.mkdtemp(prefix="orientation-bench-"))
    try:
        from orientation import seed

        (folder / "seed").mkdir()
        seed_db = store.connect(folder / "seed" / "seed.db")
        seed.load(seed_db)
        cases = yaml.safe_load(RELEVANCE_SET.read_text(encoding="utf-8"))
        index = SearchIndex.create(folder / "seed" / "index", seed_db)
        report = relevance(index, seed_db, cases)
        index.close()
        print(f"# Relevance on the seed: {len(cases)} queries, precision@3 "
              f"{report.precision_at_3:.3f}, MRR {report.mrr:.3f}")
        for miss in report.misses:
            print(f"  miss: {miss}")
        measure("seed", seed_db, folder / "seed", args.repeat)
        for size in [int(s) for s in args.sizes.split(",") if s.strip()]:
            corpus = folder / f"synthetic-{size}"
            corpus.mkdir()
            db = store.connect(corpus / "bench.db")
            start = time.perf_counter()
            synthetic(db, seed_db, size)
            print(f"\n(generated {size} synthetic services in "
                  f"{time.perf_counter() - start:.1f} s)")
            measure(f"synthetic {size}", db, corpus, args.repeat)
            db.close()
    finally:
        shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()

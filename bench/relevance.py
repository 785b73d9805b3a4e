"""Relevance on the seed, per query language: precision@3 and MRR of tests/relevance.yaml.

    python -m bench.relevance              # every language of the relevance set
    python -m bench.relevance --misses     # and the queries that missed

A case's language is its ``lang`` key (French when absent). Prints figures, asserts nothing
(tests/test_search.py holds the floor); ``python -m bench.search`` prints the overall figures
with the speed measurements.
"""

from __future__ import annotations

import argparse
import shutil
import tempfile
from pathlib import Path

import yaml

from orientation import seed, store
from orientation.search import SearchIndex

from .search import RELEVANCE_SET, relevance


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.relevance", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--file", type=Path, default=RELEVANCE_SET,
                        help="The relevance set (default tests/relevance.yaml).")
    parser.add_argument("--misses", action="store_true", help="Print the queries that missed.")
    args = parser.parse_args(argv)
    cases = yaml.safe_load(args.file.read_text(encoding="utf-8"))
    folder = Path(tempfile.mkdtemp(prefix="orientation-relevance-"))
    try:
        db = store.connect(folder / "seed.db")
        seed.load(db)
        index = SearchIndex.create(folder / "index", db)
        by_lang: dict[str, list[dict]] = {}
        for case in cases:
            by_lang.setdefault(case.get("lang", "fr"), []).append(case)
        print(f"{'lang':6} {'queries':>7} {'P@3':>6} {'MRR':>6}")
        for lang, group in [*sorted(by_lang.items()), ("all", cases)]:
            report = relevance(index, db, group)
            print(f"{lang:6} {len(group):7} {report.precision_at_3:6.3f} {report.mrr:6.3f}")
            if args.misses and lang != "all":
                for miss in report.misses:
                    print(f"  miss: {miss}")
        index.close()
        db.close()
    finally:
        shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()

"""The cost of the saved-search badge: prints figures, asserts nothing.

    .venv/bin/python -m bench.alerts [--searches 10] [--repeat 50]

Seeds a fresh database and index in a temporary folder, gives one worker ``--searches`` saved
searches (one per need), then times ``alerts.unseen_count`` (what the console's badge calls on
every page): while nothing is written (the kept counts are valid for the generation), right
after a write that is not a service (a login, a contact: no search runs), and right after a
service's hours change (the searches run again once); and, for comparison, running every saved
search again, which is what the badge would cost without the generation.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

import msgspec

from orientation import accounts, alerts, seed, store
from orientation.models import Schedule
from orientation.search import Filters, SearchIndex


def ms(call, repeat: int, before=lambda: None) -> tuple[float, float]:
    runs = []
    for _ in range(repeat):
        before()
        start = time.perf_counter()
        call()
        runs.append((time.perf_counter() - start) * 1000)
    runs.sort()
    return statistics.median(runs), runs[min(len(runs) - 1, round(0.95 * (len(runs) - 1)))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--searches", type=int, default=10)
    parser.add_argument("--repeat", type=int, default=50)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        db = store.connect(folder / "bench.db")
        seed.load(db)
        accounts.create_user(db, "bench", "benchmark password", role="staff", actor="bench")
        user = accounts.get_user(db, "bench")
        index = SearchIndex.create(folder / "index", db)
        needs = [t.code for t in store.list_terms(db) if t.parent_id is None]
        for n in range(args.searches):
            alerts.save(db, index, user.id, name=f"Recherche {n + 1}", query="",
                        filters=Filters(needs=[needs[n % len(needs)]]))
        service = store.list_services(db, status="active")[0]
        contact = store.list_contacts(db)[0]
        hours = iter(range(10_000))

        def badge() -> int:
            return alerts.unseen_count(db, index, user.id)

        def other_write() -> None:
            c = store.get_contact(db, contact.id)
            store.save(db, msgspec.structs.replace(c, role=f"Accueil {next(hours)}"),
                       actor="bench")

        def service_write() -> None:
            s = store.get_service(db, service.id)
            store.save(db, msgspec.structs.replace(s, schedules=[Schedule(
                byday="MO", opens_at="09:00", closes_at=f"{10 + next(hours) % 12}:00")]),
                actor="bench")
            index.sync(db)  # as the write pipeline does (writes.sync_index)

        def rerun_all() -> None:
            for search in alerts.saved_searches(db, user.id):
                alerts.matches(db, index, search.query, search.filters)

        badge()
        print(f"badge of {args.searches} saved searches, seed database, "
              f"{args.repeat} runs (ms, p50 / p95)")
        for label, call, before in (
            ("nothing written since", badge, lambda: None),
            ("after a non-service write", badge, other_write),
            ("after a service's hours change", badge, service_write),
            ("every search run again (no generation)", rerun_all, lambda: None),
        ):
            p50, p95 = ms(call, args.repeat, before)
            print(f"  {label:<40} {p50:7.2f} {p95:7.2f}")
        index.close()
        db.close()


if __name__ == "__main__":
    main()

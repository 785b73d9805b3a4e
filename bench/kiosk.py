"""Kiosk timings: screens, slip rendering and printing, speech. Prints figures, asserts nothing.

    .venv/bin/python -m bench.kiosk [--repeat 20]

Runs against a fresh copy of the seeded directory in a temporary folder (nothing is written
elsewhere), through the real app (Litestar test client: no network in the figures).
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from litestar.testing import TestClient

from api.app import create_app
from orientation import seed as seeding
from orientation import speech, store


def _timed(call: Callable[[], object], repeat: int) -> str:
    samples = []
    for _ in range(repeat):
        start = time.perf_counter()
        call()
        samples.append((time.perf_counter() - start) * 1000)
    samples.sort()
    p95 = samples[min(len(samples) - 1, round(0.95 * (len(samples) - 1)))]
    return f"median {statistics.median(samples):7.1f} ms   p95 {p95:7.1f} ms   (n={repeat})"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.kiosk", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeat", type=int, default=20, help="runs per measure")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        db = store.connect(tmp / "bench.db")
        seeding.load(db)
        pathway = next(p for p in store.list_pathways(db, status="active") if len(p.steps) > 1)
        service = next(s for s in store.iter_services(db, status="active") if s.contact_ids)
        db.close()
        settings = {"printer_target": str(tmp / "slips"), "speech_dir": str(tmp / "speech")}
        app = create_app(tmp / "bench.db", tmp / "index", settings=settings)
        with TestClient(app) as client:
            screens = {
                "home": "/", "need": "/need/argent", "search": "/search?q=dettes",
                "search, a typo": "/search?q=detes", "service": f"/service/{service.id}",
                "pathway": f"/pathway/{pathway.id}", "slip preview": f"/slip?pathway={pathway.id}",
                "help, nobody on duty": "/help",
            }
            print("screens (server time, warm):")
            for name, url in screens.items():
                client.get(url)
                print(f"  {name:<22} {_timed(lambda url=url: client.get(url), args.repeat)}")
            few = max(3, args.repeat // 5)
            print("slip, rendered by Chromium:")
            print(f"  {'80 mm PDF':<22} "
                  f"{_timed(lambda: client.get('/slip.pdf', params={'pathway': pathway.id}), few)}")
            print(f"  {'print (file backend)':<22} "
                  f"{_timed(lambda: client.post('/slip/print', data={'pathway': pathway.id}), few)}")
        text = [("fr", "Bonjour. De quoi avez-vous besoin ? Touchez une image.")]
        cache = tmp / "speech-bench"
        fresh = iter(range(10**6))
        print("speech (espeak-ng):")
        print(f"  {'one sentence, new':<22} "
              f"{_timed(lambda: speech.speak([('fr', f'{text[0][1]} {next(fresh)}')], cache), few)}")
        print(f"  {'one sentence, cached':<22} {_timed(lambda: speech.speak(text, cache), args.repeat)}")


if __name__ == "__main__":  # pragma: no cover
    main()

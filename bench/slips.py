"""Slip PDF renderers side by side, on the very HTML the kiosk prints. Prints, asserts nothing.

    python -m bench.slips [--repeat 10] [--concurrent 10] [--no-weasyprint]

The slip pages (80 mm, French and Arabic, of a two-step seed pathway) are taken from the real
app (``GET /slip.pdf`` through the Litestar test client, on a fresh seeded database in a
temporary folder). Then, in one run:

- **browser per slip**: a new Chromium for each slip (what ``printing.render`` did before);
- **page pool**: ``printing.render``, one kept-alive Chromium with a few open pages;
- **WeasyPrint** (when installed): the same HTML with a tall page cut to the content height; it
  runs no script, so the name is not fitted on one line.

Each is timed for the PDF alone and for PDF + the thermal printer's raster, then the pool with
``--concurrent`` prints at once. The Arabic slip's text is read back with ``pdftotext`` so
a reader can see the words come out in order.
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import subprocess
import tempfile
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from litestar.testing import TestClient

from api.app import create_app
from orientation import printing, store
from orientation import seed as seeding


def _figures(samples: list[float]) -> str:
    samples = sorted(samples)
    p95 = samples[min(len(samples) - 1, round(0.95 * (len(samples) - 1)))]
    return f"median {statistics.median(samples):7.1f} ms   p95 {p95:7.1f} ms   (n={len(samples)})"


def _time(call: Callable[[], object], repeat: int) -> list[float]:
    samples = []
    for _ in range(repeat):
        started = time.perf_counter()
        call()
        samples.append((time.perf_counter() - started) * 1000)
    return samples


def slip_pages(folder: Path) -> dict[str, str]:
    """The 80 mm pages the kiosk prints, French and Arabic, captured at ``printing.render``."""
    db = store.connect(folder / "bench.db")
    seeding.load(db)
    pathway = next(p for p in store.list_pathways(db, status="active") if len(p.steps) > 1)
    db.close()
    pages: dict[str, str] = {}
    real = printing.render

    def capture(html: str, **options):
        pages[current] = html
        return real(html, **options)

    printing.render = capture
    try:
        app = create_app(folder / "bench.db", folder / "index",
                         settings={"printer_target": str(folder / "slips"), "allowed_hosts": "*"})
        with TestClient(app) as client:
            for current in ("fr", "ar"):
                client.get("/slip.pdf", params={"pathway": pathway.id, "lang": current})
    finally:
        printing.render = real
    return pages


def browser_per_slip(html: str) -> bytes:
    """The former renderer: launch Chromium, render, close."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path="/usr/bin/chromium",
                                    args=printing.CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 302, "height": 600})
            page.set_content(html, wait_until="load")
            page.emulate_media(media="print")
            page.evaluate(printing.FIT_ONE_LINE)
            height = page.evaluate(
                "Math.ceil(document.documentElement.getBoundingClientRect().height)")
            return page.pdf(width="80mm", height=f"{height + 2}px", print_background=True,
                            margin={"top": "0", "bottom": "0", "left": "0", "right": "0"})
        finally:
            browser.close()


def weasyprint_renderer() -> Callable[[str], bytes] | None:
    try:
        from weasyprint import CSS, HTML
        from weasyprint.text.fonts import FontConfiguration
    except ImportError:
        return None
    fonts = FontConfiguration()
    tall = CSS(string="@page { size: 80mm 2000mm; margin: 0 }", font_config=fonts)

    def render(html: str) -> bytes:
        document = HTML(string=html).render(stylesheets=[tall], font_config=fonts)
        page = document.pages[0]
        page.height = page._page_box.children[0].margin_height() + 2  # cut to the content
        return document.write_pdf()

    return render


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.slips", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeat", type=int, default=10, help="slips per measure")
    parser.add_argument("--concurrent", type=int, default=10, help="prints at once")
    parser.add_argument("--no-weasyprint", action="store_true")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        pages = slip_pages(tmp)
        renderers: dict[str, Callable[[str], bytes]] = {
            "browser per slip": browser_per_slip,
            "page pool": lambda html: printing.render(html).pdf,
        }
        weasy = None if args.no_weasyprint else weasyprint_renderer()
        if weasy:
            renderers["WeasyPrint"] = weasy
        few = max(3, args.repeat // 3)
        print("80 mm slip, one at a time (warm: one slip rendered first):")
        for name, renderer in renderers.items():
            for lang, html in pages.items():
                renderer(html)
                repeat = few if name == "browser per slip" else args.repeat
                print(f"  {name:<17} {lang}  PDF           {_figures(_time(lambda: renderer(html), repeat))}")
                pdf = renderer(html)
                (tmp / f"{name}-{lang}.pdf").write_bytes(pdf)
                print(f"  {name:<17} {lang}  PDF + raster  "
                      f"{_figures(_time(lambda: printing._raster(renderer(html)), repeat))}")
        html = pages["fr"]
        print(f"page pool, {args.concurrent} prints at once (PDF + raster), 3 rounds:")
        for _ in range(3):
            latencies: list[float] = []

            def one(_: int) -> None:
                started = time.perf_counter()
                printing.render(html, raster=True)
                latencies.append((time.perf_counter() - started) * 1000)

            started = time.perf_counter()
            with ThreadPoolExecutor(args.concurrent) as pool:
                list(pool.map(one, range(args.concurrent)))
            wall = (time.perf_counter() - started) * 1000
            print(f"  all done in {wall:7.1f} ms; per print {_figures(latencies)}")
        if shutil.which("pdftotext"):
            print("Arabic slip read back (pdftotext, first lines):")
            for name in renderers:
                text = subprocess.run(["pdftotext", "-layout", str(tmp / f"{name}-ar.pdf"), "-"],
                                      capture_output=True, text=True).stdout
                lines = [line.strip() for line in text.splitlines() if line.strip()][:4]
                print(f"  {name}: " + " | ".join(lines))
        printing.close_browsers()


if __name__ == "__main__":  # pragma: no cover
    main()

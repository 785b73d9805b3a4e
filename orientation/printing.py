"""Turning a slip page into paper: render it once, send it to the configured printer.

Rendering uses Chromium (Debian's ``/usr/bin/chromium``, driven by Playwright) on the very HTML
the kiosk shows as the preview, so preview and print can never drift apart, Arabic is shaped and
laid out right to left correctly, and the 80 mm page gets exactly the height of its content
(``@page { size: 80mm auto }`` silently falls back to Letter, so the height is measured and
passed explicitly). One Chromium is kept alive per process with a few open pages (``_Chromium``),
so a slip costs a page render, not a browser start; the thermal printer's raster is drawn from
the PDF by pdfium. fpdf2 was tried first: its HTML subset cannot lay out a mixed Arabic and
Latin line (the Latin runs came out reversed). WeasyPrint was measured beside the page pool
(``python -m bench.slips``): no faster here, and it lays out the slip differently (no
``unicode-bidi: plaintext`` for Latin lines on an Arabic slip, no script to fit the name).

Backends, chosen by the ``printer`` setting:

- ``file`` (default): writes the PDF and the ESC/POS bytes a thermal printer would receive into
  a folder, kept one hour and 20 slips at most; used by tests and when no printer is attached;
- ``cups``: ``lp -d QUEUE``, with ``lpstat`` to catch a disabled queue or an empty paper tray;
- ``escpos``: a thermal printer over the network (``host[:port]``) or USB
  (``usb:VENDOR:PRODUCT`` in hex), fed a 576-dot raster of the slip (203 dpi × 72 mm).

Every failure raises ``PrinterError`` with a reason the kiosk turns into plain words.
"""

from __future__ import annotations

import asyncio
import atexit
import datetime as dt
import io
import re
import shutil
import subprocess
import tempfile
import threading
from pathlib import Path
from typing import Literal, NamedTuple

from . import retention
from .errors import OrientationError

Paper = Literal["80mm", "a4"]
Reason = Literal["offline", "paper", "error"]

#: Printable width of an 80 mm roll (72 mm) in dots at 203 dpi.
RASTER_DOTS = 576
_CSS_PX_PER_MM = 96 / 25.4
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                 "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run"]


#: Lines that must stay on one line (the person's name) shrink until they fit the paper.
FIT_ONE_LINE = """
for (const element of document.querySelectorAll(".person-name")) {
  let size = parseFloat(getComputedStyle(element).fontSize);
  while (element.scrollWidth > element.clientWidth && size > 11) {
    size -= 0.5;
    element.style.fontSize = size + "px";
  }
}
"""


class PrinterError(OrientationError):
    def __init__(self, reason: Reason, message: str):
        self.reason = reason
        super().__init__(message)


class Rendered(NamedTuple):
    pdf: bytes
    png: bytes | None  # the raster for thermal printers, when asked for


#: Pages kept open in the one Chromium of a process: slips render side by side on this many;
#: more would only queue for the same cores.
POOL_PAGES = 3
#: Seconds one slip may take before the kiosk says the printer is in error.
RENDER_TIMEOUT = 30
_MM_PER_PT = 25.4 / 72


class _Chromium:
    """One headless Chromium kept alive per process (and executable), with a few open pages.

    Starting Chromium for every slip cost 1.7–2.8 s; a kept page renders an 80 mm slip in
    well under 150 ms (docs/performance.md). Playwright's objects belong to the event loop that
    made them, so the browser lives on its own loop in a daemon thread, and request threads
    hand it work with ``run_coroutine_threadsafe``. A browser that crashed or was closed is
    started again on the next slip.
    """

    def __init__(self, executable: str):
        self.executable = executable
        self.loop = asyncio.new_event_loop()
        threading.Thread(target=self.loop.run_forever, name="slip-chromium", daemon=True).start()
        self.playwright = None
        self.browser = None
        self.pages: asyncio.Queue | None = None
        self.starting = asyncio.Lock()

    def render(self, html: str, paper: Paper) -> bytes:
        future = asyncio.run_coroutine_threadsafe(self._render(html, paper), self.loop)
        try:
            return future.result(timeout=RENDER_TIMEOUT)
        except TimeoutError:
            future.cancel()
            raise

    async def _start(self) -> asyncio.Queue:
        async with self.starting:
            if self.browser is not None and self.browser.is_connected():
                return self.pages
            from playwright.async_api import async_playwright

            if self.playwright is None:
                self.playwright = await async_playwright().start()
            self.browser = await self.playwright.chromium.launch(
                executable_path=self.executable, args=CHROMIUM_ARGS)
            self.pages = asyncio.Queue()
            for _ in range(POOL_PAGES):
                await self.pages.put(await self._new_page())
            return self.pages

    async def _new_page(self):
        page = await self.browser.new_page(viewport={"width": _width_px("80mm"), "height": 600})
        await page.emulate_media(media="print")
        return page

    async def _render(self, html: str, paper: Paper) -> bytes:
        pages = self.pages
        if pages is None or self.browser is None or not self.browser.is_connected():
            pages = await self._start()
        page = await pages.get()
        try:
            await page.set_viewport_size({"width": _width_px(paper), "height": 600})
            await page.set_content(html, wait_until="load")
            await page.evaluate(FIT_ONE_LINE)
            if paper == "80mm":
                height = await page.evaluate(
                    "Math.ceil(document.documentElement.getBoundingClientRect().height)")
                return await page.pdf(width="80mm", height=f"{height + 2}px",
                                      print_background=True,
                                      margin={"top": "0", "bottom": "0", "left": "0",
                                              "right": "0"})
            return await page.pdf(format="A4", print_background=True,
                                  margin={"top": "10mm", "bottom": "10mm", "left": "15mm",
                                          "right": "15mm"})
        except BaseException:
            # A page in an unknown state is not reused: close it and open a fresh one.
            try:
                await page.close()
            except Exception:
                pass
            page = None
            raise
        finally:
            if page is not None:
                # The slip (maybe a staff note about a person) does not stay in the page.
                try:
                    await page.set_content("")
                except Exception:
                    page = None
            if page is None and self.browser is not None and self.browser.is_connected():
                try:
                    page = await self._new_page()
                except Exception:
                    page = None
            if page is not None:
                pages.put_nowait(page)
            elif self.pages is pages:
                self.browser = None  # start again on the next slip

    async def _close(self) -> None:
        if self.browser is not None:
            await self.browser.close()
        if self.playwright is not None:
            await self.playwright.stop()

    def close(self) -> None:
        try:
            asyncio.run_coroutine_threadsafe(self._close(), self.loop).result(timeout=10)
        except Exception:
            pass  # exiting anyway: the driver takes its browser down with it
        self.loop.call_soon_threadsafe(self.loop.stop)


_browsers: dict[str, _Chromium] = {}
_browsers_lock = threading.Lock()


def _chromium(executable: str) -> _Chromium:
    with _browsers_lock:
        browser = _browsers.get(executable)
        if browser is None:
            browser = _browsers[executable] = _Chromium(executable)
            if len(_browsers) == 1:
                atexit.register(close_browsers)
        return browser


def close_browsers() -> None:
    """Stop the kept-alive Chromium(s) of this process (at exit; the next slip starts one)."""
    with _browsers_lock:
        browsers = list(_browsers.values())
        _browsers.clear()
    for browser in browsers:
        browser.close()


def _width_px(paper: Paper) -> int:
    return round((80 if paper == "80mm" else 210) * _CSS_PX_PER_MM)


#: pdfium is not thread-safe: one raster at a time per process (a few milliseconds each).
_pdfium_lock = threading.Lock()


def _raster(pdf: bytes) -> bytes:
    """The 576-dot-wide PNG a thermal printer gets, drawn from the 80 mm PDF itself (the roll's
    printable 72 mm, without the page's 4 mm side margins), so paper and PDF are one picture."""
    import pypdfium2 as pdfium

    scale = RASTER_DOTS / (72 / _MM_PER_PT)  # pixels per PDF point
    side = 4 / _MM_PER_PT
    with _pdfium_lock:
        document = pdfium.PdfDocument(pdf)
        try:
            image = document[0].render(scale=scale, crop=(side, 0, side, 0)).to_pil()
        finally:
            document.close()
    out = io.BytesIO()
    image.convert("L").save(out, format="PNG", compress_level=1)
    return out.getvalue()


def render(html: str, *, paper: Paper = "80mm", chromium: str = "/usr/bin/chromium",
           raster: bool = False) -> Rendered:
    """Render a standalone HTML page to PDF (and optionally to a 576-dot-wide PNG).

    For ``80mm`` the page is exactly as tall as its content: always one page.
    """
    from playwright.async_api import Error as PlaywrightError

    try:
        pdf = _chromium(chromium).render(html, paper)
    except (PlaywrightError, TimeoutError) as exc:
        raise PrinterError("error", f"cannot render the slip with {chromium}: {exc}") from None
    return Rendered(pdf=pdf, png=_raster(pdf) if raster else None)


def escpos_bytes(png: bytes) -> bytes:
    """The ESC/POS byte stream (raster image, feed, cut) a thermal printer would receive."""
    from escpos.printer import Dummy

    printer = Dummy()
    _feed(printer, png)
    return printer.output


def _feed(printer, png: bytes) -> None:
    from PIL import Image

    # An 80 mm roll at 203 dpi: tell python-escpos, so it neither guesses nor complains.
    data = printer.profile.profile_data
    printer.profile.profile_data = {**data, "media": {**data["media"], "width": {
        **data["media"]["width"], "pixels": RASTER_DOTS}}}
    image = Image.open(io.BytesIO(png)).convert("L")
    if image.width > RASTER_DOTS:
        image = image.resize((RASTER_DOTS, round(image.height * RASTER_DOTS / image.width)))
    printer.image(image.point(lambda v: 255 if v > 160 else 0).convert("1"))
    printer.ln(3)
    printer.cut()


class Printed(NamedTuple):
    backend: str
    where: str  # the file written, the CUPS job or the printer address


def _slug(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9-]+", "-", name).strip("-") or "slip"


#: The ``file`` printer keeps a slip this long, and this many at most: long enough to read the
#: one just printed (tests, a demonstration), never a lasting archive of slips, which may carry
#: a staff note about a person (docs/deploy.md: use cups or escpos in production).
FILE_KEEP_SECONDS = 3600
FILE_KEEP_COUNT = 20


def print_file(rendered: Rendered, folder: Path, name: str) -> Printed:
    folder = Path(folder)
    try:
        folder.mkdir(parents=True, exist_ok=True)
        stamp = dt.datetime.now().strftime("%Y%m%d-%H%M%S-%f")
        path = folder / f"{stamp}-{_slug(name)}.pdf"
        path.write_bytes(rendered.pdf)
        if rendered.png is not None:
            path.with_suffix(".escpos").write_bytes(escpos_bytes(rendered.png))
        for pattern in ("*.pdf", "*.escpos"):
            retention.prune(folder, pattern=pattern, max_age=FILE_KEEP_SECONDS,
                            max_files=FILE_KEEP_COUNT)
    except OSError as exc:
        raise PrinterError("error", f"cannot write the slip to {folder}: {exc}") from None
    return Printed("file", str(path))


def _run(args: list[str]) -> subprocess.CompletedProcess:
    try:
        return subprocess.run(args, capture_output=True, text=True, timeout=20)
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise PrinterError("offline", f"{args[0]} failed: {exc}") from None


def cups_status(queue: str) -> Reason | None:
    """None when the queue can print now, else why not (from ``lpstat``)."""
    if shutil.which("lpstat") is None:
        return "offline"
    result = _run(["lpstat", "-l", "-p", queue])
    text = result.stdout.lower()
    if result.returncode != 0 or "disabled" in text:
        return "offline"
    if "media-empty" in text or "media-needed" in text or "out of paper" in text:
        return "paper"
    return None


def check_cups(queue: str) -> None:
    problem = cups_status(queue)
    if problem:
        raise PrinterError(problem, f"CUPS queue {queue!r} cannot print ({problem})")


def print_cups(rendered: Rendered, queue: str, name: str) -> Printed:
    check_cups(queue)
    with tempfile.NamedTemporaryFile(suffix=".pdf") as handle:
        handle.write(rendered.pdf)
        handle.flush()
        result = _run(["lp", "-d", queue, "-t", _slug(name), handle.name])
    if result.returncode != 0:
        raise PrinterError("error", f"lp failed: {result.stderr.strip()}")
    return Printed("cups", result.stdout.strip())


def _escpos_printer(target: str):
    from escpos.printer import Network, Usb

    if target.startswith("usb:"):
        _, vendor, product = target.split(":")
        return Usb(int(vendor, 16), int(product, 16))
    host, _, port = target.partition(":")
    return Network(host, port=int(port or 9100), timeout=5)


def _open_escpos(target: str):
    """A connected ESC/POS printer with paper, or PrinterError."""
    try:
        printer = _escpos_printer(target)
        printer.open()
    except Exception as exc:  # escpos raises its own, socket and USB errors
        raise PrinterError("offline", f"cannot reach the printer at {target}: {exc}") from None
    try:
        paper = printer.paper_status()
    except Exception:  # many printers cannot report it: try anyway
        paper = 2
    if paper == 0:
        printer.close()
        raise PrinterError("paper", f"the printer at {target} has no paper")
    return printer


def print_escpos(rendered: Rendered, target: str, printer=None) -> Printed:
    """Print the slip's raster; ``printer`` is an already opened one (see print_page)."""
    if rendered.png is None:
        raise PrinterError("error", "the ESC/POS printer needs a raster image of the slip")
    printer = printer or _open_escpos(target)
    try:
        _feed(printer, rendered.png)
    except Exception as exc:
        raise PrinterError("error", f"printing failed at {target}: {exc}") from None
    finally:
        printer.close()
    return Printed("escpos", target)


BACKENDS = ("file", "cups", "escpos")


def print_page(html: str, *, backend: str, target: str, name: str, paper: Paper = "80mm",
               chromium: str = "/usr/bin/chromium") -> Printed:
    """Render a slip page and send it to the configured printer backend."""
    if backend not in BACKENDS:
        raise PrinterError("error", f"unknown printer backend {backend!r}: use "
                                    + ", ".join(BACKENDS))
    # Fail before rendering when the printer is down: the person waits less.
    if backend == "cups":
        check_cups(target)
    printer = _open_escpos(target) if backend == "escpos" else None
    try:
        rendered = render(html, paper=paper, chromium=chromium,
                          raster=backend in ("file", "escpos") and paper == "80mm")
    except PrinterError:
        if printer is not None:
            printer.close()
        raise
    if backend == "file":
        return print_file(rendered, Path(target), name)
    if backend == "cups":
        return print_cups(rendered, target, name)
    return print_escpos(rendered, target, printer)

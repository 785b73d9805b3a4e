"""The slip as HTML, shared by the public kiosk and the staff composer: the same ``_slip.html``
for the on-screen preview and the printed page, with the QR code back to it."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from litestar import Request

from orientation import slip as slips

from . import i18n

SLIP_CSS = Path(__file__).parent / "static" / "slip.css"


def qr_url(request: Request, slip: slips.Slip) -> str:
    """Where the QR code leads: the slip's page on the public address (or the kiosk's)."""
    base = request.app.state.settings.public_url.rstrip("/") or \
        str(request.base_url).rstrip("/")
    return f"{base}/slip?{slip.query}&lang={slip.lang}"


def slip_context(request: Request, slip: slips.Slip) -> dict[str, Any]:
    """Template variables of ``_slip.html``: the slip and its QR code."""
    return {"slip": slip, "qr": slips.qr_svg(qr_url(request, slip))}


def slip_document(request: Request, slip: slips.Slip, paper: str) -> str:
    """The standalone page that is printed: the same ``_slip.html`` as the preview."""
    engine = request.app.template_engine
    lang = slip.lang
    css = SLIP_CSS.read_text(encoding="utf-8")
    return engine.get_template("slip_print.html").render(
        lang=lang, dir=i18n.direction(lang), paper=paper, css=css,
        **slip_context(request, slip))

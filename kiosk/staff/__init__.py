"""The staff console under /staff, for social workers and editors: one Router assembled from
its pages (``pages.py``: search, calls, follow-up, queues, reports), the editor (``edit.py``)
and the slip composer (``slip.py``), behind the role and CSRF guard of ``console.py``."""

from __future__ import annotations

from litestar import Router
from litestar.plugins.htmx import HTMXRequest

from . import alerts, capacity, edit, imports, pages, queue, slip
from .console import staff_error, staff_guard

staff_router = Router(
    path="/staff",
    route_handlers=[*pages.route_handlers, *slip.route_handlers, *edit.route_handlers,
                    *queue.route_handlers, *capacity.route_handlers, *imports.route_handlers,
                    *alerts.route_handlers],
    guards=[staff_guard],
    request_class=HTMXRequest,
    include_in_schema=False,
    response_headers={"Vary": "HX-Request, Cookie", "Cache-Control": "no-store"},
    exception_handlers={Exception: staff_error},
)

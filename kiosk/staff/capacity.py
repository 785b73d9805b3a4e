"""Places left tonight in the staff console: every staff member sees the current count on a
service's page; an editor of its organisation (or an admin) gives a new count, withdraws it,
or makes the organisation's lasting link for giving counts from a phone (shown once)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from litestar import post
from litestar.di import NamedDependency
from litestar.params import FromPath
from litestar.plugins.htmx import HTMXRequest
from litestar.response import Redirect, Template
from sqlite_utils import Database

from orientation import capacity, store
from orientation.hours import TZ

from .console import FormBody, caller, lists, page, settings

EDITOR = {"role": "editor"}
DB = NamedDependency[Database]


def service_context(request: HTMXRequest, db: Database, service) -> dict[str, Any]:
    """What the service page shows of its counts: each kept one, and whether it is current."""
    hours = settings(request).capacity_fresh_hours
    now = dt.datetime.now(dt.UTC)
    kept = capacity.of_services(db, [service.id]).get(service.id, [])
    counted = service.id in {s.id for s in capacity.counted_services(db, service.organization_id)}
    return {"capacities": [(c, c.fresh(now, hours), c.updated.astimezone(TZ).date())
                           for c in kept],
            "counts_places": counted or bool(kept), "capacity_hours": hours,
            "capacity_units": capacity.UNITS}


def _last(form: dict[str, list[str]], name: str) -> str:
    return (form.get(name) or [""])[-1]


@post("/service/{service_id:str}/capacity", sync_to_thread=True, name="staff_capacity",
      opt=EDITOR)
def give_count(request: HTMXRequest, db: DB, service_id: FromPath[str],
               data: FormBody) -> Redirect:
    form = lists(data)
    if _last(form, "action") == "withdraw":
        capacity.withdraw(db, caller(request), service_id, _last(form, "unit") or "places")
    else:
        capacity.publish(db, caller(request), service_id, available=_last(form, "available"),
                         maximum=_last(form, "maximum") or None,
                         unit=_last(form, "unit") or "places")
    return Redirect(f"/staff/service/{service_id}#capacity", status_code=303)


@post("/organization/{organization_id:str}/capacity-link", sync_to_thread=True,
      name="staff_capacity_link", opt=EDITOR)
def make_link(request: HTMXRequest, db: DB, organization_id: FromPath[str],
              data: FormBody) -> Template:
    org = store.get_organization(db, organization_id)
    if _last(lists(data), "action") == "revoke":
        capacity.revoke(db, caller(request), org.id)
        token = None
    else:
        token = capacity.new_link(db, caller(request), org.id)
    base = (settings(request).public_url or str(request.base_url)).rstrip("/")
    return page(request, "staff/capacity_link.html", org=org,
                url=f"{base}/places/{token}" if token else None,
                services=capacity.counted_services(db, org.id), days=capacity.LINK_DAYS)


route_handlers = [give_count, make_link]

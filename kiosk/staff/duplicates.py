"""Likely duplicates (/staff/duplicates): two records side by side with what they share, and
the two answers an editor gives — merge (keep one) or "not a duplicate" (never proposed again).
Editors see and decide the pairs of their organisation (both records must be theirs to merge);
admins every pair."""

from __future__ import annotations

from litestar import get, post
from litestar.di import NamedDependency
from litestar.params import FromPath
from litestar.plugins.htmx import HTMXRequest
from litestar.response import Redirect, Template
from sqlite_utils import Database

from orientation import duplicates, store
from orientation.errors import InvalidData

from .console import FormBody, caller, lists, org_names, own_org, page, require_org, sync

EDITOR = {"role": "editor"}
DB = NamedDependency[Database]


def _side(db: Database, entity: str, record_id: str) -> dict:
    record = store.get(db, entity, record_id)
    org_id = record.organization_id if entity == "service" else record.id
    locations = [store.get_location(db, i) for i in getattr(record, "location_ids", [])] \
        if entity == "service" else store.list_locations(db, organization_id=record.id)
    return {"id": record.id, "name": record.name, "organization_id": org_id,
            "description": record.description, "source_id": record.source_id,
            "phones": [p.number for p in record.phones],
            "addresses": [f"{loc.address.street}, {loc.address.postal_code} {loc.address.city}"
                          for loc in locations if loc.address and not loc.confidential],
            "history": len(store.history(db, entity, record.id))}


@get("/duplicates", sync_to_thread=True, name="staff_duplicates", opt=EDITOR)
def duplicates_page(request: HTMXRequest, db: DB) -> Template:
    pairs = duplicates.open_pairs(db, organization_id=own_org(request))
    return page(request, "staff/duplicates.html", orgs=org_names(db),
                pairs=[(p, _side(db, p.entity, p.a_id), _side(db, p.entity, p.b_id))
                       for p in pairs])


@post("/duplicates/{entity:str}/{a_id:str}/{b_id:str}", sync_to_thread=True,
      name="staff_duplicates_decide", opt=EDITOR)
def decide(request: HTMXRequest, db: DB, entity: FromPath[str], a_id: FromPath[str],
           b_id: FromPath[str], data: FormBody) -> Redirect:
    form = lists(data)
    action = (form.get("action") or [""])[-1]
    if action not in ("keep-a", "keep-b", "dismiss"):
        raise InvalidData("action must be keep-a, keep-b or dismiss", field="action")
    for side in (a_id, b_id):  # both records must be the editor's
        record = store.get(db, entity, side) if entity in ("service", "organization") else None
        if record is None:
            raise InvalidData("entity must be service or organization", field="entity")
        require_org(request, record.organization_id if entity == "service" else record.id)
    actor = caller(request).actor
    if action == "dismiss":
        duplicates.dismiss(db, entity, a_id, b_id, actor=actor)
    else:
        keep, other = (a_id, b_id) if action == "keep-a" else (b_id, a_id)
        duplicates.merge(db, entity, keep, other, actor=actor)
        sync(request, db)
    return Redirect("/staff/duplicates", status_code=303)


route_handlers = [duplicates_page, decide]

"""``/api/v1/services/{id}/capacity``: places left tonight, read by anyone, written by the
service's organisation (an editor key) or an admin. See ``orientation.capacity``."""

import datetime as dt
from typing import Annotated, Literal
from uuid import UUID

import msgspec
from litestar import Request, delete, get, put
from litestar.di import NamedDependency
from litestar.openapi.spec import Example
from litestar.params import Body, FromPath
from sqlite_utils import Database

from orientation import capacity, store
from orientation.access import Caller

DB = NamedDependency[Database]
Who = NamedDependency[Caller]
Unit = Literal["places", "repas", "colis"]


class CapacityIn(msgspec.Struct, kw_only=True):
    available: Annotated[int, msgspec.Meta(ge=0, le=capacity.MAX_AVAILABLE)]
    maximum: Annotated[int, msgspec.Meta(ge=0, le=capacity.MAX_AVAILABLE)] | None = None
    unit: Unit = "places"


class CapacityOut(msgspec.Struct, kw_only=True):
    unit: str
    available: int
    maximum: int | None
    updated: dt.datetime
    #: False once older than the server's ``capacity_fresh_hours``: kept, but not tonight's.
    current: bool


def _out(c: capacity.Capacity, hours: float, now: dt.datetime) -> CapacityOut:
    return CapacityOut(unit=c.unit, available=c.available, maximum=c.maximum,
                       updated=c.updated, current=c.fresh(now, hours))


@get("/services/{service_id:uuid}/capacity", operation_id="get_capacity", tags=["services"],
     sync_to_thread=True, summary="Places left at a service, with when they were counted")
def get_capacity(request: Request, db: DB, service_id: FromPath[UUID]) -> list[CapacityOut]:
    service = store.get_service(db, str(service_id))
    hours = request.app.state.settings.capacity_fresh_hours
    now = dt.datetime.now(dt.UTC)
    return [_out(c, hours, now) for c in capacity.of_services(db, [service.id]).get(service.id, [])]


@put("/services/{service_id:uuid}/capacity", operation_id="put_capacity", tags=["services"],
     sync_to_thread=True, summary="Publish the places left now (editor of the service, admin)")
def put_capacity(request: Request, db: DB, caller: Who, service_id: FromPath[UUID],
                 data: Annotated[CapacityIn, Body(examples=[Example(
                     summary="Three beds left out of twenty",
                     value={"available": 3, "maximum": 20, "unit": "places"})])]
                 ) -> CapacityOut:
    saved = capacity.publish(db, caller, str(service_id), available=data.available,
                             maximum=data.maximum, unit=data.unit)
    return _out(saved, request.app.state.settings.capacity_fresh_hours, saved.updated)


@delete("/services/{service_id:uuid}/capacity/{unit:str}", operation_id="delete_capacity",
        tags=["services"], sync_to_thread=True,
        summary="Stop publishing a count (editor of the service, admin)")
def delete_capacity(db: DB, caller: Who, service_id: FromPath[UUID], unit: FromPath[Unit]) -> None:
    capacity.withdraw(db, caller, str(service_id), unit)


HANDLERS = [get_capacity, put_capacity, delete_capacity]

"""Routes for Intelligence dashboards and their charts."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Response

from workbench.dashboards import operations as ops
from workbench.governance import Actor
from workbench.service.deps import current_actor, get_store
from workbench.store import Store
from workbench.wire import dashboards as w

router = APIRouter(tags=["dashboards"])
Who = Depends(current_actor)
Db = Depends(get_store)
D = "/rooms/{room_id}/dashboards"


@router.get(D, response_model=list[w.Dashboard])
def list_dashboards(room_id: str, actor: Actor = Who, store: Store = Db) -> list[w.Dashboard]:
    return ops.list_dashboards(store, actor, room_id)


@router.post(D, response_model=w.Dashboard, status_code=201)
def create_dashboard(room_id: str, body: w.DashboardCreate, actor: Actor = Who, store: Store = Db) -> w.Dashboard:
    return ops.create_dashboard(store, actor, room_id, body)


@router.get(D + "/{dashboard_id}", response_model=w.Dashboard)
def get_dashboard(room_id: str, dashboard_id: str, actor: Actor = Who, store: Store = Db) -> w.Dashboard:
    return ops.get_dashboard(store, actor, room_id, dashboard_id)


@router.delete(D + "/{dashboard_id}", status_code=204)
def delete_dashboard(room_id: str, dashboard_id: str, actor: Actor = Who, store: Store = Db) -> Response:
    ops.delete_dashboard(store, actor, room_id, dashboard_id)
    return Response(status_code=204)


@router.post(D + "/{dashboard_id}/charts", response_model=w.Dashboard, status_code=201)
def add_chart(room_id: str, dashboard_id: str, body: w.ChartCreate, actor: Actor = Who,
              store: Store = Db) -> w.Dashboard:
    return ops.add_chart(store, actor, room_id, dashboard_id, body)


@router.delete(D + "/{dashboard_id}/charts/{chart_id}", response_model=w.Dashboard)
def remove_chart(room_id: str, dashboard_id: str, chart_id: str, actor: Actor = Who,
                 store: Store = Db) -> w.Dashboard:
    return ops.remove_chart(store, actor, room_id, dashboard_id, chart_id)

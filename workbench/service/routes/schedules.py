"""Routes for schedules, flows, flow runs and the budget calendar."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Response

from workbench.engine import Engine
from workbench.governance import Actor
from workbench.schedules import flows
from workbench.schedules import operations as ops
from workbench.schedules.clock import Clock, from_environment
from workbench.service.deps import current_actor, get_engine, get_store
from workbench.store import Store
from workbench.wire import schedules as w

router = APIRouter(tags=["schedules and flows"])
Who = Depends(current_actor)
Db = Depends(get_store)
Now = Depends(from_environment)
R = "/rooms/{room_id}"


@router.get(R + "/schedules", response_model=list[w.Schedule])
def list_schedules(room_id: str, actor: Actor = Who, store: Store = Db) -> list[w.Schedule]:
    """Every schedule of the room (each party sees what will spend its budget)."""
    return ops.list_schedules(store, actor, room_id)


@router.post(R + "/schedules", response_model=w.Schedule, status_code=201)
def create_schedule(room_id: str, body: w.ScheduleCreate, actor: Actor = Who,
                    store: Store = Db, clock: Clock = Now) -> w.Schedule:
    """Schedule a question or a flow; refused (409, with the date) when the budget calendar shows
    it would exhaust a party's budget before it ends, unless until_budget_lasts is set."""
    return ops.create_schedule(store, actor, room_id, body, clock)


@router.get(R + "/schedules/{schedule_id}", response_model=w.Schedule)
def get_schedule(room_id: str, schedule_id: str, actor: Actor = Who,
                 store: Store = Db) -> w.Schedule:
    return ops.get_schedule(store, actor, room_id, schedule_id)


@router.patch(R + "/schedules/{schedule_id}", response_model=w.Schedule)
def update_schedule(room_id: str, schedule_id: str, body: w.ScheduleUpdate, actor: Actor = Who,
                    store: Store = Db, clock: Clock = Now) -> w.Schedule:
    return ops.update_schedule(store, actor, room_id, schedule_id, body, clock)


@router.post(R + "/schedules/{schedule_id}/pause", response_model=w.Schedule)
def pause_schedule(room_id: str, schedule_id: str, actor: Actor = Who,
                   store: Store = Db) -> w.Schedule:
    return ops.pause_schedule(store, actor, room_id, schedule_id)


@router.post(R + "/schedules/{schedule_id}/resume", response_model=w.Schedule)
def resume_schedule(room_id: str, schedule_id: str, actor: Actor = Who, store: Store = Db,
                    clock: Clock = Now) -> w.Schedule:
    return ops.resume_schedule(store, actor, room_id, schedule_id, clock)


@router.delete(R + "/schedules/{schedule_id}", status_code=204)
def delete_schedule(room_id: str, schedule_id: str, actor: Actor = Who,
                    store: Store = Db) -> Response:
    ops.delete_schedule(store, actor, room_id, schedule_id)
    return Response(status_code=204)


@router.get(R + "/schedules/{schedule_id}/fires", response_model=list[w.ScheduleFire])
def list_fires(room_id: str, schedule_id: str, actor: Actor = Who,
               store: Store = Db) -> list[w.ScheduleFire]:
    """The schedule's history, newest first, with the reason of every refusal."""
    return ops.list_fires(store, actor, room_id, schedule_id)


@router.get(R + "/calendar", response_model=w.Calendar)
def budget_calendar(room_id: str, actor: Actor = Who, store: Store = Db,
                    clock: Clock = Now) -> w.Calendar:
    """Projected spend of each protected party to the room's end, from the active schedules."""
    return ops.budget_calendar(store, actor, room_id, clock)


@router.get(R + "/flows", response_model=list[w.Flow])
def list_flows(room_id: str, actor: Actor = Who, store: Store = Db) -> list[w.Flow]:
    return flows.list_flows(store, actor, room_id)


@router.post(R + "/flows", response_model=w.Flow, status_code=201)
def create_flow(room_id: str, body: w.FlowCreate, actor: Actor = Who,
                store: Store = Db) -> w.Flow:
    return flows.create_flow(store, actor, room_id, body)


@router.get(R + "/flows/{flow_id}", response_model=w.Flow)
def get_flow(room_id: str, flow_id: str, actor: Actor = Who, store: Store = Db) -> w.Flow:
    return flows.get_flow(store, actor, room_id, flow_id)


@router.patch(R + "/flows/{flow_id}", response_model=w.Flow)
def update_flow(room_id: str, flow_id: str, body: w.FlowUpdate, actor: Actor = Who,
                store: Store = Db) -> w.Flow:
    return flows.update_flow(store, actor, room_id, flow_id, body)


@router.delete(R + "/flows/{flow_id}", status_code=204)
def delete_flow(room_id: str, flow_id: str, actor: Actor = Who, store: Store = Db) -> Response:
    flows.delete_flow(store, actor, room_id, flow_id)
    return Response(status_code=204)


@router.post(R + "/flows/{flow_id}/runs", response_model=w.FlowRun, status_code=201)
def start_flow_run(room_id: str, flow_id: str, actor: Actor = Who, store: Store = Db,
                   clock: Clock = Now, engine: Engine = Depends(get_engine)) -> w.FlowRun:
    """Run the flow now; answers when every step has finished (see each step's status)."""
    return flows.start_flow_run(store, actor, room_id, flow_id, clock, engine)


@router.get(R + "/flows/{flow_id}/runs", response_model=list[w.FlowRun])
def list_flow_runs(room_id: str, flow_id: str, actor: Actor = Who,
                   store: Store = Db) -> list[w.FlowRun]:
    return flows.list_flow_runs(store, actor, room_id, flow_id)


@router.get(R + "/flow-runs/{flow_run_id}", response_model=w.FlowRun)
def get_flow_run(room_id: str, flow_run_id: str, actor: Actor = Who,
                 store: Store = Db) -> w.FlowRun:
    return flows.get_flow_run(store, actor, room_id, flow_run_id)

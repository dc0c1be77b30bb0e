"""Routes for plans, runs, results, manifests, party budgets, epsilon bounds and connection caps."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Response

from workbench.engine import Engine
from workbench.governance import Actor
from workbench.runs import budget_operations as budget_ops
from workbench.runs import operations as ops
from workbench.service.deps import current_actor, get_engine, get_store
from workbench.store import Store
from workbench.wire import questions as w
from workbench.wire import runs as wr

router = APIRouter(tags=["runs"])
Who = Depends(current_actor)
Db = Depends(get_store)
R = "/rooms/{room_id}"


@router.post(R + "/questions/{question_id}/plan", response_model=w.Plan)
def plan(room_id: str, question_id: str, body: w.PlanRequest, actor: Actor = Who,
         store: Store = Db) -> w.Plan:
    return ops.plan_run(store, actor, room_id, question_id, body)


@router.post(R + "/questions/{question_id}/runs", response_model=w.Run, status_code=201)
def run(room_id: str, question_id: str, body: w.RunRequest, actor: Actor = Who,
        store: Store = Db, engine: Engine = Depends(get_engine)) -> w.Run:
    return ops.run_question(store, actor, room_id, question_id, body, engine=engine)


@router.get(R + "/runs", response_model=list[w.Run])
def list_runs(room_id: str, question_id: str | None = None, actor: Actor = Who,
              store: Store = Db) -> list[w.Run]:
    return ops.list_runs(store, actor, room_id, question_id)


@router.get(R + "/runs/{run_id}", response_model=w.Run)
def get_run(room_id: str, run_id: str, actor: Actor = Who, store: Store = Db) -> w.Run:
    return ops.get_run(store, actor, room_id, run_id)


@router.get(R + "/runs/{run_id}/result", response_model=w.RunResult)
def get_result(room_id: str, run_id: str, actor: Actor = Who, store: Store = Db) -> w.RunResult:
    return ops.get_result(store, actor, room_id, run_id)


@router.get(R + "/runs/{run_id}/manifest", response_model=wr.Manifest)
def get_manifest(room_id: str, run_id: str, actor: Actor = Who, store: Store = Db) -> wr.Manifest:
    return ops.get_manifest(store, actor, room_id, run_id)


@router.delete(R + "/runs/{run_id}", status_code=204)
def delete_run(room_id: str, run_id: str, actor: Actor = Who, store: Store = Db) -> Response:
    ops.delete_run(store, actor, room_id, run_id)
    return Response(status_code=204)


@router.get(R + "/budget", response_model=w.Budget)
def get_budget(room_id: str, org_id: str | None = None, actor: Actor = Who, store: Store = Db
               ) -> w.Budget:
    return budget_ops.get_budget(store, actor, room_id, org_id)


@router.put(R + "/budget", response_model=w.Budget)
def set_budget(room_id: str, body: wr.BudgetSet, actor: Actor = Who, store: Store = Db
               ) -> w.Budget:
    return budget_ops.set_budget(store, actor, room_id, body)


@router.post(R + "/budget/raise", response_model=w.Budget)
def raise_budget(room_id: str, body: w.BudgetRaise, actor: Actor = Who, store: Store = Db
                 ) -> w.Budget:
    return budget_ops.raise_budget(store, actor, room_id, body)


@router.get(R + "/epsilon-bounds", response_model=wr.EpsilonBoundsOut)
def get_epsilon_bounds(room_id: str, actor: Actor = Who, store: Store = Db) -> wr.EpsilonBoundsOut:
    return budget_ops.get_epsilon_bounds(store, actor, room_id)


@router.put(R + "/epsilon-bounds", response_model=wr.EpsilonBoundsOut)
def set_epsilon_bounds(room_id: str, body: wr.EpsilonBounds, actor: Actor = Who,
                       store: Store = Db) -> wr.EpsilonBoundsOut:
    return budget_ops.set_epsilon_bounds(store, actor, room_id, body)


@router.get("/connections/{connection_id}/cap", response_model=wr.ConnectionBudget)
def get_connection_cap(connection_id: str, actor: Actor = Who, store: Store = Db
                       ) -> wr.ConnectionBudget:
    return budget_ops.get_connection_cap(store, actor, connection_id)


@router.put("/connections/{connection_id}/cap", response_model=wr.ConnectionBudget)
def set_connection_cap(connection_id: str, body: wr.ConnectionCap, actor: Actor = Who,
                       store: Store = Db) -> wr.ConnectionBudget:
    return budget_ops.set_connection_cap(store, actor, connection_id, body)

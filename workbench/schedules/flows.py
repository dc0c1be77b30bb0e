"""Flows: small DAGs of question runs and cohort builds, run by hand or on a schedule.

A flow is checked when it is saved: unique step names, known dependencies, no cycle, questions
of the room of the right kind (a cohort step builds a user-list question; a question step runs an
analytical one), and a cohort input only from a cohort step the reading step depends on. A run
executes the steps in dependency order as the user who started it (or the schedule's owner), each
an ordinary run or cohort build: authorised, charged and audited on its own. Each step's status,
timing, charge and output id are recorded; a failed step skips every step that depends on it.
"""

from __future__ import annotations

import datetime as dt
import graphlib
import logging
from typing import Any

from workbench.audiences import _records as audience_records
from workbench.audiences.cohorts import create_cohort
from workbench.engine import Engine
from workbench.errors import InvalidInput, NotFound, WorkbenchError
from workbench.governance.audit import record
from workbench.governance.model import Actor
from workbench.governance.policy import ensure_allowed_in_room
from workbench.ids import new_id, parse_uuid
from workbench.questions import _records as question_records
from workbench.questions.operations import room_bindings
from workbench.questions.spec import Question
from workbench.runs.operations import CohortRestrictedRun, run_question
from workbench.schedules import _records as records
from workbench.schedules.clock import Clock, SystemClock
from workbench.store import Store
from workbench.wire import audiences as wa
from workbench.wire import questions as wq
from workbench.wire import schedules as w

log = logging.getLogger("workbench.flows")


def _order(steps: list[w.FlowStep]) -> list[str]:
    """Step names in an order that respects every dependency; refuses unknown steps and cycles."""
    names = [s.name for s in steps]
    if len(set(names)) != len(names):
        raise InvalidInput("two steps of the flow share a name; name each step once")
    graph: dict[str, set[str]] = {}
    for step in steps:
        unknown = [d for d in step.after if d not in names]
        if unknown:
            raise InvalidInput(f"step {step.name!r} runs after unknown step(s) {unknown}; "
                               f"the flow's steps are {names}")
        graph[step.name] = set(step.after)
    try:
        return list(graphlib.TopologicalSorter(graph).static_order())
    except graphlib.CycleError as exc:
        cycle = " -> ".join(exc.args[1])
        raise InvalidInput(f"the flow has a cycle ({cycle}); a flow must be acyclic") from None


def _ancestors(steps: dict[str, w.FlowStep], name: str) -> set[str]:
    seen: set[str] = set()
    todo = list(steps[name].after)
    while todo:
        current = todo.pop()
        if current not in seen:
            seen.add(current)
            todo.extend(steps[current].after)
    return seen


def _check_steps(cur: Any, room_id: str, steps: list[w.FlowStep]) -> list[dict[str, Any]]:
    """The steps as stored, after every structural and reference check."""
    _order(steps)
    by_name = {s.name: s for s in steps}
    out = []
    for step in steps:
        question_id = parse_uuid(step.question_id, "question")
        found = question_records.question(cur, room_id, question_id)
        if found is None:
            raise InvalidInput(f"step {step.name!r}: no question {question_id} in this room")
        question = str(found.spec_dict().get("kind", "analytical"))
        wanted = "user_list" if step.kind == "cohort" else "analytical"
        if question != wanted:
            raise InvalidInput(f"step {step.name!r} is a {step.kind} step, so its question must "
                               f"be {wanted.replace('_', '-')}; this one is "
                               f"{question.replace('_', '-')}")
        if step.cohort_input is not None:
            source = by_name.get(step.cohort_input.step)
            if source is None or source.kind != "cohort":
                raise InvalidInput(f"step {step.name!r} reads a cohort from "
                                   f"{step.cohort_input.step!r}, which is not a cohort step "
                                   "(the output of a user-list question) of this flow")
            if source.name not in _ancestors(by_name, step.name):
                raise InvalidInput(f"step {step.name!r} reads the cohort of "
                                   f"{source.name!r}, so it must run after it (add it to "
                                   "'after')")
            if step.kind != "question":
                raise InvalidInput(f"step {step.name!r}: only question steps read a cohort")
            macros = question_records_macros(found)
            if step.cohort_input.macro not in macros:
                raise InvalidInput(f"step {step.name!r} reads the cohort as "
                                   f"{step.cohort_input.macro!r}, which its question does not use "
                                   f"(its dataset macros: {sorted(macros)})")
        out.append(step.model_dump(mode="json") | {"question_id": question_id})
    return out


def flow_out(rec: records.FlowRecord) -> w.Flow:
    return w.Flow(id=rec.id, room_id=rec.room_id, name=rec.name, description=rec.description,
                  steps=[w.FlowStep(**s) for s in rec.step_list], version=rec.version,
                  owner_user_id=rec.owner_user_id, owner_org_id=rec.owner_org_id,
                  created_at=rec.created_at, updated_at=rec.updated_at)


def _load(cur: Any, room_id: str, flow_id: str) -> records.FlowRecord:
    rec = records.get_flow(cur, room_id, flow_id)
    if rec is None:
        raise NotFound(f"no flow {flow_id} in this room")
    return rec


def create_flow(store: Store, actor: Actor, room_id: str, body: w.FlowCreate) -> w.Flow:
    """Save a flow (Flow Builder; the room's Flows feature must be on)."""
    room_id = parse_uuid(room_id, "room")
    flow_id = new_id()
    with store.transaction() as cur:
        ensure_allowed_in_room(cur, actor, "flow.build", room_id=room_id, resource_type="flow",
                     detail={"flow_id": flow_id, "name": body.name})
        if records.flow_name_taken(cur, room_id, body.name):
            raise InvalidInput(f"the room already has a flow named {body.name!r}")
        steps = _check_steps(cur, room_id, body.steps)
        records.insert_flow(cur, flow_id, room_id, body.name, body.description, steps,
                            actor.user_id, actor.org_id)
        return flow_out(_load(cur, room_id, flow_id))


def update_flow(store: Store, actor: Actor, room_id: str, flow_id: str, body: w.FlowUpdate
                ) -> w.Flow:
    """Edit a flow; every edit is a new version (runs keep the version they ran)."""
    room_id, flow_id = parse_uuid(room_id, "room"), parse_uuid(flow_id, "flow")
    with store.transaction() as cur:
        ensure_allowed_in_room(cur, actor, "flow.build", room_id=room_id,
                               resource_type="flow", resource_id=flow_id)
        old = _load(cur, room_id, flow_id)
        name = body.name if body.name is not None else old.name
        if records.flow_name_taken(cur, room_id, name, other_than=flow_id):
            raise InvalidInput(f"the room already has a flow named {name!r}")
        steps = (_check_steps(cur, room_id, body.steps) if body.steps is not None
                 else old.step_list)
        records.update_flow(cur, flow_id, name,
                            body.description if body.description is not None
                            else old.description, steps)
        return flow_out(_load(cur, room_id, flow_id))


def delete_flow(store: Store, actor: Actor, room_id: str, flow_id: str) -> None:
    """Delete a flow, its run history and the schedules that run it."""
    room_id, flow_id = parse_uuid(room_id, "room"), parse_uuid(flow_id, "flow")
    with store.transaction() as cur:
        ensure_allowed_in_room(cur, actor, "flow.build", room_id=room_id,
                               resource_type="flow", resource_id=flow_id)
        _load(cur, room_id, flow_id)
        for schedule in records.schedules_of_flow(cur, flow_id):
            records.delete_schedule(cur, schedule.id)
        records.delete_flow(cur, flow_id)


def list_flows(store: Store, actor: Actor, room_id: str) -> list[w.Flow]:
    room_id = parse_uuid(room_id, "room")
    with store.reader() as cur:
        ensure_allowed_in_room(cur, actor, "flow.read", room_id=room_id, resource_type="flow")
        return [flow_out(r) for r in records.list_flows(cur, room_id)]


def get_flow(store: Store, actor: Actor, room_id: str, flow_id: str) -> w.Flow:
    room_id, flow_id = parse_uuid(room_id, "room"), parse_uuid(flow_id, "flow")
    with store.reader() as cur:
        ensure_allowed_in_room(cur, actor, "flow.read", room_id=room_id,
                               resource_type="flow", resource_id=flow_id)
        return flow_out(_load(cur, room_id, flow_id))


def _minute(at: dt.datetime | None) -> dt.datetime | None:
    """A step's time to the minute: finer times would show how long the engine read the data
    (a side channel, issue 10.5); the service log keeps them."""
    return None if at is None else at.replace(second=0, microsecond=0)


def flow_run_out(cur: Any, rec: records.FlowRunRecord) -> w.FlowRun:
    steps = [w.FlowStepRun(step=s.step, kind=s.kind, status=s.status,
                           started_at=_minute(s.started_at), finished_at=_minute(s.finished_at),
                           run_id=s.run_id, cohort_id=s.cohort_id,
                           epsilon=s.epsilon, delta=s.delta, error=s.error)
             for s in records.step_runs(cur, rec.id)]
    return w.FlowRun(id=rec.id, flow_id=rec.flow_id, room_id=rec.room_id,
                     flow_version=rec.flow_version, trigger=rec.trigger,
                     schedule_id=rec.schedule_id, user_id=rec.user_id, org_id=rec.org_id,
                     status=rec.status, started_at=rec.started_at,
                     finished_at=_minute(rec.finished_at), steps=steps)


def question_records_macros(found: question_records.QuestionRecord) -> set[str]:
    """The dataset macros a stored question reads."""
    return set(Question.from_dict(found.spec_dict()).fields)


def _cohort_view(store: Store, room_id: str, flow_run_id: str, step_name: str,
                 cohort_input: w.CohortInput, cohort_id: str) -> tuple[str, list[str]]:
    """A view of the step's dataset macro holding only the cohort's members; returns its name
    and the datasets the cohort was built from (their parties are charged by the run)."""
    macro = cohort_input.macro
    view = f"cohort_views.v_{flow_run_id.replace('-', '')}_{step_name.lower()}"
    with store.transaction() as cur:
        cohort = audience_records.cohort(cur, room_id, cohort_id)
        if cohort is None or cohort.status != "ready":
            raise InvalidInput(f"the cohort of step {cohort_input.step!r} is not ready")
        binding = room_bindings(cur, room_id, (macro,)).get(macro)
        if binding is None or binding.rules.identity is None:
            raise InvalidInput(f"the room has no dataset with an identity mapped to {macro!r}")
        records.create_cohort_view(cur, view, binding.view, binding.rules.identity, cohort_id)
    return view, list(cohort.datasets)


def _run_step(store: Store, actor: Actor, room_id: str, flow_run_id: str, step: w.FlowStep,
              cohorts: dict[str, str], engine: Engine | None
              ) -> tuple[str | None, str | None, str, str]:
    """Run one step; returns (run id, cohort id, epsilon, delta) charged."""
    if step.kind == "cohort":
        cohort = create_cohort(store, actor, room_id, wa.CohortCreate(
            name=f"{step.name} (flow run {flow_run_id[:8]})", question_id=step.question_id,
            parameters=step.parameters, epsilon=step.epsilon))
        return None, cohort.id, cohort.epsilon_spent, "0"
    request: wq.RunRequest = wq.RunRequest(parameters=step.parameters, epsilon=step.epsilon,
                                          delta=step.delta)
    if step.cohort_input is None:
        run = run_question(store, actor, room_id, step.question_id, request, engine=engine)
        return run.id, None, run.epsilon, run.delta
    view, derived_from = _cohort_view(store, room_id, flow_run_id, step.name, step.cohort_input,
                                      cohorts[step.cohort_input.step])
    try:
        run = run_question(store, actor, room_id, step.question_id, CohortRestrictedRun(
            parameters=step.parameters, epsilon=step.epsilon, delta=step.delta,
            views={step.cohort_input.macro: view}, derived_from=derived_from), engine=engine)
    finally:
        with store.transaction() as cur:
            records.drop_cohort_view(cur, view)
    return run.id, None, run.epsilon, run.delta


def execute_flow(store: Store, actor: Actor, room_id: str, flow_id: str, *,
                 trigger: str = "hand", schedule_id: str | None = None,
                 clock: Clock | None = None, engine: Engine | None = None) -> str:
    """Run every step in dependency order; a failed step skips its dependents. Returns the id."""
    clock = clock or SystemClock()
    with store.reader() as cur:
        flow = _load(cur, room_id, flow_id)
    steps = {s["name"]: w.FlowStep(**s) for s in flow.step_list}
    order = _order(list(steps.values()))
    flow_run_id = new_id()
    with store.transaction() as cur:
        records.insert_flow_run(cur, records.FlowRunRecord(
            id=flow_run_id, flow_id=flow_id, room_id=room_id, flow_version=flow.version,
            trigger=trigger, schedule_id=schedule_id, user_id=actor.user_id,
            org_id=actor.org_id, status="running", started_at=clock.now(), finished_at=None),
            [(name, steps[name].kind) for name in order])
    status: dict[str, str] = {}
    cohorts: dict[str, str] = {}
    for name in order:
        step = steps[name]
        if any(status.get(d) != "succeeded" for d in step.after):
            status[name] = "skipped"
            with store.transaction() as cur:
                records.update_step_run(cur, flow_run_id, name, status="skipped",
                                        error="an earlier step it depends on did not succeed")
            continue
        with store.transaction() as cur:
            records.update_step_run(cur, flow_run_id, name, status="running",
                                    started_at=clock.now())
        try:
            run_id, cohort_id, eps, delta = _run_step(store, actor, room_id, flow_run_id, step,
                                                      cohorts, engine)
            status[name] = "succeeded"
            if cohort_id is not None:
                cohorts[name] = cohort_id
            changes: dict[str, Any] = dict(status="succeeded", run_id=run_id,
                                           cohort_id=cohort_id, epsilon=eps, delta=delta)
        except WorkbenchError as err:
            status[name] = "failed"
            changes = dict(status="failed", error=err.message)
        except Exception:
            log.exception("flow %s step %s failed", flow_id, name)
            status[name] = "failed"
            changes = dict(status="failed", error="the step failed")
        with store.transaction() as cur:
            records.update_step_run(cur, flow_run_id, name, finished_at=clock.now(), **changes)
    outcome = "succeeded" if all(s == "succeeded" for s in status.values()) else "failed"
    with store.transaction() as cur:
        records.finish_flow_run(cur, flow_run_id, outcome, clock.now())
        record(cur, actor, "flow.run.finished", room_id=room_id, resource_type="flow",
               resource_id=flow_id, outcome="ok" if outcome == "succeeded" else "error",
               detail={"flow_run_id": flow_run_id, "trigger": trigger, "steps": status})
    return flow_run_id


def start_flow_run(store: Store, actor: Actor, room_id: str, flow_id: str,
                   clock: Clock | None = None, engine: Engine | None = None) -> w.FlowRun:
    """Run a flow by hand (Flow Runs permission); returns when every step has finished."""
    room_id, flow_id = parse_uuid(room_id, "room"), parse_uuid(flow_id, "flow")
    with store.reader() as cur:
        ensure_allowed_in_room(cur, actor, "flow.run", room_id=room_id,
                               resource_type="flow", resource_id=flow_id)
        _load(cur, room_id, flow_id)
    flow_run_id = execute_flow(store, actor, room_id, flow_id, clock=clock, engine=engine)
    with store.reader() as cur:  # the starter sees the run it started, even without View Flows
        return flow_run_out(cur, _load_run(cur, room_id, flow_run_id))


def scheduled_flow_run(store: Store, actor: Actor, room_id: str, flow_id: str,
                       schedule_id: str, engine: Engine | None) -> str:
    """The scheduler's way to run a flow (permissions were checked at fire time)."""
    return execute_flow(store, actor, room_id, flow_id, trigger="schedule",
                        schedule_id=schedule_id, engine=engine)


def list_flow_runs(store: Store, actor: Actor, room_id: str, flow_id: str) -> list[w.FlowRun]:
    room_id, flow_id = parse_uuid(room_id, "room"), parse_uuid(flow_id, "flow")
    with store.reader() as cur:
        ensure_allowed_in_room(cur, actor, "flow.read", room_id=room_id,
                               resource_type="flow", resource_id=flow_id)
        _load(cur, room_id, flow_id)
        return [flow_run_out(cur, r) for r in records.list_flow_runs(cur, flow_id)]


def get_flow_run(store: Store, actor: Actor, room_id: str, flow_run_id: str) -> w.FlowRun:
    room_id, flow_run_id = parse_uuid(room_id, "room"), parse_uuid(flow_run_id, "flow run")
    with store.reader() as cur:
        ensure_allowed_in_room(cur, actor, "flow.read", room_id=room_id, resource_type="flow_run",
                     resource_id=flow_run_id)
        return flow_run_out(cur, _load_run(cur, room_id, flow_run_id))


def _load_run(cur: Any, room_id: str, flow_run_id: str) -> records.FlowRunRecord:
    rec = records.get_flow_run(cur, room_id, flow_run_id)
    if rec is None:
        raise NotFound(f"no flow run {flow_run_id} in this room")
    return rec

"""Run operations: plan (no budget, no data), run (reserve -> execute -> release -> commit),
status, result, delete, and the budget figures.

A run is three short steps so the write lock is never held while DuckDB works:

1. one write transaction: authorise, check rules, compile, plan, reserve the budget of every
   receiving organisation and record the run as running (the store serialises these, so
   concurrent runs can never overspend);
2. execute on a read cursor and add the noise;
3. one write transaction: commit the charge and store the released table; if step 2 failed,
   release (refund) the reservation instead, since nothing was shown.
"""

from __future__ import annotations

import json
import logging
import uuid
from dataclasses import dataclass
from fractions import Fraction
from typing import Any

from workbench.engine import DuckDBEngine, Engine
from workbench.errors import Conflict, InvalidInput, NotFound, PermissionDenied, WorkbenchError
from workbench.governance.audit import record
from workbench.governance.model import Actor, RoomAccess
from workbench.governance.policy import ensure_allowed
from workbench.privacy import Budget, display, to_fraction
from workbench.questions import actions as qa
from workbench.questions.compile import Compiled, compile_question
from workbench.questions.operations import load_question, room_bindings
from workbench.questions.spec import Question
from workbench.runs import ledger
from workbench.runs.release import DPPlan, plan_dp, release_table
from workbench.store import Store
from workbench.wire import questions as w

log = logging.getLogger("workbench.runs")
RUN_COLUMNS = ("id, room_id, question_id, question_version, question_name, org_id, user_id,"
               " receivers, parameters, mode, epsilon, delta, k_min, status, error, metadata,"
               " created_at, finished_at")


def _amount(value: Any, name: str) -> Fraction:
    """An epsilon or delta as an exact Fraction (to_fraction also refuses absurd sizes)."""
    return to_fraction(value, name=name)


def _uuid(value: str, what: str) -> str:
    try:
        return str(uuid.UUID(str(value)))
    except ValueError:
        raise NotFound(f"no {what} {value!r}") from None


@dataclass(frozen=True)
class _Prepared:
    row: tuple
    spec: Question
    compiled: Compiled
    dp: DPPlan | None
    receivers: list[str]
    epsilon: Fraction
    delta: Fraction
    #: provisioned datasets the run reads (its result is derived from them)
    datasets: list[str]


def _prepare(cur: Any, actor: Actor, access: RoomAccess, question_id: str,
             body: w.PlanRequest) -> _Prepared:
    room = access.room
    row, spec = load_question(cur, room.id, question_id)
    if room.not_started():
        raise Conflict(f"the room starts on {room.start_date}; runs are possible from then")
    bindings = room_bindings(cur, room.id, tuple(spec.fields))
    mode = "dp" if room.dp_enabled else "exact"
    compiled = compile_question(spec, bindings, body.parameters, mode=mode)
    receivers = qa.effective_receivers(cur, room, row[0], actor.org_id)
    epsilon = _amount(body.epsilon, "epsilon")
    if body.delta is None:
        delta = Fraction(0) if compiled.key_values is not None else room.delta_budget / 10
    else:
        delta = _amount(body.delta, "delta")
    dp = plan_dp(compiled, room.k_min, epsilon, delta) if room.dp_enabled else None
    if dp is None:
        epsilon = delta = Fraction(0)
    else:
        epsilon, delta = dp.plan.epsilon, dp.plan.delta
    datasets = sorted({b.dataset_id for b in bindings.values() if b.dataset_id})
    return _Prepared(row, spec, compiled, dp, receivers, epsilon, delta, datasets)


def _figures(cur: Any, access: RoomAccess, org_id: str, extra: Budget | None = None
             ) -> w.BudgetFigures:
    total, _, left = ledger.figures(cur, access.room, org_id)
    if extra is not None:
        left = Budget(epsilon=max(left.epsilon - extra.epsilon, Fraction(0)),
                      delta=max(left.delta - extra.delta, Fraction(0)))
    return w.BudgetFigures(org_id=org_id, epsilon_total=display(total.epsilon, up=False),
                           delta_total=display(total.delta, up=False),
                           epsilon_left=display(left.epsilon, up=False),
                           delta_left=display(left.delta, up=False))


def plan_run(store: Store, actor: Actor, room_id: str, question_id: str, body: w.PlanRequest
             ) -> w.Plan:
    """Cost and expected error of a run, computed without spending budget or reading data."""
    room_id, question_id = _uuid(room_id, "room"), _uuid(question_id, "question")
    with store.reader() as cur:
        access = ensure_allowed(cur, actor, "run.plan", room_id=room_id, resource_type="question",
                                resource_id=question_id)
        assert access is not None
        p = _prepare(cur, actor, access, question_id, body)
        cost = Budget(epsilon=p.epsilon, delta=p.delta)
        columns: list[w.ColumnPlan] = []
        notes: list[str] = []
        if p.dp is not None:
            for agg in p.dp.plan.aggregates:
                hidden = p.dp.crowd_hidden and agg.name == p.dp.crowd
                columns.append(w.ColumnPlan(
                    name=agg.name + (" (hidden, for k-min)" if hidden else ""), kind=agg.kind,
                    noise_scale=agg.noise_scale, ci95=agg.ci_half_width,
                    sensitivity=agg.sensitivity, epsilon=display(agg.epsilon, up=True)))
            if p.dp.crowd_hidden:
                notes.append("the crowd-size rule needs a noisy count of people per row; it "
                             "takes a share of epsilon")
            if p.compiled.key_values is None:
                notes.append("group keys come from the data: released by a noisy threshold "
                             "that spends delta")
        else:
            columns = [w.ColumnPlan(name=a.name, kind=a.kind, noise_scale=None, ci95=None,
                                    sensitivity=None, epsilon=None)
                       for a in p.compiled.aggregates]
            notes.append("differential privacy is OFF in this room: exact aggregates, no budget "
                         "spent, rows under k-min suppressed")
        return w.Plan(
            question_id=question_id, question_version=p.row[5], dp=p.dp is not None,
            epsilon=display(p.epsilon, up=True), delta=display(p.delta, up=True),
            keys_public=p.compiled.key_values is not None,
            n_groups=len(p.compiled.key_values) if p.compiled.key_values is not None else None,
            k_min=access.room.k_min, max_rows=p.compiled.max_rows,
            max_groups=p.compiled.max_groups, columns=columns,
            budget_before=[_figures(cur, access, o) for o in p.receivers],
            budget_after=[_figures(cur, access, o, cost) for o in p.receivers],
            receivers=p.receivers, notes=notes,
        )


def _refused(store: Store, actor: Actor, room_id: str, question_id: str, err: Exception) -> None:
    """Audit a refused run in a transaction of its own (the run's own one rolled back)."""
    with store.transaction() as cur:
        record(cur, actor, "run.refused", room_id=room_id, resource_type="question",
               resource_id=question_id, outcome="denied",
               reason=getattr(err, "message", type(err).__name__),
               detail={"code": getattr(err, "code", "error")})


def run_question(store: Store, actor: Actor, room_id: str, question_id: str,
                 body: w.RunRequest, *, engine: Engine | None = None) -> w.Run:
    """Run a question: reserve, execute, release, commit. Returns the finished run.

    ``engine`` is the application's (DuckDB over the store unless the service runs Spark).
    """
    room_id, question_id = _uuid(room_id, "room"), _uuid(question_id, "question")
    run_id = str(uuid.uuid4())
    try:
        with store.transaction() as cur:
            access = ensure_allowed(cur, actor, "run.create", room_id=room_id,
                                    resource_type="question", resource_id=question_id,
                                    detail={"run_id": run_id})
            assert access is not None
            p = _prepare(cur, actor, access, question_id, body)
            room = access.room
            if p.dp is not None:
                ledger.reserve(cur, room, p.receivers, run_id,
                               Budget(epsilon=p.epsilon, delta=p.delta), actor.user_id)
            cur.execute(
                f"INSERT INTO runs ({RUN_COLUMNS.replace(', metadata', ', result, metadata')})"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, NULL, NULL, now(), NULL)",
                [run_id, room_id, question_id, p.row[5], p.spec.name, actor.org_id,
                 actor.user_id, p.receivers, json.dumps(body.parameters, default=str),
                 "dp" if p.dp else "exact", str(p.epsilon), str(p.delta), room.k_min,
                 "running", None])
    except WorkbenchError as err:
        if not isinstance(err, (NotFound, PermissionDenied)) or err.details.get("action") is None:
            _refused(store, actor, room_id, question_id, err)
        raise
    try:
        exact = (engine if engine is not None else DuckDBEngine(store)).execute(p.compiled)
        table = release_table(p.compiled, exact, p.dp, room.k_min)
    except Exception as err:
        message = err.message if isinstance(err, WorkbenchError) else "internal error"
        if not isinstance(err, WorkbenchError):
            log.exception("run %s failed", run_id)
        with store.transaction() as cur:
            if p.dp is not None:
                ledger.settle(cur, room_id, run_id, "released", actor.user_id)
            cur.execute("UPDATE runs SET status = 'failed', error = ?, finished_at = now()"
                        " WHERE id = ?", [message, run_id])
            record(cur, actor, "run.failed", room_id=room_id, resource_type="run",
                   resource_id=run_id, outcome="error", reason=message)
        raise
    metadata = {
        "question_version": p.row[5],
        "dp": p.dp is not None,
        "epsilon_spent": display(p.epsilon, up=True),
        "delta_spent": display(p.delta, up=True),
        "k_min": room.k_min,
        "suppressed_rows": table.suppressed,
        "max_rows": p.compiled.max_rows,
        "max_groups": p.compiled.max_groups,
        "keys_public": p.compiled.key_values is not None,
        "notes": table.notes,
        "datasets": p.datasets,
    }
    if p.dp is not None:
        metadata["noise"] = {a.name: {"scale": a.noise_scale, "ci95": a.ci_half_width}
                             for a in p.dp.plan.aggregates}
    result = {"columns": table.columns, "rows": table.rows}
    with store.transaction() as cur:
        if p.dp is not None:
            ledger.settle(cur, room_id, run_id, "committed", actor.user_id)
        cur.execute("UPDATE runs SET status = 'succeeded', result = ?, metadata = ?,"
                    " finished_at = now() WHERE id = ?",
                    [json.dumps(result, default=str), json.dumps(metadata), run_id])
        record(cur, actor, "run.completed", room_id=room_id, resource_type="run",
               resource_id=run_id, reason="differential privacy" if p.dp else
               "EXACT aggregates: differential privacy is off in this room",
               detail={"question_id": question_id, "epsilon": str(p.epsilon),
                       "delta": str(p.delta), "receivers": p.receivers,
                       "suppressed_rows": table.suppressed, "dp": p.dp is not None})
        return _run_out(_load_run(cur, room_id, run_id))


def drop_derived_runs(cur: Any, room_id: str, dataset_id: str) -> int:
    """Runs whose results were computed from an unlinked dataset go with it."""
    rows = cur.execute(
        "SELECT id FROM runs WHERE room_id = ? AND metadata IS NOT NULL AND list_contains("
        "CAST(json_extract(metadata, '$.datasets') AS VARCHAR[]), ?)",
        [room_id, dataset_id]).fetchall()
    for (run_id,) in rows:
        cur.execute("DELETE FROM runs WHERE id = ?", [run_id])
    return len(rows)


def _load_run(cur: Any, room_id: str, run_id: str) -> tuple:
    row = cur.execute(f"SELECT {RUN_COLUMNS} FROM runs WHERE id = ? AND room_id = ?",
                      [run_id, room_id]).fetchone()
    if row is None:
        raise NotFound(f"no run {run_id} in this room")
    return row


def _run_out(row: tuple) -> w.Run:
    (rid, room_id, qid, version, qname, org_id, user_id, receivers, params, mode, eps, delta,
     k_min, status, error, metadata, created, finished) = row
    return w.Run(
        id=rid, room_id=room_id, question_id=qid, question_version=version,
        question_name=qname, org_id=org_id, user_id=user_id, receivers=list(receivers),
        parameters=json.loads(params), dp=mode == "dp",
        epsilon=display(Fraction(eps), up=True), delta=display(Fraction(delta), up=True),
        k_min=k_min, status=status, error=error,
        metadata=json.loads(metadata) if metadata else {}, created_at=str(created),
        finished_at=str(finished) if finished else None,
    )


def get_run(store: Store, actor: Actor, room_id: str, run_id: str) -> w.Run:
    """A run's status and metadata (its org and its receivers)."""
    room_id, run_id = _uuid(room_id, "room"), _uuid(run_id, "run")
    with store.reader() as cur:
        ensure_allowed(cur, actor, "run.read", room_id=room_id, resource_type="run",
                       resource_id=run_id)
        return _run_out(_load_run(cur, room_id, run_id))


def list_runs(store: Store, actor: Actor, room_id: str, question_id: str | None = None
              ) -> list[w.Run]:
    """Runs the caller's org started or receives, newest first."""
    room_id = _uuid(room_id, "room")
    with store.reader() as cur:
        ensure_allowed(cur, actor, "run.list", room_id=room_id, resource_type="run")
        rows = cur.execute(
            f"SELECT {RUN_COLUMNS} FROM runs WHERE room_id = ? AND (org_id = ?"
            " OR list_contains(receivers, ?)) AND (? IS NULL OR question_id = ?)"
            " ORDER BY created_at DESC, id",
            [room_id, actor.org_id, actor.org_id, question_id, question_id]).fetchall()
        return [_run_out(r) for r in rows]


def get_result(store: Store, actor: Actor, room_id: str, run_id: str) -> w.RunResult:
    """The released table: receivers with View Reports only; every read is audited."""
    room_id, run_id = _uuid(room_id, "room"), _uuid(run_id, "run")
    with store.reader() as cur:
        ensure_allowed(cur, actor, "run.result", room_id=room_id, resource_type="run",
                       resource_id=run_id)
        row = _load_run(cur, room_id, run_id)
        status = row[13]
        if status != "succeeded":
            raise Conflict(f"the run has no result: it is {status}"
                           + (f" ({row[14]})" if row[14] else ""))
        (result,) = cur.execute("SELECT result FROM runs WHERE id = ?", [run_id]).fetchone()
    data = json.loads(result)
    metadata = json.loads(row[15]) if row[15] else {}
    return w.RunResult(run_id=run_id, columns=data["columns"], rows=data["rows"],
                       dp=row[9] == "dp", metadata=metadata)


def delete_run(store: Store, actor: Actor, room_id: str, run_id: str) -> None:
    """Delete a run and its stored result; the budget it spent stays spent."""
    room_id, run_id = _uuid(room_id, "room"), _uuid(run_id, "run")
    with store.transaction() as cur:
        ensure_allowed(cur, actor, "run.delete", room_id=room_id, resource_type="run",
                       resource_id=run_id)
        _load_run(cur, room_id, run_id)
        cur.execute("DELETE FROM runs WHERE id = ?", [run_id])


def _budget_out(cur: Any, access: RoomAccess, org_id: str) -> w.Budget:
    total, used, left = ledger.figures(cur, access.room, org_id)
    return w.Budget(
        room_id=access.room.id, org_id=org_id,
        epsilon_total=display(total.epsilon, up=False), delta_total=display(total.delta, up=False),
        epsilon_spent=display(used.epsilon, up=True), delta_spent=display(used.delta, up=True),
        epsilon_left=display(left.epsilon, up=False), delta_left=display(left.delta, up=False),
    )


def get_budget(store: Store, actor: Actor, room_id: str, org_id: str | None = None) -> w.Budget:
    """An org's budget in the room: one's own, or any org's for the owner."""
    room_id = _uuid(room_id, "room")
    with store.reader() as cur:
        access = ensure_allowed(cur, actor, "budget.read", room_id=room_id,
                                resource_type="budget", resource_id=org_id or actor.org_id)
        assert access is not None
        target = org_id or actor.org_id
        if target != actor.org_id and not access.is_owner:
            raise PermissionDenied("only the room owner may read another organisation's budget")
        return _budget_out(cur, access, target)


def raise_budget(store: Store, actor: Actor, room_id: str, body: w.BudgetRaise) -> w.Budget:
    """Owner only: add to one org's budget in the room (audited)."""
    room_id = _uuid(room_id, "room")
    eps = _amount(body.epsilon, "epsilon")
    delta = _amount(body.delta, "delta")
    if eps == 0 and delta == 0:
        raise InvalidInput("raise epsilon, delta or both by more than 0")
    with store.transaction() as cur:
        access = ensure_allowed(cur, actor, "budget.raise", room_id=room_id,
                                resource_type="budget", resource_id=body.org_id,
                                resource_org_id=body.org_id,
                                detail={"epsilon": str(eps), "delta": str(delta)})
        assert access is not None
        orgs = {access.room.owner_org_id} | {o for (o,) in cur.execute(
            "SELECT org_id FROM room_partners WHERE room_id = ? AND status = 'accepted'",
            [room_id]).fetchall()}
        if body.org_id not in orgs:
            raise InvalidInput(f"{body.org_id} is not an organisation of this room")
        if ledger.total(cur, access.room, body.org_id).delta + delta >= 1:
            raise InvalidInput("delta is a probability; the total must stay below 1")
        cur.execute("INSERT INTO budget_raises (room_id, org_id, epsilon, delta, raised_by)"
                    " VALUES (?, ?, ?, ?, ?)", [room_id, body.org_id, str(eps), str(delta),
                                                actor.user_id])
        return _budget_out(cur, access, body.org_id)

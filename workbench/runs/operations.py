"""Run operations: plan (no budget, no data), run (charge, execute, release), status, result,
manifest, delete.

A run is three short steps so the write lock is never held while the engine works:

1. one write transaction: authorise, check the room is active, check rules, compile, plan, check
   the preview's fingerprint, charge every data party (and connection cap) for good and record
   the run as running. The store serialises these, so concurrent runs can never overspend. Only
   errors found here cost nothing.
2. execute on a read cursor and add the noise. From here the run has read data: it stays
   charged whatever happens, and a failure says only that it failed.
3. one write transaction: store the released table, unless an unlink dropped the run (or one of
   its datasets) meanwhile; then nothing computed from the unlinked data is kept.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, replace
from fractions import Fraction
from typing import Any

from workbench.contract.consent import strictest
from workbench.data.templates import readiness
from workbench.engine import DuckDBEngine, Engine
from workbench.errors import (Conflict, InvalidInput, NotFound, PermissionDenied, TimedOut,
                              WorkbenchError)
from workbench.governance._records import org_names
from workbench.governance.audit import record
from workbench.governance.model import Actor, RoomAccess
from workbench.governance.policy import ensure_allowed
from workbench.ids import new_id, parse_uuid
from workbench.privacy.budget import Budget, display, to_fraction
from workbench.questions.compile import Compiled, compile_question
from workbench.questions.operations import room_bindings, stored_question
from workbench.questions.spec import Question
from workbench.questions.terms import effective_receivers
from workbench.runs import _records as rec
from workbench.privacy import TargetSolution
from workbench.runs import budgets, exact, limits, manifest, targets
from workbench.runs.release import DPPlan, plan_dp, post_processed, release_table
from workbench.store import Store
from workbench.wire import questions as w
from workbench.wire import runs as wr

log = logging.getLogger("workbench.runs")
FAILED = ("the run failed after execution started: nothing was released and its budget stays "
          "spent; check the question and its parameters, or ask the question's author")
DROPPED = ("the run was dropped: a dataset it read was unlinked while it ran; nothing computed "
           "from it is kept and its budget stays spent")


@dataclass(frozen=True, slots=True, kw_only=True)
class Prepared:
    """Everything decided before any data is read."""

    question_id: str
    question_version: int
    spec: Question
    compiled: Compiled
    dp: DPPlan | None
    receivers: list[str]
    #: the data parties charged: owners of the datasets the run reads
    parties: list[str]
    sources: list[rec.DatasetSource]
    datasets: list[dict[str, Any]]
    epsilon: Fraction
    delta: Fraction
    #: what the caller asked for, resolved (re-planning with these gives the same plan)
    epsilon_requested: Fraction
    delta_requested: Fraction
    noise: list[dict[str, Any]]
    fingerprint: str
    #: planning by accuracy targets: what the solver found (None when planned by epsilon)
    solved: TargetSolution | None = None
    #: exact rooms: the profile lattice the run reads, (fingerprint, JSON); the first run pins it
    lattice: tuple[str, str] | None = None

    @property
    def cost(self) -> Budget:
        return Budget(epsilon=self.epsilon, delta=self.delta)

    @property
    def datasets_read(self) -> list[str]:
        return [s.dataset_id for s in self.sources]


def _check_active(cur: Any, access: RoomAccess) -> None:
    """Runs and plans need an active room: started, and every required field mapped."""
    room = access.room
    if room.not_started():
        raise Conflict(f"the room starts on {room.start_date}; runs are possible from then")
    ready = readiness(cur, room.id)
    if not ready.ready:
        raise Conflict("the room is still a draft: runs and plans start once every party has "
                       "mapped its datasets; still missing: " + "; ".join(ready.missing),
                       missing=list(ready.missing))


class CohortRestrictedRun(w.RunRequest):
    """A run whose dataset macros read only a cohort's members (flow steps; never on the wire).

    ``views`` maps a dataset macro to a view holding only the cohort's members of that dataset;
    ``derived_from`` lists the datasets the cohort was built from, whose parties are charged too.
    """

    views: dict[str, str] = {}
    derived_from: list[str] = []


def _prepare(cur: Any, actor: Actor, access: RoomAccess, question_id: str,
             body: w.PlanRequest) -> Prepared:
    room = access.room
    _check_active(cur, access)
    stored, spec = stored_question(cur, room.id, question_id)
    bindings = room_bindings(cur, room.id, tuple(spec.fields))
    derived_from: set[str] = set()
    if isinstance(body, CohortRestrictedRun):
        unknown = sorted(set(body.views) - set(bindings))
        if unknown:
            raise InvalidInput(f"the question reads no dataset macro {unknown[0]!r}")
        bindings = {m: replace(b, view=body.views[m]) if m in body.views else b
                    for m, b in bindings.items()}
        derived_from = set(body.derived_from)
    compiled = compile_question(spec, bindings, body.parameters,
                                mode="dp" if room.dp_enabled else "exact")
    pinned: tuple[str, str] | None = None
    if not room.dp_enabled:  # only crowds of k people who share a whole profile (issue 10.4)
        profiles = exact.room_profiles(cur, room.id)
        pinned = exact.ensure_pinned(cur, room.id, profiles)
        compiled = exact.restrict(compiled, profiles, room.k_min)
    receivers = effective_receivers(cur, room, stored.id, actor.org_id)
    epsilon = to_fraction(body.epsilon, name="epsilon")
    if body.delta is None:
        delta = Fraction(0) if compiled.key_values is not None else room.delta_budget / 10
    else:
        delta = to_fraction(body.delta, name="delta")
    dp: DPPlan | None = None
    solved: TargetSolution | None = None
    if room.dp_enabled and body.targets is not None:
        # accuracy first: the room's bounds per run are checked by the run (a plan says what
        # unreachable targets would cost instead of refusing)
        dp, solved = targets.plan_targets(compiled, spec, room.k_min, body.targets, delta)
        epsilon = dp.plan.epsilon
    elif room.dp_enabled:
        budgets.check_epsilon(cur, room, epsilon)
        dp = plan_dp(compiled, room.k_min, epsilon, delta)
    sources = rec.dataset_sources(cur, room.id, {b.dataset_id for b in bindings.values()
                                                 if b.dataset_id} | derived_from)
    parties = sorted({s.org_id for s in sources})
    datasets = manifest.dataset_entries(cur, room.id, sources)
    charged = (dp.plan.epsilon, dp.plan.delta) if dp is not None else (Fraction(0), Fraction(0))
    noise = manifest.noise_plan(dp)
    fingerprint = manifest.fingerprint(
        question_id=stored.id, question_version=stored.version, sql=spec.sql, compiled=compiled,
        datasets=datasets, parties=parties, k_min=room.k_min, epsilon=str(charged[0]),
        delta=str(charged[1]), noise=noise)
    return Prepared(question_id=stored.id, question_version=stored.version, spec=spec,
                    compiled=compiled, dp=dp, receivers=receivers, parties=parties,
                    sources=sources, datasets=datasets, epsilon=charged[0], delta=charged[1],
                    epsilon_requested=epsilon, delta_requested=delta, noise=noise,
                    fingerprint=fingerprint, solved=solved, lattice=pinned)


def _figures(cur: Any, actor: Actor, access: RoomAccess, org_id: str, cost: Budget,
             after: bool, names: dict[str, str]) -> w.BudgetFigures:
    """A charged party's budget before (or after) the run: its total and whether it covers the
    run for everyone, what is left only for whoever budgets.sees_figures allows."""
    f = budgets.figures(cur, access.room, org_id)
    left = f.left
    if after:
        left = Budget(epsilon=max(left.epsilon - cost.epsilon, Fraction(0)),
                      delta=max(left.delta - cost.delta, Fraction(0)))
    shown = budgets.sees_figures(actor.org_id, access.is_owner, org_id)
    return w.BudgetFigures(org_id=org_id, org_name=names.get(org_id, ""),
                           epsilon_total=display(f.total.epsilon, up=False),
                           delta_total=display(f.total.delta, up=False),
                           epsilon_left=display(left.epsilon, up=False) if shown else None,
                           delta_left=display(left.delta, up=False) if shown else None,
                           enough=f.left.covers(cost))


def _columns(p: Prepared) -> tuple[list[w.ColumnPlan], list[str]]:
    if p.dp is None:
        return ([w.ColumnPlan(name=a.name, kind=a.kind, noise_scale=None, ci95=None,
                              sensitivity=None, epsilon=None) for a in p.compiled.aggregates],
                [exact.NOTE + "; no budget is spent"])
    columns = []
    for agg in p.dp.plan.aggregates:
        hidden = p.dp.crowd_hidden and agg.name == p.dp.crowd
        columns.append(w.ColumnPlan(
            name=agg.name + (" (hidden, for k-min)" if hidden else ""), kind=agg.kind,
            noise_scale=agg.noise_scale, ci95=agg.ci_half_width, sensitivity=agg.sensitivity,
            epsilon=display(agg.epsilon, up=True)))
    notes = []
    if p.dp.crowd_hidden:
        notes.append("the crowd-size rule needs a noisy count of people per row; it takes a "
                     "share of epsilon")
    if p.compiled.key_values is None:
        notes.append("group keys come from the data: released by a noisy threshold that spends "
                     "delta")
    if p.parties:
        notes.append("charged to every party whose data it reads: " + ", ".join(p.parties))
    return columns, notes


def plan_run(store: Store, actor: Actor, room_id: str, question_id: str, body: w.PlanRequest
             ) -> w.Plan:
    """Cost, expected error and per-party budgets of a run, without spending or reading data."""
    room_id, question_id = parse_uuid(room_id, "room"), parse_uuid(question_id, "question")
    with store.reader() as cur:
        access = strictest(cur, _access(ensure_allowed(cur, actor, "run.plan", room_id=room_id,
                                                       resource_type="question",
                                                       resource_id=question_id)))
        p = _prepare(cur, actor, access, question_id, body)
        columns, notes = _columns(p)
        charged = p.parties if p.dp is not None else []
        names = org_names(cur, charged)
        aimed = None
        if p.solved is not None and p.dp is not None and body.targets is not None:
            problem = targets.unreachable(cur, access.room, p.parties, p.datasets_read, p.cost,
                                          names)
            aimed = targets.summary(p.spec, body.targets, p.dp, p.solved, problem)
        return w.Plan(
            question_id=question_id, question_version=p.question_version, dp=p.dp is not None,
            epsilon=display(p.epsilon, up=True), delta=display(p.delta, up=True),
            keys_public=p.compiled.key_values is not None,
            n_groups=len(p.compiled.key_values) if p.compiled.key_values is not None else None,
            k_min=access.room.k_min, max_rows=p.compiled.max_rows,
            max_groups=p.compiled.max_groups, columns=columns,
            budget_before=[_figures(cur, actor, access, o, p.cost, False, names)
                           for o in charged],
            budget_after=[_figures(cur, actor, access, o, p.cost, True, names) for o in charged],
            receivers=p.receivers, notes=notes, parties=p.parties, fingerprint=p.fingerprint,
            targets=aimed,
        )


def _access(access: RoomAccess | None) -> RoomAccess:
    """Room actions always return the actor's access; a None here is a programming error."""
    if access is None:
        raise RuntimeError("a room action returned no access")
    return access


def _refused(store: Store, actor: Actor, room_id: str, question_id: str, err: Exception) -> None:
    """Audit a refused run in a transaction of its own (the run's own one rolled back)."""
    with store.transaction() as cur:
        record(cur, actor, "run.refused", room_id=room_id, resource_type="question",
               resource_id=question_id, outcome="denied",
               reason=getattr(err, "message", type(err).__name__),
               detail={"code": getattr(err, "code", "error")})


def _request_digest(question_id: str, body: w.RunRequest) -> str:
    return manifest.digest(manifest.canonical(
        [question_id, body.parameters, str(body.epsilon), str(body.delta), body.plan]
        + ([body.targets] if body.targets is not None else [])))


def _manifest(p: Prepared, *, run_id: str, access: RoomAccess, parameters: dict[str, Any],
              engine: str, digests: dict[str, str], ledger_hashes: dict[str, str],
              targets_asked: dict[str, Any] | None = None) -> dict[str, Any]:
    return wr.Manifest(
        run_id=run_id, room_id=access.room.id, question_id=p.question_id,
        question_version=p.question_version, question_digest=manifest.digest(p.spec.sql),
        parameters=parameters, epsilon=str(p.epsilon_requested), delta=str(p.delta_requested),
        k_min=access.room.k_min, datasets=[{**d, "content_digest": digests.get(d["connection_id"])}
                           for d in p.datasets],
        noise=p.noise, parties=p.parties, engine=engine, versions=manifest.versions(),
        targets=targets_asked,
        fingerprint=p.fingerprint, ledger_hashes=ledger_hashes,
    ).model_dump()


def _start(store: Store, actor: Actor, room_id: str, question_id: str, body: w.RunRequest,
           run_id: str, engine: Engine) -> tuple[Prepared, RoomAccess] | w.Run:
    """Step 1: everything before data is read, in one write transaction (or the earlier run of
    a retried request)."""
    with store.transaction() as cur:
        access = strictest(cur, _access(ensure_allowed(cur, actor, "run.create", room_id=room_id,
                                                       resource_type="question",
                                                       resource_id=question_id,
                                                       detail={"run_id": run_id})))
        limits.take_slot(cur, room_id, actor.user_id)  # Busy past the room's concurrency limits
        key = body.idempotency_key
        request_digest = _request_digest(question_id, body)
        if key is not None:
            seen = rec.run_request(cur, room_id, actor.user_id, key)
            if seen is not None:
                if seen.request_digest != request_digest:
                    raise Conflict("this idempotency key was used for a different run request; "
                                   "use a new key for a new request")
                earlier = rec.run(cur, room_id, seen.run_id)
                if earlier is None:
                    raise Conflict("the run of this request no longer exists (deleted, or "
                                   "dropped with an unlinked dataset); use a new key to run again")
                return _run_out(earlier)
        p = _prepare(cur, actor, access, question_id, body)
        if body.plan is not None and body.plan != p.fingerprint:
            raise Conflict("the question, its rules or the budget split changed since your "
                           "preview; plan again and run with the new fingerprint",
                           fingerprint=p.fingerprint)
        room = access.room
        # external data changed since registration, or unreadable here: refused, nothing charged
        engine.check_sources(cur, [s.connection_id for s in p.sources])
        hashes: dict[str, str] = {}
        if p.solved is not None:
            budgets.check_epsilon(cur, room, p.epsilon)
        if p.lattice is not None:
            rec.pin_exact_lattice(cur, room_id, *p.lattice, run_id)
        if p.dp is not None:
            hashes = budgets.charge(
                cur, room, p.parties, budgets.sources_of(cur, room_id, p.datasets_read),
                run_id, p.cost, actor.user_id, org_names(cur, p.parties))
        digests = manifest.content_digests(cur, p.sources)
        rec.insert_run(
            cur, run_id=run_id, room_id=room_id, question_id=question_id,
            question_version=p.question_version, question_name=p.spec.name,
            org_id=actor.org_id, user_id=actor.user_id, receivers=p.receivers,
            parties=p.parties, parameters=json.dumps(body.parameters, default=str),
            mode="dp" if p.dp else "exact", epsilon=p.epsilon, delta=p.delta, k_min=room.k_min,
            fingerprint=p.fingerprint,
            manifest=_manifest(p, run_id=run_id, access=access, parameters=body.parameters,
                               engine=engine.name, digests=digests, ledger_hashes=hashes,
                               targets_asked=body.targets))
        if key is not None:
            rec.insert_run_request(cur, room_id, actor.user_id, key, request_digest, run_id)
        for party in p.parties:
            record(cur, actor, "run.charged", room_id=room_id, resource_type="run",
                   resource_id=run_id, resource_org_id=party,
                   reason="a run reads this party's data",
                   detail={"question_id": question_id, "question_version": p.question_version,
                           "parameters": body.parameters, "epsilon": str(p.epsilon),
                           "delta": str(p.delta), "org_id": actor.org_id})
        return p, access


@limits.bounded  # frees the run's slot and ends its timeout when the call returns
def run_question(store: Store, actor: Actor, room_id: str, question_id: str,
                 body: w.RunRequest, *, engine: Engine | None = None) -> w.Run:
    """Run a question: charge, execute, release. Returns the finished (or retried) run.

    ``engine`` is the application's (DuckDB over the store unless the service runs Spark).
    """
    room_id, question_id = parse_uuid(room_id, "room"), parse_uuid(question_id, "question")
    engine = engine if engine is not None else DuckDBEngine(store)
    run_id = new_id()
    try:
        started = _start(store, actor, room_id, question_id, body, run_id, engine)
    except WorkbenchError as err:
        if not isinstance(err, (NotFound, PermissionDenied)) or err.details.get("action") is None:
            _refused(store, actor, room_id, question_id, err)
        raise
    if isinstance(started, w.Run):
        return started
    p, access = started
    try:
        exact = engine.execute(p.compiled)
        table = release_table(p.compiled, exact, p.dp, access.room.k_min)
    except Exception as err:
        log.exception("run %s failed after execution started", run_id)
        with store.transaction() as cur:
            if rec.run_status(cur, run_id) is not None:
                rec.fail_run(cur, run_id, FAILED)
            record(cur, actor, "run.failed", room_id=room_id, resource_type="run",
                   resource_id=run_id, outcome="error", reason=FAILED)
        if isinstance(err, TimedOut):  # stays charged, like any failure; says how to fix it
            raise TimedOut(err.message, run_id=run_id) from None
        raise InvalidInput(FAILED, run_id=run_id) from None
    return _finish(store, actor, room_id, run_id, p, access, table)


def _finish(store: Store, actor: Actor, room_id: str, run_id: str, p: Prepared,
            access: RoomAccess, table: Any) -> w.Run:
    """Step 3: keep the released table, unless an unlink dropped the run meanwhile."""
    metadata = {
        "question_version": p.question_version,
        "dp": p.dp is not None,
        "epsilon_spent": display(p.epsilon, up=True),
        "delta_spent": display(p.delta, up=True),
        "k_min": access.room.k_min,
        # a count of suppressed rows is an exact statistic: released only without DP (issue 10.5)
        "suppressed_rows": table.suppressed if p.dp is None else None,
        "max_rows": p.compiled.max_rows,
        "max_groups": p.compiled.max_groups,
        "keys_public": p.compiled.key_values is not None,
        "notes": table.notes,
        "datasets": p.datasets_read,
        "parties": p.parties,
    }
    if p.dp is not None:
        metadata["noise"] = {a.name: {"scale": a.noise_scale, "ci95": a.ci_half_width}
                             for a in p.dp.plan.aggregates}
        metadata.update(post_processed(table))
    with store.transaction() as cur:
        still = rec.dataset_sources(cur, room_id, p.datasets_read)
        if rec.run_status(cur, run_id) is None or len(still) != len(p.sources):
            if rec.run_status(cur, run_id) is not None:
                rec.delete_run(cur, run_id)
            record(cur, actor, "run.dropped", room_id=room_id, resource_type="run",
                   resource_id=run_id, outcome="error", reason=DROPPED)
            dropped = True
        else:
            stored = json.loads(rec.manifest_json(cur, run_id) or "{}")
            rec.finish_run(cur, run_id, result={"columns": table.columns, "rows": table.rows},
                           metadata=metadata, manifest=stored)
            record(cur, actor, "run.completed", room_id=room_id, resource_type="run",
                   resource_id=run_id, reason="differential privacy" if p.dp else
                   "EXACT aggregates: differential privacy is off in this room",
                   detail={"question_id": p.question_id, "epsilon": str(p.epsilon),
                           "delta": str(p.delta), "receivers": p.receivers, "parties": p.parties,
                           "suppressed_rows": table.suppressed if p.dp is None else None,
                           "dp": p.dp is not None})
            dropped = False
            out = _load_run(cur, room_id, run_id)
    if dropped:
        raise Conflict(DROPPED, run_id=run_id)
    return _run_out(out)


def drop_derived_runs(cur: Any, room_id: str, dataset_id: str) -> int:
    """Runs that read an unlinked dataset go with it, running ones included (their charges stay)."""
    found = rec.runs_reading(cur, room_id, dataset_id)
    for run_id in found:
        rec.delete_run(cur, run_id)
    return len(found)


def _load_run(cur: Any, room_id: str, run_id: str) -> rec.RunRecord:
    run = rec.run(cur, room_id, run_id)
    if run is None:
        raise NotFound(f"no run {run_id} in this room")
    return run


def _run_out(run: rec.RunRecord) -> w.Run:
    return w.Run(
        id=run.id, room_id=run.room_id, question_id=run.question_id,
        question_version=run.question_version, question_name=run.question_name,
        org_id=run.org_id, user_id=run.user_id, receivers=list(run.receivers),
        parameters=json.loads(run.parameters), dp=run.mode == "dp",
        epsilon=display(Fraction(run.epsilon), up=True),
        delta=display(Fraction(run.delta), up=True), k_min=run.k_min, status=run.status,
        error=run.error, metadata=json.loads(run.metadata) if run.metadata else {},
        created_at=str(run.created_at),
        # to the minute: a finer finish time would time the engine's read (issue 10.5)
        finished_at=str(run.finished_at.replace(second=0, microsecond=0))
        if run.finished_at else None,
        parties=list(run.parties or []), fingerprint=run.fingerprint,
    )


def get_run(store: Store, actor: Actor, room_id: str, run_id: str) -> w.Run:
    """A run's status and metadata (its org, its receivers and the parties whose data it read)."""
    room_id, run_id = parse_uuid(room_id, "room"), parse_uuid(run_id, "run")
    with store.reader() as cur:
        ensure_allowed(cur, actor, "run.read", room_id=room_id, resource_type="run",
                       resource_id=run_id)
        return _run_out(_load_run(cur, room_id, run_id))


def list_runs(store: Store, actor: Actor, room_id: str, question_id: str | None = None
              ) -> list[w.Run]:
    """Runs the caller's org started or receives, and every run over its data; newest first."""
    room_id = parse_uuid(room_id, "room")
    with store.reader() as cur:
        ensure_allowed(cur, actor, "run.list", room_id=room_id, resource_type="run")
        return [_run_out(r) for r in rec.runs_seen_by(cur, room_id, actor.org_id, question_id)]


def get_result(store: Store, actor: Actor, room_id: str, run_id: str) -> w.RunResult:
    """The released table: receivers with View Reports only; every read is audited."""
    room_id, run_id = parse_uuid(room_id, "room"), parse_uuid(run_id, "run")
    with store.reader() as cur:
        ensure_allowed(cur, actor, "run.result", room_id=room_id, resource_type="run",
                       resource_id=run_id)
        run = _load_run(cur, room_id, run_id)
        if run.status != "succeeded":
            raise Conflict(f"the run has no result: it is {run.status}"
                           + (f" ({run.error})" if run.error else ""))
        data = json.loads(rec.result_json(cur, run_id) or "{}")
    return w.RunResult(run_id=run_id, columns=data["columns"], rows=data["rows"],
                       dp=run.mode == "dp",
                       metadata=json.loads(run.metadata) if run.metadata else {})


def get_manifest(store: Store, actor: Actor, room_id: str, run_id: str) -> wr.Manifest:
    """A run's manifest: enough to re-plan it and to check what it read."""
    room_id, run_id = parse_uuid(room_id, "room"), parse_uuid(run_id, "run")
    with store.reader() as cur:
        ensure_allowed(cur, actor, "run.manifest", room_id=room_id, resource_type="run",
                       resource_id=run_id)
        _load_run(cur, room_id, run_id)
        stored = rec.manifest_json(cur, run_id)
    if stored is None:
        raise NotFound(f"run {run_id} predates manifests; runs made since have one")
    return wr.Manifest(**json.loads(stored))


def delete_run(store: Store, actor: Actor, room_id: str, run_id: str) -> None:
    """Delete a run and its stored result; the budget it spent stays spent."""
    room_id, run_id = parse_uuid(room_id, "room"), parse_uuid(run_id, "run")
    with store.transaction() as cur:
        ensure_allowed(cur, actor, "run.delete", room_id=room_id, resource_type="run",
                       resource_id=run_id)
        _load_run(cur, room_id, run_id)
        rec.delete_run(cur, run_id)

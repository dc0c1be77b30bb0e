"""Publishing synthetic twins, reading their status, and running drafts on them.

A twin copies one provisioned dataset's shape with differential privacy (the method is in
:mod:`workbench.twins.model`). Publishing is charged once, to the dataset's own organisation, in
the room, before the data is read, and never refunded. Drafts on twins read only synthetic rows,
so they spend nothing; they are never stored, and nothing that takes a run (dashboards,
schedules, flows, audiences) can take one.

Identities: a twin never holds a real digest. Its identity column holds SHA-256 digests of
"workbench-twin:<room>:<kind>:match:<i>" for the first ``round(match_rate * rows)`` rows and of
"workbench-twin:<twin>:own:<i>" for the others, so two parties' twins of the same identity kind
join on min(their matched rows): the join rate is the one each owner declared (for instance the
rate the room's DP match rates released), or 0.5 marked "assumed". No other party's data is
read, which is why the owner's budget alone pays.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import secrets
from fractions import Fraction
from typing import Any

import numpy as np
import pyarrow as pa

from workbench.contract.consent import effective_k_min
from workbench.data import _records as data_rec
from workbench.data import provisioning
from workbench.data.external import verify_unchanged
from workbench.engine import execute
from workbench.errors import Conflict, InvalidInput, NotFound
from workbench.governance.audit import record
from workbench.governance.model import Actor
from workbench.governance.policy import ensure_allowed_in_room
from workbench.ids import new_id, parse_uuid
from workbench.privacy import Aggregate, ReleasePlan, plan_release, release, to_fraction
from workbench.questions.compile import Compiled, compile_question
from workbench.questions.operations import room_bindings, spec_from_draft
from workbench.runs import budgets
from workbench.store import Store
from workbench.twins import _records as rec
from workbench.twins import model as m
from workbench.wire import twins as w

#: the join rate of a twin whose owner declared none
ASSUMED_MATCH_RATE = 0.5
#: most rows a caller may look at in one call
MAX_SHOWN = 10_000
METHOD = ("one row per person; noisy counts (OpenDP discrete Laplace, scale = marginals / "
          "epsilon) of the number of people and of every one- and two-way marginal over public "
          "domains; rows drawn from a Chow-Liu tree of the noisy two-way marginals")


def plan_twin(models: tuple[m.ColumnModel, ...], epsilon: Fraction) -> ReleasePlan:
    """The release of a twin's measurements: one vector of every marginal's cells, where each
    person is in one cell of each marginal (L1 sensitivity: the number of marginals)."""
    cells = 1 + sum(c.cells for c in models) + sum(models[a].cells * models[b].cells
                                                   for a, b in m.pairs(len(models)))
    agg = Aggregate(name="cells", kind="count_distinct", max_groups=m.n_marginals(len(models)))
    return plan_release([agg], epsilon=epsilon, n_groups=cells, keys_public=True)


def _choice(types: dict[str, str], columns: list[str], rules: Any, body: w.TwinPublish) -> m.Choice:
    try:
        return m.choose_columns([(c, types.get(c, "text")) for c in columns], rules,
                                domains=body.domains, bounds=body.bounds, bins=body.bins)
    except ValueError as exc:
        raise InvalidInput(f"cannot model the dataset: {exc}") from None


def synthetic_ids(room_id: str, twin_id: str, kind: str, rows: int, matched: int) -> list[str]:
    """The twin's identities: shared, joinable digests first, then ones only this twin has."""
    shared = (f"workbench-twin:{room_id}:{kind}:match:{i}" for i in range(matched))
    own = (f"workbench-twin:{twin_id}:own:{i}" for i in range(rows - matched))
    return [hashlib.sha256(s.encode()).hexdigest() for gen in (shared, own) for s in gen]


def publish(store: Store, actor: Actor, room_id: str, dataset_id: str, body: w.TwinPublish
            ) -> w.Twin:
    """Publish (or republish) the synthetic twin of one's own provisioned dataset."""
    room_id, dataset_id = parse_uuid(room_id, "room"), parse_uuid(dataset_id, "dataset")
    eps = to_fraction(body.epsilon, name="epsilon")
    if eps <= 0:
        raise InvalidInput("epsilon must be above 0, e.g. \"1\"")
    rate = ASSUMED_MATCH_RATE if body.match_rate is None else float(body.match_rate)
    rate_source = "assumed" if body.match_rate is None else "declared"
    twin_id, charge_id = new_id(), new_id()
    with store.transaction() as cur:
        ds = data_rec.dataset(cur, room_id, dataset_id)
        access = ensure_allowed_in_room(
            cur, actor, "twin.publish", room_id=room_id, resource_type="dataset",
            resource_id=dataset_id, resource_org_id=ds.org_id if ds else None,
            detail={"twin_id": twin_id, "epsilon": body.epsilon})
        if ds is None:
            raise NotFound(f"no dataset {dataset_id!r} in this room")
        room = access.room
        if not room.dp_enabled:
            raise InvalidInput("a synthetic twin is a differentially private release; this room "
                               "has differential privacy off, so it has no twins")
        resolved = provisioning.resolve(cur, room_id, dataset_id)
        if resolved.rules.identity is None:
            raise InvalidInput("the dataset has no identity column to bound each person by")
        choice = _choice(resolved.types, list(ds.columns), resolved.rules, body)
        plan = plan_twin(choice.columns, eps)
        budgets.check_epsilon(cur, room, eps)
        sources = budgets.sources_of(cur, room_id, [dataset_id])
        # read through the store's DuckDB: data only Spark reads, or changed, is refused uncharged
        verify_unchanged(store, cur, [s.connection_id for s in sources], None)
        hashes = budgets.charge(cur, room, [ds.org_id], sources, charge_id, plan.budget,
                                actor.user_id)
        rec.insert_twin(cur, twin_id=twin_id, room_id=room_id, dataset_id=dataset_id,
                        org_id=ds.org_id, epsilon=str(plan.epsilon), delta=str(plan.delta),
                        charge_id=charge_id, match_rate=rate, match_rate_source=rate_source,
                        created_by=actor.user_id)
        record(cur, actor, "twin.charged", room_id=room_id, resource_type="twin",
               resource_id=twin_id, resource_org_id=ds.org_id,
               detail={"dataset_id": dataset_id, "charge_id": charge_id,
                       "epsilon": str(plan.epsilon), "delta": str(plan.delta),
                       "ledger_entry": hashes.get(ds.org_id)})
        conn = data_rec.connection(cur, ds.org_id, ds.connection_id)
        kind = conn.identity_kind if conn is not None else "unknown"
    try:
        return _build(store, actor, twin_id, room_id, dataset_id, resolved, choice, plan,
                      kind, rate)
    except Exception:
        with store.transaction() as cur:
            rec.mark_failed(cur, twin_id)
        raise


def _build(store: Store, actor: Actor, twin_id: str, room_id: str, dataset_id: str,
           resolved: provisioning.ResolvedDataset, choice: m.Choice, plan: ReleasePlan,
           kind: str, rate: float) -> w.Twin:
    """Read once (already paid for), release, sample, write the twin."""
    models = choice.columns
    identity = resolved.rules.identity
    assert identity is not None
    with store.reader() as cur:
        people = rec.person_cells(cur, resolved.view, identity, models)
    cells = np.array(people, dtype=np.int64).reshape(len(people), len(models))
    noisy = release(plan, {"cells": m.exact_vector(cells, models)})["cells"]
    marginals = m.split_vector(noisy, models)
    tree = m.chow_liu(marginals, len(models))
    rows = int(min(max(round(marginals.total), 0), m.MAX_ROWS))
    rng = np.random.default_rng(secrets.randbits(128))
    drawn = m.sample_cells(marginals, models, tree, rows, rng)
    data: dict[str, list[Any]] = {
        identity: synthetic_ids(room_id, twin_id, kind, rows, int(round(rate * rows)))}
    for j, col in enumerate(models):
        data[col.name] = m.values_of(drawn[:, j], col, rng)
    scale = plan.aggregate("cells").noise_scale
    model_json = json.dumps({
        "columns": [c.to_dict() for c in models], "skipped": choice.skipped,
        "tree": [[models[a].name, models[b].name] for a, b in tree],
        "marginals": m.n_marginals(len(models)), "noise_scale": scale,
        "noisy": [round(float(x), 3) for x in noisy]})
    table = rec.new_table_name()
    with store.transaction() as cur:
        if data_rec.dataset(cur, room_id, dataset_id) is None:
            raise Conflict("the dataset was unlinked while its twin was being built; nothing "
                           "was written (the budget stays spent)")
        written = rec.create_twin_table(cur, table, resolved.view, pa.table(data))
        for old in rec.twins_of(cur, room_id, dataset_id):
            if old.id != twin_id:
                rec.drop_twin(cur, old)
        rec.mark_ready(cur, twin_id, table, written, model_json)
        record(cur, actor, "twin.published", room_id=room_id, resource_type="twin",
               resource_id=twin_id, resource_org_id=actor.org_id,
               detail={"dataset_id": dataset_id, "rows": written,
                       "columns": [c.name for c in models]})
        found = rec.twin(cur, room_id, twin_id)
    assert found is not None
    return _out(found)


def _out(t: rec.TwinRecord) -> w.Twin:
    model = json.loads(t.model) if t.model else {}
    columns = [m.ColumnModel.from_dict(c) for c in model.get("columns", [])]
    scale = float(model.get("noise_scale", 0.0))
    return w.Twin(
        id=t.id, room_id=t.room_id, dataset_id=t.dataset_id, org_id=t.org_id, status=t.status,
        epsilon=t.epsilon, delta=t.delta, rows=t.rows,
        columns=[w.TwinColumn(name=c.name, type=c.type, source=c.source, cells=c.labels())
                 for c in columns],
        not_modelled=model.get("skipped", {}), tree=model.get("tree", []),
        marginals=int(model.get("marginals", 0)), noise_scale=scale,
        expected_cell_error=round(scale / t.rows, 6) if t.rows else None,
        match_rate=t.match_rate, match_rate_source=t.match_rate_source, method=METHOD,
        created_at=t.created_at)


def list_twins(store: Store, actor: Actor, room_id: str) -> list[w.Twin]:
    """The room's twins (every participant may see their status and cost)."""
    room_id = parse_uuid(room_id, "room")
    with store.reader() as cur:
        ensure_allowed_in_room(cur, actor, "twin.read", room_id=room_id, resource_type="twin")
        return [_out(t) for t in rec.twins_in(cur, room_id)]


def get_twin(store: Store, actor: Actor, room_id: str, twin_id: str) -> w.Twin:
    """One twin's status, modelled columns and expected error."""
    room_id, twin_id = parse_uuid(room_id, "room"), parse_uuid(twin_id, "twin")
    with store.reader() as cur:
        found = rec.twin(cur, room_id, twin_id)
        ensure_allowed_in_room(cur, actor, "twin.read", room_id=room_id, resource_type="twin",
                               resource_id=twin_id,
                               resource_org_id=found.org_id if found else None)
        if found is None:
            raise NotFound(f"no twin {twin_id!r} in this room")
        return _out(found)


def twin_rows(store: Store, actor: Actor, room_id: str, twin_id: str, limit: int = 100
              ) -> w.TwinRows:
    """The first rows of a twin (synthetic values only), to see its shape."""
    room_id, twin_id = parse_uuid(room_id, "room"), parse_uuid(twin_id, "twin")
    if isinstance(limit, bool) or not 1 <= limit <= MAX_SHOWN:
        raise InvalidInput(f"limit must be between 1 and {MAX_SHOWN}")
    with store.reader() as cur:
        found = rec.twin(cur, room_id, twin_id)
        ensure_allowed_in_room(cur, actor, "twin.read", room_id=room_id, resource_type="twin",
                               resource_id=twin_id,
                               resource_org_id=found.org_id if found else None,
                               detail={"read": "rows"})
        if found is None:
            raise NotFound(f"no twin {twin_id!r} in this room")
        if found.table_name is None:
            raise Conflict(f"the twin is {found.status}; it has no rows")
        columns, rows = rec.twin_rows(cur, found.table_name, limit)
    return w.TwinRows(twin_id=twin_id, columns=columns, rows=[list(r) for r in rows])


def delete_twin(store: Store, actor: Actor, room_id: str, twin_id: str) -> None:
    """Withdraw one's own twin; its budget stays spent."""
    room_id, twin_id = parse_uuid(room_id, "room"), parse_uuid(twin_id, "twin")
    with store.transaction() as cur:
        found = rec.twin(cur, room_id, twin_id)
        ensure_allowed_in_room(cur, actor, "twin.delete", room_id=room_id, resource_type="twin",
                               resource_id=twin_id,
                               resource_org_id=found.org_id if found else None)
        if found is None:
            raise NotFound(f"no twin {twin_id!r} in this room")
        rec.drop_twin(cur, found)


def drop_twins_of_unlinked_data(cur: Any, room_id: str, dataset_id: str) -> int:
    """Unlink hook: a dataset's twins (tables and records) leave with it."""
    found = rec.twins_of(cur, room_id, dataset_id)
    for t in found:
        rec.drop_twin(cur, t)
    return len(found)


# --- drafts on twins ---------------------------------------------------------------------------------
def run_draft(store: Store, actor: Actor, room_id: str, body: w.TwinDraftRun) -> w.TwinResult:
    """Run a draft on the twins of the datasets it reads: free, labelled, never stored."""
    room_id = parse_uuid(room_id, "room")
    with store.reader() as cur:
        access = ensure_allowed_in_room(cur, actor, "twin.draft", room_id=room_id,
                                        resource_type="question",
                                        detail={"draft": body.draft.name, "synthetic": True})
        spec = spec_from_draft(body.draft, actor.org_id)
        if spec.kind != "analytical":
            raise InvalidInput("drafts on twins are analytical questions; a user list's ids "
                               "would be synthetic and useless")
        bindings = room_bindings(cur, room_id, tuple(spec.fields))
        missing = sorted(set(spec.fields) - set(bindings))
        if missing:
            raise InvalidInput("the draft reads dataset macros the room has not mapped yet: "
                               + ", ".join(f"@{x}" for x in missing))
        swapped, used = {}, {}
        for macro, binding in bindings.items():
            assert binding.dataset_id is not None
            found = rec.ready_twin_of(cur, room_id, binding.dataset_id)
            if found is None or found.table_name is None:
                raise Conflict(f"the dataset behind @{macro} has no synthetic twin yet; its "
                               "owner can publish one (publish_twin), then try again",
                               dataset_id=binding.dataset_id)
            swapped[macro] = dataclasses.replace(binding, view=f"twin.{found.table_name}")
            used[binding.dataset_id] = found.id
        compiled = compile_question(spec, swapped, body.parameters, mode="dp")
        exact = execute(cur, compiled)
        k_min = effective_k_min(cur, access.room, list(used))
    columns, rows, suppressed = _table(compiled, exact.keys, exact.vectors, exact.units, k_min)
    return w.TwinResult(
        draft_id=new_id(), room_id=room_id, question=spec.name, twins=used, columns=columns,
        rows=rows, suppressed=suppressed,
        notes=["exact aggregates of synthetic rows: no noise is added (the twins are already a "
               "DP release) and nothing is charged; a real run adds noise and reads the real "
               "data, so its figures will differ",
               f"groups under the room's crowd size ({k_min}) are left out, as a run would"])


def _table(compiled: Compiled, keys: list[tuple[Any, ...]], vectors: dict[str, list[Any]],
           units: list[int], k_min: int) -> tuple[list[str], list[list[Any]], int]:
    """The compiled question's output columns from its exact vectors (fixed-point sums
    divided back), with groups under the crowd size left out."""
    columns = list(compiled.columns)
    rows: list[list[Any]] = []
    suppressed = 0
    for i, key in enumerate(keys):
        if k_min > 1 and units[i] < k_min:
            suppressed += 1
            continue
        by_name: dict[str, Any] = dict(zip(compiled.keys, key, strict=True))
        for agg in compiled.aggregates:
            first = vectors[agg.ratio_vectors[0] if agg.kind == "avg" else agg.vectors[0]][i] or 0
            if agg.kind in ("count", "count_distinct"):
                by_name[agg.name] = int(first)
            elif agg.kind == "sum":
                by_name[agg.name] = round(first / agg.scale, 6)
            else:
                count = vectors[agg.ratio_vectors[1]][i] or 0
                by_name[agg.name] = round(first / agg.scale / count, 6) if count else None
        rows.append([by_name[c] for c in columns])
    for name, desc in reversed(compiled.order):
        col = columns.index(name)
        rows.sort(key=lambda r: _sort_key(r[col]), reverse=desc)
    return columns, rows, suppressed


def _sort_key(value: Any) -> tuple[bool, bool, Any]:
    """Nulls last, numbers before text, each kind compared within itself."""
    if value is None:
        return (True, False, 0)
    if isinstance(value, int | float):
        return (False, False, value)
    return (False, True, str(value))

"""From exact vectors to the released table: noise (OpenDP), key selection and k-min.

Pure functions over what the compiler and the engine produced; the ledger is charged by the
caller before :func:`release_table` runs, and nothing here touches the store.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from fractions import Fraction
from typing import Any

from workbench.engine import ExactResult
from workbench.privacy import (Aggregate, ReleasePlan, aggregate_kind, plan_release,
                               release_keys, release_with_intervals, suppress)
from workbench.questions.compile import Compiled
from workbench.runs.exact import NOTE as EXACT_NOTE

CROWD = "crowd_size"
INTERVAL_METHOD = ("95% intervals: counts and sums plus or minus OpenDP's discrete Laplace "
                   "accuracy for the noise scale; averages by Fieller's inversion of the exact "
                   "law of noisy sum minus ratio times noisy count, within the clamping bounds")


@dataclass(frozen=True, kw_only=True)
class DPPlan:
    """The privacy plan of one compiled question."""

    plan: ReleasePlan
    #: the aggregate whose noisy values the crowd-size rule reads
    crowd: str | None
    #: True when ``crowd`` is a hidden extra measurement (not an output)
    crowd_hidden: bool


@dataclass(frozen=True, kw_only=True)
class Table:
    """A released table and what the release did."""

    columns: list[str]
    rows: list[list[Any]]
    #: rows removed by the crowd-size rule (the count only, never which)
    suppressed: int
    #: notes for the metadata
    notes: list[str] = field(default_factory=list)
    #: DP only: per aggregate column, each row's 95% interval [low, high] (rows in table order)
    intervals: dict[str, list[list[float]]] = field(default_factory=dict)
    #: DP with public keys only: per count or sum column, the total over the released rows
    #: (the sum of the released parts: post-processing, free and consistent)
    totals: dict[str, float] = field(default_factory=dict)


def aggregates_for(compiled: Compiled, k_min: int) -> tuple[list[Aggregate], str | None, bool]:
    """Privacy specs of the outputs, plus a hidden distinct-unit count when k-min needs one."""
    aggs = [Aggregate(name=a.name, kind=aggregate_kind(a.kind), lower=a.lower, upper=a.upper,
                      scale=a.scale, max_rows=compiled.max_rows, max_groups=compiled.max_groups,
                      sum_of=a.sum_of, count_of=a.count_of)
            for a in compiled.aggregates]
    if k_min <= 1:
        return aggs, None, False
    for a in aggs:
        if a.kind == "count_distinct":
            return aggs, a.name, False
    name = CROWD
    names = {a.name for a in aggs}
    while name in names:
        name += "_"
    aggs.append(Aggregate(name=name, kind="count_distinct", max_rows=compiled.max_rows,
                          max_groups=compiled.max_groups))
    return aggs, name, True


def plan_dp(compiled: Compiled, k_min: int, epsilon: Fraction, delta: Fraction) -> DPPlan:
    """Plan the noise (no data read): public keys spend no delta, private keys need some."""
    aggs, crowd, hidden = aggregates_for(compiled, k_min)
    keys = compiled.key_values
    public = keys is not None
    plan = plan_release(aggs, epsilon=epsilon, delta=0 if public else delta,
                        n_groups=len(keys) if keys is not None else 0, keys_public=public)
    return DPPlan(plan=plan, crowd=crowd, crowd_hidden=hidden)


def _vectors(compiled: Compiled, exact: ExactResult, dp: DPPlan, index: list[int]
             ) -> dict[str, list[int]]:
    out = {name: [int(values[i]) for i in index] for name, values in exact.vectors.items()}
    if dp.crowd_hidden and dp.crowd is not None:
        out[dp.crowd] = [int(exact.units[i]) for i in index]
    return out


def release_table(compiled: Compiled, exact: ExactResult, dp: DPPlan | None, k_min: int
                  ) -> Table:
    """Noise (DP) or exact values (DP off), keys, crowd-size suppression and ordering."""
    notes: list[str] = []
    index = list(range(len(exact.keys)))
    if dp is None:
        values = {name: list(v) for name, v in exact.vectors.items()}
        released = _exact_outputs(compiled, values)
        crowd = [float(u) for u in exact.units]
        notes.append(EXACT_NOTE)
    else:
        if compiled.key_values is None:
            counts = {tuple(exact.keys[i]): int(exact.units[i]) for i in index}
            kept = set(release_keys(dp.plan, counts))
            index = [i for i in index if tuple(exact.keys[i]) in kept]
            index.sort(key=lambda i: _sortable(exact.keys[i]))
            notes.append("group keys come from the data and were released by OpenDP's noisy "
                         "threshold")
        released, intervals = release_with_intervals(dp.plan, _vectors(compiled, exact, dp, index))
        crowd = released[dp.crowd] if dp.crowd is not None else [float("inf")] * len(index)
    hidden = suppress(crowd, k_min) if k_min > 1 else [False] * len(index)
    columns = list(compiled.columns)
    rows: list[list[Any]] = []
    shown_at: list[int] = []
    for pos, i in enumerate(index):
        if hidden[pos]:
            continue
        by_name: dict[str, Any] = dict(zip(compiled.keys, exact.keys[i], strict=True))
        for agg in compiled.aggregates:
            by_name[agg.name] = _present(agg.kind, released[agg.name][pos])
        rows.append([by_name[c] for c in columns])
        shown_at.append(pos)
    order = list(range(len(rows)))
    for name, desc in reversed(compiled.order):
        col = columns.index(name)
        order.sort(key=lambda j: _sortable((rows[j][col],)), reverse=desc)
    rows = [rows[j] for j in order]
    if dp is None:
        return Table(columns=columns, rows=rows, suppressed=sum(hidden), notes=notes)
    shown = [shown_at[j] for j in order]
    return Table(columns=columns, rows=rows, suppressed=sum(hidden), notes=notes,
                 intervals={a.name: [[round(lo, 6), round(hi, 6)] for lo, hi in
                                     (intervals[a.name][pos] for pos in shown)]
                            for a in compiled.aggregates},
                 totals=_totals(compiled, columns, rows))


def _totals(compiled: Compiled, columns: list[str], rows: list[list[Any]]) -> dict[str, float]:
    """Totals over public keys, as the sums of the released parts (so they always agree)."""
    if compiled.key_values is None or not compiled.keys:
        return {}
    out: dict[str, float] = {}
    for agg in compiled.aggregates:
        if agg.kind in ("count", "count_distinct", "sum"):
            col = columns.index(agg.name)
            out[agg.name] = round(sum(float(r[col]) for r in rows), 6)
    return out


def post_processed(table: Table) -> dict[str, Any]:
    """Metadata derived from the released values alone: intervals per row and consistent totals."""
    out: dict[str, Any] = {"intervals": table.intervals,
                           "interval_method": INTERVAL_METHOD}
    if table.totals:
        out["totals"] = table.totals
    return out


def _exact_outputs(compiled: Compiled, values: dict[str, list[Any]]) -> dict[str, list[Any]]:
    return {a.name: values[a.name] for a in compiled.aggregates}


def _present(kind: str, value: Any) -> Any:
    if value is None:
        return None
    if kind in ("count", "count_distinct"):
        return int(round(float(value)))
    return round(float(value), 6)


def _sortable(key: tuple[Any, ...]) -> tuple[Any, ...]:
    return tuple((v is None, str(type(v).__name__), v if v is not None else 0) for v in key)

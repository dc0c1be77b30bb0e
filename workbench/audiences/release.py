"""What audiences release and how they pay: DP counts through workbench.privacy, charged to
every data party's ledger through the runs ledger (the one ledger; never a parallel one).

Every audience release is a vector of distinct-person counts, or of sums of per-block fractions
(a lookalike's curve). A charge is committed before the
data is read and never refunded, so neither a refusal nor a failure can be used to look again
for free.
"""

from __future__ import annotations

import importlib.metadata
from dataclasses import dataclass
from fractions import Fraction
from typing import Any

from workbench.data.external import verify_unchanged
from workbench.data.templates import readiness
from workbench.errors import Conflict
from workbench.governance.model import Room
from workbench.privacy import Aggregate, Budget, plan_release, release, to_fraction
from workbench.runs import budgets
from workbench.store import Store

LIBRARIES = ("duckdb", "opendp", "scikit-learn", "sqlglot")


@dataclass(frozen=True, kw_only=True)
class Counts:
    """Released counts and how they were released."""

    #: one released value per exact count (exact when DP is off in the room)
    values: list[int]
    #: half-width of the 95% interval of each value (0 when exact)
    ci95: float
    #: what was spent per party
    epsilon: Fraction
    dp: bool


def epsilon_of(value: Any) -> Fraction:
    """A caller's epsilon as an exact positive Fraction."""
    return to_fraction(value, name="epsilon")


def charge(store: Store, cur: Any, room: Room, parties: list[str], dataset_ids: list[str],
           charge_id: str, epsilon: Fraction, user_id: str) -> None:
    """Spend ``epsilon`` on every party's ledger and every read connection's cap, through the
    runs' ledger (BudgetExceeded when one cannot pay; the room's epsilon bounds apply).

    Committed in the caller's transaction before the data is read, and never refunded. Nothing
    is spent when DP is off in the room. First, as before a run: audiences read through the
    store's DuckDB, so data only Spark reads, or external data changed since it was registered,
    is refused here with nothing charged (never read as empty after the charge).
    """
    sources = budgets.sources_of(cur, room.id, dataset_ids)
    verify_unchanged(store, cur, [s.connection_id for s in sources], None)
    if not room.dp_enabled or not parties:
        return
    budgets.check_epsilon(cur, room, epsilon)
    amount = Budget(epsilon=epsilon, delta=Fraction(0))
    budgets.charge(cur, room, sorted(set(parties)), sources, charge_id, amount, user_id)


def check_active(cur: Any, room: Room) -> None:
    """Audience releases, like runs, need an active room: a party still mapping its data has not
    finished choosing its protections (rules, k-min floors, activation consent)."""
    ready = readiness(cur, room.id)
    if not ready.ready:
        raise Conflict("the room is still a draft: cohorts, lookalikes and match rates start once "
                       "every party has mapped its datasets; still missing: "
                       + "; ".join(ready.missing), missing=list(ready.missing))


def release_counts(room: Room, exact: list[int], epsilon: Fraction, *, per_person: int) -> Counts:
    """Noisy distinct-person counts; ``per_person``: how many of them one person can change."""
    if not room.dp_enabled:
        return Counts(values=list(exact), ci95=0.0, epsilon=Fraction(0), dp=False)
    agg = Aggregate(name="n", kind="count_distinct", max_groups=max(1, per_person))
    plan = plan_release([agg], epsilon=epsilon, n_groups=len(exact), keys_public=True)
    noisy = release(plan, {"n": exact})["n"]
    ci = plan.aggregate("n").ci_half_width or 0.0
    return Counts(values=[max(0, int(round(v))) for v in noisy], ci95=float(ci), epsilon=epsilon,
                  dp=True)


@dataclass(frozen=True, kw_only=True)
class Sums:
    """Released sums of bounded fractions and how they were released."""

    #: one released value per exact sum, in real units (exact when DP is off in the room)
    values: list[float]
    #: half-width of the 95% interval of each value, in real units (0 when exact)
    ci95: float
    epsilon: Fraction
    dp: bool


def release_sums(room: Room, exact: list[int], epsilon: Fraction, *, unit: int) -> Sums:
    """Noisy sums of fractions in [0, 1], given in fixed point (``unit`` per 1), where one person
    moves every entry by at most ``unit`` (all of them at once: L1 ``len(exact) * unit``)."""
    if not room.dp_enabled:
        return Sums(values=[v / unit for v in exact], ci95=0.0, epsilon=Fraction(0), dp=False)
    agg = Aggregate(name="s", kind="sum", lower=0, upper=1, scale=unit,
                    max_groups=max(1, len(exact)))
    plan = plan_release([agg], epsilon=epsilon, n_groups=len(exact), keys_public=True)
    noisy = release(plan, {"s": exact})["s"]
    return Sums(values=[float(v) for v in noisy],
                ci95=float(plan.aggregate("s").ci_half_width or 0.0), epsilon=epsilon, dp=True)


def library_versions() -> dict[str, str]:
    """Versions of the libraries a release depends on, for manifests."""
    out = {}
    for name in LIBRARIES:
        try:
            out[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            out[name] = "absent"
    return out

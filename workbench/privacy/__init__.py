"""Differential privacy for the clean room: the only package that imports OpenDP.

Pure functions, no store and no SQL. The engine bounds contributions and aggregates exactly;
this package plans the noise and its cost (``plan_release``), adds it (``release``), selects
data-dependent group keys (``release_keys``), applies crowd-size suppression (``suppress``) and
does the exact budget arithmetic of the ledger (``Budget``, ``remaining``, ``check_spend``).

Map: budget (exact budget amounts and arithmetic; no OpenDP, so parsing an amount never loads
it), _sensitivity (the one sensitivity derivation), _plan (budget split, accuracy), _targets (the
smallest epsilon that meets accuracy targets), _release (mechanisms), _intervals (intervals of
released ratios), _opendp (the single OpenDP import). The names of _plan and _release load on first
use: importing this package for a budget amount does not pay for OpenDP.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

from workbench.privacy._sensitivity import l1_sensitivity, unit_bound
from workbench.privacy.budget import (
    Budget,
    LedgerEntry,
    check_spend,
    display,
    remaining,
    spent,
    to_fraction,
)

if TYPE_CHECKING:
    from workbench.privacy._plan import (
        Aggregate,
        AggregatePlan,
        KeyPlan,
        NoisePlan,
        ReleasePlan,
        accuracy,
        aggregate_kind,
        avg_ci_half_width,
        plan_release,
    )
    from workbench.privacy._release import release, release_keys, release_with_intervals, suppress
    from workbench.privacy._targets import TargetSolution, parse_target, solve_targets

#: names whose modules import OpenDP, loaded when first asked for
_WITH_OPENDP = {
    **dict.fromkeys(("Aggregate", "AggregatePlan", "KeyPlan", "NoisePlan", "ReleasePlan",
                     "accuracy", "aggregate_kind", "avg_ci_half_width", "plan_release"),
                    "workbench.privacy._plan"),
    **dict.fromkeys(("release", "release_keys", "release_with_intervals", "suppress"),
                    "workbench.privacy._release"),
    **dict.fromkeys(("TargetSolution", "parse_target", "solve_targets"), "workbench.privacy._targets"),
}


def __getattr__(name: str) -> Any:
    module = _WITH_OPENDP.get(name)
    if module is None:
        raise AttributeError(f"module 'workbench.privacy' has no attribute {name!r}")
    value = getattr(import_module(module), name)
    globals()[name] = value
    return value


__all__ = [
    "Aggregate",
    "AggregatePlan",
    "Budget",
    "KeyPlan",
    "LedgerEntry",
    "NoisePlan",
    "ReleasePlan",
    "TargetSolution",
    "accuracy",
    "aggregate_kind",
    "avg_ci_half_width",
    "check_spend",
    "display",
    "l1_sensitivity",
    "parse_target",
    "plan_release",
    "release",
    "release_keys",
    "release_with_intervals",
    "remaining",
    "solve_targets",
    "spent",
    "suppress",
    "to_fraction",
    "unit_bound",
]

"""Differential privacy for the clean room: the only package that imports OpenDP.

Pure functions, no store and no SQL. The engine bounds contributions and aggregates exactly;
this package plans the noise and its cost (``plan_release``), adds it (``release``), selects
data-dependent group keys (``release_keys``), applies crowd-size suppression (``suppress``) and
does the exact budget arithmetic of the ledger (``Budget``, ``remaining``, ``check_spend``).

Map: _sensitivity (the one sensitivity derivation), _plan (budget split, accuracy), _release
(mechanisms), _ledger (exact budget arithmetic), _opendp (the single OpenDP import).
"""

from workbench.privacy._ledger import (
    Budget,
    LedgerEntry,
    check_spend,
    display,
    remaining,
    spent,
    to_fraction,
)
from workbench.privacy._plan import (
    Aggregate,
    AggregatePlan,
    KeyPlan,
    NoisePlan,
    ReleasePlan,
    accuracy,
    avg_ci_half_width,
    plan_release,
)
from workbench.privacy._release import release, release_keys, suppress
from workbench.privacy._sensitivity import l1_sensitivity, unit_bound

__all__ = [
    "Aggregate",
    "AggregatePlan",
    "Budget",
    "KeyPlan",
    "LedgerEntry",
    "NoisePlan",
    "ReleasePlan",
    "accuracy",
    "avg_ci_half_width",
    "check_spend",
    "display",
    "l1_sensitivity",
    "plan_release",
    "release",
    "release_keys",
    "remaining",
    "spent",
    "suppress",
    "to_fraction",
    "unit_bound",
]

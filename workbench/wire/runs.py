"""Wire models of party budgets, connection caps, epsilon bounds and run manifests.

Plans, runs and results keep their models in :mod:`workbench.wire.questions` (their first home).
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field, StrictInt, StrictStr

from workbench.wire.questions import In

Amount = StrictStr | float | StrictInt


class BudgetSet(In):
    """A party's budget in a room, absolute. Lowering is for the party (or the owner); raising
    is for the party itself."""

    org_id: StrictStr
    epsilon: Amount
    delta: Amount | None = None


class EpsilonBounds(In):
    """The room's bounds on epsilon per run (max None: each charged party's budget)."""

    min_epsilon: Amount = "0.01"
    max_epsilon: Amount | None = None


class EpsilonBoundsOut(BaseModel):
    room_id: str
    min_epsilon: str
    #: None: no maximum of the room's own; each charged party's budget limits a run
    max_epsilon: str | None


class ConnectionCap(In):
    """A data connection's lifetime cap across every room that reads it (epsilon None: no cap)."""

    epsilon: Amount | None = None
    delta: Amount = "0"


class ConnectionBudget(BaseModel):
    connection_id: str
    #: None when the connection has no cap
    epsilon_cap: str | None
    delta_cap: str | None
    epsilon_spent: str
    delta_spent: str


class Manifest(BaseModel):
    """Everything needed to reproduce a run's plan and to check what it read."""

    run_id: str
    room_id: str
    question_id: str
    question_version: int
    #: sha256 of the question's SQL text
    question_digest: str
    parameters: dict[str, Any]
    epsilon: str
    delta: str
    k_min: int
    #: per dataset: party, rule version, connection and its content digest
    datasets: list[dict[str, Any]]
    #: per released vector: mechanism, noise scale, epsilon, sensitivity
    noise: list[dict[str, Any]]
    parties: list[str]
    engine: str
    versions: dict[str, str]
    fingerprint: str
    #: the hashes of the run's ledger entries (one per party), when the ledger is chained
    ledger_hashes: dict[str, str] = Field(default_factory=dict)
    #: the accuracy targets the run was planned by (None: planned by epsilon); re-planning
    #: with them gives the same per-vector split
    targets: dict[str, Any] | None = None

"""The former per-receiver ledger's entry points, kept for callers not yet moved to
:mod:`workbench.runs.budgets` (the one ledger per room and protected party).

``reserve`` now charges for good (charges are never refunded), so ``settle`` has nothing left to
do. New code calls ``budgets.figures`` and ``budgets.charge``.
"""

from __future__ import annotations

from typing import Any

from workbench.governance.model import Room
from workbench.privacy.budget import Budget
from workbench.runs import budgets


def figures(cur: Any, room: Room, org_id: str) -> tuple[Budget, Budget, Budget]:
    """(total, spent, left) of one party: see budgets.figures."""
    f = budgets.figures(cur, room, org_id)
    return f.total, f.spent, f.left


def reserve(cur: Any, room: Room, org_ids: list[str], charge_id: str, amount: Budget,
            actor_user_id: str) -> None:
    """Charge every party for good (BudgetExceeded when one cannot pay): see budgets.charge."""
    budgets.charge(cur, room, org_ids, [], charge_id, amount, actor_user_id)


def settle(cur: Any, room_id: str, charge_id: str, state: str, actor_user_id: str | None) -> None:
    """Nothing to do: charges are committed when made and never refunded."""

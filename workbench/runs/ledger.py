"""The privacy budget ledger in the store: per room, per receiving organisation, append-only.

Figures are exact Fractions stored as strings. ``reserve`` checks and appends in the caller's
write transaction; the store serialises write transactions, so two runs can never both fit
into the same remaining budget.
"""

from __future__ import annotations

from fractions import Fraction
from typing import Any

from workbench.contract.verification import chain_ledger_entry
from workbench.governance.model import Room
from workbench.privacy import Budget, LedgerEntry, check_spend, remaining, spent


def total(cur: Any, room: Room, org_id: str) -> Budget:
    """The room's budget per party plus every raise the owner granted this org."""
    eps, delta = room.epsilon_budget, room.delta_budget
    for e, d in cur.execute("SELECT epsilon, delta FROM budget_raises WHERE room_id = ?"
                            " AND org_id = ?", [room.id, org_id]).fetchall():
        eps += Fraction(e)
        delta += Fraction(d)
    return Budget(epsilon=eps, delta=delta)


def entries(cur: Any, room_id: str, org_id: str) -> list[LedgerEntry]:
    """Every ledger event of one org in one room, oldest first."""
    rows = cur.execute("SELECT charge_id, state, epsilon, delta FROM budget_ledger"
                       " WHERE room_id = ? AND org_id = ? ORDER BY seq", [room_id, org_id])
    return [LedgerEntry(charge_id=c, state=s, epsilon=Fraction(e), delta=Fraction(d))
            for c, s, e, d in rows.fetchall()]


def figures(cur: Any, room: Room, org_id: str) -> tuple[Budget, Budget, Budget]:
    """(total, spent, left) for one org."""
    t = total(cur, room, org_id)
    es = entries(cur, room.id, org_id)
    return t, spent(es), remaining(t, es)


def _append(cur: Any, room_id: str, org_id: str, charge_id: str, state: str, amount: Budget,
            actor_user_id: str | None) -> None:
    (seq,) = cur.execute(
        "INSERT INTO budget_ledger (seq, room_id, org_id, charge_id, state, epsilon, delta,"
        " actor_user_id) VALUES (nextval('budget_ledger_seq'), ?, ?, ?, ?, ?, ?, ?) RETURNING seq",
        [room_id, org_id, charge_id, state, str(amount.epsilon), str(amount.delta),
         actor_user_id]).fetchone()
    chain_ledger_entry(cur, seq)  # tamper evidence: every entry commits to the one before it


def reserve(cur: Any, room: Room, org_ids: list[str], charge_id: str, amount: Budget,
            actor_user_id: str) -> None:
    """Check every org can pay, then hold the amount for each (BudgetExceeded otherwise)."""
    for org_id in org_ids:
        check_spend(total(cur, room, org_id), entries(cur, room.id, org_id), amount)
    for org_id in org_ids:
        _append(cur, room.id, org_id, charge_id, "reserved", amount, actor_user_id)


def settle(cur: Any, room_id: str, charge_id: str, state: str, actor_user_id: str | None
           ) -> None:
    """Commit (spent for good) or release (refund) every reservation of a charge."""
    rows = cur.execute("SELECT org_id, epsilon, delta FROM budget_ledger WHERE room_id = ?"
                       " AND charge_id = ? AND state = 'reserved'", [room_id, charge_id]).fetchall()
    for org_id, e, d in rows:
        _append(cur, room_id, org_id, charge_id, state,
                Budget(epsilon=Fraction(e), delta=Fraction(d)), actor_user_id)

"""The privacy ledger: one per (room, protected party), plus lifetime caps of data connections.

A run is charged to every party whose data it reads, whoever runs or receives it, and draws on the
cap of every connection behind those datasets (across rooms). The charge is written when execution
starts, in the same serialised write transaction that checks it, so concurrent runs can never
overspend, and it is never refunded.

These functions take the caller's cursor and decide nothing about who may call them: the
operations authorise first (``ensure_allowed``). CONTRACT's proposals call ``set_party_budget``
once every affected party has approved.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from fractions import Fraction
from typing import Any

from workbench.contract.verification import chain_ledger_entry, party_view
from workbench.errors import InvalidInput
from workbench.governance.model import Room
from workbench.privacy.budget import (Budget, LedgerEntry, check_spend, display, ledger_state,
                                      remaining)
from workbench.privacy.budget import spent as spent_of
from workbench.runs import _records as rec

#: the room's smallest epsilon per run unless the owner sets another
DEFAULT_MIN_EPSILON = Fraction(1, 100)


@dataclass(frozen=True, slots=True, kw_only=True)
class Figures:
    """One budget's total, spent and left, exact."""

    total: Budget
    spent: Budget
    left: Budget


@dataclass(frozen=True, slots=True, kw_only=True)
class Source:
    """A data connection a run reads, with the party that owns it."""

    connection_id: str
    name: str
    org_id: str


def _entries(rows: Iterable[rec.LedgerRow]) -> list[LedgerEntry]:
    return [LedgerEntry(charge_id=r.charge_id, state=ledger_state(r.state),
                        epsilon=Fraction(r.epsilon), delta=Fraction(r.delta)) for r in rows]


def _budget(amount: rec.Amount) -> Budget:
    return Budget(epsilon=Fraction(amount.epsilon), delta=Fraction(amount.delta))


def room_default(room: Room) -> Budget:
    """The budget a party has in a room until it sets its own."""
    return Budget(epsilon=room.epsilon_budget, delta=room.delta_budget)


def party_budget(cur: Any, room: Room, org_id: str) -> Budget:
    """A party's budget in a room: its own setting, else the room default (plus any raise the
    owner granted before budgets belonged to parties)."""
    own = rec.party_budget(cur, room.id, org_id)
    if own is not None:
        return _budget(own)
    total = room_default(room)
    for raised in rec.legacy_raises(cur, room.id, org_id):
        total = total + _budget(raised)
    return total


def spent(cur: Any, room_id: str, org_id: str) -> Budget:
    """What a party's ledger in a room holds as spent (every charge, never refunded)."""
    return spent_of(_entries(rec.ledger_rows(cur, room_id, org_id)))


def figures(cur: Any, room: Room, org_id: str) -> Figures:
    """Total, spent and left of one party in one room."""
    entries = _entries(rec.ledger_rows(cur, room.id, org_id))
    total = party_budget(cur, room, org_id)
    return Figures(total=total, spent=spent_of(entries), left=remaining(total, entries))


def sees_figures(viewer_org_id: str, viewer_is_owner: bool, org_id: str) -> bool:
    """Whether a party may see another party's spent and left budget: its own always, any
    party's for the room owner (who lowers budgets and proposes raises). Everyone else sees a
    party's agreed total and, in a plan, only whether its budget covers the run. The budget.read
    policy, plans and the contract's protections all decide with this one function."""
    return viewer_is_owner or viewer_org_id == org_id


def sources_of(cur: Any, room_id: str, dataset_ids: Iterable[str]) -> list[Source]:
    """The connections behind provisioned datasets (each once), for caps."""
    found: dict[str, Source] = {}
    for s in rec.dataset_sources(cur, room_id, dataset_ids):
        found.setdefault(s.connection_id, Source(connection_id=s.connection_id,
                                                 name=s.connection_name, org_id=s.org_id))
    return list(found.values())


def set_party_budget(cur: Any, room_id: str, org_id: str, budget: Budget, user_id: str) -> None:
    """Set a party's budget in a room (a raw setter: the caller has authorised it).

    Refuses a budget below what the party has already spent, and a delta of 1 or more.
    """
    if budget.delta >= 1:
        raise InvalidInput("delta is a probability; a budget's delta must stay below 1")
    used = spent(cur, room_id, org_id)
    if not budget.covers(used):
        raise InvalidInput(
            f"a budget below what is already spent ({used.describe(up=True)}) cannot be set; "
            "set at least that much")
    rec.insert_party_budget(cur, room_id, org_id, budget.epsilon, budget.delta, user_id)


def connection_cap(cur: Any, connection_id: str) -> Budget | None:
    """A connection's lifetime cap across rooms, None when it has none."""
    cap = rec.connection_cap(cur, connection_id)
    if cap is None or cap.epsilon is None:
        return None
    return Budget(epsilon=Fraction(cap.epsilon), delta=Fraction(cap.delta or 0))


def connection_spent(cur: Any, connection_id: str) -> Budget:
    """Everything every room has drawn from a connection."""
    return spent_of(_entries(rec.connection_ledger_rows(cur, connection_id)))


def set_connection_cap(cur: Any, connection_id: str, cap: Budget | None, user_id: str) -> None:
    """Set or lift (None) a connection's cap; refuses a cap below what was already drawn."""
    if cap is not None:
        used = connection_spent(cur, connection_id)
        if not cap.covers(used):
            raise InvalidInput(
                f"a cap below what rooms already drew from this connection "
                f"({used.describe(up=True)}) cannot be set; set at least that much")
    rec.insert_connection_cap(cur, connection_id, None if cap is None else cap.epsilon,
                              None if cap is None else cap.delta, user_id)


def epsilon_bounds(cur: Any, room: Room) -> tuple[Fraction, Fraction | None]:
    """The room's (minimum, maximum) epsilon per run: defaults 0.01 and no maximum of its own
    (then each charged party's budget is the maximum, and the ledger enforces it)."""
    bounds = rec.epsilon_bounds(cur, room.id)
    if bounds is None:
        return DEFAULT_MIN_EPSILON, None
    top = None if bounds.max_epsilon is None else Fraction(bounds.max_epsilon)
    return Fraction(bounds.min_epsilon), top


def set_epsilon_bounds(cur: Any, room_id: str, low: Fraction, high: Fraction | None,
                       user_id: str) -> None:
    """Set the room's bounds on epsilon per run (high None: the room's budget)."""
    if low <= 0:
        raise InvalidInput("the minimum epsilon per run must be above 0, e.g. 0.01")
    if high is not None and high < low:
        raise InvalidInput(f"the maximum epsilon per run ({high}) is below the minimum ({low}); "
                           "raise the maximum or lower the minimum")
    rec.insert_epsilon_bounds(cur, room_id, low, high, user_id)


def check_epsilon(cur: Any, room: Room, epsilon: Fraction) -> None:
    """Refuse an epsilon per run outside the room's bounds, naming them."""
    low, high = epsilon_bounds(cur, room)
    asked = display(epsilon, up=True)
    if epsilon < low:
        raise InvalidInput(f"epsilon {asked} is below this room's minimum per run "
                           f"({display(low, up=True)}); plan with at least that")
    if high is not None and epsilon > high:
        raise InvalidInput(f"epsilon {asked} is above this room's maximum per run "
                           f"({display(high, up=False)}); plan with at most that")


def check_fits(cur: Any, room: Room, parties: Sequence[str], sources: Sequence[Source],
               amount: Budget, names: dict[str, str] | None = None) -> None:
    """Refuse (BudgetExceeded) unless every party's ledger and every connection cap can pay."""
    names = names or {}
    for org_id in parties:
        whose = names.get(org_id, org_id)
        check_spend(party_budget(cur, room, org_id), _entries(rec.ledger_rows(cur, room.id, org_id)),
                    amount, whose=whose,
                    fix=f"{whose} may raise its own budget, or plan with a smaller")
    for source in sources:
        cap = connection_cap(cur, source.connection_id)
        if cap is None:
            continue
        check_spend(cap, _entries(rec.connection_ledger_rows(cur, source.connection_id)), amount,
                    whose=f"data connection {source.name} (its lifetime cap across rooms)",
                    fix="its owner may raise the connection's cap, or plan with a smaller")


def _chain_earlier_entries(cur: Any, room_id: str) -> None:
    """Chain, in order, ledger rows written before the room's chain began (stores migrated from
    before hash chains): otherwise the first chained charge would leave them looking added."""
    _, chained = party_view(cur, room_id, "")
    if chained:
        return
    for seq in rec.ledger_seqs(cur, room_id):
        chain_ledger_entry(cur, seq)


def charge(cur: Any, room: Room, parties: Sequence[str], sources: Sequence[Source],
           charge_id: str, amount: Budget, user_id: str,
           names: dict[str, str] | None = None) -> dict[str, str]:
    """Check, then charge every party and connection for good (one serialised transaction).

    Each party's ledger entry is hash-chained as it is written (tamper evidence: each entry
    commits to the one before it); returns party -> entry hash.
    """
    check_fits(cur, room, parties, sources, amount, names)
    _chain_earlier_entries(cur, room.id)
    hashes = {}
    for org_id in parties:
        seq = rec.append_ledger(cur, room_id=room.id, org_id=org_id, charge_id=charge_id,
                                state="committed", epsilon=amount.epsilon, delta=amount.delta,
                                actor_user_id=user_id)
        hashes[org_id] = chain_ledger_entry(cur, seq)
    for source in sources:
        rec.append_connection_ledger(cur, connection_id=source.connection_id, room_id=room.id,
                                     charge_id=charge_id, state="committed",
                                     epsilon=amount.epsilon, delta=amount.delta)
    return hashes

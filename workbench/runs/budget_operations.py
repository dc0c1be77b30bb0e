"""Budget operations: read a party's budget, raise or lower it, the room's epsilon bounds per
run, and a data connection's lifetime cap.

Who may change what is decided by ``ensure_allowed`` (runs/actions.py): a party raises only its
own budget (the owner's raise of another party's is a proposal, see workbench.contract); a party
lowers its own at any time and the owner may lower any; the owner sets the epsilon bounds; a
connection's org sets its cap. Each operation is one transaction.
"""

from __future__ import annotations

from typing import Any

from workbench.contract.consent import guard_epsilon_bounds
from workbench.errors import InvalidInput, NotFound
from workbench.governance._records import room_orgs
from workbench.governance.model import Actor, RoomAccess
from workbench.governance.policy import ensure_allowed, load_room
from workbench.ids import parse_uuid
from workbench.privacy.budget import Budget, display, to_fraction
from workbench.runs import _records as rec
from workbench.runs import budgets
from workbench.store import Store
from workbench.wire import questions as w
from workbench.wire import runs as wr


def _out(cur: Any, access: RoomAccess, org_id: str) -> w.Budget:
    f = budgets.figures(cur, access.room, org_id)
    return w.Budget(
        room_id=access.room.id, org_id=org_id,
        epsilon_total=display(f.total.epsilon, up=False), delta_total=display(f.total.delta, up=False),
        epsilon_spent=display(f.spent.epsilon, up=True), delta_spent=display(f.spent.delta, up=True),
        epsilon_left=display(f.left.epsilon, up=False), delta_left=display(f.left.delta, up=False),
    )


def _room_access(access: RoomAccess | None) -> RoomAccess:
    if access is None:
        raise RuntimeError("a room action returned no access")
    return access


def get_budget(store: Store, actor: Actor, room_id: str, org_id: str | None = None) -> w.Budget:
    """A party's budget in the room: one's own, or any party's for the owner (audited)."""
    room_id = parse_uuid(room_id, "room")
    target = actor.org_id if org_id is None else parse_uuid(org_id, "organisation")
    with store.reader() as cur:
        access = _room_access(ensure_allowed(
            cur, actor, "budget.read", room_id=room_id, resource_type="budget",
            resource_id=target, resource_org_id=target))
        return _out(cur, access, target)


def _party(cur: Any, room_id: str, org_id: str) -> None:
    """Refuse an org that is not the owner or an accepted partner of the room."""
    if org_id not in {o.org_id for o in room_orgs(cur, room_id, include_owner=True)}:
        raise InvalidInput(f"{org_id} is not an organisation of this room; pick the owner or an "
                           "accepted partner")


def set_budget(store: Store, actor: Actor, room_id: str, body: wr.BudgetSet) -> w.Budget:
    """Set a party's budget (absolute): raising it is the party's own decision only."""
    room_id = parse_uuid(room_id, "room")
    target = parse_uuid(body.org_id, "organisation")
    epsilon = to_fraction(body.epsilon, name="epsilon")
    delta = None if body.delta is None else to_fraction(body.delta, name="delta")
    return _change(store, actor, room_id, target,
                   lambda current: Budget(epsilon=epsilon,
                                          delta=current.delta if delta is None else delta))


def raise_budget(store: Store, actor: Actor, room_id: str, body: w.BudgetRaise) -> w.Budget:
    """Add to a party's budget (the party's own decision): shorthand for set_budget."""
    room_id = parse_uuid(room_id, "room")
    target = parse_uuid(body.org_id, "organisation")
    more = Budget(epsilon=to_fraction(body.epsilon, name="epsilon"),
                  delta=to_fraction(body.delta, name="delta"))
    if more.epsilon == 0 and more.delta == 0:
        raise InvalidInput("raise epsilon, delta or both by more than 0")
    return _change(store, actor, room_id, target, lambda current: current + more)


def _change(store: Store, actor: Actor, room_id: str, target: str, new: Any) -> w.Budget:
    with store.transaction() as cur:
        room = load_room(cur, room_id)  # ensure_allowed decides visibility right after
        current = budgets.party_budget(cur, room, target) if room is not None else None
        wanted: Budget | None = new(current) if current is not None else None
        raising = current is not None and wanted is not None and not current.covers(wanted)
        access = _room_access(ensure_allowed(
            cur, actor, "budget.raise" if raising else "budget.lower", room_id=room_id,
            resource_type="budget", resource_id=target, resource_org_id=target,
            detail={"epsilon": str(wanted.epsilon), "delta": str(wanted.delta)} if wanted else None))
        _party(cur, room_id, target)
        if wanted is None:
            raise NotFound(f"no room {room_id}")
        budgets.set_party_budget(cur, room_id, target, wanted, actor.user_id)
        return _out(cur, access, target)


def _bounds_out(cur: Any, access: RoomAccess) -> wr.EpsilonBoundsOut:
    low, high = budgets.epsilon_bounds(cur, access.room)
    return wr.EpsilonBoundsOut(room_id=access.room.id, min_epsilon=display(low, up=True),
                               max_epsilon=None if high is None else display(high, up=False))


def get_epsilon_bounds(store: Store, actor: Actor, room_id: str) -> wr.EpsilonBoundsOut:
    """The room's minimum and maximum epsilon per run (any participant)."""
    room_id = parse_uuid(room_id, "room")
    with store.reader() as cur:
        access = _room_access(ensure_allowed(cur, actor, "budget.read", room_id=room_id,
                                             resource_type="room", resource_id=None))
        return _bounds_out(cur, access)


def set_epsilon_bounds(store: Store, actor: Actor, room_id: str, body: wr.EpsilonBounds
                       ) -> wr.EpsilonBoundsOut:
    """Owner: set the room's minimum and maximum epsilon per run."""
    room_id = parse_uuid(room_id, "room")
    low = to_fraction(body.min_epsilon, name="min_epsilon")
    high = None if body.max_epsilon is None else to_fraction(body.max_epsilon, name="max_epsilon")
    with store.transaction() as cur:
        access = _room_access(ensure_allowed(
            cur, actor, "budget.bounds", room_id=room_id, resource_type="room",
            resource_id=room_id, detail={"min_epsilon": str(low), "max_epsilon": str(high)}))
        guard_epsilon_bounds(cur, actor, access.room, high)  # raising the cap needs consent
        budgets.set_epsilon_bounds(cur, room_id, low, high, actor.user_id)
        return _bounds_out(cur, access)


def _cap_out(cur: Any, connection_id: str) -> wr.ConnectionBudget:
    cap = budgets.connection_cap(cur, connection_id)
    used = budgets.connection_spent(cur, connection_id)
    return wr.ConnectionBudget(
        connection_id=connection_id,
        epsilon_cap=None if cap is None else display(cap.epsilon, up=False),
        delta_cap=None if cap is None else display(cap.delta, up=False),
        epsilon_spent=display(used.epsilon, up=True), delta_spent=display(used.delta, up=True))


def _own_connection(cur: Any, actor: Actor, connection_id: str) -> str:
    connection_id = parse_uuid(connection_id, "data connection")
    if rec.connection_owner(cur, connection_id) != actor.org_id:
        raise NotFound(f"no data connection {connection_id} of your organisation")
    return connection_id


def get_connection_cap(store: Store, actor: Actor, connection_id: str) -> wr.ConnectionBudget:
    """A connection's cap and what every room has drawn from it (its own org only)."""
    with store.reader() as cur:
        ensure_allowed(cur, actor, "connection.cap", resource_type="connection",
                       resource_id=str(connection_id), resource_org_id=actor.org_id,
                       detail={"read": True})
        return _cap_out(cur, _own_connection(cur, actor, connection_id))


def set_connection_cap(store: Store, actor: Actor, connection_id: str, body: wr.ConnectionCap
                       ) -> wr.ConnectionBudget:
    """Set (or lift, epsilon None) one's own connection's lifetime cap across rooms."""
    cap = None
    if body.epsilon is not None:
        cap = Budget(epsilon=to_fraction(body.epsilon, name="epsilon"),
                     delta=to_fraction(body.delta, name="delta"))
    with store.transaction() as cur:
        ensure_allowed(cur, actor, "connection.cap", resource_type="connection",
                       resource_id=str(connection_id), resource_org_id=actor.org_id,
                       detail={"epsilon": None if cap is None else str(cap.epsilon),
                               "delta": None if cap is None else str(cap.delta)})
        connection_id = _own_connection(cur, actor, connection_id)
        budgets.set_connection_cap(cur, connection_id, cap, actor.user_id)
        return _cap_out(cur, connection_id)

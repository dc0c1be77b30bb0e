"""The one place that decides who may do what.

Every operation calls :func:`ensure_allowed` exactly once. The decision and its reason go to the
audit log, denials included (durable before the refusal is sent, and kept when the caller's
transaction rolls back; see :mod:`workbench.governance.audit`). A room the actor's org cannot
see answers NotFound, never Forbidden.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from fractions import Fraction
from typing import Any

from workbench.errors import Conflict, NotFound, PermissionDenied, RoomExpired, WorkbenchError
from workbench.governance import _records
from workbench.governance import actions as registry
from workbench.governance.audit import record
from workbench.governance.model import Actor, Room, RoomAccess
from workbench.governance.permissions import (
    ENTITLEMENTS,
    ENTITLEMENT_ROLES,
    LABELS,
    OrgRight,
    Permission,
    PARTNER_DEFAULTS,
    feature_enabled,
    owner_available,
)


@dataclass(frozen=True)
class Decision:
    """An answer with the reason that goes to the audit log."""

    allowed: bool
    reason: str
    access: RoomAccess | None = None
    #: the error class to raise when not allowed
    error: type[WorkbenchError] = PermissionDenied


def room_from_record(record: _records.RoomRecord) -> Room:
    """The policy's view of a stored room (budgets as exact fractions)."""
    return Room(
        id=record.id, name=record.name, description=record.description,
        owner_org_id=record.owner_org_id, start_date=record.start_date, end_date=record.end_date,
        k_min=record.k_min, dp_enabled=record.dp_enabled,
        epsilon_budget=Fraction(record.epsilon_budget), delta_budget=Fraction(record.delta_budget),
        intelligence=record.intelligence, flows=record.flows,
    )


def load_room(cur: Any, room_id: str) -> Room | None:
    """The room with this id, whoever may see it (callers must decide visibility)."""
    record = _records.room(cur, str(room_id))
    return room_from_record(record) if record else None


def available_permissions(cur: Any, room: Room, org_id: str) -> frozenset[Permission]:
    """What an org may use in a room: everything for the owner, the owner's choice for partners."""
    if org_id == room.owner_org_id:
        return owner_available(intelligence=room.intelligence, flows=room.flows)
    stored = _records.partner_permissions(cur, room.id, org_id)
    return feature_enabled(
        frozenset(Permission(p) for p in stored), intelligence=room.intelligence, flows=room.flows
    )


def default_partner_permissions() -> frozenset[Permission]:
    """What a newly invited partner may use until the owner changes it."""
    return PARTNER_DEFAULTS


def role_permissions(kind: str, stored: list[str], available: frozenset[Permission]) -> frozenset[Permission]:
    """A role's effective permissions: Administrator is everything available; others are capped."""
    if kind == "administrator":
        return available
    return frozenset(Permission(p) for p in stored) & available


def room_access(cur: Any, actor: Actor, room_id: str, today: dt.date | None = None) -> RoomAccess | None:
    """The actor's standing in a room, or None when the room is not visible to their org."""
    room = load_room(cur, room_id)
    if room is None:
        return None
    if room.owner_org_id == actor.org_id:
        status = "owner"
    else:
        partner = _records.partner_status(cur, room.id, actor.org_id)
        if partner not in _records.ACTIVE_PARTNER:
            return None
        status = str(partner)
    available = available_permissions(cur, room, actor.org_id) if status != "invited" else frozenset()
    held: frozenset[Permission] = frozenset()
    if status != "invited":
        membership = _records.member(cur, room.id, actor.user_id)
        if membership is not None:
            role = _records.role(cur, membership.role_id)
            if role is not None:
                held = role_permissions(role.kind, role.permissions, available)
    return RoomAccess(
        room=room, is_owner=status == "owner", org_status=status, permissions=held,
        available=available, expired=room.expired(today),
    )


def has_org_right(actor: Actor, right: OrgRight) -> bool:
    """Org admins hold every org right; others hold what their org roles bundle."""
    return actor.is_org_admin or right.value in actor.org_rights


def decide(
    cur: Any,
    actor: Actor,
    action_name: str,
    *,
    room_id: str | None = None,
    resource_id: str | None = None,
    today: dt.date | None = None,
) -> Decision:
    """Whether ``actor`` may do ``action_name`` (in ``room_id``), and why."""
    action = registry.get(action_name)
    if action.scope == "org":
        if action.org_right is not None and not has_org_right(actor, action.org_right):
            return Decision(False, f"needs the org right {action.org_right.value}")
        return Decision(True, "org right held" if action.org_right else "any user of the org")

    if room_id is None:
        raise RuntimeError(f"room action {action_name} needs a room id")
    return decide_in_room(cur, actor, action, room_access(cur, actor, room_id, today), resource_id)


def decide_in_room(
    cur: Any, actor: Actor, action: registry.Action, access: RoomAccess | None, resource_id: str | None = None
) -> Decision:
    """The room part of :func:`decide`, for callers that already hold the actor's access."""
    if access is None:
        return Decision(False, "room not visible to the actor's org", error=NotFound)
    if action.invitee:
        if access.org_status != "invited":
            return Decision(False, "no pending invitation for the actor's org", access, Conflict)
    elif access.org_status == "invited" and action.name != "room.read":
        return Decision(False, "the invitation has not been accepted yet", access)
    if action.owner_only and not access.is_owner:
        return Decision(False, f"{action.name} is for the owner organisation only", access)
    if action.permission is not None and action.permission not in access.permissions:
        label = LABELS[action.permission]
        return Decision(False, f"the actor's role lacks the permission {label}", access)
    entitlement = ENTITLEMENTS.get(action.permission) if action.permission is not None else None
    if action.permission is not None and entitlement is not None and not has_org_right(actor, entitlement):
        return Decision(False, f"{LABELS[action.permission]} also needs the org right {entitlement.value} "
                               f"(the org role {ENTITLEMENT_ROLES[entitlement]})", access)
    if action.check is not None:
        reason = action.check(cur, actor, access, resource_id)
        if reason is not None:
            return Decision(False, reason, access)
    if action.writes and access.expired:
        return Decision(False, f"the room ended on {access.room.end_date}", access, RoomExpired)
    why = f"holds {LABELS[action.permission]}" if action.permission else "participant of the room"
    return Decision(True, why, access)


def ensure_allowed(
    cur: Any,
    actor: Actor,
    action_name: str,
    *,
    room_id: str | None = None,
    resource_type: str | None = None,
    resource_id: str | None = None,
    resource_org_id: str | None = None,
    detail: dict[str, Any] | None = None,
) -> RoomAccess | None:
    """Decide, audit the decision, and raise the matching error when it is a no."""
    decision = decide(cur, actor, action_name, room_id=room_id, resource_id=resource_id)
    owner = resource_org_id
    if owner is None and decision.access is not None:
        owner = decision.access.room.owner_org_id
    if owner is None and room_id is None:
        owner = actor.org_id
    event: dict[str, Any] = dict(
        room_id=room_id if decision.error is not NotFound else None,
        resource_type=resource_type, resource_id=resource_id,
        resource_org_id=owner if decision.error is not NotFound else None,
        reason=decision.reason, detail=detail,
    )
    if decision.allowed:
        record(cur, actor, action_name, outcome="allowed", **event)
        return decision.access
    record(cur, actor, action_name, outcome="denied", **event)
    if decision.error is NotFound:
        raise NotFound(f"no room {room_id} (or it is not shared with your organisation)")
    if decision.error is RoomExpired and decision.access is not None:
        raise RoomExpired(
            f"the room is read-only since its end date {decision.access.room.end_date}; "
            "the owner can extend the end date to reactivate it",
            room_id=room_id,
        )
    raise decision.error(f"not allowed: {decision.reason}", action=action_name)


def ensure_allowed_in_room(
    cur: Any,
    actor: Actor,
    action_name: str,
    *,
    room_id: str,
    resource_type: str | None = None,
    resource_id: str | None = None,
    resource_org_id: str | None = None,
    detail: dict[str, Any] | None = None,
) -> RoomAccess:
    """:func:`ensure_allowed` for a room action: the answer is the actor's access, never None."""
    access = ensure_allowed(cur, actor, action_name, room_id=room_id, resource_type=resource_type,
                            resource_id=resource_id, resource_org_id=resource_org_id, detail=detail)
    if access is None:
        raise RuntimeError(f"{action_name} is an org action; call ensure_allowed for it")
    return access

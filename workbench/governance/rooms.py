"""Clean rooms: create, list, read and change them, and ask the policy about an action.

Each operation is one transaction: authorise (one call to ensure_allowed), validate, act.
"""

from __future__ import annotations

import datetime as dt
from fractions import Fraction
from typing import Any

from workbench.errors import Conflict, InvalidInput
from workbench.governance import _records as rec
from workbench.governance import actions as registry
from workbench.governance.audit import record
from workbench.governance.inputs import budget_text, required_name
from workbench.governance.model import Actor, RoomAccess, utc_today
from workbench.governance.permissions import FLOWS, INTELLIGENCE, VIEWER_ROLE
from workbench.governance.policy import (
    available_permissions,
    decide,
    decide_in_room,
    ensure_allowed,
    room_access,
)
from workbench.ids import new_id, parse_uuid
from workbench.store import Store
from workbench.wire import governance as w


def room_status(cur: Any, access: RoomAccess) -> str:
    """expired, scheduled (before the start date), draft (template fields unmapped) or active."""
    if access.expired:
        return "expired"
    if access.room.not_started():
        return "scheduled"
    # readiness belongs to the datasets package, which itself builds on governance
    from workbench.data.templates import is_ready

    return "active" if is_ready(cur, access.room.id) else "draft"


def room_out(cur: Any, actor: Actor, access: RoomAccess | None) -> w.Room:
    """The wire form of a room as the actor sees it (partners' details only to the owner)."""
    if access is None:
        raise RuntimeError("room_out needs the actor's access, decided by the policy")
    room = access.room
    names = rec.org_names(cur, [room.owner_org_id])
    partners = []
    if access.org_status != "invited":
        # the owner sees every invitation with its state and date; partners see who takes part
        statuses = rec.PARTNER_STATES if access.is_owner else rec.ACTIVE_PARTNER
        for p in rec.room_orgs(cur, room.id, statuses=statuses):
            active = p.status in rec.ACTIVE_PARTNER
            if active and (access.is_owner or p.org_id == actor.org_id):
                avail = sorted(x.value for x in available_permissions(cur, room, p.org_id))
            else:
                avail = []
            partners.append(w.Partner(
                org_id=p.org_id, org_name=p.org_name, status=p.status, available_permissions=avail,
                invited_at=p.invited_at.isoformat() if p.invited_at else None,
                responded_at=p.responded_at.isoformat() if p.responded_at else None))
    abilities = {
        a.name: decide_in_room(cur, actor, a, access).allowed
        for a in registry.all_actions()
        if a.scope == "room" and a.check is None
    }
    return w.Room(
        id=room.id, name=room.name, description=room.description, owner_org_id=room.owner_org_id,
        owner_org_name=names.get(room.owner_org_id, ""), start_date=room.start_date, end_date=room.end_date,
        status=room_status(cur, access), k_min=room.k_min, dp_enabled=room.dp_enabled,
        epsilon_budget=str(room.epsilon_budget), delta_budget=str(room.delta_budget),
        intelligence=room.intelligence, flows=room.flows, my_org_status=access.org_status,
        my_permissions=sorted(p.value for p in access.permissions),
        available_permissions=sorted(p.value for p in access.available),
        abilities=abilities, partners=partners,
    )


#: the name of a partner org's administrator role, as the seeds call it
PARTNER_ADMINISTRATOR = "Partner Administrator"


def create_org_roles(cur: Any, room_id: str, org_id: str, *, admin_name: str = "Administrator") -> str:
    """Every org in a room starts with an administrator role (Administrator for the owner, Partner
    Administrator for partners) and Viewer; returns the administrator role's id."""
    admin_id = new_id()
    rec.insert_role(cur, role_id=admin_id, room_id=room_id, org_id=org_id, name=admin_name,
                    kind="administrator", permissions=[])
    rec.insert_role(cur, role_id=new_id(), room_id=room_id, org_id=org_id, name="Viewer", kind="viewer",
                    permissions=[p.value for p in VIEWER_ROLE])
    return admin_id


def _check_dates(start: dt.date, end: dt.date | None) -> None:
    if end is not None and end < start:
        raise InvalidInput(f"the end date {end} is before the start date {start}; "
                           "pick an end date on or after the start date")


def create_room(store: Store, actor: Actor, body: w.RoomCreate) -> w.Room:
    """A new room owned by the caller's org; the caller becomes its Administrator."""
    with store.transaction() as cur:
        room_id = create_room_in(cur, actor, body)
        return room_out(cur, actor, room_access(cur, actor, room_id))


def create_room_in(cur: Any, actor: Actor, body: w.RoomCreate) -> str:
    """Create a room inside the caller's transaction (template import adds its questions to it)."""
    name = required_name(body.name, "room")
    today = utc_today()
    start = body.start_date or today
    _check_dates(start, body.end_date)
    if body.end_date is not None and body.end_date < today:
        raise InvalidInput(f"the end date {body.end_date} has passed (today is {today} in UTC); a new room "
                           "cannot start expired: pick an end date from today on, or none")
    eps = budget_text(body.epsilon_budget, "epsilon_budget")
    delta = budget_text(body.delta_budget, "delta_budget")
    if Fraction(delta) >= 1:
        raise InvalidInput("delta_budget must be below 1 (use a tiny value such as 1e-6)")
    room_id = new_id()  # named in the audit event, so the room's creation can be found by its id
    ensure_allowed(cur, actor, "room.create", resource_type="room", resource_id=room_id,
                   detail={"name": name, "dp_enabled": body.dp_enabled})
    if rec.room_name_taken(cur, actor.org_id, name):
        raise Conflict(f"your organisation already has a room named {name!r}")
    rec.insert_room(cur, rec.RoomRecord(
        id=room_id, name=name, description=body.description, owner_org_id=actor.org_id,
        start_date=start, end_date=body.end_date, k_min=body.k_min, dp_enabled=body.dp_enabled,
        epsilon_budget=eps, delta_budget=delta, intelligence=body.intelligence, flows=body.flows,
    ))
    admin_role = create_org_roles(cur, room_id, actor.org_id)
    rec.put_member(cur, room_id, actor.user_id, admin_role)
    if not body.dp_enabled:
        record(cur, actor, "room.dp_disabled", room_id=room_id, resource_type="room",
               resource_id=room_id, resource_org_id=actor.org_id,
               reason="owner created the room with differential privacy off")
    return room_id


def list_rooms(store: Store, actor: Actor) -> list[w.Room]:
    """Rooms the caller's org owns or is invited to or a partner in."""
    with store.reader() as cur:
        ensure_allowed(cur, actor, "room.list", resource_type="room")
        out = [room_out(cur, actor, room_access(cur, actor, i)) for i in rec.visible_room_ids(cur, actor.org_id)]
    return sorted(out, key=lambda r: r.name.lower())


def get_room(store: Store, actor: Actor, room_id: str) -> w.Room:
    """One room, with the caller's permissions and abilities."""
    room_id = parse_uuid(room_id, "room")
    with store.reader() as cur:
        access = ensure_allowed(cur, actor, "room.read", room_id=room_id, resource_type="room", resource_id=room_id)
        return room_out(cur, actor, access)


def update_room(store: Store, actor: Actor, room_id: str, body: w.RoomUpdate) -> w.Room:
    """Change settings; moving the end date into the future reactivates an expired room."""
    room_id = parse_uuid(room_id, "room")
    changes = body.model_dump(exclude_unset=True)
    with store.transaction() as cur:
        access = ensure_allowed(cur, actor, "room.update", room_id=room_id, resource_type="room",
                                resource_id=room_id, detail={k: str(v) for k, v in changes.items()})
        if access is None:
            raise RuntimeError("room.update is a room action; the policy returns the access")
        room = access.room
        start = body.start_date or room.start_date
        end = None if body.clear_end_date else (body.end_date or room.end_date)
        _check_dates(start, end)
        from workbench.contract.consent import guard_room_update  # contract builds on governance

        guard_room_update(cur, actor, room, changes)  # weakening others' protection needs consent
        values: dict[str, Any] = {"start_date": start, "end_date": end}
        if body.name is not None:
            name = required_name(body.name, "room")
            if rec.room_name_taken(cur, actor.org_id, name, other_than=room_id):
                raise Conflict(f"your organisation already has a room named {name!r}")
            values["name"] = name
        for key in ("description", "k_min", "dp_enabled", "intelligence", "flows"):
            if getattr(body, key) is not None:
                values[key] = getattr(body, key)
        if body.epsilon_budget is not None:
            values["epsilon_budget"] = budget_text(body.epsilon_budget, "epsilon_budget")
        if body.delta_budget is not None:
            values["delta_budget"] = budget_text(body.delta_budget, "delta_budget")
        rec.update_room(cur, room_id, values)
        if body.dp_enabled is False and room.dp_enabled:
            record(cur, actor, "room.dp_disabled", room_id=room_id, resource_type="room",
                   resource_id=room_id, resource_org_id=actor.org_id,
                   reason="owner switched differential privacy off")
        gone = (INTELLIGENCE if body.intelligence is False else frozenset()) | (
            FLOWS if body.flows is False else frozenset())
        if gone:
            rec.drop_permissions_everywhere(cur, room_id, sorted(p.value for p in gone))
        return room_out(cur, actor, room_access(cur, actor, room_id))


def check(store: Store, actor: Actor, room_id: str, action: str, resource_id: str | None = None) -> dict[str, Any]:
    """Ask the policy about one action without doing it (consoles use this to show controls)."""
    room_id = parse_uuid(room_id, "room")
    try:
        registry.get(action)
    except RuntimeError:
        raise InvalidInput(f"unknown action {action!r}") from None
    with store.reader() as cur:
        ensure_allowed(cur, actor, "room.read", room_id=room_id, resource_type="room", resource_id=room_id)
        d = decide(cur, actor, action, room_id=room_id, resource_id=resource_id)
    return {"action": action, "allowed": d.allowed, "reason": d.reason}

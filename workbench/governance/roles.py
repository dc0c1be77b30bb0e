"""Room roles (sets of clean-room permissions) and members (a user with one role in a room).

Each operation is one transaction: authorise (one call to ensure_allowed), validate, act.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from workbench.errors import Conflict, InvalidInput, NotFound
from workbench.governance import _records as rec
from workbench.governance.inputs import required_name
from workbench.governance.model import Actor, RoomAccess
from workbench.governance.permissions import Permission, parse_permissions
from workbench.governance.policy import available_permissions, ensure_allowed, role_permissions
from workbench.ids import new_id, parse_uuid
from workbench.store import Store
from workbench.wire import governance as w


def _access(access: RoomAccess | None) -> RoomAccess:
    if access is None:
        raise RuntimeError("room actions return the actor's access from the policy")
    return access


def role_out(role: rec.RoleRecord, available: frozenset[Permission]) -> w.Role:
    """The wire form of a role, with its effective permissions."""
    effective = role_permissions(role.kind, list(role.permissions), available)
    return w.Role(id=role.id, room_id=role.room_id, org_id=role.org_id, name=role.name, kind=role.kind,
                  editable=role.kind != "administrator", permissions=sorted(p.value for p in effective))


@dataclass(frozen=True, slots=True, kw_only=True)
class Target:
    """Whose roles an operation touches: the caller's org, or (Partner Management) a partner's."""

    org_id: str
    #: permissions available to that org in the room (its roles are capped by them)
    available: frozenset[Permission]
    #: the caller acts on another org's roles
    for_partner: bool

    @property
    def whose(self) -> str:
        """How messages name the org."""
        return "that partner organisation" if self.for_partner else "your organisation"


def _target(cur: Any, actor: Actor, room_id: str, org_id: str | None, own_action: str, *,
            resource_type: str, resource_id: str | None = None, detail: dict[str, Any] | None = None) -> Target:
    """Authorise an operation on the caller's org's roles (``own_action``) or, with Partner
    Management, on a partner's (audited for the partner, so it sees the change)."""
    target = parse_uuid(org_id, "organisation") if org_id is not None else actor.org_id
    if target == actor.org_id:
        access = _access(ensure_allowed(cur, actor, own_action, room_id=room_id, resource_type=resource_type,
                                        resource_id=resource_id, detail=detail))
        return Target(org_id=actor.org_id, available=access.available, for_partner=False)
    partner_action = "partner.directory" if own_action == "room.read" else "partner.roles.manage"
    access = _access(ensure_allowed(cur, actor, partner_action, room_id=room_id, resource_type=resource_type,
                                    resource_id=resource_id, resource_org_id=target,
                                    detail={**(detail or {}), "partner_org_id": target}))
    if rec.partner_status(cur, room_id, target) != "accepted":
        raise NotFound(f"organisation {target} is not an accepted partner of this room")
    return Target(org_id=target, available=available_permissions(cur, access.room, target), for_partner=True)


def list_roles(store: Store, actor: Actor, room_id: str, org_id: str | None = None) -> list[w.Role]:
    """An org's roles in the room with their effective permissions: the caller's own, or with
    Partner Management any partner's."""
    room_id = parse_uuid(room_id, "room")
    with store.reader() as cur:
        target = _target(cur, actor, room_id, org_id, "room.read", resource_type="role")
        return [role_out(r, target.available) for r in rec.roles_of(cur, room_id, target.org_id)]


def _checked_permissions(values: list[str], target: Target) -> frozenset[Permission]:
    wanted = parse_permissions(values)
    missing = sorted(p.value for p in wanted - target.available)
    if missing:
        whose = "that partner" if target.for_partner else "your organisation"
        raise InvalidInput(
            f"these permissions are not available to {whose} in this room: {missing}; "
            "the room owner decides which permissions partners may use"
        )
    return wanted


def create_role(store: Store, actor: Actor, room_id: str, body: w.RoleCreate, org_id: str | None = None) -> w.Role:
    """A custom role limited to the permissions available to its org (the caller's, or a
    partner's under Partner Management)."""
    room_id = parse_uuid(room_id, "room")
    with store.transaction() as cur:
        target = _target(cur, actor, room_id, org_id, "role.manage", resource_type="role",
                         detail={"name": body.name, "permissions": body.permissions})
        name = required_name(body.name, "role")
        perms = _checked_permissions(body.permissions, target)
        if rec.role_name_taken(cur, room_id, target.org_id, name):
            raise Conflict(f"{target.whose} already has a role named {name!r} in this room")
        role_id = new_id()
        rec.insert_role(cur, role_id=role_id, room_id=room_id, org_id=target.org_id, name=name, kind="custom",
                        permissions=[p.value for p in perms])
        return role_out(_org_role(cur, target.org_id, room_id, role_id, target.whose), target.available)


def _org_role(cur: Any, org_id: str, room_id: str, role_id: str, whose: str = "your organisation") -> rec.RoleRecord:
    role_id = parse_uuid(role_id, "role")
    role = rec.role(cur, role_id)
    if role is None or role.room_id != room_id or role.org_id != org_id:
        raise NotFound(f"no role {role_id} of {whose} in this room")
    return role


def update_role(store: Store, actor: Actor, room_id: str, role_id: str, body: w.RoleUpdate,
                org_id: str | None = None) -> w.Role:
    """Rename a role or change its permissions; the administrator role is not editable."""
    room_id = parse_uuid(room_id, "room")
    with store.transaction() as cur:
        target = _target(cur, actor, room_id, org_id, "role.manage", resource_type="role", resource_id=role_id,
                         detail=body.model_dump(exclude_unset=True))
        role = _org_role(cur, target.org_id, room_id, role_id, target.whose)
        if role.kind == "administrator":
            raise InvalidInput(f"the {role.name} role holds every available permission and cannot be edited")
        name = None
        if body.name is not None:
            name = required_name(body.name, "role")
            if rec.role_name_taken(cur, room_id, target.org_id, name, other_than=role.id):
                raise Conflict(f"{target.whose} already has a role named {name!r} in this room")
        perms = None
        if body.permissions is not None:
            perms = [p.value for p in _checked_permissions(body.permissions, target)]
        rec.update_role(cur, role.id, name=name, permissions=perms)
        return role_out(_org_role(cur, target.org_id, room_id, role.id, target.whose), target.available)


def delete_role(store: Store, actor: Actor, room_id: str, role_id: str) -> None:
    """Delete a custom role of the caller's org that nobody holds."""
    room_id = parse_uuid(room_id, "room")
    with store.transaction() as cur:
        ensure_allowed(cur, actor, "role.manage", room_id=room_id, resource_type="role", resource_id=role_id)
        role = _org_role(cur, actor.org_id, room_id, role_id)
        if role.kind != "custom":
            raise InvalidInput(f"the built-in role {role.name} cannot be deleted")
        if rec.role_in_use(cur, role.id):
            raise Conflict(f"users still hold the role {role.name}; give them another role first")
        rec.delete_role(cur, role.id)


# -- members -------------------------------------------------------------------------------------


def member_out(m: rec.MemberRecord, inactive: frozenset[str] = frozenset()) -> w.Member:
    """The wire form of a membership."""
    return w.Member(room_id=m.room_id, user_id=m.user_id, user_name=m.user_name, org_id=m.org_id,
                    role_id=m.role_id, role_name=m.role_name, role_kind=m.role_kind,
                    active=m.user_id not in inactive)


def _members(cur: Any, room_id: str, org_id: str) -> list[w.Member]:
    inactive = frozenset(u.id for u in rec.users_of(cur, org_id) if u.deactivated_at is not None)
    return [member_out(m, inactive) for m in rec.members_of(cur, room_id, org_id)]


def list_members(store: Store, actor: Actor, room_id: str, org_id: str | None = None) -> list[w.Member]:
    """An org's users in the room and their roles: the caller's own, or with Partner Management
    any partner's."""
    room_id = parse_uuid(room_id, "room")
    with store.reader() as cur:
        target = _target(cur, actor, room_id, org_id, "room.read", resource_type="member")
        return _members(cur, room_id, target.org_id)


def directory(store: Store, actor: Actor, room_id: str) -> list[w.RoomOrgDirectory]:
    """Every org of the room (owner first) with its roles and members: Partner Management's view."""
    room_id = parse_uuid(room_id, "room")
    with store.reader() as cur:
        access = _access(ensure_allowed(cur, actor, "partner.directory", room_id=room_id, resource_type="member"))
        out = []
        for o in rec.room_orgs(cur, room_id, statuses=("accepted",), include_owner=True):
            available = available_permissions(cur, access.room, o.org_id)
            out.append(w.RoomOrgDirectory(
                org_id=o.org_id, org_name=o.org_name, status=o.status,
                roles=[role_out(r, available) for r in rec.roles_of(cur, room_id, o.org_id)],
                members=_members(cur, room_id, o.org_id)))
        return out


def _keep_an_admin(cur: Any, room_id: str, org_id: str, user_id: str, new_kind: str | None) -> None:
    """Refuse to leave an org of the room without an active administrator."""
    current = rec.member(cur, room_id, user_id)
    if current is None or current.role_kind != "administrator" or new_kind == "administrator":
        return
    if rec.room_admins(cur, room_id, org_id) == [user_id]:
        raise Conflict(f"{current.user_name} is the last active {current.role_name} of that organisation in "
                       "this room; give another user that role first")


def add_member(store: Store, actor: Actor, room_id: str, body: w.MemberAdd, org_id: str | None = None) -> w.Member:
    """Give a user of the caller's org a role in the room (or change it); with Partner Management,
    change the role of a partner's member."""
    room_id = parse_uuid(room_id, "room")
    with store.transaction() as cur:
        target = _target(cur, actor, room_id, org_id, "member.manage", resource_type="member",
                         resource_id=body.user_id, detail={"role_id": body.role_id})
        user = _org_user(cur, target.org_id, body.user_id, target.whose)
        role = _org_role(cur, target.org_id, room_id, body.role_id, target.whose)
        if target.for_partner and rec.member(cur, room_id, user.id) is None:
            raise NotFound(f"user {user.id} is not in this room; the partner adds its own users")
        _keep_an_admin(cur, room_id, target.org_id, user.id, role.kind)
        rec.put_member(cur, room_id, user.id, role.id)
        found = rec.member(cur, room_id, user.id)
        if found is None:
            raise RuntimeError("a membership written in this transaction cannot be read back")
        return member_out(found)


def _org_user(cur: Any, org_id: str, user_id: str, whose: str = "your organisation") -> rec.UserRecord:
    user_id = parse_uuid(user_id, "user")
    user = rec.user(cur, user_id)
    if user is None or user.org_id != org_id:
        raise NotFound(f"no user {user_id} in {whose}")
    return user


def remove_member(store: Store, actor: Actor, room_id: str, user_id: str) -> None:
    """Take a user of the caller's org out of the room (never its last administrator)."""
    room_id = parse_uuid(room_id, "room")
    with store.transaction() as cur:
        ensure_allowed(cur, actor, "member.manage", room_id=room_id, resource_type="member", resource_id=user_id)
        user = _org_user(cur, actor.org_id, user_id)
        if rec.member(cur, room_id, user.id) is None:
            raise NotFound(f"user {user.id} is not in this room")
        _keep_an_admin(cur, room_id, actor.org_id, user.id, None)
        rec.delete_member(cur, room_id, user.id)

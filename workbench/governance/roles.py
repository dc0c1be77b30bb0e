"""Room roles (sets of clean-room permissions) and members (a user with one role in a room).

Each operation is one transaction: authorise (one call to ensure_allowed), validate, act.
"""

from __future__ import annotations

from typing import Any

from workbench.errors import Conflict, InvalidInput, NotFound
from workbench.governance import _records as rec
from workbench.governance.inputs import required_name
from workbench.governance.model import Actor, RoomAccess
from workbench.governance.orgs import own_user
from workbench.governance.permissions import Permission, parse_permissions
from workbench.governance.policy import ensure_allowed, role_permissions
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


def list_roles(store: Store, actor: Actor, room_id: str) -> list[w.Role]:
    """The caller's org's roles in the room, with their effective permissions."""
    room_id = parse_uuid(room_id, "room")
    with store.reader() as cur:
        access = _access(ensure_allowed(cur, actor, "room.read", room_id=room_id, resource_type="role"))
        return [role_out(r, access.available) for r in rec.roles_of(cur, room_id, actor.org_id)]


def _checked_permissions(values: list[str], access: RoomAccess) -> frozenset[Permission]:
    wanted = parse_permissions(values)
    missing = sorted(p.value for p in wanted - access.available)
    if missing:
        raise InvalidInput(
            f"these permissions are not available to your organisation in this room: {missing}; "
            "the room owner decides which permissions partners may use"
        )
    return wanted


def create_role(store: Store, actor: Actor, room_id: str, body: w.RoleCreate) -> w.Role:
    """A custom role limited to the permissions available to the caller's org."""
    room_id = parse_uuid(room_id, "room")
    with store.transaction() as cur:
        access = _access(ensure_allowed(cur, actor, "role.manage", room_id=room_id, resource_type="role",
                                        detail={"name": body.name, "permissions": body.permissions}))
        name = required_name(body.name, "role")
        perms = _checked_permissions(body.permissions, access)
        if rec.role_name_taken(cur, room_id, actor.org_id, name):
            raise Conflict(f"your organisation already has a role named {name!r} in this room")
        role_id = new_id()
        rec.insert_role(cur, role_id=role_id, room_id=room_id, org_id=actor.org_id, name=name, kind="custom",
                        permissions=[p.value for p in perms])
        return role_out(_own_role(cur, actor, room_id, role_id), access.available)


def _own_role(cur: Any, actor: Actor, room_id: str, role_id: str) -> rec.RoleRecord:
    role_id = parse_uuid(role_id, "role")
    role = rec.role(cur, role_id)
    if role is None or role.room_id != room_id or role.org_id != actor.org_id:
        raise NotFound(f"no role {role_id} of your organisation in this room")
    return role


def update_role(store: Store, actor: Actor, room_id: str, role_id: str, body: w.RoleUpdate) -> w.Role:
    """Rename a role or change its permissions; the Administrator role is not editable."""
    room_id = parse_uuid(room_id, "room")
    with store.transaction() as cur:
        access = _access(ensure_allowed(cur, actor, "role.manage", room_id=room_id, resource_type="role",
                                        resource_id=role_id, detail=body.model_dump(exclude_unset=True)))
        role = _own_role(cur, actor, room_id, role_id)
        if role.kind == "administrator":
            raise InvalidInput("the Administrator role holds every available permission and cannot be edited")
        name = None
        if body.name is not None:
            name = required_name(body.name, "role")
            if rec.role_name_taken(cur, room_id, actor.org_id, name, other_than=role.id):
                raise Conflict(f"your organisation already has a role named {name!r} in this room")
        perms = None
        if body.permissions is not None:
            perms = [p.value for p in _checked_permissions(body.permissions, access)]
        rec.update_role(cur, role.id, name=name, permissions=perms)
        return role_out(_own_role(cur, actor, room_id, role.id), access.available)


def delete_role(store: Store, actor: Actor, room_id: str, role_id: str) -> None:
    """Delete a custom role that nobody holds."""
    room_id = parse_uuid(room_id, "room")
    with store.transaction() as cur:
        ensure_allowed(cur, actor, "role.manage", room_id=room_id, resource_type="role", resource_id=role_id)
        role = _own_role(cur, actor, room_id, role_id)
        if role.kind != "custom":
            raise InvalidInput(f"the built-in role {role.name} cannot be deleted")
        if rec.role_in_use(cur, role.id):
            raise Conflict(f"users still hold the role {role.name}; give them another role first")
        rec.delete_role(cur, role.id)


# -- members -------------------------------------------------------------------------------------


def member_out(m: rec.MemberRecord) -> w.Member:
    """The wire form of a membership."""
    return w.Member(room_id=m.room_id, user_id=m.user_id, user_name=m.user_name, org_id=m.org_id,
                    role_id=m.role_id, role_name=m.role_name)


def list_members(store: Store, actor: Actor, room_id: str) -> list[w.Member]:
    """The caller's org's users in the room and their roles."""
    room_id = parse_uuid(room_id, "room")
    with store.reader() as cur:
        ensure_allowed(cur, actor, "room.read", room_id=room_id, resource_type="member")
        return [member_out(m) for m in rec.members_of(cur, room_id, actor.org_id)]


def add_member(store: Store, actor: Actor, room_id: str, body: w.MemberAdd) -> w.Member:
    """Give a user of the caller's org a role in the room (or change it)."""
    room_id = parse_uuid(room_id, "room")
    with store.transaction() as cur:
        ensure_allowed(cur, actor, "member.manage", room_id=room_id, resource_type="member",
                       resource_id=body.user_id, detail={"role_id": body.role_id})
        user = own_user(cur, actor, body.user_id)
        role = _own_role(cur, actor, room_id, body.role_id)
        rec.put_member(cur, room_id, user.id, role.id)
        found = rec.member(cur, room_id, user.id)
        if found is None:
            raise RuntimeError("a membership written in this transaction cannot be read back")
        return member_out(found)


def remove_member(store: Store, actor: Actor, room_id: str, user_id: str) -> None:
    """Take a user of the caller's org out of the room."""
    room_id = parse_uuid(room_id, "room")
    with store.transaction() as cur:
        ensure_allowed(cur, actor, "member.manage", room_id=room_id, resource_type="member", resource_id=user_id)
        user = own_user(cur, actor, user_id)
        if rec.member(cur, room_id, user.id) is None:
            raise NotFound(f"user {user.id} is not in this room")
        rec.delete_member(cur, room_id, user.id)

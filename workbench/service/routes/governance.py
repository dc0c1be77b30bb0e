"""Routes for organisations, users, tokens, rooms, partners, roles, members and audit."""

from __future__ import annotations

import datetime as dt
from typing import Any

from fastapi import APIRouter, Depends, Query, Response

from workbench.governance import Actor
from workbench.governance import orgs, partners, roles, rooms
from workbench.service.deps import current_actor, get_store
from workbench.store import Store
from workbench.wire import governance as w

router = APIRouter(tags=["governance"])
Who = Depends(current_actor)
Db = Depends(get_store)


@router.get("/me", response_model=w.Whoami)
def whoami(actor: Actor = Who, store: Store = Db) -> w.Whoami:
    return orgs.whoami(store, actor)


@router.post("/orgs", response_model=w.OrgCreated, status_code=201)
def create_org(body: w.OrgCreate, actor: Actor = Who, store: Store = Db) -> w.OrgCreated:
    return orgs.create_org(store, actor, body)


@router.get("/orgs/{org_id}", response_model=w.Org)
def get_org(org_id: str, actor: Actor = Who, store: Store = Db) -> w.Org:
    return orgs.get_org(store, actor, org_id)


@router.get("/org/users", response_model=list[w.User])
def list_users(actor: Actor = Who, store: Store = Db) -> list[w.User]:
    return orgs.list_users(store, actor)


@router.post("/org/users", response_model=w.User, status_code=201)
def create_user(body: w.UserCreate, actor: Actor = Who, store: Store = Db) -> w.User:
    return orgs.create_user(store, actor, body)


@router.get("/org/tokens", response_model=list[w.Token])
def list_tokens(actor: Actor = Who, store: Store = Db) -> list[w.Token]:
    return orgs.list_tokens(store, actor)


@router.post("/org/tokens", response_model=w.Token, status_code=201)
def issue_token(body: w.TokenCreate, actor: Actor = Who, store: Store = Db) -> w.Token:
    return orgs.issue_token(store, actor, body)


@router.delete("/org/tokens/{token_id}", response_model=w.Token)
def revoke_token(token_id: str, actor: Actor = Who, store: Store = Db) -> w.Token:
    return orgs.revoke_token(store, actor, token_id)


@router.get("/org/trusted-partners", response_model=list[w.Org])
def list_trusted(actor: Actor = Who, store: Store = Db) -> list[w.Org]:
    return orgs.list_trusted(store, actor)


@router.post("/org/trusted-partners", response_model=list[w.Org])
def trust_partner(body: w.TrustCreate, actor: Actor = Who, store: Store = Db) -> list[w.Org]:
    return orgs.trust_partner(store, actor, body)


@router.delete("/org/trusted-partners/{org_id}", response_model=list[w.Org])
def untrust_partner(org_id: str, actor: Actor = Who, store: Store = Db) -> list[w.Org]:
    return orgs.untrust_partner(store, actor, org_id)


@router.get("/org/audit", response_model=list[w.AuditEvent])
def read_audit(
    room_id: str | None = None, actor_user_id: str | None = None, action: str | None = None,
    limit: int = Query(default=500, ge=1, le=10_000),
    since: dt.datetime | None = Query(default=None, description="first instant, with its time zone"),
    until: dt.datetime | None = Query(default=None, description="end instant (excluded), with its time zone"),
    before_seq: int | None = Query(default=None, ge=1, description="the next page: events older than this seq"),
    reads: bool = Query(default=True, description="false leaves out allowed reads"),
    actor: Actor = Who, store: Store = Db,
) -> list[w.AuditEvent]:
    return orgs.read_audit(store, actor, room_id=room_id, actor_user_id=actor_user_id, action=action, limit=limit,
                           since=since, until=until, before_seq=before_seq, reads=reads)


@router.get("/rooms", response_model=list[w.Room])
def list_rooms(actor: Actor = Who, store: Store = Db) -> list[w.Room]:
    return rooms.list_rooms(store, actor)


@router.post("/rooms", response_model=w.Room, status_code=201)
def create_room(body: w.RoomCreate, actor: Actor = Who, store: Store = Db) -> w.Room:
    return rooms.create_room(store, actor, body)


@router.get("/rooms/{room_id}", response_model=w.Room)
def get_room(room_id: str, actor: Actor = Who, store: Store = Db) -> w.Room:
    return rooms.get_room(store, actor, room_id)


@router.patch("/rooms/{room_id}", response_model=w.Room)
def update_room(room_id: str, body: w.RoomUpdate, actor: Actor = Who, store: Store = Db) -> w.Room:
    return rooms.update_room(store, actor, room_id, body)


@router.get("/rooms/{room_id}/check")
def check(room_id: str, action: str, resource_id: str | None = None, actor: Actor = Who,
          store: Store = Db) -> dict[str, Any]:
    return rooms.check(store, actor, room_id, action, resource_id)


@router.post("/rooms/{room_id}/partners", response_model=w.Room)
def invite_partner(room_id: str, body: w.PartnerInvite, actor: Actor = Who, store: Store = Db) -> w.Room:
    return partners.invite_partner(store, actor, room_id, body)


@router.delete("/rooms/{room_id}/partners/{org_id}", response_model=w.Room)
def remove_partner(room_id: str, org_id: str, actor: Actor = Who, store: Store = Db) -> w.Room:
    return partners.remove_partner(store, actor, room_id, org_id)


@router.put("/rooms/{room_id}/partners/{org_id}/permissions", response_model=w.Room)
def set_partner_permissions(room_id: str, org_id: str, body: w.PartnerPermissions, actor: Actor = Who,
                            store: Store = Db) -> w.Room:
    return partners.set_partner_permissions(store, actor, room_id, org_id, body)


@router.post("/rooms/{room_id}/invitation/accept", response_model=w.Room)
def accept(room_id: str, actor: Actor = Who, store: Store = Db) -> w.Room | None:
    return partners.respond(store, actor, room_id, accept=True)


@router.post("/rooms/{room_id}/invitation/decline", status_code=204)
def decline(room_id: str, actor: Actor = Who, store: Store = Db) -> Response:
    partners.respond(store, actor, room_id, accept=False)
    return Response(status_code=204)


@router.get("/rooms/{room_id}/roles", response_model=list[w.Role])
def list_roles(room_id: str, actor: Actor = Who, store: Store = Db) -> list[w.Role]:
    return roles.list_roles(store, actor, room_id)


@router.post("/rooms/{room_id}/roles", response_model=w.Role, status_code=201)
def create_role(room_id: str, body: w.RoleCreate, actor: Actor = Who, store: Store = Db) -> w.Role:
    return roles.create_role(store, actor, room_id, body)


@router.patch("/rooms/{room_id}/roles/{role_id}", response_model=w.Role)
def update_role(room_id: str, role_id: str, body: w.RoleUpdate, actor: Actor = Who, store: Store = Db) -> w.Role:
    return roles.update_role(store, actor, room_id, role_id, body)


@router.delete("/rooms/{room_id}/roles/{role_id}", status_code=204)
def delete_role(room_id: str, role_id: str, actor: Actor = Who, store: Store = Db) -> Response:
    roles.delete_role(store, actor, room_id, role_id)
    return Response(status_code=204)


@router.get("/rooms/{room_id}/members", response_model=list[w.Member])
def list_members(room_id: str, actor: Actor = Who, store: Store = Db) -> list[w.Member]:
    return roles.list_members(store, actor, room_id)


@router.post("/rooms/{room_id}/members", response_model=w.Member, status_code=201)
def add_member(room_id: str, body: w.MemberAdd, actor: Actor = Who, store: Store = Db) -> w.Member:
    return roles.add_member(store, actor, room_id, body)


@router.delete("/rooms/{room_id}/members/{user_id}", status_code=204)
def remove_member(room_id: str, user_id: str, actor: Actor = Who, store: Store = Db) -> Response:
    roles.remove_member(store, actor, room_id, user_id)
    return Response(status_code=204)


@router.patch("/org/users/{user_id}", response_model=w.User)
def update_user(user_id: str, body: w.UserUpdate, actor: Actor = Who, store: Store = Db) -> w.User:
    return orgs.update_user(store, actor, user_id, body)


@router.post("/org/users/{user_id}/deactivate", response_model=w.User)
def deactivate_user(user_id: str, actor: Actor = Who, store: Store = Db) -> w.User:
    return orgs.set_user_active(store, actor, user_id, active=False)


@router.post("/org/users/{user_id}/reactivate", response_model=w.User)
def reactivate_user(user_id: str, actor: Actor = Who, store: Store = Db) -> w.User:
    return orgs.set_user_active(store, actor, user_id, active=True)


@router.get("/org/roles", response_model=list[w.OrgRole])
def list_org_roles(actor: Actor = Who, store: Store = Db) -> list[w.OrgRole]:
    return orgs.list_org_roles(store, actor)


@router.post("/org/roles", response_model=list[w.OrgRole], status_code=201)
def create_org_role(body: w.OrgRoleCreate, actor: Actor = Who, store: Store = Db) -> list[w.OrgRole]:
    return orgs.create_org_role(store, actor, body)


@router.patch("/org/roles/{role_id}", response_model=list[w.OrgRole])
def update_org_role(role_id: str, body: w.OrgRoleUpdate, actor: Actor = Who, store: Store = Db) -> list[w.OrgRole]:
    return orgs.update_org_role(store, actor, role_id, body)


@router.delete("/org/roles/{role_id}", response_model=list[w.OrgRole])
def delete_org_role(role_id: str, actor: Actor = Who, store: Store = Db) -> list[w.OrgRole]:
    return orgs.delete_org_role(store, actor, role_id)


@router.post("/rooms/{room_id}/leave", status_code=204)
def leave_room(room_id: str, actor: Actor = Who, store: Store = Db) -> Response:
    partners.leave_room(store, actor, room_id)
    return Response(status_code=204)


@router.get("/rooms/{room_id}/directory", response_model=list[w.RoomOrgDirectory])
def directory(room_id: str, actor: Actor = Who, store: Store = Db) -> list[w.RoomOrgDirectory]:
    return roles.directory(store, actor, room_id)


@router.get("/rooms/{room_id}/orgs/{org_id}/roles", response_model=list[w.Role])
def list_org_roles_in_room(room_id: str, org_id: str, actor: Actor = Who, store: Store = Db) -> list[w.Role]:
    return roles.list_roles(store, actor, room_id, org_id)


@router.post("/rooms/{room_id}/orgs/{org_id}/roles", response_model=w.Role, status_code=201)
def create_partner_role(room_id: str, org_id: str, body: w.RoleCreate, actor: Actor = Who,
                        store: Store = Db) -> w.Role:
    return roles.create_role(store, actor, room_id, body, org_id)


@router.patch("/rooms/{room_id}/orgs/{org_id}/roles/{role_id}", response_model=w.Role)
def update_partner_role(room_id: str, org_id: str, role_id: str, body: w.RoleUpdate, actor: Actor = Who,
                        store: Store = Db) -> w.Role:
    return roles.update_role(store, actor, room_id, role_id, body, org_id)


@router.get("/rooms/{room_id}/orgs/{org_id}/members", response_model=list[w.Member])
def list_org_members(room_id: str, org_id: str, actor: Actor = Who, store: Store = Db) -> list[w.Member]:
    return roles.list_members(store, actor, room_id, org_id)


@router.post("/rooms/{room_id}/orgs/{org_id}/members", response_model=w.Member)
def set_partner_member_role(room_id: str, org_id: str, body: w.MemberAdd, actor: Actor = Who,
                            store: Store = Db) -> w.Member:
    return roles.add_member(store, actor, room_id, body, org_id)

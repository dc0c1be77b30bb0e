"""Wire models of organisations, users, tokens, rooms, partners, roles, members and audit."""

from __future__ import annotations

import datetime as dt
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, StrictBool, StrictInt, StrictStr

Name = Field(min_length=1, max_length=200)


class In(BaseModel):
    """Requests refuse unknown fields, so a typo is an error rather than a silent default."""

    model_config = ConfigDict(extra="forbid")


class OrgCreate(In):
    name: StrictStr = Name
    admin_name: StrictStr = Name


class UserCreate(In):
    name: StrictStr = Name
    email: StrictStr | None = None
    #: org roles: built-in keys (org_admin, clean_room_admin, question_builder_admin, ...) or custom role ids
    org_roles: list[StrictStr] = []


class UserUpdate(In):
    """Fields left out stay as they are."""

    name: StrictStr | None = Field(default=None, min_length=1, max_length=200)
    email: StrictStr | None = None
    org_roles: list[StrictStr] | None = None


class OrgRoleCreate(In):
    name: StrictStr = Name
    #: org rights bundled: create_rooms, data_connections, manage_users, question_builder, ...
    rights: list[StrictStr] = []


class OrgRoleUpdate(In):
    name: StrictStr | None = Field(default=None, min_length=1, max_length=200)
    rights: list[StrictStr] | None = None


class TokenCreate(In):
    user_id: StrictStr
    label: StrictStr = Field(default="api", min_length=1, max_length=100)


class TrustCreate(In):
    org_id: StrictStr


UTC_DAYS = ("Room dates are calendar days in UTC: a room is usable from 00:00 UTC of its start date "
            "until 24:00 UTC of its end date, whatever the caller's time zone.")


class RoomCreate(In):
    name: StrictStr = Name
    description: StrictStr = Field(default="", max_length=5000)
    start_date: dt.date | None = Field(default=None, description="First usable day, in UTC (default: today in "
                                       "UTC). " + UTC_DAYS)
    end_date: dt.date | None = Field(default=None, description="Last usable day, in UTC; not before the start "
                                     "date nor before today (UTC). None: open-ended. " + UTC_DAYS)
    k_min: StrictInt = Field(default=20, ge=1, le=1_000_000)
    dp_enabled: StrictBool = True
    #: exact decimal strings, e.g. "3" or "0.5"; per receiving party
    epsilon_budget: StrictStr = "10"
    delta_budget: StrictStr = "0.000001"
    intelligence: StrictBool = True
    flows: StrictBool = False


class RoomUpdate(In):
    name: StrictStr | None = Field(default=None, min_length=1, max_length=200)
    description: StrictStr | None = Field(default=None, max_length=5000)
    start_date: dt.date | None = Field(default=None, description="First usable day, in UTC. " + UTC_DAYS)
    end_date: dt.date | None = Field(default=None, description="Last usable day, in UTC; moving it to today "
                                     "or later reactivates an expired room. " + UTC_DAYS)
    clear_end_date: StrictBool = False
    k_min: StrictInt | None = Field(default=None, ge=1, le=1_000_000)
    dp_enabled: StrictBool | None = None
    epsilon_budget: StrictStr | None = None
    delta_budget: StrictStr | None = None
    intelligence: StrictBool | None = None
    flows: StrictBool | None = None


class PartnerInvite(In):
    org_id: StrictStr


class PartnerPermissions(In):
    permissions: list[StrictStr]


class RoleCreate(In):
    name: StrictStr = Name
    permissions: list[StrictStr] = []


class RoleUpdate(In):
    name: StrictStr | None = Field(default=None, min_length=1, max_length=200)
    permissions: list[StrictStr] | None = None


class MemberAdd(In):
    user_id: StrictStr
    role_id: StrictStr


class Org(BaseModel):
    id: str
    name: str


class User(BaseModel):
    id: str
    org_id: str
    name: str
    email: str | None = None
    org_roles: list[str]
    #: the org rights those roles bundle
    org_rights: list[str] = []
    #: deactivated users cannot sign in; their room memberships stay for the record
    active: bool = True
    deactivated_at: str | None = None


class OrgRole(BaseModel):
    """A named bundle of org rights: built-in (key) or custom (id)."""

    key: str
    name: str
    builtin: bool
    rights: list[str]


class Token(BaseModel):
    id: str
    user_id: str
    label: str
    created_at: str
    revoked: bool
    #: the secret, present only in the response that created it
    secret: str | None = None


class OrgCreated(BaseModel):
    org: Org
    admin: User
    token: Token


class Partner(BaseModel):
    org_id: str
    org_name: str
    #: invited | accepted | declined | removed | left (the owner sees every state; others see active ones)
    status: str
    available_permissions: list[str]
    invited_at: str | None = None
    #: when the status last changed (accepted, declined, removed or left)
    responded_at: str | None = None


class Room(BaseModel):
    id: str
    name: str
    description: str
    owner_org_id: str
    owner_org_name: str
    start_date: dt.date = Field(description="First usable day, in UTC. " + UTC_DAYS)
    end_date: dt.date | None = Field(description="Last usable day, in UTC (None: open-ended). " + UTC_DAYS)
    status: str
    k_min: int
    dp_enabled: bool
    epsilon_budget: str
    delta_budget: str
    intelligence: bool
    flows: bool
    #: the caller's standing: owner | invited | accepted
    my_org_status: str
    #: permissions the caller holds in this room
    my_permissions: list[str]
    #: permissions available to the caller's org
    available_permissions: list[str]
    #: actions the caller may do now, as the policy decides them
    abilities: dict[str, bool] = {}
    partners: list[Partner] = []


class Role(BaseModel):
    id: str
    room_id: str
    org_id: str
    name: str
    kind: str
    editable: bool
    permissions: list[str]


class Member(BaseModel):
    room_id: str
    user_id: str
    user_name: str
    org_id: str
    role_id: str
    role_name: str
    #: administrator | viewer | custom
    role_kind: str = "custom"
    #: a deactivated user keeps the membership for the record but cannot act
    active: bool = True


class RoomOrgDirectory(BaseModel):
    """One org of a room with its roles and members (Partner Management shows every org's)."""

    org_id: str
    org_name: str
    #: owner | accepted
    status: str
    roles: list[Role]
    members: list[Member]


class AuditEvent(BaseModel):
    seq: int
    at: str
    actor_user_id: str | None
    actor_name: str | None
    actor_org_id: str | None
    action: str
    room_id: str | None
    resource_type: str | None
    resource_id: str | None
    resource_org_id: str | None
    outcome: str
    reason: str
    detail: Any = None


class Whoami(BaseModel):
    user: User
    org: Org

"""The governance package's SQL: every statement over orgs, users, tokens, rooms, partners, roles
and members lives here and returns frozen records.

Other packages that need "the orgs of a room" call :func:`room_orgs` (with an explicit status
filter) instead of querying the partners table themselves.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from workbench.store import fetch_all, fetch_one, scalar

# -- records -----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True, kw_only=True)
class OrgRecord:
    """An organisation."""

    id: str
    name: str


@dataclass(frozen=True, slots=True, kw_only=True)
class UserRecord:
    """A user of an organisation; ``org_roles`` are the keys of the org roles the user holds."""

    id: str
    org_id: str
    name: str
    email: str | None
    org_roles: list[str]
    deactivated_at: dt.datetime | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class TokenRecord:
    """An API token (its hash never leaves this module)."""

    id: str
    user_id: str
    label: str
    created_at: dt.datetime
    revoked_at: dt.datetime | None


@dataclass(frozen=True, slots=True, kw_only=True)
class RoomRecord:
    """A room's stored settings (budgets as exact fraction strings)."""

    id: str
    name: str
    description: str
    owner_org_id: str
    start_date: dt.date
    end_date: dt.date | None
    k_min: int
    dp_enabled: bool
    epsilon_budget: str
    delta_budget: str
    intelligence: bool
    flows: bool


@dataclass(frozen=True, slots=True, kw_only=True)
class RoomOrg:
    """An organisation's relation to a room: the owner, or a partner with its invitation state."""

    room_id: str
    org_id: str
    org_name: str
    #: owner | invited | accepted | declined | removed | left
    status: str
    invited_at: dt.datetime | None
    responded_at: dt.datetime | None


@dataclass(frozen=True, slots=True, kw_only=True)
class RoleRecord:
    """A room role of one org; ``permissions`` as stored (the policy caps them)."""

    id: str
    room_id: str
    org_id: str
    name: str
    kind: str
    permissions: list[str]


@dataclass(frozen=True, slots=True, kw_only=True)
class MemberRecord:
    """A user's role in a room."""

    room_id: str
    user_id: str
    user_name: str
    org_id: str
    role_id: str
    role_name: str
    role_kind: str


#: partner states in which an org takes part in a room (or is asked to)
ACTIVE_PARTNER = ("invited", "accepted")
#: every partner state, the history the owner sees
PARTNER_STATES = ("invited", "accepted", "declined", "removed", "left")

# -- orgs ----------------------------------------------------------------------------------------


def count_orgs(cur: Any) -> int:
    """How many organisations the store holds."""
    return int(scalar(cur, "SELECT count(*) FROM orgs"))


def org(cur: Any, org_id: str) -> OrgRecord | None:
    """The organisation with this id."""
    return fetch_one(cur, OrgRecord, "SELECT id, name FROM orgs WHERE id = ?", [org_id])


def org_name_taken(cur: Any, name: str) -> bool:
    """Whether an organisation already has this name (case-insensitive)."""
    return scalar(cur, "SELECT 1 FROM orgs WHERE lower(name) = lower(?)", [name]) is not None


def insert_org(cur: Any, org_id: str, name: str) -> None:
    """Store a new organisation."""
    cur.execute("INSERT INTO orgs (id, name) VALUES (?, ?)", [org_id, name])


def org_names(cur: Any, org_ids: Iterable[str] | None = None) -> dict[str, str]:
    """Names of organisations by id (all of them when ``org_ids`` is None)."""
    if org_ids is None:
        rows = fetch_all(cur, OrgRecord, "SELECT id, name FROM orgs")
    else:
        rows = fetch_all(cur, OrgRecord, "SELECT id, name FROM orgs WHERE list_contains(?, id)",
                         [list(org_ids)])
    return {r.id: r.name for r in rows}


# -- users ---------------------------------------------------------------------------------------

USER_COLUMNS = "u.id, u.org_id, u.name, u.email, u.org_roles, u.deactivated_at"


def user(cur: Any, user_id: str) -> UserRecord | None:
    """The user with this id, in whichever org."""
    return fetch_one(cur, UserRecord, f"SELECT {USER_COLUMNS} FROM users u WHERE u.id = ?", [user_id])


def users_of(cur: Any, org_id: str) -> list[UserRecord]:
    """Users of an org, by name."""
    return fetch_all(cur, UserRecord, f"SELECT {USER_COLUMNS} FROM users u WHERE u.org_id = ? ORDER BY u.name",
                     [org_id])


def user_name_taken(cur: Any, org_id: str, name: str, *, other_than: str | None = None) -> bool:
    """Whether another user of the org has this name (case-insensitive)."""
    return scalar(cur, "SELECT 1 FROM users WHERE org_id = ? AND lower(name) = lower(?) AND id IS DISTINCT FROM ?",
                  [org_id, name, other_than]) is not None


def insert_user(cur: Any, *, user_id: str, org_id: str, name: str, email: str | None, org_roles: list[str]) -> None:
    """Store a new user."""
    cur.execute("INSERT INTO users (id, org_id, name, email, org_roles) VALUES (?, ?, ?, ?, ?)",
                [user_id, org_id, name, email, org_roles])


def active_admins(cur: Any, org_id: str) -> list[str]:
    """Ids of the org's active org admins (they become Partner Administrators on auto-accept)."""
    rows = cur.execute(
        "SELECT id FROM users WHERE org_id = ? AND list_contains(org_roles, 'org_admin')"
        " AND deactivated_at IS NULL ORDER BY id", [org_id],
    ).fetchall()
    return [user_id for (user_id,) in rows]


# -- tokens --------------------------------------------------------------------------------------


def token_user(cur: Any, token_hash: str) -> UserRecord | None:
    """The active user behind a live token (revoked tokens and deactivated users find nobody)."""
    return fetch_one(
        cur, UserRecord,
        f"SELECT {USER_COLUMNS} FROM tokens t JOIN users u ON u.id = t.user_id"
        " WHERE t.hash = ? AND t.revoked_at IS NULL AND u.deactivated_at IS NULL",
        [token_hash],
    )


def insert_token(cur: Any, *, token_id: str, user_id: str, label: str, token_hash: str) -> TokenRecord:
    """Store a new token's hash."""
    cur.execute("INSERT INTO tokens (id, user_id, label, hash) VALUES (?, ?, ?, ?)",
                [token_id, user_id, label, token_hash])
    found = org_token(cur, token_id, None)
    if found is None:
        raise RuntimeError("a token inserted in this transaction cannot be read back")
    return found


TOKEN_SQL = "SELECT t.id, t.user_id, t.label, t.created_at, t.revoked_at FROM tokens t JOIN users u ON u.id = t.user_id"


def org_tokens(cur: Any, org_id: str) -> list[TokenRecord]:
    """Every token of an org's users, oldest first."""
    return fetch_all(cur, TokenRecord, TOKEN_SQL + " WHERE u.org_id = ? ORDER BY t.created_at", [org_id])


def org_token(cur: Any, token_id: str, org_id: str | None) -> TokenRecord | None:
    """One token, if it belongs to a user of ``org_id`` (any org when None)."""
    return fetch_one(cur, TokenRecord, TOKEN_SQL + " WHERE t.id = ? AND (? IS NULL OR u.org_id = ?)",
                     [token_id, org_id, org_id])


def revoke_token(cur: Any, token_id: str) -> None:
    """Mark a token revoked (once)."""
    cur.execute("UPDATE tokens SET revoked_at = now() WHERE id = ? AND revoked_at IS NULL", [token_id])


# -- trusted partners ----------------------------------------------------------------------------


def trusted_orgs(cur: Any, org_id: str) -> list[OrgRecord]:
    """The orgs ``org_id`` allowlisted, by name."""
    return fetch_all(
        cur, OrgRecord,
        "SELECT o.id, o.name FROM org_trusted_partners t JOIN orgs o ON o.id = t.trusted_org_id"
        " WHERE t.org_id = ? ORDER BY o.name", [org_id],
    )


def trusts(cur: Any, org_id: str, trusted_org_id: str) -> bool:
    """Whether ``org_id`` allowlisted ``trusted_org_id``."""
    return scalar(cur, "SELECT 1 FROM org_trusted_partners WHERE org_id = ? AND trusted_org_id = ?",
                  [org_id, trusted_org_id]) is not None


def add_trust(cur: Any, org_id: str, trusted_org_id: str) -> None:
    """Allowlist an org (idempotent)."""
    cur.execute("INSERT INTO org_trusted_partners (org_id, trusted_org_id) VALUES (?, ?) ON CONFLICT DO NOTHING",
                [org_id, trusted_org_id])


def remove_trust(cur: Any, org_id: str, trusted_org_id: str) -> None:
    """Take an org off the allowlist."""
    cur.execute("DELETE FROM org_trusted_partners WHERE org_id = ? AND trusted_org_id = ?",
                [org_id, trusted_org_id])


# -- rooms ---------------------------------------------------------------------------------------

ROOM_COLUMNS = (
    "id, name, description, owner_org_id, start_date, end_date, k_min, dp_enabled,"
    " epsilon_budget, delta_budget, intelligence, flows"
)


def room(cur: Any, room_id: str) -> RoomRecord | None:
    """The room with this id, whoever may see it (callers decide visibility)."""
    return fetch_one(cur, RoomRecord, f"SELECT {ROOM_COLUMNS} FROM rooms WHERE id = ?", [room_id])


def room_name_taken(cur: Any, owner_org_id: str, name: str, *, other_than: str | None = None) -> bool:
    """Whether the owner already has another room of this name (case-insensitive)."""
    return scalar(cur, "SELECT 1 FROM rooms WHERE owner_org_id = ? AND lower(name) = lower(?)"
                       " AND id IS DISTINCT FROM ?", [owner_org_id, name, other_than]) is not None


def insert_room(cur: Any, record: RoomRecord) -> None:
    """Store a new room."""
    cur.execute(
        f"INSERT INTO rooms ({ROOM_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [record.id, record.name, record.description, record.owner_org_id, record.start_date,
         record.end_date, record.k_min, record.dp_enabled, record.epsilon_budget,
         record.delta_budget, record.intelligence, record.flows],
    )


#: room settings an update may change (the column names; values are always bound)
ROOM_SETTINGS = frozenset({
    "name", "description", "start_date", "end_date", "k_min", "dp_enabled", "epsilon_budget",
    "delta_budget", "intelligence", "flows",
})


def update_room(cur: Any, room_id: str, values: dict[str, Any]) -> None:
    """Change room settings; only names in ROOM_SETTINGS are accepted as columns."""
    unknown = set(values) - ROOM_SETTINGS
    if unknown:
        raise ValueError(f"not room settings: {sorted(unknown)}")
    if values:
        sets = ", ".join(f"{k} = ?" for k in values)
        cur.execute(f"UPDATE rooms SET {sets} WHERE id = ?", [*values.values(), room_id])


def visible_room_ids(cur: Any, org_id: str) -> list[str]:
    """Rooms an org owns or is invited to or a partner in."""
    rows = cur.execute(
        "SELECT id FROM rooms WHERE owner_org_id = ? UNION SELECT room_id FROM room_partners"
        " WHERE org_id = ? AND status IN ('invited', 'accepted')", [org_id, org_id],
    ).fetchall()
    return [room_id for (room_id,) in rows]


# -- the orgs of a room --------------------------------------------------------------------------


def room_orgs(cur: Any, room_id: str, *, statuses: Iterable[str] = ("accepted",),
              include_owner: bool = False) -> list[RoomOrg]:
    """The partner orgs of a room whose status is in ``statuses`` (and the owner, if asked), by name.

    The one query for "who is in this room": pass the statuses you mean, e.g. ``("accepted",)``
    for parties that take part, ``ACTIVE_PARTNER`` to include pending invitations, or every status
    to show the owner the history of its invitations.
    """
    found = fetch_all(
        cur, RoomOrg,
        "SELECT p.room_id, p.org_id, o.name AS org_name, p.status, p.invited_at, p.responded_at"
        " FROM room_partners p JOIN orgs o ON o.id = p.org_id"
        " WHERE p.room_id = ? AND list_contains(?, p.status) ORDER BY o.name",
        [room_id, list(statuses)],
    )
    if include_owner:
        owner = fetch_one(
            cur, RoomOrg,
            "SELECT r.id AS room_id, o.id AS org_id, o.name AS org_name, 'owner' AS status,"
            " CAST(NULL AS TIMESTAMPTZ) AS invited_at, CAST(NULL AS TIMESTAMPTZ) AS responded_at"
            " FROM rooms r JOIN orgs o ON o.id = r.owner_org_id WHERE r.id = ?", [room_id],
        )
        if owner is not None:
            found = [owner, *found]
    return found


def partner_status(cur: Any, room_id: str, org_id: str) -> str | None:
    """A partner's invitation state in the room (None: never invited)."""
    return scalar(cur, "SELECT status FROM room_partners WHERE room_id = ? AND org_id = ?", [room_id, org_id])


def insert_invitation(cur: Any, room_id: str, org_id: str) -> None:
    """A fresh invitation (replacing a declined, removed or left one)."""
    cur.execute("DELETE FROM room_partners WHERE room_id = ? AND org_id = ?", [room_id, org_id])
    cur.execute("INSERT INTO room_partners (room_id, org_id, status) VALUES (?, ?, 'invited')", [room_id, org_id])


def set_partner_status(cur: Any, room_id: str, org_id: str, status: str, responded_by: str | None) -> None:
    """Record a partner's new state and when it changed."""
    cur.execute(
        "UPDATE room_partners SET status = ?, responded_at = now(), responded_by = ?"
        " WHERE room_id = ? AND org_id = ?", [status, responded_by, room_id, org_id],
    )


# -- permissions available to partners ---------------------------------------------------------


def partner_permissions(cur: Any, room_id: str, org_id: str) -> list[str]:
    """The permissions the owner made available to a partner, as stored."""
    rows = cur.execute("SELECT permission FROM partner_permissions WHERE room_id = ? AND org_id = ?"
                       " ORDER BY permission", [room_id, org_id]).fetchall()
    return [p for (p,) in rows]


def replace_partner_permissions(cur: Any, room_id: str, org_id: str, permissions: list[str]) -> None:
    """Set a partner's available permissions to exactly ``permissions``."""
    cur.execute("DELETE FROM partner_permissions WHERE room_id = ? AND org_id = ?", [room_id, org_id])
    for p in sorted(permissions):
        cur.execute("INSERT INTO partner_permissions (room_id, org_id, permission) VALUES (?, ?, ?)",
                    [room_id, org_id, p])


def drop_permissions_everywhere(cur: Any, room_id: str, permissions: list[str]) -> None:
    """Take permissions out of every partner's availability and every role of the room."""
    cur.execute("DELETE FROM partner_permissions WHERE room_id = ? AND list_contains(?, permission)",
                [room_id, permissions])
    cur.execute("UPDATE room_roles SET permissions = list_filter(permissions, x -> NOT list_contains(?, x))"
                " WHERE room_id = ?", [permissions, room_id])


def cap_role_permissions(cur: Any, room_id: str, org_id: str, allowed: list[str]) -> None:
    """Keep only ``allowed`` permissions in the org's roles of the room."""
    cur.execute("UPDATE room_roles SET permissions = list_filter(permissions, x -> list_contains(?, x))"
                " WHERE room_id = ? AND org_id = ?", [allowed, room_id, org_id])


def drop_org_from_room(cur: Any, room_id: str, org_id: str) -> None:
    """Remove an org's available permissions, members and roles from a room."""
    cur.execute("DELETE FROM partner_permissions WHERE room_id = ? AND org_id = ?", [room_id, org_id])
    cur.execute("DELETE FROM room_members WHERE room_id = ? AND user_id IN (SELECT id FROM users WHERE org_id = ?)",
                [room_id, org_id])
    cur.execute("DELETE FROM room_roles WHERE room_id = ? AND org_id = ?", [room_id, org_id])


# -- roles ---------------------------------------------------------------------------------------

ROLE_COLUMNS = "id, room_id, org_id, name, kind, permissions"


def roles_of(cur: Any, room_id: str, org_id: str) -> list[RoleRecord]:
    """An org's roles in a room: Administrator, Viewer, then custom roles by name."""
    return fetch_all(cur, RoleRecord, f"SELECT {ROLE_COLUMNS} FROM room_roles WHERE room_id = ? AND org_id = ?"
                                      " ORDER BY kind <> 'administrator', kind <> 'viewer', name", [room_id, org_id])


def role(cur: Any, role_id: str) -> RoleRecord | None:
    """The role with this id."""
    return fetch_one(cur, RoleRecord, f"SELECT {ROLE_COLUMNS} FROM room_roles WHERE id = ?", [role_id])


def role_of_kind(cur: Any, room_id: str, org_id: str, kind: str) -> RoleRecord | None:
    """An org's built-in role of this kind in a room."""
    return fetch_one(cur, RoleRecord, f"SELECT {ROLE_COLUMNS} FROM room_roles WHERE room_id = ? AND org_id = ?"
                                      " AND kind = ? ORDER BY name LIMIT 1", [room_id, org_id, kind])


def role_name_taken(cur: Any, room_id: str, org_id: str, name: str, *, other_than: str | None = None) -> bool:
    """Whether the org has another role of this name in the room (case-insensitive)."""
    return scalar(cur, "SELECT 1 FROM room_roles WHERE room_id = ? AND org_id = ? AND lower(name) = lower(?)"
                       " AND id IS DISTINCT FROM ?", [room_id, org_id, name, other_than]) is not None


def insert_role(cur: Any, *, role_id: str, room_id: str, org_id: str, name: str, kind: str,
                permissions: list[str]) -> None:
    """Store a new role."""
    cur.execute(f"INSERT INTO room_roles ({ROLE_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?)",
                [role_id, room_id, org_id, name, kind, sorted(permissions)])


def update_role(cur: Any, role_id: str, *, name: str | None = None, permissions: list[str] | None = None) -> None:
    """Rename a role and/or set its permissions."""
    if name is not None:
        cur.execute("UPDATE room_roles SET name = ? WHERE id = ?", [name, role_id])
    if permissions is not None:
        cur.execute("UPDATE room_roles SET permissions = ? WHERE id = ?", [sorted(permissions), role_id])


def role_in_use(cur: Any, role_id: str) -> bool:
    """Whether any user holds the role."""
    return scalar(cur, "SELECT 1 FROM room_members WHERE role_id = ?", [role_id]) is not None


def delete_role(cur: Any, role_id: str) -> None:
    """Delete a role (callers check nobody holds it)."""
    cur.execute("DELETE FROM room_roles WHERE id = ?", [role_id])


# -- members -------------------------------------------------------------------------------------

MEMBER_SQL = (
    "SELECT m.room_id, m.user_id, u.name AS user_name, u.org_id, m.role_id, r.name AS role_name,"
    " r.kind AS role_kind FROM room_members m"
    " JOIN users u ON u.id = m.user_id JOIN room_roles r ON r.id = m.role_id"
)


def members_of(cur: Any, room_id: str, org_id: str | None = None) -> list[MemberRecord]:
    """Users in a room with their roles (one org's, or every org's when None), by name."""
    return fetch_all(cur, MemberRecord, MEMBER_SQL + " WHERE m.room_id = ? AND (? IS NULL OR u.org_id = ?)"
                                                     " ORDER BY u.org_id, u.name", [room_id, org_id, org_id])


def member(cur: Any, room_id: str, user_id: str) -> MemberRecord | None:
    """A user's membership of a room."""
    return fetch_one(cur, MemberRecord, MEMBER_SQL + " WHERE m.room_id = ? AND m.user_id = ?", [room_id, user_id])


def put_member(cur: Any, room_id: str, user_id: str, role_id: str) -> None:
    """Give a user a role in a room (or change it)."""
    cur.execute("INSERT INTO room_members (room_id, user_id, role_id) VALUES (?, ?, ?)"
                " ON CONFLICT (room_id, user_id) DO UPDATE SET role_id = excluded.role_id",
                [room_id, user_id, role_id])


def delete_member(cur: Any, room_id: str, user_id: str) -> None:
    """Take a user out of a room."""
    cur.execute("DELETE FROM room_members WHERE room_id = ? AND user_id = ?", [room_id, user_id])


def room_admins(cur: Any, room_id: str, org_id: str) -> list[str]:
    """Active users of ``org_id`` holding its Administrator role in the room."""
    rows = cur.execute(
        "SELECT m.user_id FROM room_members m JOIN room_roles r ON r.id = m.role_id"
        " JOIN users u ON u.id = m.user_id WHERE m.room_id = ? AND u.org_id = ?"
        " AND r.kind = 'administrator' AND u.deactivated_at IS NULL ORDER BY m.user_id",
        [room_id, org_id],
    ).fetchall()
    return [user_id for (user_id,) in rows]


@dataclass(frozen=True, slots=True, kw_only=True)
class RoomRef:
    """A room named in a message."""

    room_id: str
    room_name: str


def rooms_with_sole_admin(cur: Any, user_id: str) -> list[RoomRef]:
    """Rooms where this user is its org's only active Administrator."""
    return fetch_all(
        cur, RoomRef,
        "SELECT m.room_id, rm.name AS room_name FROM room_members m"
        " JOIN room_roles r ON r.id = m.role_id JOIN users u ON u.id = m.user_id"
        " JOIN rooms rm ON rm.id = m.room_id"
        " WHERE m.user_id = ? AND r.kind = 'administrator' AND NOT EXISTS ("
        "   SELECT 1 FROM room_members m2 JOIN room_roles r2 ON r2.id = m2.role_id"
        "   JOIN users u2 ON u2.id = m2.user_id WHERE m2.room_id = m.room_id AND u2.org_id = u.org_id"
        "   AND r2.kind = 'administrator' AND u2.deactivated_at IS NULL AND m2.user_id <> m.user_id)"
        " ORDER BY rm.name",
        [user_id],
    )


# -- user changes --------------------------------------------------------------------------------


def update_user(cur: Any, user_id: str, *, name: str, email: str | None, org_roles: list[str]) -> None:
    """Store a user's new name, e-mail and org roles."""
    cur.execute("UPDATE users SET name = ?, email = ?, org_roles = ? WHERE id = ?",
                [name, email, org_roles, user_id])


def set_deactivated(cur: Any, user_id: str, deactivated: bool) -> None:
    """Deactivate (now) or reactivate a user; memberships and tokens stay as they are."""
    if deactivated:
        cur.execute("UPDATE users SET deactivated_at = now() WHERE id = ? AND deactivated_at IS NULL", [user_id])
    else:
        cur.execute("UPDATE users SET deactivated_at = NULL WHERE id = ?", [user_id])


# -- custom org roles ----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True, kw_only=True)
class OrgRoleRecord:
    """A custom org role: a named bundle of org rights."""

    id: str
    org_id: str
    name: str
    rights: list[str]


ORG_ROLE_COLUMNS = "id, org_id, name, rights"


def custom_org_roles(cur: Any, org_id: str) -> list[OrgRoleRecord]:
    """An org's custom org roles, by name."""
    return fetch_all(cur, OrgRoleRecord, f"SELECT {ORG_ROLE_COLUMNS} FROM org_roles WHERE org_id = ? ORDER BY name",
                     [org_id])


def org_role(cur: Any, role_id: str) -> OrgRoleRecord | None:
    """The custom org role with this id."""
    return fetch_one(cur, OrgRoleRecord, f"SELECT {ORG_ROLE_COLUMNS} FROM org_roles WHERE id = ?", [role_id])


def org_role_name_taken(cur: Any, org_id: str, name: str, *, other_than: str | None = None) -> bool:
    """Whether the org has another custom org role of this name (case-insensitive)."""
    return scalar(cur, "SELECT 1 FROM org_roles WHERE org_id = ? AND lower(name) = lower(?)"
                       " AND id IS DISTINCT FROM ?", [org_id, name, other_than]) is not None


def insert_org_role(cur: Any, *, role_id: str, org_id: str, name: str, rights: list[str]) -> None:
    """Store a custom org role."""
    cur.execute("INSERT INTO org_roles (id, org_id, name, rights) VALUES (?, ?, ?, ?)",
                [role_id, org_id, name, sorted(rights)])


def update_org_role(cur: Any, role_id: str, *, name: str, rights: list[str]) -> None:
    """Rename a custom org role and set its rights."""
    cur.execute("UPDATE org_roles SET name = ?, rights = ? WHERE id = ?", [name, sorted(rights), role_id])


def org_role_holders(cur: Any, org_id: str, key: str) -> list[str]:
    """Names of the org's users holding an org role (by key or custom id)."""
    rows = cur.execute("SELECT name FROM users WHERE org_id = ? AND list_contains(org_roles, ?) ORDER BY name",
                       [org_id, key]).fetchall()
    return [name for (name,) in rows]


def delete_org_role(cur: Any, role_id: str) -> None:
    """Delete a custom org role (callers check nobody holds it)."""
    cur.execute("DELETE FROM org_roles WHERE id = ?", [role_id])

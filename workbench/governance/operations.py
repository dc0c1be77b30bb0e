"""Governance operations: organisations, users, tokens, rooms, partners, roles, members, audit.

Each operation is one transaction: authorise (one call to ensure_allowed), validate, act.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets
import uuid
from fractions import Fraction
from typing import Any

from workbench.errors import Conflict, InvalidInput, NotFound, Unauthenticated
from workbench.governance import actions as registry
from workbench.governance.audit import events_for_org, record
from workbench.governance.model import Actor, RoomAccess
from workbench.governance.permissions import (
    FLOWS,
    INTELLIGENCE,
    OWNER_ONLY,
    VIEWER_ROLE,
    OrgRight,
    Permission,
    parse_permissions,
)
from workbench.governance.policy import (
    available_permissions,
    decide,
    decide_in_room,
    default_partner_permissions,
    ensure_allowed,
    role_permissions,
    room_access,
)
from workbench.privacy import to_fraction
from workbench.store import Store
from workbench.wire import governance as w

TOKEN_PREFIX = "wbt_"


def _id() -> str:
    return str(uuid.uuid4())


def hash_token(secret: str) -> str:
    """Tokens are 256 random bits, so one SHA-256 is enough to store them safely."""
    return hashlib.sha256(secret.encode()).hexdigest()


def _uuid(value: str, what: str) -> str:
    try:
        return str(uuid.UUID(str(value)))
    except ValueError:
        raise NotFound(f"no {what} {value!r}") from None


def _name(value: str, what: str) -> str:
    name = value.strip()
    if not name:
        raise InvalidInput(f"the {what} name must not be blank")
    return name


def _budget(value: str, what: str) -> str:
    """A budget as an exact fraction string; the one parser of amounts is the privacy package's."""
    return str(to_fraction(value, name=what))


def _org_roles(values: list[str]) -> list[str]:
    known = {r.value for r in OrgRight}
    bad = sorted(set(values) - known)
    if bad:
        raise InvalidInput(f"unknown org role(s) {bad}; known: {sorted(known)}")
    return sorted(set(values))


# -- authentication ---------------------------------------------------------------------------


def authenticate(store: Store, secret: str | None) -> Actor:
    """The actor behind a bearer token; unknown and revoked tokens are refused alike."""
    if not secret:
        raise Unauthenticated("no API token: send 'Authorization: Bearer <token>'")
    with store.reader() as cur:
        row = cur.execute(
            "SELECT u.id, u.org_id, u.name, u.org_roles FROM tokens t JOIN users u ON u.id = t.user_id"
            " WHERE t.hash = ? AND t.revoked_at IS NULL",
            [hash_token(secret)],
        ).fetchone()
    if row is None:
        raise Unauthenticated("the API token is unknown or revoked; ask your org admin for a new one")
    return Actor(user_id=row[0], org_id=row[1], user_name=row[2], org_roles=frozenset(row[3]))


# -- organisations, users, tokens --------------------------------------------------------------


def _user(row: tuple) -> w.User:
    return w.User(id=row[0], org_id=row[1], name=row[2], email=row[3], org_roles=list(row[4]))


USER_COLUMNS = "id, org_id, name, email, org_roles"


def _insert_org(cur: Any, name: str, admin_name: str) -> tuple[w.Org, w.User, w.Token]:
    name = _name(name, "organisation")
    if cur.execute("SELECT 1 FROM orgs WHERE lower(name) = lower(?)", [name]).fetchone():
        raise Conflict(f"an organisation named {name!r} already exists; pick another name")
    org_id = _id()
    cur.execute("INSERT INTO orgs (id, name) VALUES (?, ?)", [org_id, name])
    user = _insert_user(cur, org_id, admin_name, None, [r.value for r in OrgRight])
    token = _insert_token(cur, user.id, "admin")
    return w.Org(id=org_id, name=name), user, token


def _insert_user(cur: Any, org_id: str, name: str, email: str | None, roles: list[str]) -> w.User:
    name = _name(name, "user")
    if cur.execute(
        "SELECT 1 FROM users WHERE org_id = ? AND lower(name) = lower(?)", [org_id, name]
    ).fetchone():
        raise Conflict(f"your organisation already has a user named {name!r}")
    user_id = _id()
    cur.execute(
        "INSERT INTO users (id, org_id, name, email, org_roles) VALUES (?, ?, ?, ?, ?)",
        [user_id, org_id, name, email, roles],
    )
    return w.User(id=user_id, org_id=org_id, name=name, email=email, org_roles=roles)


def _insert_token(cur: Any, user_id: str, label: str) -> w.Token:
    secret = TOKEN_PREFIX + secrets.token_urlsafe(32)
    token_id = _id()
    cur.execute(
        "INSERT INTO tokens (id, user_id, label, hash) VALUES (?, ?, ?, ?)",
        [token_id, user_id, label, hash_token(secret)],
    )
    now = dt.datetime.now(dt.timezone.utc).isoformat()
    return w.Token(id=token_id, user_id=user_id, label=label, created_at=now, revoked=False, secret=secret)


def bootstrap(store: Store, org_name: str, admin_name: str) -> w.OrgCreated:
    """The first organisation of a new store (``workbench init``); refused once one exists."""
    with store.transaction() as cur:
        if cur.execute("SELECT count(*) FROM orgs").fetchone()[0]:
            raise Conflict("this store already has organisations; use an org admin's token instead")
        org, user, token = _insert_org(cur, org_name, admin_name)
        record(cur, None, "org.bootstrap", resource_type="org", resource_id=org.id,
               resource_org_id=org.id, reason="workbench init")
    return w.OrgCreated(org=org, admin=user, token=token)


def create_org(store: Store, actor: Actor, body: w.OrgCreate) -> w.OrgCreated:
    """Register another organisation; its admin's token is shown once, in this answer."""
    with store.transaction() as cur:
        ensure_allowed(cur, actor, "org.create", resource_type="org")
        org, user, token = _insert_org(cur, body.name, body.admin_name)
        record(cur, actor, "org.created", resource_type="org", resource_id=org.id,
               resource_org_id=org.id, detail={"by_org": actor.org_id})
    return w.OrgCreated(org=org, admin=user, token=token)


def whoami(store: Store, actor: Actor) -> w.Whoami:
    """The caller's user and organisation."""
    with store.reader() as cur:
        user = _user(cur.execute(f"SELECT {USER_COLUMNS} FROM users WHERE id = ?", [actor.user_id]).fetchone())
        name = cur.execute("SELECT name FROM orgs WHERE id = ?", [actor.org_id]).fetchone()[0]
    return w.Whoami(user=user, org=w.Org(id=actor.org_id, name=name))


def get_org(store: Store, actor: Actor, org_id: str) -> w.Org:
    """Any organisation's id and name: partners are invited by id, so ids are not secret."""
    org_id = _uuid(org_id, "organisation")
    with store.reader() as cur:
        ensure_allowed(cur, actor, "org.read", resource_type="org", resource_id=org_id)
        row = cur.execute("SELECT id, name FROM orgs WHERE id = ?", [org_id]).fetchone()
    if row is None:
        raise NotFound(f"no organisation {org_id}")
    return w.Org(id=row[0], name=row[1])


def create_user(store: Store, actor: Actor, body: w.UserCreate) -> w.User:
    """Add a user to the caller's organisation."""
    with store.transaction() as cur:
        ensure_allowed(cur, actor, "org.users.manage", resource_type="user")
        return _insert_user(cur, actor.org_id, body.name, body.email, _org_roles(body.org_roles))


def list_users(store: Store, actor: Actor) -> list[w.User]:
    """Users of the caller's organisation."""
    with store.reader() as cur:
        ensure_allowed(cur, actor, "org.read", resource_type="user")
        rows = cur.execute(
            f"SELECT {USER_COLUMNS} FROM users WHERE org_id = ? ORDER BY name", [actor.org_id]
        ).fetchall()
    return [_user(r) for r in rows]


def _own_user(cur: Any, actor: Actor, user_id: str) -> str:
    user_id = _uuid(user_id, "user")
    row = cur.execute("SELECT org_id FROM users WHERE id = ?", [user_id]).fetchone()
    if row is None or row[0] != actor.org_id:
        raise NotFound(f"no user {user_id} in your organisation")
    return user_id


def issue_token(store: Store, actor: Actor, body: w.TokenCreate) -> w.Token:
    """A new API token for a user of the caller's org; the secret appears only here."""
    with store.transaction() as cur:
        ensure_allowed(cur, actor, "org.tokens.manage", resource_type="token", resource_id=body.user_id)
        user_id = _own_user(cur, actor, body.user_id)
        return _insert_token(cur, user_id, body.label)


def list_tokens(store: Store, actor: Actor) -> list[w.Token]:
    """Tokens of the caller's org (never their secrets)."""
    with store.reader() as cur:
        ensure_allowed(cur, actor, "org.tokens.manage", resource_type="token")
        rows = cur.execute(
            "SELECT t.id, t.user_id, t.label, t.created_at, t.revoked_at FROM tokens t"
            " JOIN users u ON u.id = t.user_id WHERE u.org_id = ? ORDER BY t.created_at",
            [actor.org_id],
        ).fetchall()
    return [
        w.Token(id=r[0], user_id=r[1], label=r[2], created_at=r[3].isoformat(), revoked=r[4] is not None)
        for r in rows
    ]


def revoke_token(store: Store, actor: Actor, token_id: str) -> w.Token:
    """Revoke a token of the caller's org; requests with it fail from now on."""
    token_id = _uuid(token_id, "token")
    with store.transaction() as cur:
        ensure_allowed(cur, actor, "org.tokens.manage", resource_type="token", resource_id=token_id)
        row = cur.execute(
            "SELECT t.id, t.user_id, t.label, t.created_at, t.revoked_at FROM tokens t"
            " JOIN users u ON u.id = t.user_id WHERE t.id = ? AND u.org_id = ?",
            [token_id, actor.org_id],
        ).fetchone()
        if row is None:
            raise NotFound(f"no token {token_id} in your organisation")
        cur.execute("UPDATE tokens SET revoked_at = now() WHERE id = ? AND revoked_at IS NULL", [token_id])
    return w.Token(id=row[0], user_id=row[1], label=row[2], created_at=row[3].isoformat(), revoked=True)


def trust_partner(store: Store, actor: Actor, body: w.TrustCreate) -> list[w.Org]:
    """Allowlist an org: its invitations to the caller's org are accepted automatically."""
    org_id = _uuid(body.org_id, "organisation")
    with store.transaction() as cur:
        ensure_allowed(cur, actor, "org.trust.manage", resource_type="org", resource_id=org_id)
        if org_id == actor.org_id:
            raise InvalidInput("an organisation cannot allowlist itself")
        if not cur.execute("SELECT 1 FROM orgs WHERE id = ?", [org_id]).fetchone():
            raise NotFound(f"no organisation {org_id}")
        cur.execute(
            "INSERT INTO org_trusted_partners (org_id, trusted_org_id) VALUES (?, ?) ON CONFLICT DO NOTHING",
            [actor.org_id, org_id],
        )
        return _trusted(cur, actor)


def untrust_partner(store: Store, actor: Actor, org_id: str) -> list[w.Org]:
    """Take an org off the allowlist."""
    org_id = _uuid(org_id, "organisation")
    with store.transaction() as cur:
        ensure_allowed(cur, actor, "org.trust.manage", resource_type="org", resource_id=org_id)
        cur.execute(
            "DELETE FROM org_trusted_partners WHERE org_id = ? AND trusted_org_id = ?", [actor.org_id, org_id]
        )
        return _trusted(cur, actor)


def list_trusted(store: Store, actor: Actor) -> list[w.Org]:
    """The caller's org's allowlist."""
    with store.reader() as cur:
        ensure_allowed(cur, actor, "org.read", resource_type="org")
        return _trusted(cur, actor)


def _trusted(cur: Any, actor: Actor) -> list[w.Org]:
    rows = cur.execute(
        "SELECT o.id, o.name FROM org_trusted_partners t JOIN orgs o ON o.id = t.trusted_org_id"
        " WHERE t.org_id = ? ORDER BY o.name",
        [actor.org_id],
    ).fetchall()
    return [w.Org(id=r[0], name=r[1]) for r in rows]


# -- rooms ---------------------------------------------------------------------------------------


def _room_status(cur: Any, access: RoomAccess) -> str:
    """expired, scheduled (before the start date), draft (template fields unmapped) or active."""
    if access.expired:
        return "expired"
    if access.room.not_started():
        return "scheduled"
    # readiness belongs to the datasets package, which itself builds on governance
    from workbench.data.templates import is_ready

    return "active" if is_ready(cur, access.room.id) else "draft"


def _room_out(cur: Any, actor: Actor, access: RoomAccess) -> w.Room:
    room = access.room
    owner_name = cur.execute("SELECT name FROM orgs WHERE id = ?", [room.owner_org_id]).fetchone()[0]
    partners = []
    if access.org_status != "invited":
        rows = cur.execute(
            "SELECT p.org_id, o.name, p.status FROM room_partners p JOIN orgs o ON o.id = p.org_id"
            " WHERE p.room_id = ? AND p.status IN ('invited', 'accepted') ORDER BY o.name",
            [room.id],
        ).fetchall()
        for org_id, name, status in rows:
            if access.is_owner or org_id == actor.org_id:
                avail = sorted(p.value for p in available_permissions(cur, room, org_id))
            else:
                avail = []
            partners.append(w.Partner(org_id=org_id, org_name=name, status=status, available_permissions=avail))
    abilities = {
        a.name: decide_in_room(cur, actor, a, access).allowed
        for a in registry.all_actions()
        if a.scope == "room" and a.check is None
    }
    return w.Room(
        id=room.id, name=room.name, description=room.description, owner_org_id=room.owner_org_id,
        owner_org_name=owner_name, start_date=room.start_date, end_date=room.end_date,
        status=_room_status(cur, access), k_min=room.k_min, dp_enabled=room.dp_enabled,
        epsilon_budget=str(room.epsilon_budget), delta_budget=str(room.delta_budget),
        intelligence=room.intelligence, flows=room.flows, my_org_status=access.org_status,
        my_permissions=sorted(p.value for p in access.permissions),
        available_permissions=sorted(p.value for p in access.available),
        abilities=abilities, partners=partners,
    )


def _create_org_roles(cur: Any, room_id: str, org_id: str) -> str:
    """Every org in a room starts with Administrator and Viewer; returns the Administrator id."""
    admin_id = _id()
    cur.execute(
        "INSERT INTO room_roles (id, room_id, org_id, name, kind, permissions) VALUES (?, ?, ?, ?, ?, ?)",
        [admin_id, room_id, org_id, "Administrator", "administrator", []],
    )
    cur.execute(
        "INSERT INTO room_roles (id, room_id, org_id, name, kind, permissions) VALUES (?, ?, ?, ?, ?, ?)",
        [_id(), room_id, org_id, "Viewer", "viewer", sorted(p.value for p in VIEWER_ROLE)],
    )
    return admin_id


def _check_dates(start: dt.date, end: dt.date | None) -> None:
    if end is not None and end < start:
        raise InvalidInput(f"the end date {end} is before the start date {start}")


def create_room(store: Store, actor: Actor, body: w.RoomCreate) -> w.Room:
    """A new room owned by the caller's org; the caller becomes its Administrator."""
    with store.transaction() as cur:
        room_id = create_room_in(cur, actor, body)
        return _room_out(cur, actor, room_access(cur, actor, room_id))


def create_room_in(cur: Any, actor: Actor, body: w.RoomCreate) -> str:
    """Create a room inside the caller's transaction (template import adds its questions to it)."""
    name = _name(body.name, "room")
    start = body.start_date or dt.date.today()
    _check_dates(start, body.end_date)
    eps = _budget(body.epsilon_budget, "epsilon_budget")
    delta = _budget(body.delta_budget, "delta_budget")
    if Fraction(delta) >= 1:
        raise InvalidInput("delta_budget must be below 1 (use a tiny value such as 1e-6)")
    ensure_allowed(cur, actor, "room.create", resource_type="room",
                   detail={"name": name, "dp_enabled": body.dp_enabled})
    if cur.execute(
        "SELECT 1 FROM rooms WHERE owner_org_id = ? AND lower(name) = lower(?)", [actor.org_id, name]
    ).fetchone():
        raise Conflict(f"your organisation already has a room named {name!r}")
    room_id = _id()
    cur.execute(
        "INSERT INTO rooms (id, name, description, owner_org_id, start_date, end_date, k_min,"
        " dp_enabled, epsilon_budget, delta_budget, intelligence, flows)"
        " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [room_id, name, body.description, actor.org_id, start, body.end_date, body.k_min,
         body.dp_enabled, eps, delta, body.intelligence, body.flows],
    )
    admin_role = _create_org_roles(cur, room_id, actor.org_id)
    cur.execute("INSERT INTO room_members (room_id, user_id, role_id) VALUES (?, ?, ?)",
                [room_id, actor.user_id, admin_role])
    if not body.dp_enabled:
        record(cur, actor, "room.dp_disabled", room_id=room_id, resource_type="room",
               resource_id=room_id, resource_org_id=actor.org_id,
               reason="owner created the room with differential privacy off")
    return room_id


def list_rooms(store: Store, actor: Actor) -> list[w.Room]:
    """Rooms the caller's org owns or is invited to or a partner in."""
    with store.reader() as cur:
        ensure_allowed(cur, actor, "room.list", resource_type="room")
        ids = [r[0] for r in cur.execute(
            "SELECT id FROM rooms WHERE owner_org_id = ? UNION SELECT room_id FROM room_partners"
            " WHERE org_id = ? AND status IN ('invited', 'accepted')",
            [actor.org_id, actor.org_id],
        ).fetchall()]
        out = [_room_out(cur, actor, room_access(cur, actor, i)) for i in ids]
    return sorted(out, key=lambda r: r.name.lower())


def get_room(store: Store, actor: Actor, room_id: str) -> w.Room:
    """One room, with the caller's permissions and abilities."""
    room_id = _uuid(room_id, "room")
    with store.reader() as cur:
        access = ensure_allowed(cur, actor, "room.read", room_id=room_id, resource_type="room", resource_id=room_id)
        return _room_out(cur, actor, access)


def update_room(store: Store, actor: Actor, room_id: str, body: w.RoomUpdate) -> w.Room:
    """Change settings; moving the end date into the future reactivates an expired room."""
    room_id = _uuid(room_id, "room")
    changes = body.model_dump(exclude_unset=True)
    with store.transaction() as cur:
        access = ensure_allowed(cur, actor, "room.update", room_id=room_id, resource_type="room",
                                resource_id=room_id, detail={k: str(v) for k, v in changes.items()})
        room = access.room
        start = body.start_date or room.start_date
        end = None if body.clear_end_date else (body.end_date or room.end_date)
        _check_dates(start, end)
        values: dict[str, Any] = {"start_date": start, "end_date": end}
        if body.name is not None:
            name = _name(body.name, "room")
            if cur.execute(
                "SELECT 1 FROM rooms WHERE owner_org_id = ? AND lower(name) = lower(?) AND id <> ?",
                [actor.org_id, name, room_id],
            ).fetchone():
                raise Conflict(f"your organisation already has a room named {name!r}")
            values["name"] = name
        for key in ("description", "k_min", "dp_enabled", "intelligence", "flows"):
            if getattr(body, key) is not None:
                values[key] = getattr(body, key)
        if body.epsilon_budget is not None:
            values["epsilon_budget"] = _budget(body.epsilon_budget, "epsilon_budget")
        if body.delta_budget is not None:
            values["delta_budget"] = _budget(body.delta_budget, "delta_budget")
        sets = ", ".join(f"{k} = ?" for k in values)
        cur.execute(f"UPDATE rooms SET {sets} WHERE id = ?", [*values.values(), room_id])
        if body.dp_enabled is False and room.dp_enabled:
            record(cur, actor, "room.dp_disabled", room_id=room_id, resource_type="room",
                   resource_id=room_id, resource_org_id=actor.org_id,
                   reason="owner switched differential privacy off")
        if body.intelligence is False or body.flows is False:
            _drop_feature_permissions(cur, room_id, body)
        return _room_out(cur, actor, room_access(cur, actor, room_id))


def _drop_feature_permissions(cur: Any, room_id: str, body: w.RoomUpdate) -> None:
    gone = set()
    if body.intelligence is False:
        gone |= INTELLIGENCE
    if body.flows is False:
        gone |= FLOWS
    values = [p.value for p in gone]
    cur.execute("DELETE FROM partner_permissions WHERE room_id = ? AND list_contains(?, permission)",
                [room_id, values])
    cur.execute("UPDATE room_roles SET permissions = list_filter(permissions, x -> NOT list_contains(?, x))"
                " WHERE room_id = ?", [values, room_id])


# -- partners ------------------------------------------------------------------------------------


def invite_partner(store: Store, actor: Actor, room_id: str, body: w.PartnerInvite) -> w.Room:
    """Invite an org; if it allowlisted the owner, the invitation is accepted at once (audited)."""
    room_id = _uuid(room_id, "room")
    org_id = _uuid(body.org_id, "organisation")
    with store.transaction() as cur:
        ensure_allowed(cur, actor, "partner.invite", room_id=room_id, resource_type="partner", resource_id=org_id)
        if org_id == actor.org_id:
            raise InvalidInput("the owner organisation is already in the room; invite another organisation")
        if not cur.execute("SELECT 1 FROM orgs WHERE id = ?", [org_id]).fetchone():
            raise NotFound(f"no organisation {org_id}")
        row = cur.execute("SELECT status FROM room_partners WHERE room_id = ? AND org_id = ?",
                          [room_id, org_id]).fetchone()
        if row is not None and row[0] in ("invited", "accepted"):
            raise Conflict(f"that organisation is already {row[0]} in this room")
        cur.execute("DELETE FROM room_partners WHERE room_id = ? AND org_id = ?", [room_id, org_id])
        cur.execute("DELETE FROM partner_permissions WHERE room_id = ? AND org_id = ?", [room_id, org_id])
        cur.execute("INSERT INTO room_partners (room_id, org_id, status) VALUES (?, ?, 'invited')",
                    [room_id, org_id])
        for p in default_partner_permissions():
            cur.execute("INSERT INTO partner_permissions (room_id, org_id, permission) VALUES (?, ?, ?)",
                        [room_id, org_id, p.value])
        trusted = cur.execute(
            "SELECT 1 FROM org_trusted_partners WHERE org_id = ? AND trusted_org_id = ?", [org_id, actor.org_id]
        ).fetchone()
        if trusted:
            admins = [r[0] for r in cur.execute(
                "SELECT id FROM users WHERE org_id = ? AND list_contains(org_roles, 'org_admin')", [org_id]
            ).fetchall()]
            _accept(cur, room_id, org_id, admins, responded_by=None)
            record(cur, actor, "partner.auto_accepted", room_id=room_id, resource_type="partner",
                   resource_id=org_id, resource_org_id=org_id,
                   reason="the invited organisation allowlisted the owner",
                   detail={"administrators": admins})
        return _room_out(cur, actor, room_access(cur, actor, room_id))


def _accept(cur: Any, room_id: str, org_id: str, admin_user_ids: list[str], responded_by: str | None) -> None:
    cur.execute(
        "UPDATE room_partners SET status = 'accepted', responded_at = now(), responded_by = ?"
        " WHERE room_id = ? AND org_id = ?",
        [responded_by, room_id, org_id],
    )
    admin_role = _create_org_roles(cur, room_id, org_id)
    for user_id in admin_user_ids:
        cur.execute("INSERT INTO room_members (room_id, user_id, role_id) VALUES (?, ?, ?)",
                    [room_id, user_id, admin_role])


def respond(store: Store, actor: Actor, room_id: str, accept: bool) -> w.Room | None:
    """Accept (the caller becomes the org's Partner Administrator) or decline an invitation.

    Declining hides the room from the caller's org, so there is no room to answer with: None.
    """
    room_id = _uuid(room_id, "room")
    with store.transaction() as cur:
        ensure_allowed(cur, actor, "partner.respond", room_id=room_id, resource_type="partner",
                       resource_id=actor.org_id, detail={"accept": accept})
        if accept:
            _accept(cur, room_id, actor.org_id, [actor.user_id], responded_by=actor.user_id)
            return _room_out(cur, actor, room_access(cur, actor, room_id))
        cur.execute(
            "UPDATE room_partners SET status = 'declined', responded_at = now(), responded_by = ?"
            " WHERE room_id = ? AND org_id = ?",
            [actor.user_id, room_id, actor.org_id],
        )
    return None


def remove_partner(store: Store, actor: Actor, room_id: str, org_id: str) -> w.Room:
    """Remove a partner: its roles and members go; the audit log keeps what happened."""
    room_id = _uuid(room_id, "room")
    org_id = _uuid(org_id, "organisation")
    with store.transaction() as cur:
        ensure_allowed(cur, actor, "partner.remove", room_id=room_id, resource_type="partner", resource_id=org_id)
        row = cur.execute("SELECT status FROM room_partners WHERE room_id = ? AND org_id = ?",
                          [room_id, org_id]).fetchone()
        if row is None or row[0] not in ("invited", "accepted"):
            raise NotFound(f"organisation {org_id} is not a partner of this room")
        cur.execute("UPDATE room_partners SET status = 'removed', responded_at = now() WHERE room_id = ? AND org_id = ?",
                    [room_id, org_id])
        cur.execute("DELETE FROM partner_permissions WHERE room_id = ? AND org_id = ?", [room_id, org_id])
        cur.execute("DELETE FROM room_members WHERE room_id = ? AND user_id IN (SELECT id FROM users WHERE org_id = ?)",
                    [room_id, org_id])
        cur.execute("DELETE FROM room_roles WHERE room_id = ? AND org_id = ?", [room_id, org_id])
        return _room_out(cur, actor, room_access(cur, actor, room_id))


def set_partner_permissions(
    store: Store, actor: Actor, room_id: str, org_id: str, body: w.PartnerPermissions
) -> w.Room:
    """Choose what a partner may use; taking one away removes it from the partner's roles at once."""
    room_id = _uuid(room_id, "room")
    org_id = _uuid(org_id, "organisation")
    wanted = parse_permissions(body.permissions)
    with store.transaction() as cur:
        access = ensure_allowed(cur, actor, "partner.permissions", room_id=room_id, resource_type="partner",
                                resource_id=org_id, detail={"permissions": sorted(wanted)})
        room = access.room
        owner_only = sorted(p.value for p in wanted & OWNER_ONLY)
        if owner_only:
            raise InvalidInput(f"owner-only permissions cannot be made available to partners: {owner_only}")
        if not room.intelligence and wanted & INTELLIGENCE:
            raise InvalidInput("Intelligence permissions need Intelligence switched on in the room")
        if not room.flows and wanted & FLOWS:
            raise InvalidInput("Flow permissions need Flows switched on in the room")
        row = cur.execute("SELECT status FROM room_partners WHERE room_id = ? AND org_id = ?",
                          [room_id, org_id]).fetchone()
        if row is None or row[0] not in ("invited", "accepted"):
            raise NotFound(f"organisation {org_id} is not a partner of this room")
        cur.execute("DELETE FROM partner_permissions WHERE room_id = ? AND org_id = ?", [room_id, org_id])
        for p in sorted(wanted):
            cur.execute("INSERT INTO partner_permissions (room_id, org_id, permission) VALUES (?, ?, ?)",
                        [room_id, org_id, p.value])
        cur.execute(
            "UPDATE room_roles SET permissions = list_filter(permissions, x -> list_contains(?, x))"
            " WHERE room_id = ? AND org_id = ?",
            [[p.value for p in wanted], room_id, org_id],
        )
        return _room_out(cur, actor, room_access(cur, actor, room_id))


# -- roles and members ---------------------------------------------------------------------------

ROLE_COLUMNS = "id, room_id, org_id, name, kind, permissions"


def _role_out(row: tuple, available: frozenset[Permission]) -> w.Role:
    rid, room_id, org_id, name, kind, perms = row
    effective = role_permissions(kind, list(perms), available)
    return w.Role(id=rid, room_id=room_id, org_id=org_id, name=name, kind=kind,
                  editable=kind != "administrator", permissions=sorted(p.value for p in effective))


def list_roles(store: Store, actor: Actor, room_id: str) -> list[w.Role]:
    """The caller's org's roles in the room, with their effective permissions."""
    room_id = _uuid(room_id, "room")
    with store.reader() as cur:
        access = ensure_allowed(cur, actor, "room.read", room_id=room_id, resource_type="role")
        rows = cur.execute(f"SELECT {ROLE_COLUMNS} FROM room_roles WHERE room_id = ? AND org_id = ?"
                           " ORDER BY kind <> 'administrator', kind <> 'viewer', name",
                           [room_id, actor.org_id]).fetchall()
    return [_role_out(r, access.available) for r in rows]


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
    room_id = _uuid(room_id, "room")
    with store.transaction() as cur:
        access = ensure_allowed(cur, actor, "role.manage", room_id=room_id, resource_type="role",
                                detail={"name": body.name, "permissions": body.permissions})
        name = _name(body.name, "role")
        perms = _checked_permissions(body.permissions, access)
        if cur.execute("SELECT 1 FROM room_roles WHERE room_id = ? AND org_id = ? AND lower(name) = lower(?)",
                       [room_id, actor.org_id, name]).fetchone():
            raise Conflict(f"your organisation already has a role named {name!r} in this room")
        role_id = _id()
        cur.execute("INSERT INTO room_roles (id, room_id, org_id, name, kind, permissions) VALUES (?, ?, ?, ?, 'custom', ?)",
                    [role_id, room_id, actor.org_id, name, sorted(p.value for p in perms)])
        row = cur.execute(f"SELECT {ROLE_COLUMNS} FROM room_roles WHERE id = ?", [role_id]).fetchone()
        return _role_out(row, access.available)


def _own_role(cur: Any, actor: Actor, room_id: str, role_id: str) -> tuple:
    role_id = _uuid(role_id, "role")
    row = cur.execute(f"SELECT {ROLE_COLUMNS} FROM room_roles WHERE id = ? AND room_id = ? AND org_id = ?",
                      [role_id, room_id, actor.org_id]).fetchone()
    if row is None:
        raise NotFound(f"no role {role_id} of your organisation in this room")
    return row


def update_role(store: Store, actor: Actor, room_id: str, role_id: str, body: w.RoleUpdate) -> w.Role:
    """Rename a role or change its permissions; the Administrator role is not editable."""
    room_id = _uuid(room_id, "room")
    with store.transaction() as cur:
        access = ensure_allowed(cur, actor, "role.manage", room_id=room_id, resource_type="role",
                                resource_id=role_id, detail=body.model_dump(exclude_unset=True))
        row = _own_role(cur, actor, room_id, role_id)
        if row[4] == "administrator":
            raise InvalidInput("the Administrator role holds every available permission and cannot be edited")
        if body.name is not None:
            name = _name(body.name, "role")
            if cur.execute("SELECT 1 FROM room_roles WHERE room_id = ? AND org_id = ? AND lower(name) = lower(?) AND id <> ?",
                           [room_id, actor.org_id, name, row[0]]).fetchone():
                raise Conflict(f"your organisation already has a role named {name!r} in this room")
            cur.execute("UPDATE room_roles SET name = ? WHERE id = ?", [name, row[0]])
        if body.permissions is not None:
            perms = _checked_permissions(body.permissions, access)
            cur.execute("UPDATE room_roles SET permissions = ? WHERE id = ?", [sorted(p.value for p in perms), row[0]])
        row = cur.execute(f"SELECT {ROLE_COLUMNS} FROM room_roles WHERE id = ?", [row[0]]).fetchone()
        return _role_out(row, access.available)


def delete_role(store: Store, actor: Actor, room_id: str, role_id: str) -> None:
    """Delete a custom role that nobody holds."""
    room_id = _uuid(room_id, "room")
    with store.transaction() as cur:
        ensure_allowed(cur, actor, "role.manage", room_id=room_id, resource_type="role", resource_id=role_id)
        row = _own_role(cur, actor, room_id, role_id)
        if row[4] != "custom":
            raise InvalidInput(f"the built-in role {row[3]} cannot be deleted")
        if cur.execute("SELECT 1 FROM room_members WHERE role_id = ?", [row[0]]).fetchone():
            raise Conflict(f"users still hold the role {row[3]}; give them another role first")
        cur.execute("DELETE FROM room_roles WHERE id = ?", [row[0]])


MEMBER_SQL = (
    "SELECT m.room_id, m.user_id, u.name, u.org_id, m.role_id, r.name FROM room_members m"
    " JOIN users u ON u.id = m.user_id JOIN room_roles r ON r.id = m.role_id"
)


def _member(row: tuple) -> w.Member:
    return w.Member(room_id=row[0], user_id=row[1], user_name=row[2], org_id=row[3], role_id=row[4], role_name=row[5])


def list_members(store: Store, actor: Actor, room_id: str) -> list[w.Member]:
    """The caller's org's users in the room and their roles."""
    room_id = _uuid(room_id, "room")
    with store.reader() as cur:
        ensure_allowed(cur, actor, "room.read", room_id=room_id, resource_type="member")
        rows = cur.execute(MEMBER_SQL + " WHERE m.room_id = ? AND u.org_id = ? ORDER BY u.name",
                           [room_id, actor.org_id]).fetchall()
    return [_member(r) for r in rows]


def add_member(store: Store, actor: Actor, room_id: str, body: w.MemberAdd) -> w.Member:
    """Give a user of the caller's org a role in the room (or change it)."""
    room_id = _uuid(room_id, "room")
    with store.transaction() as cur:
        ensure_allowed(cur, actor, "member.manage", room_id=room_id, resource_type="member",
                       resource_id=body.user_id, detail={"role_id": body.role_id})
        user_id = _own_user(cur, actor, body.user_id)
        role = _own_role(cur, actor, room_id, body.role_id)
        cur.execute("INSERT INTO room_members (room_id, user_id, role_id) VALUES (?, ?, ?)"
                    " ON CONFLICT (room_id, user_id) DO UPDATE SET role_id = excluded.role_id",
                    [room_id, user_id, role[0]])
        return _member(cur.execute(MEMBER_SQL + " WHERE m.room_id = ? AND m.user_id = ?", [room_id, user_id]).fetchone())


def remove_member(store: Store, actor: Actor, room_id: str, user_id: str) -> None:
    """Take a user of the caller's org out of the room."""
    room_id = _uuid(room_id, "room")
    with store.transaction() as cur:
        ensure_allowed(cur, actor, "member.manage", room_id=room_id, resource_type="member", resource_id=user_id)
        user_id = _own_user(cur, actor, user_id)
        if not cur.execute("SELECT 1 FROM room_members WHERE room_id = ? AND user_id = ?", [room_id, user_id]).fetchone():
            raise NotFound(f"user {user_id} is not in this room")
        cur.execute("DELETE FROM room_members WHERE room_id = ? AND user_id = ?", [room_id, user_id])


# -- audit ---------------------------------------------------------------------------------------


def read_audit(
    store: Store, actor: Actor, *, room_id: str | None = None, actor_user_id: str | None = None,
    action: str | None = None, limit: int = 500,
) -> list[w.AuditEvent]:
    """Events of the caller's org's actions and on its resources."""
    with store.reader() as cur:
        ensure_allowed(cur, actor, "org.audit.read", resource_type="audit")
        events = events_for_org(cur, actor.org_id, room_id=room_id, actor_user_id=actor_user_id,
                                action=action, limit=limit)
    return [w.AuditEvent(**e) for e in events]


def check(store: Store, actor: Actor, room_id: str, action: str, resource_id: str | None = None) -> dict[str, Any]:
    """Ask the policy about one action without doing it (consoles use this to show controls)."""
    room_id = _uuid(room_id, "room")
    try:
        registry.get(action)
    except RuntimeError:
        raise InvalidInput(f"unknown action {action!r}") from None
    with store.reader() as cur:
        ensure_allowed(cur, actor, "room.read", room_id=room_id, resource_type="room", resource_id=room_id)
        d = decide(cur, actor, action, room_id=room_id, resource_id=resource_id)
    return {"action": action, "allowed": d.allowed, "reason": d.reason}



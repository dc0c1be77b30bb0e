"""Organisations, their users, API tokens, trusted partners and audit log.

Each operation is one transaction: authorise (one call to ensure_allowed), validate, act.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets
from typing import Any

from workbench.errors import Conflict, InvalidInput, NotFound, Unauthenticated
from workbench.governance import _records as rec
from workbench.governance.audit import events_for_org, record
from workbench.governance.inputs import required_name
from workbench.governance.model import Actor
from workbench.governance.permissions import BUILTIN_ORG_ROLES, OrgRight, rights_of_roles
from workbench.governance.policy import ensure_allowed
from workbench.ids import new_id, parse_uuid
from workbench.store import Store
from workbench.wire import governance as w

TOKEN_PREFIX = "wbt_"


def hash_token(secret: str) -> str:
    """Tokens are 256 random bits, so one SHA-256 is enough to store them safely."""
    return hashlib.sha256(secret.encode()).hexdigest()


def _custom_rights(cur: Any, org_id: str) -> dict[str, list[str]]:
    return {r.id: list(r.rights) for r in rec.custom_org_roles(cur, org_id)}


def user_rights(cur: Any, user: rec.UserRecord) -> frozenset[str]:
    """The org rights a user holds through its org roles."""
    return rights_of_roles(list(user.org_roles), _custom_rights(cur, user.org_id))


def _checked_org_roles(cur: Any, actor: Actor, values: list[str]) -> list[str]:
    """Org role keys of the caller's org; nobody hands out rights it does not hold itself."""
    custom = _custom_rights(cur, actor.org_id)
    known = set(BUILTIN_ORG_ROLES) | set(custom) | {r.value for r in OrgRight}
    bad = sorted(set(values) - known)
    if bad:
        raise InvalidInput(f"unknown org role(s) {bad}; known: {sorted(set(BUILTIN_ORG_ROLES) | set(custom))} "
                           "(custom org roles by id)")
    beyond = sorted(rights_of_roles(values, custom) - actor.org_rights)
    if beyond:
        # only org admins hand out rights beyond their own: the policy decides, and audits, that
        ensure_allowed(cur, actor, "org.rights.grant", resource_type="user", detail={"rights": beyond})
    return sorted(set(values))


def user_out(cur: Any, user: rec.UserRecord) -> w.User:
    """The wire form of a user, with the rights its org roles bundle."""
    return w.User(id=user.id, org_id=user.org_id, name=user.name, email=user.email,
                  org_roles=list(user.org_roles), org_rights=sorted(user_rights(cur, user)),
                  active=user.deactivated_at is None,
                  deactivated_at=user.deactivated_at.isoformat() if user.deactivated_at else None)


def _token_out(token: rec.TokenRecord, secret: str | None = None) -> w.Token:
    return w.Token(id=token.id, user_id=token.user_id, label=token.label,
                   created_at=token.created_at.isoformat(), revoked=token.revoked_at is not None, secret=secret)


# -- authentication ---------------------------------------------------------------------------


def authenticate(store: Store, secret: str | None) -> Actor:
    """The actor behind a bearer token; unknown and revoked tokens are refused alike."""
    if not secret:
        raise Unauthenticated("no API token: send 'Authorization: Bearer <token>'")
    with store.reader() as cur:
        user = rec.token_user(cur, hash_token(secret))
        rights = user_rights(cur, user) if user is not None else frozenset()
    if user is None:
        raise Unauthenticated("the API token is unknown or revoked, or its user is deactivated; "
                              "ask your org admin for a new one")
    return Actor(user_id=user.id, org_id=user.org_id, user_name=user.name,
                 org_roles=frozenset(user.org_roles), org_rights=rights)


# -- organisations, users, tokens --------------------------------------------------------------


def _insert_org(cur: Any, name: str, admin_name: str) -> tuple[w.Org, w.User, w.Token]:
    name = required_name(name, "organisation")
    if rec.org_name_taken(cur, name):
        raise Conflict(f"an organisation named {name!r} already exists; pick another name")
    org_id = new_id()
    rec.insert_org(cur, org_id, name)
    user = _insert_user(cur, org_id, admin_name, None, ["org_admin"])
    token = _insert_token(cur, user.id, "admin")
    return w.Org(id=org_id, name=name), user, token


def _insert_user(cur: Any, org_id: str, name: str, email: str | None, roles: list[str]) -> w.User:
    name = required_name(name, "user")
    if rec.user_name_taken(cur, org_id, name):
        raise Conflict(f"your organisation already has a user named {name!r}")
    user_id = new_id()
    rec.insert_user(cur, user_id=user_id, org_id=org_id, name=name, email=email, org_roles=roles)
    return user_out(cur, _read_user(cur, user_id))


def _read_user(cur: Any, user_id: str) -> rec.UserRecord:
    user = rec.user(cur, user_id)
    if user is None:
        raise NotFound(f"no user {user_id}")
    return user


def _insert_token(cur: Any, user_id: str, label: str) -> w.Token:
    secret = TOKEN_PREFIX + secrets.token_urlsafe(32)
    token = rec.insert_token(cur, token_id=new_id(), user_id=user_id, label=label, token_hash=hash_token(secret))
    return _token_out(token, secret)


def bootstrap(store: Store, org_name: str, admin_name: str) -> w.OrgCreated:
    """The first organisation of a new store (``workbench init``); refused once one exists."""
    with store.transaction() as cur:
        if rec.count_orgs(cur):
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
        user = rec.user(cur, actor.user_id)
        org = rec.org(cur, actor.org_id)
        if user is None or org is None:
            raise Unauthenticated("the API token's user no longer exists")
        out = user_out(cur, user)
    return w.Whoami(user=out, org=w.Org(id=org.id, name=org.name))


def get_org(store: Store, actor: Actor, org_id: str) -> w.Org:
    """Any organisation's id and name: partners are invited by id, so ids are not secret."""
    org_id = parse_uuid(org_id, "organisation")
    with store.reader() as cur:
        ensure_allowed(cur, actor, "org.read", resource_type="org", resource_id=org_id)
        org = rec.org(cur, org_id)
    if org is None:
        raise NotFound(f"no organisation {org_id}")
    return w.Org(id=org.id, name=org.name)


def create_user(store: Store, actor: Actor, body: w.UserCreate) -> w.User:
    """Add a user to the caller's organisation."""
    with store.transaction() as cur:
        ensure_allowed(cur, actor, "org.users.manage", resource_type="user",
                       detail={"name": body.name, "org_roles": body.org_roles})
        return _insert_user(cur, actor.org_id, body.name, body.email, _checked_org_roles(cur, actor, body.org_roles))


def list_users(store: Store, actor: Actor) -> list[w.User]:
    """Users of the caller's organisation."""
    with store.reader() as cur:
        ensure_allowed(cur, actor, "org.read", resource_type="user")
        return [user_out(cur, u) for u in rec.users_of(cur, actor.org_id)]


def own_user(cur: Any, actor: Actor, user_id: str) -> rec.UserRecord:
    """A user of the caller's org; any other id is not found."""
    user_id = parse_uuid(user_id, "user")
    user = rec.user(cur, user_id)
    if user is None or user.org_id != actor.org_id:
        raise NotFound(f"no user {user_id} in your organisation")
    return user


def update_user(store: Store, actor: Actor, user_id: str, body: w.UserUpdate) -> w.User:
    """Rename a user, change its e-mail or org roles (audited with the change)."""
    with store.transaction() as cur:
        ensure_allowed(cur, actor, "org.users.manage", resource_type="user", resource_id=user_id,
                       detail=body.model_dump(exclude_unset=True))
        user = own_user(cur, actor, user_id)
        name = user.name
        if body.name is not None:
            name = required_name(body.name, "user")
            if rec.user_name_taken(cur, actor.org_id, name, other_than=user.id):
                raise Conflict(f"your organisation already has a user named {name!r}")
        roles = list(user.org_roles)
        if body.org_roles is not None:
            roles = _checked_org_roles(cur, actor, body.org_roles)
            if user.id == actor.user_id and "org_admin" in user.org_roles and "org_admin" not in roles:
                raise Conflict("you cannot take the Organisation Administrator role from yourself; "
                               "ask another organisation administrator")
        email = body.email if "email" in body.model_fields_set else user.email
        rec.update_user(cur, user.id, name=name, email=email, org_roles=roles)
        return user_out(cur, _read_user(cur, user.id))


def set_user_active(store: Store, actor: Actor, user_id: str, active: bool) -> w.User:
    """Deactivate a user (its tokens stop working; room memberships stay for the record) or
    reactivate it. Refused while it is the last active Administrator of its org in a room."""
    action = "org.users.reactivate" if active else "org.users.deactivate"
    with store.transaction() as cur:
        ensure_allowed(cur, actor, action, resource_type="user", resource_id=user_id)
        user = own_user(cur, actor, user_id)
        if not active:
            if user.id == actor.user_id:
                raise Conflict("you cannot deactivate yourself; ask another administrator of your organisation")
            sole = rec.rooms_with_sole_admin(cur, user.id)
            if sole:
                names = ", ".join(r.room_name for r in sole)
                raise Conflict(f"{user.name} is the last active Administrator of your organisation in: {names}; "
                               "give another user the Administrator role there first")
        rec.set_deactivated(cur, user.id, not active)
        return user_out(cur, _read_user(cur, user.id))


def issue_token(store: Store, actor: Actor, body: w.TokenCreate) -> w.Token:
    """A new API token for a user of the caller's org; the secret appears only here."""
    with store.transaction() as cur:
        ensure_allowed(cur, actor, "org.tokens.manage", resource_type="token", resource_id=body.user_id)
        user = own_user(cur, actor, body.user_id)
        if user.deactivated_at is not None:
            raise Conflict(f"{user.name} is deactivated; reactivate the user before issuing a token")
        return _insert_token(cur, user.id, body.label)


def list_tokens(store: Store, actor: Actor) -> list[w.Token]:
    """Tokens of the caller's org (never their secrets)."""
    with store.reader() as cur:
        ensure_allowed(cur, actor, "org.tokens.manage", resource_type="token")
        return [_token_out(t) for t in rec.org_tokens(cur, actor.org_id)]


def revoke_token(store: Store, actor: Actor, token_id: str) -> w.Token:
    """Revoke a token of the caller's org; requests with it fail from now on."""
    token_id = parse_uuid(token_id, "token")
    with store.transaction() as cur:
        ensure_allowed(cur, actor, "org.tokens.manage", resource_type="token", resource_id=token_id)
        token = rec.org_token(cur, token_id, actor.org_id)
        if token is None:
            raise NotFound(f"no token {token_id} in your organisation")
        rec.revoke_token(cur, token_id)
        revoked = rec.org_token(cur, token_id, actor.org_id)
    return _token_out(revoked or token)


# -- org roles -----------------------------------------------------------------------------------


def _checked_rights(values: list[str]) -> list[str]:
    known = {r.value for r in OrgRight}
    bad = sorted(set(values) - known)
    if bad:
        raise InvalidInput(f"unknown org right(s) {bad}; known: {sorted(known)}")
    return sorted(set(values))


def _org_roles_out(cur: Any, org_id: str) -> list[w.OrgRole]:
    out = [w.OrgRole(key=key, name=name, builtin=True, rights=sorted(r.value for r in rights))
           for key, (name, rights) in BUILTIN_ORG_ROLES.items()]
    out += [w.OrgRole(key=r.id, name=r.name, builtin=False, rights=list(r.rights))
            for r in rec.custom_org_roles(cur, org_id)]
    return out


def list_org_roles(store: Store, actor: Actor) -> list[w.OrgRole]:
    """The built-in org roles and the caller's org's custom ones."""
    with store.reader() as cur:
        ensure_allowed(cur, actor, "org.read", resource_type="org_role")
        return _org_roles_out(cur, actor.org_id)


def _own_org_role(cur: Any, actor: Actor, role_id: str) -> rec.OrgRoleRecord:
    if role_id in BUILTIN_ORG_ROLES:
        raise InvalidInput(f"the built-in org role {BUILTIN_ORG_ROLES[role_id][0]} cannot be changed; "
                           "create a custom org role instead")
    role = rec.org_role(cur, parse_uuid(role_id, "org role"))
    if role is None or role.org_id != actor.org_id:
        raise NotFound(f"no org role {role_id} in your organisation")
    return role


def create_org_role(store: Store, actor: Actor, body: w.OrgRoleCreate) -> list[w.OrgRole]:
    """A custom org role: a named bundle of org rights (audited)."""
    with store.transaction() as cur:
        ensure_allowed(cur, actor, "org.roles.manage", resource_type="org_role",
                       detail={"name": body.name, "rights": body.rights})
        name = required_name(body.name, "org role")
        builtin_names = {n.lower() for n, _ in BUILTIN_ORG_ROLES.values()}
        if name.lower() in builtin_names or rec.org_role_name_taken(cur, actor.org_id, name):
            raise Conflict(f"an org role named {name!r} already exists; pick another name")
        rec.insert_org_role(cur, role_id=new_id(), org_id=actor.org_id, name=name, rights=_checked_rights(body.rights))
        return _org_roles_out(cur, actor.org_id)


def update_org_role(store: Store, actor: Actor, role_id: str, body: w.OrgRoleUpdate) -> list[w.OrgRole]:
    """Rename a custom org role or change its rights; its holders' rights change at once."""
    with store.transaction() as cur:
        ensure_allowed(cur, actor, "org.roles.manage", resource_type="org_role", resource_id=role_id,
                       detail=body.model_dump(exclude_unset=True))
        role = _own_org_role(cur, actor, role_id)
        name = role.name if body.name is None else required_name(body.name, "org role")
        if rec.org_role_name_taken(cur, actor.org_id, name, other_than=role.id):
            raise Conflict(f"an org role named {name!r} already exists; pick another name")
        rights = list(role.rights) if body.rights is None else _checked_rights(body.rights)
        rec.update_org_role(cur, role.id, name=name, rights=rights)
        return _org_roles_out(cur, actor.org_id)


def delete_org_role(store: Store, actor: Actor, role_id: str) -> list[w.OrgRole]:
    """Delete a custom org role nobody holds."""
    with store.transaction() as cur:
        ensure_allowed(cur, actor, "org.roles.manage", resource_type="org_role", resource_id=role_id)
        role = _own_org_role(cur, actor, role_id)
        holders = rec.org_role_holders(cur, actor.org_id, role.id)
        if holders:
            raise Conflict(f"users still hold the org role {role.name}: {', '.join(holders)}; change their org roles first")
        rec.delete_org_role(cur, role.id)
        return _org_roles_out(cur, actor.org_id)


# -- trusted partners ----------------------------------------------------------------------------


def _trusted(cur: Any, actor: Actor) -> list[w.Org]:
    return [w.Org(id=o.id, name=o.name) for o in rec.trusted_orgs(cur, actor.org_id)]


def trust_partner(store: Store, actor: Actor, body: w.TrustCreate) -> list[w.Org]:
    """Allowlist an org: its invitations to the caller's org are accepted automatically."""
    org_id = parse_uuid(body.org_id, "organisation")
    with store.transaction() as cur:
        ensure_allowed(cur, actor, "org.trust.manage", resource_type="org", resource_id=org_id)
        if org_id == actor.org_id:
            raise InvalidInput("an organisation cannot allowlist itself")
        if rec.org(cur, org_id) is None:
            raise NotFound(f"no organisation {org_id}")
        rec.add_trust(cur, actor.org_id, org_id)
        return _trusted(cur, actor)


def untrust_partner(store: Store, actor: Actor, org_id: str) -> list[w.Org]:
    """Take an org off the allowlist; an org that is not on it is not found (nothing to take off)."""
    org_id = parse_uuid(org_id, "organisation")
    with store.transaction() as cur:
        ensure_allowed(cur, actor, "org.trust.manage", resource_type="org", resource_id=org_id)
        if all(o.id != org_id for o in rec.trusted_orgs(cur, actor.org_id)):
            raise NotFound(f"organisation {org_id} is not on your organisation's trusted partners")
        rec.remove_trust(cur, actor.org_id, org_id)
        return _trusted(cur, actor)


def list_trusted(store: Store, actor: Actor) -> list[w.Org]:
    """The caller's org's allowlist."""
    with store.reader() as cur:
        ensure_allowed(cur, actor, "org.read", resource_type="org")
        return _trusted(cur, actor)


# -- the org's audit log -------------------------------------------------------------------------


def read_audit(
    store: Store, actor: Actor, *, room_id: str | None = None, actor_user_id: str | None = None,
    action: str | None = None, limit: int = 500, since: dt.datetime | None = None,
    until: dt.datetime | None = None, before_seq: int | None = None, reads: bool = True,
) -> list[w.AuditEvent]:
    """Events of the caller's org's actions and on its resources, newest first; a page of them
    (``before_seq``), within [since, until), reads left out with ``reads=False``."""
    for name, when in (("since", since), ("until", until)):
        if when is not None and when.tzinfo is None:
            raise InvalidInput(f"{name} needs a time zone: write it as 2026-12-01T00:00:00+00:00")
    if since is not None and until is not None and since >= until:
        raise InvalidInput("the date range is empty: 'since' must come before 'until'")
    with store.reader() as cur:
        ensure_allowed(cur, actor, "org.audit.read", resource_type="audit")
        events = events_for_org(cur, actor.org_id, room_id=room_id, actor_user_id=actor_user_id,
                                action=action, limit=limit, since=since, until=until,
                                before_seq=before_seq, reads=reads)
    return [w.AuditEvent(**e) for e in events]

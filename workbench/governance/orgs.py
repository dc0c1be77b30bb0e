"""Organisations, their users, API tokens, trusted partners and audit log.

Each operation is one transaction: authorise (one call to ensure_allowed), validate, act.
"""

from __future__ import annotations

import hashlib
import secrets
from typing import Any

from workbench.errors import Conflict, InvalidInput, NotFound, Unauthenticated
from workbench.governance import _records as rec
from workbench.governance.audit import events_for_org, record
from workbench.governance.inputs import required_name
from workbench.governance.model import Actor
from workbench.governance.permissions import OrgRight
from workbench.governance.policy import ensure_allowed
from workbench.ids import new_id, parse_uuid
from workbench.store import Store
from workbench.wire import governance as w

TOKEN_PREFIX = "wbt_"


def hash_token(secret: str) -> str:
    """Tokens are 256 random bits, so one SHA-256 is enough to store them safely."""
    return hashlib.sha256(secret.encode()).hexdigest()


def _checked_org_roles(values: list[str]) -> list[str]:
    known = {r.value for r in OrgRight}
    bad = sorted(set(values) - known)
    if bad:
        raise InvalidInput(f"unknown org role(s) {bad}; known: {sorted(known)}")
    return sorted(set(values))


def user_out(user: rec.UserRecord) -> w.User:
    """The wire form of a user."""
    return w.User(id=user.id, org_id=user.org_id, name=user.name, email=user.email,
                  org_roles=list(user.org_roles))


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
    if user is None:
        raise Unauthenticated("the API token is unknown or revoked; ask your org admin for a new one")
    return Actor(user_id=user.id, org_id=user.org_id, user_name=user.name, org_roles=frozenset(user.org_roles))


# -- organisations, users, tokens --------------------------------------------------------------


def _insert_org(cur: Any, name: str, admin_name: str) -> tuple[w.Org, w.User, w.Token]:
    name = required_name(name, "organisation")
    if rec.org_name_taken(cur, name):
        raise Conflict(f"an organisation named {name!r} already exists; pick another name")
    org_id = new_id()
    rec.insert_org(cur, org_id, name)
    user = _insert_user(cur, org_id, admin_name, None, [r.value for r in OrgRight])
    token = _insert_token(cur, user.id, "admin")
    return w.Org(id=org_id, name=name), user, token


def _insert_user(cur: Any, org_id: str, name: str, email: str | None, roles: list[str]) -> w.User:
    name = required_name(name, "user")
    if rec.user_name_taken(cur, org_id, name):
        raise Conflict(f"your organisation already has a user named {name!r}")
    user_id = new_id()
    rec.insert_user(cur, user_id=user_id, org_id=org_id, name=name, email=email, org_roles=roles)
    return w.User(id=user_id, org_id=org_id, name=name, email=email, org_roles=roles)


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
    return w.Whoami(user=user_out(user), org=w.Org(id=org.id, name=org.name))


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
        ensure_allowed(cur, actor, "org.users.manage", resource_type="user")
        return _insert_user(cur, actor.org_id, body.name, body.email, _checked_org_roles(body.org_roles))


def list_users(store: Store, actor: Actor) -> list[w.User]:
    """Users of the caller's organisation."""
    with store.reader() as cur:
        ensure_allowed(cur, actor, "org.read", resource_type="user")
        return [user_out(u) for u in rec.users_of(cur, actor.org_id)]


def own_user(cur: Any, actor: Actor, user_id: str) -> rec.UserRecord:
    """A user of the caller's org; any other id is not found."""
    user_id = parse_uuid(user_id, "user")
    user = rec.user(cur, user_id)
    if user is None or user.org_id != actor.org_id:
        raise NotFound(f"no user {user_id} in your organisation")
    return user


def issue_token(store: Store, actor: Actor, body: w.TokenCreate) -> w.Token:
    """A new API token for a user of the caller's org; the secret appears only here."""
    with store.transaction() as cur:
        ensure_allowed(cur, actor, "org.tokens.manage", resource_type="token", resource_id=body.user_id)
        user = own_user(cur, actor, body.user_id)
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
    """Take an org off the allowlist."""
    org_id = parse_uuid(org_id, "organisation")
    with store.transaction() as cur:
        ensure_allowed(cur, actor, "org.trust.manage", resource_type="org", resource_id=org_id)
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
    action: str | None = None, limit: int = 500,
) -> list[w.AuditEvent]:
    """Events of the caller's org's actions and on its resources."""
    with store.reader() as cur:
        ensure_allowed(cur, actor, "org.audit.read", resource_type="audit")
        events = events_for_org(cur, actor.org_id, room_id=room_id, actor_user_id=actor_user_id,
                                action=action, limit=limit)
    return [w.AuditEvent(**e) for e in events]

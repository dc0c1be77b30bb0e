"""A publisher's advertiser connections (Permutive's model): per advertiser org, toggles for
insights, matched cohorts, modeled cohorts and activation.

They gate what a partner may create in the publisher's rooms (see ``actions``). A publisher
without any connection gates nothing, so rooms work as before until it starts a list.
"""

from __future__ import annotations

from workbench.audiences import _records as rec
from workbench.errors import InvalidInput, NotFound
from workbench.governance.model import Actor
from workbench.governance.policy import ensure_allowed
from workbench.ids import parse_uuid
from workbench.store import Store
from workbench.wire import audiences as w


def _out(c: rec.Connection) -> w.Connection:
    return w.Connection(publisher_org_id=c.publisher_org_id, advertiser_org_id=c.advertiser_org_id,
                        insights=c.insights, matched_cohorts=c.matched_cohorts,
                        modeled_cohorts=c.modeled_cohorts, activation=c.activation)


def list_connections(store: Store, actor: Actor) -> list[w.Connection]:
    """The caller's organisation's connections."""
    with store.reader() as cur:
        ensure_allowed(cur, actor, "audience.connection.read", resource_type="connection")
        return [_out(c) for c in rec.connections(cur, actor.org_id)]


def set_connection(store: Store, actor: Actor, body: w.ConnectionSet) -> w.Connection:
    """Add or change a connection (org admins of the publisher; audited)."""
    advertiser = parse_uuid(body.advertiser_org_id, "organisation")
    with store.transaction() as cur:
        ensure_allowed(cur, actor, "audience.connection.manage", resource_type="connection",
                       resource_id=advertiser, detail=body.model_dump())
        if advertiser == actor.org_id:
            raise InvalidInput("a connection is with another organisation, not your own")
        if not rec.org_exists(cur, advertiser):
            raise NotFound(f"no organisation {advertiser}")
        c = rec.Connection(publisher_org_id=actor.org_id, advertiser_org_id=advertiser,
                           insights=body.insights, matched_cohorts=body.matched_cohorts,
                           modeled_cohorts=body.modeled_cohorts, activation=body.activation)
        rec.set_connection(cur, c, actor.user_id)
        return _out(c)


def delete_connection(store: Store, actor: Actor, advertiser_org_id: str) -> None:
    """Remove a connection (the advertiser is then refused whatever the list gates)."""
    advertiser = parse_uuid(advertiser_org_id, "organisation")
    with store.transaction() as cur:
        ensure_allowed(cur, actor, "audience.connection.manage", resource_type="connection",
                       resource_id=advertiser)
        if rec.connection(cur, actor.org_id, advertiser) is None:
            raise NotFound(f"no connection with {advertiser}")
        rec.delete_connection(cur, actor.org_id, advertiser)

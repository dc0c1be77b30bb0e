"""The audience actions, as data; workbench.wiring installs them and the policy decides each one.

Two resource rules live here because they are about who may act, not about input:

- the publisher's connections gate what a partner may create in the publisher's rooms (a
  publisher without any connection gates nothing);
- activation is for users of the activation party; the permission itself (Activate Audiences) is
  an ordinary room permission held through roles, available to a partner only when the owner makes
  it so.
"""

from __future__ import annotations

from typing import Any

from workbench.audiences import _records as rec
from workbench.governance.actions import Action, Check
from workbench.governance.model import Actor, RoomAccess
from workbench.governance.permissions import OrgRight, Permission

P = Permission
TOGGLES = ("insights", "matched_cohorts", "modeled_cohorts", "activation")


def activation_org(cur: Any, access: RoomAccess) -> str:
    """The room's activation party: as the audience terms say, else the owner (the publisher)."""
    terms = rec.terms(cur, access.room.id)
    return terms.activation_org_id if terms is not None else access.room.owner_org_id


def connection_refusal(cur: Any, actor: Actor, access: RoomAccess, toggle: str) -> str | None:
    """Why the owner's connection list refuses this partner ``toggle`` (None: allowed)."""
    owner = access.room.owner_org_id
    if actor.org_id == owner or not rec.has_connections(cur, owner):
        return None
    conn = rec.connection(cur, owner, actor.org_id)
    if conn is None:
        return ("the room owner has no audience connection with your organisation; ask them "
                "to add one")
    if not getattr(conn, toggle):
        return (f"the room owner's connection with your organisation does not allow "
                f"{toggle.replace('_', ' ')}; ask them to switch it on")
    return None


def _gate(toggle: str) -> Check:
    def check(cur: Any, actor: Actor, access: RoomAccess, _resource: str | None) -> str | None:
        return connection_refusal(cur, actor, access, toggle)
    check.__name__ = f"gate_{toggle}"
    return check


def _activator(cur: Any, actor: Actor, access: RoomAccess, _resource: str | None) -> str | None:
    if actor.org_id != activation_org(cur, access):
        return "only the room's activation party exports cohorts"
    return connection_refusal(cur, actor, access, "activation")


def _activation_party(cur: Any, actor: Actor, access: RoomAccess, _resource: str | None
                      ) -> str | None:
    if actor.org_id != activation_org(cur, access):
        return "only the room's activation party has export destinations"
    return None


GATE_INSIGHTS = _gate("insights")
GATE_MATCHED = _gate("matched_cohorts")
GATE_MODELED = _gate("modeled_cohorts")

ACTIONS: tuple[Action, ...] = (
    Action(name="audience.terms.read", description="Read the room's audience terms."),
    Action(name="audience.terms.set", permission=P.PARTNER_MANAGEMENT, owner_only=True,
           writes=True, description="Choose the room's activation party and largest seed."),
    Action(name="audience.cohort.create", permission=P.RUNS, writes=True, check=GATE_MATCHED,
           description="Build a matched cohort from a user-list question (spends budget)."),
    Action(name="audience.cohort.refresh", permission=P.RUNS, writes=True, check=GATE_MATCHED,
           description="Rebuild a matched cohort: a new version (spends budget)."),
    Action(name="audience.cohort.read", permission=P.VIEW_REPORTS,
           description="See cohorts: name, question, version and DP size; never members."),
    Action(name="audience.cohort.delete", permission=P.RUNS, writes=True,
           description="Delete a cohort and its members; budget spent stays spent."),
    Action(name="audience.match_rates", permission=P.RUNS, writes=True, check=GATE_INSIGHTS,
           description="Release match rates per identifier kind with DP (spends budget)."),
    Action(name="audience.lookalike.train", permission=P.RUNS, writes=True, check=GATE_MODELED,
           description="Train a lookalike of a matched cohort and release its reach curve."),
    Action(name="audience.lookalike.size", permission=P.RUNS, writes=True, check=GATE_MODELED,
           description="Pick a modeled cohort's size from its reach curve."),
    Action(name="audience.policy.read", description="Read datasets' activation consent."),
    Action(name="audience.policy.set", permission=P.MANAGE_DATASETS, writes=True,
           description="Consent (or not) to activation of cohorts derived from one's dataset."),
    Action(name="audience.destination.manage", permission=P.ACTIVATE_AUDIENCES, writes=True,
           check=_activator,
           description="Configure where the activation party's exports are written."),
    Action(name="audience.destination.read", permission=P.RUNS, check=_activation_party,
           description="List the activation party's export destinations."),
    Action(name="audience.activate", permission=P.ACTIVATE_AUDIENCES, writes=True,
           check=_activator,
           description="Export a cohort's membership of the activation party's own ids."),
    Action(name="audience.activation.read",
           description="See the room's activation history (every party sees every export)."),
    Action(name="audience.connection.manage", scope="org", org_right=OrgRight.ADMIN,
           description="Keep the publisher's list of advertiser connections and their toggles."),
    Action(name="audience.connection.read", scope="org",
           description="Read one's organisation's advertiser connections."),
)

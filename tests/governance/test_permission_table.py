"""DESIGN.md's permission table, every cell, through the HTTP API of a real service.

Each permission x (owner org, partner org) x (role holding it, role not holding it) x
(room active, room expired). A probe performs the permission's representative operation on a
room with real datasets, a question, a run and a flow.
"""

from __future__ import annotations

import datetime as dt
import itertools
import uuid
from collections.abc import Callable
from dataclasses import dataclass

import pytest

import workbench as wb
from workbench.governance.permissions import OWNER_ONLY
from workbench.wire.permissions import Permission as P

from tests.runs.room import BANDS, Q1_SQL, REGIONS, Room, add_q1, build_room

#: permissions that only read: allowed in an expired (read-only) room
READS = {P.VIEW_REPORTS, P.INTELLIGENCE_VIEWER, P.VIEW_FLOWS}
#: used by the room's activation party only (the owner unless the audience terms say otherwise)
ACTIVATION_PARTY = {P.ACTIVATE_AUDIENCES}


@dataclass
class Setup:
    room: Room
    question_id: str
    run_id: str
    flow_id: str
    #: (org side, permission, holds) -> client
    clients: dict[tuple[str, P, bool], wb.Client]

    @property
    def room_id(self) -> str:
        return self.room.id

    def dataset_of(self, side: str) -> str:
        return self.room.publisher_dataset if side == "owner" else self.room.advertiser_dataset

    @property
    def both(self) -> list[str]:
        return [self.room.owner_org, self.room.partner_org]


def _via_policy(action: str) -> Callable[[wb.Client, Setup, str], None]:
    """Ask the policy function an operation calls (for actions whose real operation would end the
    setup, such as leaving the room)."""

    def probe(client: wb.Client, s: Setup, side: str) -> None:
        answer = client.check(s.room_id, action)
        if not answer["allowed"]:
            if "ended" in answer["reason"]:
                raise wb.RoomExpired(answer["reason"])
            raise wb.PermissionDenied(answer["reason"])

    return probe


def _name() -> str:
    return f"probe {uuid.uuid4().hex[:8]}"


#: each permission's representative operation, through the real HTTP API
PROBES: dict[P, Callable[[wb.Client, Setup, str], object]] = {
    P.MANAGE_ROLES: lambda c, s, side: c.create_role(s.room_id, _name(), []),
    P.PARTNER_MANAGEMENT: lambda c, s, side: c.set_partner_permissions(s.room_id, s.room.partner_org, ALL_PARTNER),
    P.MANAGE_DATASETS: lambda c, s, side: c.set_analysis_rules(s.room_id, s.dataset_of(side), RULES[side]),
    P.VIEW_REPORTS: lambda c, s, side: c.run_result(s.room_id, s.run_id),
    P.RUNS: lambda c, s, side: c.run(s.room_id, s.question_id, {"min_amount": 0}, epsilon="0.01"),
    P.QUESTION_BUILDER: lambda c, s, side: c.create_question(s.room_id, _name(), Q1_SQL, parameters=Q1_PARAMS),
    P.ADD_DELETE_QUESTIONS: lambda c, s, side: c.set_terms(s.room_id, s.question_id, runners=s.both, receivers=s.both),
    P.INTELLIGENCE_VIEWER: lambda c, s, side: c.dashboards(s.room_id),
    P.INTELLIGENCE_CREATOR: lambda c, s, side: c.create_dashboard(s.room_id, _name()),
    P.SCHEDULES: lambda c, s, side: c.create_schedule(
        s.room_id, _name(), "0 6 * * 1", question_id=s.question_id, parameters={"min_amount": 0},
        epsilon="0.01", ends_at=dt.datetime.now(dt.UTC) + dt.timedelta(days=30)),
    P.FLOW_BUILDER: lambda c, s, side: c.create_flow(s.room_id, _name(), flow_steps(s)),
    # the flow's step runs as the caller (who may lack the Runs permission: the step then fails,
    # recorded); the flow run itself is what Flow Runs allows
    P.FLOW_RUNS: lambda c, s, side: c.run_flow(s.room_id, s.flow_id),
    P.VIEW_FLOWS: lambda c, s, side: c.flows(s.room_id),
    P.ACTIVATE_AUDIENCES: _via_policy("audience.activate"),
}
ALL_PARTNER = sorted(p.value for p in P if p not in OWNER_ONLY)
#: a schedule fires as an ordinary run of its owner, so scheduling needs the Runs permission too
PREREQUISITES: dict[P, tuple[str, ...]] = {P.SCHEDULES: (P.RUNS.value,)}


def flow_steps(s: Setup) -> list[dict[str, object]]:
    return [{"name": "reach", "question_id": s.question_id, "parameters": {"min_amount": 0},
             "epsilon": "0.01"}]

Q1_PARAMS = [{"name": "min_amount", "type": "number", "default": 0}]
RULES = {
    "owner": [{"name": "email", "join": True, "aggregations": ["COUNT_DISTINCT"]},
              {"name": "region", "group_by": True, "public_values": REGIONS},
              {"name": "age_band", "group_by": True, "public_values": BANDS}],
    "partner": [{"name": "email", "join": True},
                {"name": "amount", "aggregations": ["SUM", "AVG"], "lower": 0, "upper": 250.0}],
}


def test_every_permission_has_a_probe() -> None:
    assert set(PROBES) == set(P)


def _setup(service, expired: bool) -> Setup:
    def make_org(name: str):
        return service.make_org(f"{name} {uuid.uuid4().hex[:6]}")

    owner = make_org("Owner").admin

    room = build_room(owner, make_org, epsilon_budget="1000")
    partner = room.partner
    owner.update_room(room.id, intelligence=True, flows=True)
    owner.set_partner_permissions(room.id, room.partner_org, ALL_PARTNER)
    question_id = add_q1(room)
    both = [room.owner_org, room.partner_org]
    owner.set_terms(room.id, question_id, runners=both, receivers=both)
    owner.set_question_permission_defaults(room.id, [
        {"permission": p, "partner_org_id": "*", "allowed": True} for p in ("view_code", "run", "view_output")])
    run_id = owner.run(room.id, question_id, {"min_amount": 0}, epsilon="0.01").id
    s = Setup(room, question_id, run_id, "", {})
    s.flow_id = owner.create_flow(room.id, "probe flow", flow_steps(s)).id
    for side, admin in (("owner", owner), ("partner", partner)):
        available = set(admin.room(room.id).available_permissions)
        for perm in P:
            for holds in (True, False):
                granted = ([perm.value, *PREREQUISITES.get(perm, ())] if holds
                           else sorted(available - {perm.value}))
                granted = [g for g in granted if g in available]
                role = admin.create_role(room.id, f"{perm.value}-{holds}", granted)
                # Question Builder and Intelligence Creator also need org entitlements: every probe
                # user holds them, so the table shows the room permission's effect
                # (test_partner_management and test_org_roles cover their absence)
                user = admin.create_user(f"{side}-{perm.value}-{holds}-{room.id[:8]}",
                                         org_roles=["question_builder_admin", "intelligence_admin"])
                admin.add_member(room.id, user.id, role.id)
                s.clients[(side, perm, holds)] = service.client(admin.issue_token(user.id).secret)
    if expired:
        owner.update_room(room.id, end_date=dt.date.today() - dt.timedelta(days=1))
    return s


@pytest.fixture(scope="module")
def rooms(live_service) -> dict[bool, Setup]:
    return {expired: _setup(live_service, expired) for expired in (False, True)}


def expected(side: str, perm: P, holds: bool, expired: bool) -> str:
    """The rule, written independently of the policy module."""
    if not holds or (side == "partner" and perm in OWNER_ONLY | ACTIVATION_PARTY):
        return "denied"
    if expired and perm not in READS:
        return "expired"
    return "ok"


CASES = list(itertools.product(("owner", "partner"), list(P), (True, False), (False, True)))


@pytest.mark.parametrize(
    ("side", "perm", "holds", "expired"), CASES,
    ids=[f"{s}-{p.value}-{'holds' if h else 'lacks'}-{'expired' if e else 'active'}" for s, p, h, e in CASES],
)
def test_permission_table(rooms, side: str, perm: P, holds: bool, expired: bool) -> None:
    setup = rooms[expired]
    client = setup.clients[(side, perm, holds)]
    try:
        PROBES[perm](client, setup, side)
        outcome = "ok"
    except wb.RoomExpired:
        outcome = "expired"
    except wb.PermissionDenied:
        outcome = "denied"
    assert outcome == expected(side, perm, holds, expired)


#: actions of Partner Management and of leaving, beyond each permission's representative one:
#: action -> (the permission it needs, who may do it, whether it writes, its probe)
ACTION_PROBES: dict[str, tuple[P, str, bool, Callable[[wb.Client, Setup, str], object]]] = {
    "partner.directory": (P.PARTNER_MANAGEMENT, "owner", False, lambda c, s, side: c.directory(s.room_id)),
    "partner.roles.manage": (P.PARTNER_MANAGEMENT, "owner", True,
                             lambda c, s, side: c.create_role(
                                 s.room_id, _name(), ["view_reports"],
                                 org_id=s.room.partner_org if side == "owner" else s.room.owner_org)),
    "partner.leave": (P.MANAGE_ROLES, "partner", False, _via_policy("partner.leave")),
}
ACTION_CASES = list(itertools.product(("owner", "partner"), sorted(ACTION_PROBES), (True, False), (False, True)))


@pytest.mark.parametrize(
    ("side", "action", "holds", "expired"), ACTION_CASES,
    ids=[f"{s}-{a}-{'holds' if h else 'lacks'}-{'expired' if e else 'active'}" for s, a, h, e in ACTION_CASES],
)
def test_partner_management_actions(rooms, side: str, action: str, holds: bool, expired: bool) -> None:
    perm, who, writes, probe = ACTION_PROBES[action]
    try:
        probe(rooms[expired].clients[(side, perm, holds)], rooms[expired], side)
        outcome = "ok"
    except wb.RoomExpired:
        outcome = "expired"
    except wb.PermissionDenied:
        outcome = "denied"
    if not holds or side != who:
        want = "denied"
    else:
        want = "expired" if expired and writes else "ok"
    assert outcome == want

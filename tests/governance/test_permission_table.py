"""DESIGN.md's permission table, every cell, through the HTTP API of a real service.

Each permission x (owner org, partner org) x (role holding it, role not holding it) x
(room active, room expired). A probe performs the permission's representative operation.
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

#: permissions that only read: allowed in an expired (read-only) room
READS = {P.VIEW_REPORTS, P.INTELLIGENCE_VIEWER, P.VIEW_FLOWS}


@dataclass
class Setup:
    room_id: str
    owner_org: str
    partner_org: str
    #: (org side, permission, holds) -> client
    clients: dict[tuple[str, P, bool], wb.Client]


def _via_policy(action: str) -> Callable[[wb.Client, Setup], None]:
    """For operations built by other parts of the product, ask the same policy function."""

    def probe(client: wb.Client, s: Setup) -> None:
        answer = client.check(s.room_id, action)
        if not answer["allowed"]:
            if "ended" in answer["reason"]:
                raise wb.RoomExpired(answer["reason"])
            raise wb.PermissionDenied(answer["reason"])

    return probe


def _create_role(client: wb.Client, s: Setup) -> None:
    client.create_role(s.room_id, f"probe-{uuid.uuid4().hex[:8]}", [])


def _set_partner_permissions(client: wb.Client, s: Setup) -> None:
    client.set_partner_permissions(s.room_id, s.partner_org, ALL_PARTNER)


PROBES: dict[P, Callable[[wb.Client, Setup], None]] = {
    P.MANAGE_ROLES: _create_role,
    P.PARTNER_MANAGEMENT: _set_partner_permissions,
    P.MANAGE_DATASETS: _via_policy("dataset.provision"),
    P.VIEW_REPORTS: _via_policy("run.read"),
    P.RUNS: _via_policy("run.create"),
    P.SCHEDULES: _via_policy("schedule.manage"),
    P.QUESTION_BUILDER: _via_policy("question.author"),
    P.INTELLIGENCE_VIEWER: _via_policy("dashboard.read"),
    P.INTELLIGENCE_CREATOR: _via_policy("dashboard.manage"),
    P.FLOW_BUILDER: _via_policy("flow.build"),
    P.FLOW_RUNS: _via_policy("flow.run"),
    P.VIEW_FLOWS: _via_policy("flow.read"),
    P.ADD_DELETE_QUESTIONS: _via_policy("question.add"),
}
ALL_PARTNER = sorted(p.value for p in P if p not in OWNER_ONLY)


def test_every_permission_has_a_probe() -> None:
    assert set(PROBES) == set(P)


def _setup(service, expired: bool) -> Setup:
    owner = service.client(service.admin_token)
    partner_org = owner.create_org(f"Partner {uuid.uuid4().hex[:6]}", "padmin")
    partner = service.client(partner_org.token.secret)
    today = dt.date.today()
    room = owner.create_room(f"table {uuid.uuid4().hex[:6]}", start_date=today - dt.timedelta(days=30),
                             intelligence=True, flows=True)
    owner.invite_partner(room.id, partner_org.org.id)
    partner.accept_invitation(room.id)
    owner.set_partner_permissions(room.id, partner_org.org.id, ALL_PARTNER)
    s = Setup(room.id, service.org_id, partner_org.org.id, {})
    for side, admin in (("owner", owner), ("partner", partner)):
        available = set(admin.room(room.id).available_permissions)
        for perm in P:
            for holds in (True, False):
                granted = [perm.value] if holds else sorted(available - {perm.value})
                granted = [g for g in granted if g in available]
                role = admin.create_role(room.id, f"{perm.value}-{holds}", granted)
                user = admin.create_user(f"{side}-{perm.value}-{holds}-{room.id[:8]}")
                admin.add_member(room.id, user.id, role.id)
                s.clients[(side, perm, holds)] = service.client(admin.issue_token(user.id).secret)
    if expired:
        owner.update_room(room.id, end_date=today - dt.timedelta(days=1))
    return s


@pytest.fixture(scope="module")
def rooms(live_service) -> dict[bool, Setup]:
    return {expired: _setup(live_service, expired) for expired in (False, True)}


def expected(side: str, perm: P, holds: bool, expired: bool) -> str:
    """The rule, written independently of the policy module."""
    if not holds or (side == "partner" and perm in OWNER_ONLY):
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
        PROBES[perm](client, setup)
        outcome = "ok"
    except wb.RoomExpired:
        outcome = "expired"
    except wb.PermissionDenied:
        outcome = "denied"
    assert outcome == expected(side, perm, holds, expired)

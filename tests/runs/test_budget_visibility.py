"""Whose budget figures a party sees: one rule for the budget endpoint, plans and the contract's
protections (workbench.runs.budgets.sees_figures), over a live service.

A party sees its own spent and left budget; the room owner, who lowers budgets and proposes
raises, sees every party's. Any other party sees another's agreed total and, in a plan, only
whether its budget covers the run: before this rule a partner read the owner's exact remaining
budget in every plan (and its spend in the protections) while the budget endpoint refused it.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

import workbench as wb
from tests.runs.room import Room, add_q1, build_room


@pytest.fixture(scope="module")
def room(live_service) -> Iterator[Room]:
    r = build_room(live_service.client(live_service.admin_token), live_service.make_org, dp=True)
    r.owner.set_budget(r.id, r.owner_org, epsilon="2")  # the owner's own choice: less to spend
    yield r


def _by_org(figures: list) -> dict[str, object]:
    return {f.org_id: f for f in figures}


def test_a_partner_sees_its_own_figures_and_only_whether_the_owner_has_enough(room):
    qid = add_q1(room)
    plan = room.partner.plan(room.id, qid, {"min_amount": 0}, epsilon="3")
    before, after = _by_org(plan.budget_before), _by_org(plan.budget_after)
    assert set(before) == {room.owner_org, room.partner_org}  # both parties' data is read
    mine, theirs = before[room.partner_org], before[room.owner_org]
    assert (mine.epsilon_left, after[room.partner_org].epsilon_left, mine.enough) == ("10", "7", True)
    assert theirs.epsilon_left is theirs.delta_left is None
    assert after[room.owner_org].epsilon_left is None
    assert theirs.enough is False and theirs.epsilon_total == "2"  # 3 > 2: the run would fail
    with pytest.raises(wb.errors.PermissionDenied):
        room.partner.budget(room.id, room.owner_org)
    shown = _by_org(room.partner.protections(room.id).parties)
    assert shown[room.owner_org].epsilon_spent is shown[room.owner_org].delta_spent is None
    assert shown[room.owner_org].epsilon_total == "2"
    assert shown[room.partner_org].epsilon_spent == "0"


def test_the_owner_sees_every_party_everywhere_alike(room):
    qid = add_q1(room)
    plan = _by_org(room.owner.plan(room.id, qid, {"min_amount": 0}, epsilon="1").budget_before)
    assert plan[room.partner_org].epsilon_left == room.owner.budget(
        room.id, room.partner_org).epsilon_left == "10"
    assert plan[room.owner_org].epsilon_left == "2" and plan[room.owner_org].enough
    shown = _by_org(room.owner.protections(room.id).parties)
    assert shown[room.partner_org].epsilon_spent == "0"

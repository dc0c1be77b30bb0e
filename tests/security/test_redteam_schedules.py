"""Red team against schedules (issue 13) on a service whose clock the test moves: a schedule
must not outlive a partner's data, smuggle SQL through its fixed parameters, or show one party
another's budget calendar."""

from __future__ import annotations

import datetime as dt
import uuid

import pytest

import workbench as wb
from tests.runs.room import add_q1, build_room
from tests.schedules.conftest import Clocked, clocked, fires_of, wait_for  # noqa: F401

WEEKLY = "0 6 * * 1"


def _room(clocked: Clocked):  # noqa: F811
    owner = clocked.service.make_org(f"Publisher {uuid.uuid4().hex[:8]}").admin
    room = build_room(owner, clocked.service.make_org, k_min=1, epsilon_budget="50")
    return room, add_q1(room)


def test_a_schedule_does_not_fire_over_data_its_partner_removed(clocked: Clocked):  # noqa: F811
    room, q1 = _room(clocked)
    ends = clocked.clock.now() + dt.timedelta(days=60)
    s = room.owner.create_schedule(room.id, "weekly", WEEKLY, question_id=q1,
                                   parameters={"min_amount": 0}, epsilon="0.5", ends_at=ends)
    room.partner.unprovision_dataset(room.id, room.advertiser_dataset)
    spent = room.partner.budget(room.id).epsilon_spent
    assert s.next_fire_at is not None
    clocked.clock.set(s.next_fire_at + dt.timedelta(minutes=1))
    fires = wait_for(lambda: fires_of(room.owner, room.id, s.id))
    assert fires[0].outcome == "refused" and fires[0].run_id is None, fires
    assert room.owner.schedule(room.id, s.id).status == "paused"
    assert room.partner.budget(room.id).epsilon_spent == spent
    clocked.clock.set(dt.datetime.now(dt.UTC))


@pytest.mark.parametrize("value", ["0) OR 1=1 --", "0; DROP TABLE runs", {"$gt": 0}])
def test_schedule_parameters_are_values_never_sql(clocked: Clocked, value):  # noqa: F811
    room, q1 = _room(clocked)
    ends = clocked.clock.now() + dt.timedelta(days=60)
    with pytest.raises(wb.errors.WorkbenchError):
        room.owner.create_schedule(room.id, "inject", WEEKLY, question_id=q1,
                                   parameters={"min_amount": value}, epsilon="0.5", ends_at=ends)
    assert room.owner.schedules(room.id) == []


def test_a_partner_sees_only_its_own_calendar(clocked: Clocked):  # noqa: F811
    room, q1 = _room(clocked)
    ends = clocked.clock.now() + dt.timedelta(days=60)
    room.owner.create_schedule(room.id, "weekly", WEEKLY, question_id=q1,
                               parameters={"min_amount": 0}, epsilon="0.5", ends_at=ends)
    seen = room.partner.budget_calendar(room.id)
    assert [p.org_id for p in seen.parties] == [room.partner_org]
    assert {p.org_id for p in room.owner.budget_calendar(room.id).parties} == {
        room.owner_org, room.partner_org}

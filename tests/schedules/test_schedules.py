"""Schedules over a live service whose clock the tests move: firing as the owner, charges,
missed fires, refusals that pause, permissions at fire time, the budget calendar, restarts."""

from __future__ import annotations

import datetime as dt
from fractions import Fraction

import pytest

import workbench as wb
from tests.conftest import serving
from tests.runs.room import add_q1, build_room
from tests.schedules.conftest import Clocked, fires_of, wait_for
from workbench.errors import Conflict, InvalidInput, NotFound, PermissionDenied

WEEKLY = "0 6 * * 1"  # Mondays 06:00 in the schedule's zone
DAILY = "30 7 * * *"


def _room(clocked: Clocked, **kwargs):
    svc = clocked.service
    owner = clocked.new_owner()
    room = build_room(owner, svc.make_org, **kwargs)
    return room, add_q1(room)


def _ends(days: int) -> dt.datetime:
    return dt.datetime.now(dt.UTC) + dt.timedelta(days=days)


def _spent(client: wb.Client, room_id: str, org_id: str) -> Fraction:
    budget = client.budget(room_id, org_id)
    figures = budget.model_dump()
    return Fraction(figures["epsilon_total"]) - Fraction(figures["epsilon_left"])


def test_a_due_schedule_fires_once_as_its_owner_and_is_charged(clocked: Clocked) -> None:
    room, q1 = _room(clocked)
    now = clocked.clock.now()
    s = room.owner.create_schedule(room.id, "weekly reach", WEEKLY, question_id=q1,
                                   parameters={"min_amount": 0}, epsilon="0.5",
                                   timezone="Europe/Paris", ends_at=_ends(60))
    assert s.status == "active" and s.next_fire_at is not None and s.next_fire_at > now
    assert s.next_fire_at.astimezone(dt.UTC).weekday() == 0
    before = _spent(room.owner, room.id, room.owner_org)

    clocked.clock.set(s.next_fire_at + dt.timedelta(minutes=1))
    fires = wait_for(lambda: fires_of(room.owner, room.id, s.id))
    assert len(fires) == 1
    fire = fires[0]
    assert fire.outcome == "succeeded" and fire.missed == 0, fire
    run = room.owner.get_run(room.id, fire.run_id)
    assert run.user_id == s.owner_user_id and run.status == "succeeded"
    assert _spent(room.owner, room.id, room.owner_org) == before + Fraction("0.5")
    after = room.owner.schedule(room.id, s.id)
    assert after.next_fire_at == s.next_fire_at + dt.timedelta(days=7)
    # a second tick at the same instant does not fire again
    wait_for(lambda: room.owner.schedule(room.id, s.id).last_fired_at is not None)
    assert len(room.owner.schedule_fires(room.id, s.id)) == 1
    events = [e.action for e in room.owner.audit(room_id=room.id)]
    assert "schedule.fire.succeeded" in events
    clocked.clock.set(dt.datetime.now(dt.UTC))
    room.owner.delete_schedule(room.id, s.id)


def test_missed_fires_run_once_and_say_how_many_were_missed(clocked: Clocked) -> None:
    room, q1 = _room(clocked)
    s = room.owner.create_schedule(room.id, "daily", DAILY, question_id=q1, epsilon="0.1",
                                   ends_at=_ends(30))
    assert s.next_fire_at is not None
    clocked.clock.set(s.next_fire_at + dt.timedelta(days=3, minutes=5))
    fires = wait_for(lambda: fires_of(room.owner, room.id, s.id))
    assert [f.missed for f in fires] == [3]
    assert fires[0].outcome == "succeeded"
    nxt = room.owner.schedule(room.id, s.id).next_fire_at
    assert nxt is not None and nxt > clocked.clock.now()
    assert len(room.owner.runs(room.id, q1)) == 1  # budget is never spent to catch up
    clocked.clock.set(dt.datetime.now(dt.UTC))
    room.owner.delete_schedule(room.id, s.id)


def test_a_schedule_that_would_exhaust_a_budget_is_refused_with_the_date(clocked: Clocked
                                                                          ) -> None:
    room, q1 = _room(clocked, epsilon_budget="3")
    with pytest.raises(Conflict) as refused:
        room.owner.create_schedule(room.id, "too much", DAILY, question_id=q1, epsilon="1",
                                   ends_at=_ends(20))
    assert "runs out on" in refused.value.message and "until_budget_lasts" in refused.value.message
    exhausted = dt.datetime.fromisoformat(refused.value.details["exhausted_at"])
    assert clocked.clock.now() + dt.timedelta(days=2) < exhausted < clocked.clock.now() + \
        dt.timedelta(days=5)
    assert room.owner.schedules(room.id) == []  # nothing saved

    cal = room.owner.budget_calendar(room.id)
    assert all(p.exhausted_at is None for p in cal.parties)

    s = room.owner.create_schedule(room.id, "as long as it lasts", DAILY, question_id=q1,
                                   epsilon="1", ends_at=_ends(20), until_budget_lasts=True)
    cal = room.owner.budget_calendar(room.id)
    assert {p.org_id for p in cal.parties} == {room.owner_org, room.partner_org}
    assert all(p.exhausted_at is not None for p in cal.parties)
    assert [c.fires for c in cal.schedules] == [3]
    # the partner sees the calendar of its own data only
    partner_cal = room.partner.budget_calendar(room.id)
    assert [p.org_id for p in partner_cal.parties] == [room.partner_org]

    # spend the budget by hand; the next fire is refused, and the schedule pauses with why
    room.owner.run(room.id, q1, {"min_amount": 0}, epsilon="2.5")
    assert s.next_fire_at is not None
    clocked.clock.set(s.next_fire_at + dt.timedelta(minutes=1))
    fires = wait_for(lambda: fires_of(room.owner, room.id, s.id))
    assert fires[0].outcome == "refused" and fires[0].run_id is None
    paused = room.owner.schedule(room.id, s.id)
    assert paused.status == "paused" and "budget" in (paused.paused_reason or "")
    clocked.clock.set(dt.datetime.now(dt.UTC))
    with pytest.raises(Conflict):  # resuming is checked against the calendar too
        room.owner.update_schedule(room.id, s.id, until_budget_lasts=False)
        room.owner.resume_schedule(room.id, s.id)


def test_permissions_are_checked_again_when_the_schedule_fires(clocked: Clocked) -> None:
    room, q1 = _room(clocked)
    svc = clocked.service
    owner = room.owner
    analyst = owner.create_user(f"analyst-{room.id[:6]}")
    token = owner.issue_token(analyst.id)
    role = owner.create_role(room.id, "schedulers",
                             ["create_delete_question_runs", "manage_question_schedules", "view_reports"])
    owner.add_member(room.id, analyst.id, role.id)
    analyst_client = svc.client(token.secret)
    s = analyst_client.create_schedule(room.id, "analyst weekly", WEEKLY, question_id=q1,
                                       epsilon="0.2", ends_at=_ends(30))
    owner.update_role(room.id, role.id, permissions=["view_reports"])
    assert s.next_fire_at is not None
    clocked.clock.set(s.next_fire_at + dt.timedelta(minutes=1))
    fires = wait_for(lambda: fires_of(owner, room.id, s.id))
    assert fires[0].outcome == "refused"
    paused = owner.schedule(room.id, s.id)
    assert paused.status == "paused" and "permission" in (paused.paused_reason or "").lower()
    assert owner.runs(room.id, q1) == []
    clocked.clock.set(dt.datetime.now(dt.UTC))


def test_who_may_schedule_and_change_schedules(clocked: Clocked) -> None:
    room, q1 = _room(clocked)
    # the partner lacks the Schedules permission
    with pytest.raises(PermissionDenied):
        room.partner.create_schedule(room.id, "x", WEEKLY, question_id=q1, ends_at=_ends(30))
    s = room.owner.create_schedule(room.id, "mine", WEEKLY, question_id=q1, epsilon="0.1",
                                   ends_at=_ends(30))
    room.owner.set_partner_permissions(room.id, room.partner_org, [
        "manage_clean_room_roles", "manage_datasets", "view_reports",
        "create_delete_question_runs", "manage_question_schedules"])
    with pytest.raises(PermissionDenied):  # another org's schedule
        room.partner.delete_schedule(room.id, s.id)
    assert [x.id for x in room.partner.schedules(room.id)] == [s.id]  # but it can see it
    paused = room.owner.pause_schedule(room.id, s.id)
    assert paused.status == "paused"
    resumed = room.owner.resume_schedule(room.id, s.id)
    assert resumed.status == "active" and resumed.paused_reason is None
    edited = room.owner.update_schedule(room.id, s.id, cron=DAILY, epsilon="0.2")
    assert edited.cron == DAILY and edited.epsilon == "0.2"
    room.owner.delete_schedule(room.id, s.id)
    with pytest.raises(NotFound):
        room.owner.schedule(room.id, s.id)


@pytest.mark.parametrize("changes, words", [
    ({"cron": "61 6 * * 1"}, "invalid cron"),
    ({"cron": "every monday"}, "five fields"),
    ({"cron": "* * * * *"}, "more often"),
    ({"timezone": "Mars/Olympus_Mons"}, "unknown time zone"),
    ({"ends_at": dt.datetime(2020, 1, 1, tzinfo=dt.UTC)}, "already past"),
    ({"parameters": {"min_amount": "lots"}}, "min_amount"),
])
def test_bad_schedules_are_refused_and_nothing_is_saved(clocked: Clocked, changes: dict,
                                                        words: str) -> None:
    room, q1 = _room(clocked)
    args = {"question_id": q1, "ends_at": _ends(30), "cron": WEEKLY, **changes}
    with pytest.raises(InvalidInput) as refused:
        room.owner.create_schedule(room.id, "bad", **args)
    assert words in refused.value.message
    assert room.owner.schedules(room.id) == []


def test_a_schedule_cannot_outlive_its_room(clocked: Clocked) -> None:
    svc = clocked.service
    owner = clocked.new_owner()
    room = build_room(owner, svc.make_org)
    q1 = add_q1(room)
    end = dt.date.today() + dt.timedelta(days=10)
    owner.update_room(room.id, end_date=end.isoformat())
    with pytest.raises(InvalidInput) as refused:
        owner.create_schedule(room.id, "long", WEEKLY, question_id=q1, ends_at=_ends(40))
    assert "ends after the room" in refused.value.message
    s = owner.create_schedule(room.id, "bounded", WEEKLY, question_id=q1, epsilon="0.1")
    assert s.ends_at == dt.datetime.combine(end, dt.time.max, tzinfo=dt.UTC)


def test_schedules_survive_a_restart_and_missed_fires_follow_the_rule(clocked: Clocked,
                                                                       tmp_path) -> None:
    clock = clocked.clock
    env = clocked.env()
    with serving(tmp_path, env) as first:
        owner = first.client(first.admin_token)
        room = build_room(owner, first.make_org)
        q1 = add_q1(room)
        s = owner.create_schedule(room.id, "survives", DAILY, question_id=q1, epsilon="0.1",
                                  ends_at=_ends(30))
    assert s.next_fire_at is not None
    clock.set(s.next_fire_at + dt.timedelta(days=2, minutes=1))  # down over three fire times
    with serving(tmp_path, env, restart=first) as second:
        owner = second.client(second.admin_token)
        fires = wait_for(lambda: fires_of(owner, room.id, s.id))
        assert [(f.outcome, f.missed) for f in fires] == [("succeeded", 2)]
        assert owner.schedule(room.id, s.id).status == "active"
    clock.set(dt.datetime.now(dt.UTC))

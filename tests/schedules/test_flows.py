"""Flows over the live service: checked DAGs, runs by hand and by schedule, cohort steps, failed
steps stopping their dependents, the Flows toggle and the three flow permissions."""

from __future__ import annotations

import datetime as dt
from fractions import Fraction

import pytest

from tests.audiences.conftest import add_user_list
from tests.runs.room import add_q1, build_room
from tests.schedules.conftest import Clocked, fires_of, wait_for
from workbench.errors import InvalidInput, PermissionDenied


def _room(clocked: Clocked, *, flows: bool = True):
    svc = clocked.service
    owner = clocked.new_owner()
    room = build_room(owner, svc.make_org, k_min=1, epsilon_budget="50")
    if flows:
        owner.update_room(room.id, flows=True)
    return room, add_q1(room)


def _step(name: str, question_id: str, **extra):
    return {"name": name, "question_id": question_id, "parameters": {"min_amount": 0},
            "epsilon": "0.5", **extra}


def test_the_flows_toggle_gates_every_flow_action(clocked: Clocked) -> None:
    room, q1 = _room(clocked, flows=False)
    with pytest.raises(PermissionDenied):
        room.owner.create_flow(room.id, "f", [_step("a", q1)])
    with pytest.raises(PermissionDenied):
        room.owner.flows(room.id)


def test_a_flow_runs_its_steps_in_order_and_records_each(clocked: Clocked) -> None:
    room, q1 = _room(clocked)
    flow = room.owner.create_flow(room.id, "two runs", [
        _step("second", q1, after=["first"]), _step("first", q1, epsilon="0.25")])
    assert flow.version == 1 and [s.name for s in flow.steps] == ["second", "first"]
    run = room.owner.run_flow(room.id, flow.id)
    assert run.status == "succeeded" and run.trigger == "hand"
    assert [s.step for s in run.steps] == ["first", "second"]
    assert all(s.status == "succeeded" and s.run_id and s.finished_at for s in run.steps)
    assert [Fraction(s.epsilon or "") for s in run.steps] == [Fraction(1, 4), Fraction(1, 2)]
    runs = {r.id for r in room.owner.runs(room.id, q1)}
    assert {s.run_id for s in run.steps} <= runs
    assert [r.id for r in room.owner.flow_runs(room.id, flow.id)] == [run.id]


def test_a_failed_step_skips_its_dependents(clocked: Clocked) -> None:
    room, q1 = _room(clocked)
    flow = room.owner.create_flow(room.id, "breaks", [
        _step("bad", q1, parameters={"min_amount": "not a number"}),
        _step("after_bad", q1, after=["bad"]),
        _step("independent", q1)])
    run = room.owner.run_flow(room.id, flow.id)
    steps = {s.step: s for s in run.steps}
    assert run.status == "failed"
    assert steps["bad"].status == "failed" and "min_amount" in (steps["bad"].error or "")
    assert steps["after_bad"].status == "skipped" and steps["after_bad"].run_id is None
    assert steps["independent"].status == "succeeded"


def test_a_cohort_step_builds_a_cohort_inside_the_service(clocked: Clocked) -> None:
    room, q1 = _room(clocked)
    buyers = add_user_list(room)
    flow = room.owner.create_flow(room.id, "audience then reach", [
        {"name": "buyers", "kind": "cohort", "question_id": buyers,
         "parameters": {"min_amount": 0}, "epsilon": "0.5"},
        _step("reach", q1, after=["buyers"])])
    run = room.owner.run_flow(room.id, flow.id)
    steps = {s.step: s for s in run.steps}
    assert run.status == "succeeded", run
    assert steps["buyers"].cohort_id and steps["buyers"].run_id is None
    cohort = room.owner.cohort(room.id, steps["buyers"].cohort_id)
    assert cohort.status == "ready" and cohort.question_id == buyers


@pytest.mark.parametrize("steps, words", [
    ([_step("a", "Q", after=["b"]), _step("b", "Q", after=["a"])], "cycle"),
    ([_step("a", "Q", after=["ghost"])], "unknown step"),
    ([_step("a", "Q"), _step("a", "Q")], "share a name"),
    ([_step("a", "Q"), _step("b", "Q", after=["a"], cohort_input={"step": "a", "macro": "publisher"})],
     "not a cohort step"),
    ([{"name": "a", "kind": "cohort", "question_id": "Q"}], "must be user-list"),
    ([_step("a", "00000000-0000-0000-0000-000000000000")], "no question"),
])
def test_bad_flows_are_refused_and_nothing_is_saved(clocked: Clocked, steps, words) -> None:
    room, q1 = _room(clocked)
    steps = [{**s, "question_id": q1 if s["question_id"] == "Q" else s["question_id"]}
             for s in steps]
    with pytest.raises(InvalidInput) as refused:
        room.owner.create_flow(room.id, "bad", steps)
    assert words in refused.value.message
    assert room.owner.flows(room.id) == []


def test_a_cohort_input_must_come_from_an_earlier_cohort_step(clocked: Clocked) -> None:
    room, q1 = _room(clocked)
    buyers = add_user_list(room)
    cohort = {"name": "c", "kind": "cohort", "question_id": buyers}
    with pytest.raises(InvalidInput) as refused:
        room.owner.create_flow(room.id, "unordered", [
            cohort, _step("reach", q1, cohort_input={"step": "c", "macro": "publisher"})])
    assert "must run after it" in refused.value.message


def test_view_build_and_run_permissions_are_enforced(clocked: Clocked) -> None:
    room, q1 = _room(clocked)
    flow = room.owner.create_flow(room.id, "owner's", [_step("a", q1)])
    # the partner holds none of the flow permissions
    with pytest.raises(PermissionDenied):
        room.partner.flows(room.id)
    with pytest.raises(PermissionDenied):
        room.partner.run_flow(room.id, flow.id)
    room.owner.set_partner_permissions(room.id, room.partner_org, [
        "manage_clean_room_roles", "view_reports", "create_delete_question_runs", "view_flows"])
    assert [f.id for f in room.partner.flows(room.id)] == [flow.id]
    with pytest.raises(PermissionDenied):
        room.partner.run_flow(room.id, flow.id)
    with pytest.raises(PermissionDenied):
        room.partner.create_flow(room.id, "mine", [_step("a", q1)])


def test_a_scheduled_flow_runs_when_due(clocked: Clocked) -> None:
    room, q1 = _room(clocked)
    flow = room.owner.create_flow(room.id, "weekly flow", [_step("a", q1, epsilon="0.1")])
    s = room.owner.create_schedule(room.id, "flow weekly", "0 6 * * 1", flow_id=flow.id,
                                   ends_at=dt.datetime.now(dt.UTC) + dt.timedelta(days=30))
    assert s.target_kind == "flow" and s.epsilon == "0.1"
    assert s.next_fire_at is not None
    clocked.clock.set(s.next_fire_at + dt.timedelta(minutes=1))
    fires = wait_for(lambda: fires_of(room.owner, room.id, s.id))
    assert fires[0].outcome == "succeeded" and fires[0].flow_run_id
    flow_run = room.owner.flow_run(room.id, fires[0].flow_run_id)
    assert flow_run.trigger == "schedule" and flow_run.schedule_id == s.id
    assert flow_run.status == "succeeded"
    clocked.clock.set(dt.datetime.now(dt.UTC))


PUBLISHER_ONLY = ("SELECT p.region, COUNT(DISTINCT p.email) AS users FROM publisher p "
                  "GROUP BY p.region")


def _spent(client, room_id: str, org_id: str) -> Fraction:
    budget = client.budget(room_id, org_id)
    return Fraction(budget.epsilon_total) - Fraction(budget.epsilon_left)


def test_a_step_reads_an_earlier_cohort_as_a_dataset_restricted_to_its_members(
        clocked: Clocked) -> None:
    room, _ = _room(clocked)
    buyers = add_user_list(room)
    q = room.owner.create_question(room.id, "Publisher users by region", PUBLISHER_ONLY)
    room.owner.add_question(room.id, q.id)
    plain = room.owner.run(room.id, q.id, epsilon="2")
    assert sum(r[1] for r in room.owner.run_result(room.id, plain.id).rows) > 300  # 400 users
    advertiser_before = _spent(room.owner, room.id, room.partner_org)
    flow = room.owner.create_flow(room.id, "buyers by region", [
        {"name": "buyers", "kind": "cohort", "question_id": buyers,
         "parameters": {"min_amount": 0}, "epsilon": "0.5"},
        {"name": "by_region", "question_id": q.id, "epsilon": "2", "after": ["buyers"],
         "cohort_input": {"step": "buyers", "macro": "publisher"}}])
    run = room.owner.run_flow(room.id, flow.id)
    steps = {s.step: s for s in run.steps}
    assert run.status == "succeeded", run
    released = room.owner.run_result(room.id, steps["by_region"].run_id)
    assert 120 < sum(r[1] for r in released.rows) < 280  # the 200 buyers, not all 400 users
    # the cohort was built from the advertiser's data too: its party is charged for the step
    assert _spent(room.owner, room.id, room.partner_org) >= advertiser_before + Fraction(2)


def test_a_cohort_input_names_a_macro_the_question_reads(clocked: Clocked) -> None:
    room, q1 = _room(clocked)
    buyers = add_user_list(room)
    with pytest.raises(InvalidInput) as refused:
        room.owner.create_flow(room.id, "wrong macro", [
            {"name": "c", "kind": "cohort", "question_id": buyers},
            _step("reach", q1, after=["c"], cohort_input={"step": "c", "macro": "nowhere"})])
    assert "does not use" in refused.value.message

"""Attacks on the privacy budget: odd epsilon strings, overspending, refunds, plan/run mismatch."""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor

import pytest

import workbench as wb
from tests.runs.room import add_q1, build_room

HOSTILE_EPSILONS = ["-1", "NaN", "nan", "Infinity", "-Infinity", "inf", "0", "-0", "1/0", "0x10",
                    "1e-999", "1e400", "1e99999", "1e999999999", "1e-999999999", "9" * 5000,
                    "1" + "0" * 70, "", "   ", "1 1", "e5", "1e", -1, -0.5, 0]


def _plan_path(room, qid: str) -> str:
    return f"/api/v1/rooms/{room.id}/questions/{qid}/plan"


def test_hostile_epsilons_are_refused_quickly_and_spend_nothing(admin, make_org):
    room = build_room(admin, make_org)
    qid = add_q1(room)
    before = room.owner.budget(room.id)
    for eps in HOSTILE_EPSILONS:
        for kind in ("plan", "runs"):
            started = time.perf_counter()
            with pytest.raises(wb.errors.InvalidInput):
                room.owner._request("POST", _plan_path(room, qid).replace("/plan", f"/{kind}"),
                                    json={"parameters": {"min_amount": 0}, "epsilon": eps})
            assert time.perf_counter() - started < 5, (eps, kind)
    assert room.owner.budget(room.id) == before
    assert room.owner.runs(room.id) == []


def test_hostile_deltas_are_refused(admin, make_org):
    room = build_room(admin, make_org)
    qid = add_q1(room)
    for delta in ["-1", "NaN", "Infinity", "1e999999999", "1e-999"]:
        with pytest.raises(wb.errors.InvalidInput):
            room.owner.plan(room.id, qid, {"min_amount": 0}, epsilon="1", delta=delta)


@pytest.mark.parametrize("budget", ["1e99999999", "1e-99999999", "NaN", "-1", "Infinity",
                                    "9" * 5000])
def test_hostile_room_budgets_are_refused_quickly(admin, budget):
    started = time.perf_counter()
    with pytest.raises(wb.errors.InvalidInput):
        admin.create_room("greedy", epsilon_budget=budget)
    with pytest.raises(wb.errors.InvalidInput):
        admin.create_room("greedy", delta_budget=budget)
    assert time.perf_counter() - started < 5
    assert all(r.name != "greedy" for r in admin.rooms())


def test_hostile_budget_raise_is_refused(admin, make_org):
    room = build_room(admin, make_org)
    for eps in ["1e999999999", "-1", "NaN"]:
        with pytest.raises(wb.errors.InvalidInput):
            room.owner.raise_budget(room.id, room.partner_org, epsilon=eps)
    assert room.partner.budget(room.id).epsilon_total == "10"


def test_tiny_and_large_valid_epsilons_still_plan(admin, make_org):
    room = build_room(admin, make_org, epsilon_budget="1e60")
    qid = add_q1(room)
    room.owner.set_epsilon_bounds(room.id, min_epsilon="1e-60")  # the default minimum is 0.01
    for eps in ("1e-60", "1e-30", "0.5", "1/3", "1e60"):
        plan = room.owner.plan(room.id, qid, {"min_amount": 0}, epsilon=eps)
        assert plan.dp


def test_a_run_charges_what_it_ran_with_not_what_was_planned(admin, make_org):
    room = build_room(admin, make_org)
    qid = add_q1(room)
    room.owner.plan(room.id, qid, {"min_amount": 0}, epsilon="0.1")
    run = room.owner.run(room.id, qid, {"min_amount": 0}, epsilon="2")
    assert run.epsilon == "2"
    assert room.owner.budget(room.id).epsilon_spent == "2"


def test_deleting_a_run_refunds_nothing(admin, make_org):
    room = build_room(admin, make_org)
    qid = add_q1(room)
    run = room.owner.run(room.id, qid, {"min_amount": 0}, epsilon="4")
    room.owner.delete_run(room.id, run.id)
    assert room.owner.budget(room.id).epsilon_spent == "4"
    assert room.owner.budget(room.id).epsilon_left == "6"


def test_budget_exhaustion_refuses_with_figures_and_keeps_nothing(admin, make_org):
    room = build_room(admin, make_org, epsilon_budget="1")
    qid = add_q1(room)
    room.owner.run(room.id, qid, {"min_amount": 0}, epsilon="0.75")
    with pytest.raises(wb.errors.BudgetExceeded) as info:
        room.owner.run(room.id, qid, {"min_amount": 0}, epsilon="0.5")
    assert info.value.details.get("remaining") or "0.25" in info.value.message
    assert len(room.owner.runs(room.id)) == 1
    assert room.owner.budget(room.id).epsilon_spent == "0.75"


def test_partner_running_charges_the_receiver_and_cannot_read_its_budget_figures_of_others(
        admin, make_org):
    """The template's terms make the owner the receiver: the partner's run is charged to the
    owner, and the partner may not read the owner's budget."""
    room = build_room(admin, make_org)
    qid = add_q1(room)
    room.partner.run(room.id, qid, {"min_amount": 0}, epsilon="1")
    assert room.owner.budget(room.id).epsilon_spent == "1"
    with pytest.raises(wb.errors.PermissionDenied):
        room.partner.budget(room.id, org_id=room.owner_org)


def test_concurrent_runs_over_http_never_overspend(live_service):
    """Eight parallel runs of epsilon 1 against a budget of 3: exactly three succeed."""
    admin = live_service.client(live_service.admin_token)

    room = build_room(admin, live_service.make_org, epsilon_budget="3")
    qid = add_q1(room)
    # the budget race, not the concurrency limits (2 per user by default), is tested here
    admin.set_run_limits(room.id, max_concurrent_per_user=8, max_concurrent_per_room=8)
    token = admin.issue_token(admin.whoami().user.id).secret

    def one(_: int) -> str:
        client = live_service.client(token)
        try:
            client.run(room.id, qid, {"min_amount": 0}, epsilon="1")
            return "ok"
        except wb.errors.BudgetExceeded:
            return "refused"

    with ThreadPoolExecutor(8) as pool:
        outcomes = list(pool.map(one, range(8)))
    assert outcomes.count("ok") == 3 and outcomes.count("refused") == 5
    budget = admin.budget(room.id)
    assert budget.epsilon_spent == "3" and budget.epsilon_left == "0"

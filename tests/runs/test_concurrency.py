"""Twenty concurrent runs over real HTTP against a budget for exactly five."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import workbench as wb
from tests.runs.room import add_q1, build_room


def test_twenty_concurrent_runs_exactly_five_fit(live_service):
    owner = live_service.client(live_service.admin_token)
    room = build_room(owner, live_service.make_org, epsilon_budget="10")
    qid = add_q1(room)
    # the budget race, not the concurrency limits (2 per user, 4 per room by default), is tested
    owner.set_run_limits(room.id, max_concurrent_per_user=20, max_concurrent_per_room=20)
    clients = [live_service.client(live_service.admin_token) for _ in range(20)]

    def attempt(client: wb.Client) -> str:
        try:
            client.run(room.id, qid, {"min_amount": 0}, epsilon="2")
            return "ok"
        except wb.BudgetExceeded as e:
            assert e.requested == "epsilon 2, delta 0"
            return "refused"

    with ThreadPoolExecutor(max_workers=20) as pool:
        outcomes = list(pool.map(attempt, clients))
    assert outcomes.count("ok") == 5 and outcomes.count("refused") == 15
    budget = owner.budget(room.id)
    assert (budget.epsilon_spent, budget.epsilon_left) == ("10", "0")
    runs = owner.runs(room.id)
    assert len(runs) == 5 and all(r.status == "succeeded" for r in runs)


def test_two_orgs_racing_over_the_same_parties_never_overspend_either(live_service):
    """The owner and the partner run at once; every run reads both parties' data, so both
    ledgers are charged by every run and neither may go past its budget (the partner's is
    lower: it set its own)."""
    owner = live_service.client(live_service.admin_token)
    room = build_room(owner, live_service.make_org, epsilon_budget="10")
    qid = add_q1(room)
    owner.set_run_limits(room.id, max_concurrent_per_user=20, max_concurrent_per_room=20)
    room.partner.set_budget(room.id, room.partner_org, epsilon="6")
    token = room.partner.issue_token(room.partner.whoami().user.id).secret
    clients = ([live_service.client(live_service.admin_token) for _ in range(6)]
               + [live_service.client(token) for _ in range(6)])

    def attempt(client: wb.Client) -> str:
        try:
            client.run(room.id, qid, {"min_amount": 0}, epsilon="1")
            return "ok"
        except wb.BudgetExceeded:
            return "refused"

    with ThreadPoolExecutor(max_workers=12) as pool:
        outcomes = list(pool.map(attempt, clients))
    assert outcomes.count("ok") == 6 and outcomes.count("refused") == 6
    assert owner.budget(room.id, org_id=room.partner_org).epsilon_left == "0"
    assert owner.budget(room.id).epsilon_spent == "6"

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

"""Twenty concurrent runs over real HTTP against a budget for exactly five."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import workbench as wb
from tests.runs.room import add_q1, build_room


@dataclass
class _Org:
    id: str
    admin: wb.Client


def test_twenty_concurrent_runs_exactly_five_fit(live_service):
    owner = live_service.client(live_service.admin_token)

    def make_org(name: str) -> _Org:
        created = owner.create_org(name, "admin")
        return _Org(created.org.id, live_service.client(created.token.secret))

    room = build_room(owner, make_org, epsilon_budget="10")
    qid = add_q1(room)
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

"""Red team against flows (issue 13) over a live service on the wall clock: what an analyst
who may only view flow runs learns about the parties' data from them."""

from __future__ import annotations

import uuid

from tests.conftest import LiveService
from tests.runs.room import add_q1, build_room


def test_flow_runs_show_step_times_to_the_minute_only(live_service: LiveService):
    """Step start and finish times to the microsecond give how long the engine read the data
    (which depends on it): a side channel outside the noise. Times are shown to the minute."""
    owner = live_service.make_org(f"Publisher {uuid.uuid4().hex[:8]}").admin
    room = build_room(owner, live_service.make_org, k_min=1, epsilon_budget="50")
    owner.update_room(room.id, flows=True)
    q1 = add_q1(room)
    flow = owner.create_flow(room.id, "two steps", [
        {"name": "a", "question_id": q1, "parameters": {"min_amount": 0}, "epsilon": "0.5"},
        {"name": "b", "question_id": q1, "parameters": {"min_amount": 9}, "epsilon": "0.5",
         "after": ["a"]}])
    run = owner.run_flow(room.id, flow.id)
    assert run.status == "succeeded"
    for seen in (run, owner.flow_run(room.id, run.id), *owner.flow_runs(room.id, flow.id)):
        times = [t for s in seen.steps for t in (s.started_at, s.finished_at)] + [seen.finished_at]
        assert times and all(t is not None and t.second == 0 and t.microsecond == 0
                             for t in times), times

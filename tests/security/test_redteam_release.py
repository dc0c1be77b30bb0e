"""Red team against the release path (issue 10.5): what a run's record tells beyond its noisy
answer, read by the analyst and by every party whose data it read."""

from __future__ import annotations

import datetime as dt

from tests.runs.room import add_q1, build_room


def test_a_runs_record_does_not_time_the_engine(admin, make_org):
    """created_at and finished_at to the microsecond give how long the engine read the data,
    to every party that lists the run (scheduled runs included): finish times are shown to the
    minute."""
    room = build_room(admin, make_org, dp=True, k_min=5)
    qid = add_q1(room)
    run = room.owner.run(room.id, qid, {"min_amount": 0}, epsilon="1")
    for seen in (run, room.owner.get_run(room.id, run.id), *room.partner.runs(room.id)):
        assert seen.finished_at is not None
        finished = dt.datetime.fromisoformat(seen.finished_at)
        assert finished.second == 0 and finished.microsecond == 0, seen.finished_at

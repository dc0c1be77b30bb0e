"""Unlink while runs are in flight, with real concurrency over a live `workbench serve`.

The promise: a run either finishes before the unlink (and is then removed with the dataset) or is
dropped with it; no result computed from unlinked data survives; every run that started reading
stays charged; the unlink itself never answers 500.
"""

from __future__ import annotations

import threading
import time
from fractions import Fraction

import workbench as wb
from tests.runs.room import add_q1, build_room

CLEAN = {"ok", "Conflict", "NotFound", "InvalidInput", "RuleViolation", "Busy"}


def test_unlink_during_runs_keeps_no_result_and_never_answers_500(live_service):
    owner = live_service.client(live_service.admin_token)
    room = build_room(owner, live_service.make_org, epsilon_budget="1000")
    qid = add_q1(room)
    runners = [live_service.client(live_service.admin_token) for _ in range(3)]
    stop = threading.Event()
    outcomes: list[tuple[str, str | None]] = []
    lock = threading.Lock()

    def keep_running(client: wb.Client) -> None:
        while not stop.is_set():
            try:
                run = client.run(room.id, qid, {"min_amount": 0}, epsilon="0.5")
                outcome = ("ok", run.id)
            except wb.WorkbenchError as e:
                outcome = (type(e).__name__, e.details.get("run_id"))
            with lock:
                outcomes.append(outcome)

    threads = [threading.Thread(target=keep_running, args=(c,)) for c in runners]
    for t in threads:
        t.start()
    try:
        deadline = time.monotonic() + 60
        while sum(kind == "ok" for kind, _ in outcomes) < 3 and time.monotonic() < deadline:
            time.sleep(0.05)
        removed = room.partner.unprovision_dataset(room.id, room.advertiser_dataset)
        time.sleep(1.0)  # let runs that raced the unlink finish or fail
    finally:
        stop.set()
        for t in threads:
            t.join(timeout=120)
    assert removed is not None
    assert {kind for kind, _ in outcomes} <= CLEAN, outcomes
    # nothing computed from the advertiser's data survives the unlink
    for run in owner.runs(room.id):
        assert room.advertiser_dataset not in run.metadata.get("datasets", []), run.id
    # every run that was charged stays charged, dropped or not: the partner paid for each
    charged = {run_id for _, run_id in outcomes if run_id}
    assert charged
    spent = Fraction(room.partner.budget(room.id).epsilon_spent)
    assert spent == Fraction(1, 2) * len(charged)

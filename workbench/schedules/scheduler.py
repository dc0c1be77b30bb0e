"""The scheduler inside the service: fires due schedules as ordinary runs of their owners.

One scheduler per store (the store is opened by one process only, so a second `serve` on the same
store is refused before it could start a second scheduler). Every tick it fires each due schedule
once:

- the fire is claimed first (its next fire time moves on in the same transaction that records the
  claim), so a fire happens at most once even if a tick overlaps another;
- the owner's permissions are checked at fire time (``schedule.fire``, then the run's own checks);
  the run is an ordinary run: charged to the ledger, audited;
- a fire refused before any data is read (budget, permission, the room expired, not active, the
  question or its parameters no longer valid) pauses the schedule with the reason, which its owner
  sees in the schedule and its fire history; a run that fails after reading data is recorded as
  failed and the schedule stays active.

Missed fires: when the service was down over one or more fire times, the schedule fires once when
the scheduler next ticks, and the fire records how many were missed; then it goes on from the
next cron time after now. Budget is never spent to catch up.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import threading
from collections.abc import Callable

from workbench.engine import Engine
from workbench.errors import (BudgetExceeded, Conflict, InvalidInput, NotFound,
                              PermissionDenied, RoomExpired, RuleViolation, WorkbenchError)
from workbench.governance.audit import record
from workbench.governance.model import Actor
from workbench.governance.policy import ensure_allowed
from workbench.ids import new_id
from workbench.runs.operations import run_question
from workbench.schedules import _records as records
from workbench.schedules import cron
from workbench.schedules.clock import Clock
from workbench.schedules.operations import owner_actor
from workbench.store import Store
from workbench.wire import questions as wq

log = logging.getLogger("workbench.schedules")

TICK_ENV = "WORKBENCH_SCHEDULER_TICK"
#: errors that mean "refused before reading data": the schedule pauses with the reason
REFUSALS: tuple[type[WorkbenchError], ...] = (
    BudgetExceeded, Conflict, InvalidInput, NotFound, PermissionDenied, RoomExpired,
    RuleViolation)

#: runs a flow for a schedule: (store, actor, room_id, flow_id, schedule_id, engine) -> its id
FlowRunner = Callable[[Store, Actor, str, str, str, "Engine | None"], str]


def _count_missed(rec: records.ScheduleRecord, due: dt.datetime, now: dt.datetime) -> int:
    """Cron times after the due one and up to now: missed while the service was down."""
    missed = 0
    for _ in cron.fires(rec.cron, rec.timezone, due, min(now, rec.ends_at)):
        missed += 1
        if missed >= 100_000:
            break
    return missed


def _claim(store: Store, rec: records.ScheduleRecord, now: dt.datetime) -> bool:
    """Move the schedule past this fire, once: False when another tick already did."""
    following = cron.next_fire(rec.cron, rec.timezone, now, rec.ends_at)
    with store.transaction() as cur:
        current = records.get_schedule(cur, rec.room_id, rec.id)
        if (current is None or current.status != "active"
                or current.next_fire_at != rec.next_fire_at):
            return False
        records.mark_fired(cur, rec.id, now, following)
    return True


def fire(store: Store, rec: records.ScheduleRecord, now: dt.datetime,
         run_flow: FlowRunner | None = None, engine: Engine | None = None
         ) -> records.FireRecord | None:
    """Fire one due schedule as its owner; None when it was not ours to fire."""
    due = rec.next_fire_at
    if due is None or not _claim(store, rec, now):
        return None
    missed = _count_missed(rec, due, now)
    run_id = flow_run_id = None
    outcome, reason = "succeeded", None
    actor = None
    try:
        with store.reader() as cur:
            actor = owner_actor(cur, rec.owner_user_id)
        action = "schedule.fire" if rec.target_kind == "question" else "flow.run"
        with store.reader() as cur:
            ensure_allowed(cur, actor, action, room_id=rec.room_id,
                           resource_type=rec.target_kind, resource_id=rec.target_id,
                           detail={"schedule_id": rec.id})
        if rec.target_kind == "question":
            run = run_question(store, actor, rec.room_id, rec.target_id, wq.RunRequest(
                parameters=rec.params, epsilon=rec.epsilon, delta=rec.delta), engine=engine)
            run_id = run.id
        else:
            if run_flow is None:
                raise Conflict("flows cannot run here")
            flow_run_id = run_flow(store, actor, rec.room_id, rec.target_id, rec.id, engine)
    except REFUSALS as err:
        outcome, reason = "refused", err.message
    except WorkbenchError as err:
        outcome, reason = "failed", err.message
    except Exception:
        log.exception("schedule %s failed to fire", rec.id)
        outcome, reason = "failed", "the run failed"
    fire_record = records.FireRecord(
        id=new_id(), schedule_id=rec.id, room_id=rec.room_id, due_at=due,
        fired_at=now, outcome=outcome, reason=reason, run_id=run_id, flow_run_id=flow_run_id,
        missed=missed)
    with store.transaction() as cur:
        records.insert_fire(cur, fire_record)
        if outcome == "refused":
            records.update_schedule(cur, rec.id, {"status": "paused",
                                                  "paused_reason": f"fire refused: {reason}"})
        record(cur, actor, f"schedule.fire.{outcome}", room_id=rec.room_id,
               resource_type="schedule", resource_id=rec.id,
               outcome="ok" if outcome == "succeeded" else "error", reason=reason or "",
               detail={"run_id": run_id, "flow_run_id": flow_run_id, "missed": missed,
                       "due_at": due.isoformat()})
    return fire_record


class Scheduler:
    """A daemon thread that fires due schedules every ``tick`` seconds."""

    def __init__(self, store: Store, clock: Clock, *, tick: float | None = None,
                 run_flow: FlowRunner | None = None, engine: Engine | None = None) -> None:
        self.store = store
        self.engine = engine
        self.clock = clock
        self.tick = tick if tick is not None else float(os.environ.get(TICK_ENV, "30"))
        self.run_flow = run_flow
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def fire_due(self) -> list[records.FireRecord]:
        """Fire every schedule due now, oldest first; returns the fires made."""
        now = self.clock.now()
        with self.store.reader() as cur:
            due = records.due_schedules(cur, now)
        fired = []
        for rec in due:
            result = fire(self.store, rec, now, self.run_flow, self.engine)
            if result is not None:
                fired.append(result)
        return fired

    def _loop(self) -> None:
        while not self._stop.is_set():
            try:
                self.fire_due()
            except Exception:
                log.exception("scheduler tick failed")
            self._stop.wait(self.tick)

    def start(self) -> None:
        """Start ticking (the first tick at once: fires missed while the service was down)."""
        if self._thread is None:
            self._thread = threading.Thread(target=self._loop, name="workbench-scheduler",
                                            daemon=True)
            self._thread.start()

    def stop(self) -> None:
        """Stop ticking and wait for a fire in progress to finish."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=60)
            self._thread = None

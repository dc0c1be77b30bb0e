"""Every SQL statement of schedules and flows, returning frozen records."""

from __future__ import annotations

import datetime as dt
import json
import re
import uuid
from dataclasses import dataclass
from typing import Any

from workbench.store import fetch_all, fetch_one, scalar

SCHEDULE_COLUMNS = (
    "id, room_id, name, target_kind, target_id, parameters, epsilon, delta, cron, timezone,"
    " starts_at, ends_at, until_budget_lasts, status, paused_reason, next_fire_at, last_fired_at,"
    " owner_user_id, owner_org_id, created_at, updated_at")
#: the columns an edit may change (names are never taken from callers)
EDITABLE = frozenset({"name", "parameters", "epsilon", "delta", "cron", "timezone", "starts_at",
                      "ends_at", "until_budget_lasts", "status", "paused_reason", "next_fire_at"})


@dataclass(frozen=True, slots=True, kw_only=True)
class ScheduleRecord:
    id: str
    room_id: str
    name: str
    target_kind: str
    target_id: str
    parameters: str
    epsilon: str
    delta: str | None
    cron: str
    timezone: str
    starts_at: dt.datetime
    ends_at: dt.datetime
    until_budget_lasts: bool
    status: str
    paused_reason: str | None
    next_fire_at: dt.datetime | None
    last_fired_at: dt.datetime | None
    owner_user_id: str
    owner_org_id: str
    created_at: dt.datetime
    updated_at: dt.datetime

    @property
    def params(self) -> dict[str, Any]:
        """The fixed parameters of every fire."""
        value = json.loads(self.parameters)
        return value if isinstance(value, dict) else {}


@dataclass(frozen=True, slots=True, kw_only=True)
class FireRecord:
    id: str
    schedule_id: str
    room_id: str
    due_at: dt.datetime
    fired_at: dt.datetime
    outcome: str
    reason: str | None
    run_id: str | None
    flow_run_id: str | None
    missed: int


@dataclass(frozen=True, slots=True, kw_only=True)
class FlowRecord:
    id: str
    room_id: str
    name: str
    description: str
    steps: str
    owner_user_id: str
    owner_org_id: str
    version: int
    created_at: dt.datetime
    updated_at: dt.datetime

    @property
    def step_list(self) -> list[dict[str, Any]]:
        value = json.loads(self.steps)
        return value if isinstance(value, list) else []


@dataclass(frozen=True, slots=True, kw_only=True)
class FlowRunRecord:
    id: str
    flow_id: str
    room_id: str
    flow_version: int
    trigger: str
    schedule_id: str | None
    user_id: str
    org_id: str
    status: str
    started_at: dt.datetime
    finished_at: dt.datetime | None


@dataclass(frozen=True, slots=True, kw_only=True)
class StepRunRecord:
    flow_run_id: str
    step: str
    position: int
    kind: str
    status: str
    started_at: dt.datetime | None
    finished_at: dt.datetime | None
    run_id: str | None
    cohort_id: str | None
    epsilon: str | None
    delta: str | None
    error: str | None


# -- schedules -------------------------------------------------------------------------------

def insert_schedule(cur: Any, values: dict[str, Any]) -> None:
    """Add a schedule (``values`` has one entry per column but the timestamps)."""
    names = [n.strip() for n in SCHEDULE_COLUMNS.split(",")
             if n.strip() not in ("created_at", "updated_at", "last_fired_at")]
    row = dict(values, parameters=json.dumps(values["parameters"], default=str))
    cur.execute(f"INSERT INTO schedules ({', '.join(names)}) VALUES "
                f"({', '.join('?' for _ in names)})", [row[n] for n in names])


def update_schedule(cur: Any, schedule_id: str, changes: dict[str, Any]) -> None:
    """Change editable columns of a schedule and stamp the edit."""
    unknown = set(changes) - EDITABLE
    if unknown:
        raise ValueError(f"not editable: {sorted(unknown)}")
    if "parameters" in changes:
        changes = dict(changes, parameters=json.dumps(changes["parameters"], default=str))
    sets = ", ".join(f"{name} = ?" for name in changes)
    cur.execute(f"UPDATE schedules SET {sets}, updated_at = now() WHERE id = ?",
                [*changes.values(), schedule_id])


def mark_fired(cur: Any, schedule_id: str, fired_at: dt.datetime,
               next_fire_at: dt.datetime | None) -> None:
    """Record that a schedule fired and when it fires next (finished when it never will)."""
    cur.execute("UPDATE schedules SET last_fired_at = ?, next_fire_at = ?,"
                " status = CASE WHEN ? IS NULL AND status = 'active' THEN 'finished'"
                " ELSE status END WHERE id = ?",
                [fired_at, next_fire_at, next_fire_at, schedule_id])


def get_schedule(cur: Any, room_id: str, schedule_id: str) -> ScheduleRecord | None:
    return fetch_one(cur, ScheduleRecord,
                     f"SELECT {SCHEDULE_COLUMNS} FROM schedules WHERE id = ? AND room_id = ?",
                     [schedule_id, room_id])


def list_schedules(cur: Any, room_id: str, *, status: str | None = None
                   ) -> list[ScheduleRecord]:
    sql = f"SELECT {SCHEDULE_COLUMNS} FROM schedules WHERE room_id = ?"
    params: list[Any] = [room_id]
    if status is not None:
        sql += " AND status = ?"
        params.append(status)
    return fetch_all(cur, ScheduleRecord, sql + " ORDER BY created_at, id", params)


def due_schedules(cur: Any, now: dt.datetime) -> list[ScheduleRecord]:
    """Active schedules whose next fire is due, oldest first (every room of the store)."""
    return fetch_all(cur, ScheduleRecord,
                     f"SELECT {SCHEDULE_COLUMNS} FROM schedules WHERE status = 'active'"
                     " AND next_fire_at IS NOT NULL AND next_fire_at <= ?"
                     " ORDER BY next_fire_at, id", [now])


def schedules_of_flow(cur: Any, flow_id: str) -> list[ScheduleRecord]:
    return fetch_all(cur, ScheduleRecord,
                     f"SELECT {SCHEDULE_COLUMNS} FROM schedules WHERE target_kind = 'flow'"
                     " AND target_id = ?", [flow_id])


def delete_schedule(cur: Any, schedule_id: str) -> None:
    cur.execute("DELETE FROM schedule_fires WHERE schedule_id = ?", [schedule_id])
    cur.execute("DELETE FROM schedules WHERE id = ?", [schedule_id])


def insert_fire(cur: Any, fire: FireRecord) -> None:
    cur.execute("INSERT INTO schedule_fires (id, schedule_id, room_id, due_at, fired_at, outcome,"
                " reason, run_id, flow_run_id, missed) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                [fire.id, fire.schedule_id, fire.room_id, fire.due_at, fire.fired_at,
                 fire.outcome, fire.reason, fire.run_id, fire.flow_run_id, fire.missed])


def list_fires(cur: Any, schedule_id: str, limit: int = 200) -> list[FireRecord]:
    return fetch_all(cur, FireRecord,
                     "SELECT id, schedule_id, room_id, due_at, fired_at, outcome, reason, run_id,"
                     " flow_run_id, missed FROM schedule_fires WHERE schedule_id = ?"
                     " ORDER BY fired_at DESC, id LIMIT ?", [schedule_id, limit])


# -- flows -----------------------------------------------------------------------------------

FLOW_COLUMNS = ("id, room_id, name, description, steps, owner_user_id, owner_org_id, version,"
                " created_at, updated_at")


def insert_flow(cur: Any, flow_id: str, room_id: str, name: str, description: str,
                steps: list[dict[str, Any]], user_id: str, org_id: str) -> None:
    cur.execute("INSERT INTO flows (id, room_id, name, description, steps, owner_user_id,"
                " owner_org_id, version) VALUES (?, ?, ?, ?, ?, ?, ?, 1)",
                [flow_id, room_id, name, description, json.dumps(steps), user_id, org_id])


def update_flow(cur: Any, flow_id: str, name: str, description: str,
                steps: list[dict[str, Any]]) -> None:
    cur.execute("UPDATE flows SET name = ?, description = ?, steps = ?, version = version + 1,"
                " updated_at = now() WHERE id = ?",
                [name, description, json.dumps(steps), flow_id])


def flow_name_taken(cur: Any, room_id: str, name: str, other_than: str | None = None) -> bool:
    return bool(scalar(cur, "SELECT count(*) FROM flows WHERE room_id = ? AND name = ?"
                            " AND id IS DISTINCT FROM ?", [room_id, name, other_than]))


def get_flow(cur: Any, room_id: str, flow_id: str) -> FlowRecord | None:
    return fetch_one(cur, FlowRecord,
                     f"SELECT {FLOW_COLUMNS} FROM flows WHERE id = ? AND room_id = ?",
                     [flow_id, room_id])


def list_flows(cur: Any, room_id: str) -> list[FlowRecord]:
    return fetch_all(cur, FlowRecord,
                     f"SELECT {FLOW_COLUMNS} FROM flows WHERE room_id = ? ORDER BY name",
                     [room_id])


def delete_flow(cur: Any, flow_id: str) -> None:
    for run_id in [r.id for r in list_flow_runs(cur, flow_id)]:
        cur.execute("DELETE FROM flow_step_runs WHERE flow_run_id = ?", [run_id])
    cur.execute("DELETE FROM flow_runs WHERE flow_id = ?", [flow_id])
    cur.execute("DELETE FROM flows WHERE id = ?", [flow_id])


RUN_COLUMNS = ("id, flow_id, room_id, flow_version, trigger, schedule_id, user_id, org_id, status,"
               " started_at, finished_at")
STEP_COLUMNS = ("flow_run_id, step, position, kind, status, started_at, finished_at, run_id,"
                " cohort_id, epsilon, delta, error")


def insert_flow_run(cur: Any, run: FlowRunRecord, steps: list[tuple[str, str]]) -> None:
    """A flow run with one pending row per step (name, kind) in execution order."""
    cur.execute(f"INSERT INTO flow_runs ({RUN_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                [run.id, run.flow_id, run.room_id, run.flow_version, run.trigger,
                 run.schedule_id, run.user_id, run.org_id, run.status, run.started_at,
                 run.finished_at])
    for position, (step, kind) in enumerate(steps):
        cur.execute("INSERT INTO flow_step_runs (flow_run_id, step, position, kind, status)"
                    " VALUES (?, ?, ?, ?, 'pending')", [run.id, step, position, kind])


def update_step_run(cur: Any, flow_run_id: str, step: str, **changes: Any) -> None:
    allowed = {"status", "started_at", "finished_at", "run_id", "cohort_id", "epsilon", "delta",
               "error"}
    if set(changes) - allowed:
        raise ValueError(f"not a step column: {sorted(set(changes) - allowed)}")
    sets = ", ".join(f"{name} = ?" for name in changes)
    cur.execute(f"UPDATE flow_step_runs SET {sets} WHERE flow_run_id = ? AND step = ?",
                [*changes.values(), flow_run_id, step])


def finish_flow_run(cur: Any, flow_run_id: str, status: str, at: dt.datetime) -> None:
    cur.execute("UPDATE flow_runs SET status = ?, finished_at = ? WHERE id = ?",
                [status, at, flow_run_id])


def get_flow_run(cur: Any, room_id: str, flow_run_id: str) -> FlowRunRecord | None:
    return fetch_one(cur, FlowRunRecord,
                     f"SELECT {RUN_COLUMNS} FROM flow_runs WHERE id = ? AND room_id = ?",
                     [flow_run_id, room_id])


def list_flow_runs(cur: Any, flow_id: str) -> list[FlowRunRecord]:
    return fetch_all(cur, FlowRunRecord,
                     f"SELECT {RUN_COLUMNS} FROM flow_runs WHERE flow_id = ?"
                     " ORDER BY started_at DESC, id", [flow_id])


def step_runs(cur: Any, flow_run_id: str) -> list[StepRunRecord]:
    return fetch_all(cur, StepRunRecord,
                     f"SELECT {STEP_COLUMNS} FROM flow_step_runs WHERE flow_run_id = ?"
                     " ORDER BY position", [flow_run_id])


# -- cohort views (a flow step's dataset restricted to a cohort's members) ---------------------

_IDENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


def _checked(name: str, what: str) -> str:
    for part in name.split("."):
        if not _IDENT.match(part):
            raise ValueError(f"{what} {name!r} is not a plain identifier")
    return name


def create_cohort_view(cur: Any, view: str, source_view: str, identity: str,
                       cohort_id: str) -> None:
    """``view``: the rows of ``source_view`` whose identity is a member of the cohort.

    Every name is trusted metadata checked to be a plain identifier, and ``cohort_id`` a parsed
    UUID: a view's text cannot carry bound parameters."""
    uuid.UUID(cohort_id)
    cur.execute(f'CREATE VIEW {_checked(view, "view")} AS SELECT * FROM '
                f'{_checked(source_view, "view")} WHERE "{_checked(identity, "column")}" IN '
                f"(SELECT member FROM cohort_members WHERE cohort_id = '{cohort_id}')")


def drop_cohort_view(cur: Any, view: str) -> None:
    cur.execute(f"DROP VIEW IF EXISTS {_checked(view, 'view')}")

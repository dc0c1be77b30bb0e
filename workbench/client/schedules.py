"""Client methods for schedules, flows, flow runs and the budget calendar."""

from __future__ import annotations

import datetime as dt
from typing import Any

from workbench.wire import schedules as w


def _instant(value: dt.datetime | None) -> str | None:
    return None if value is None else value.isoformat()


class SchedulesAPI:
    """Recurring runs, flows of questions and cohorts, and the budget calendar."""

    def _request(self, method: str, path: str, **kwargs: Any) -> Any:  # provided by Client
        raise NotImplementedError

    def schedules(self, room_id: str) -> list[w.Schedule]:
        """Every schedule of the room (each party sees what will spend its budget)."""
        return [w.Schedule(**s) for s in
                self._request("GET", f"/api/v1/rooms/{room_id}/schedules")]

    def create_schedule(self, room_id: str, name: str, cron: str, *,
                        question_id: str | None = None, flow_id: str | None = None,
                        parameters: dict[str, Any] | None = None, epsilon: str | float = "1",
                        delta: str | float | None = None, timezone: str = "UTC",
                        starts_at: dt.datetime | None = None,
                        ends_at: dt.datetime | None = None,
                        until_budget_lasts: bool = False) -> w.Schedule:
        """Run a question (or a flow) on a cron expression read in ``timezone``. Refused with the
        date when the budget calendar shows it would exhaust a party's budget before it ends,
        unless ``until_budget_lasts``."""
        body = {"name": name, "cron": cron, "question_id": question_id, "flow_id": flow_id,
                "parameters": parameters or {}, "epsilon": epsilon, "delta": delta,
                "timezone": timezone, "starts_at": _instant(starts_at),
                "ends_at": _instant(ends_at), "until_budget_lasts": until_budget_lasts}
        return w.Schedule(**self._request("POST", f"/api/v1/rooms/{room_id}/schedules",
                                          json=body))

    def schedule(self, room_id: str, schedule_id: str) -> w.Schedule:
        """One schedule: status, why it paused, next fire."""
        return w.Schedule(**self._request(
            "GET", f"/api/v1/rooms/{room_id}/schedules/{schedule_id}"))

    def update_schedule(self, room_id: str, schedule_id: str, **changes: Any) -> w.Schedule:
        """Edit a schedule (name, parameters, epsilon, delta, cron, timezone, starts_at, ends_at,
        until_budget_lasts); the budget calendar is checked again."""
        body = {k: _instant(v) if isinstance(v, dt.datetime) else v for k, v in changes.items()}
        return w.Schedule(**self._request(
            "PATCH", f"/api/v1/rooms/{room_id}/schedules/{schedule_id}", json=body))

    def pause_schedule(self, room_id: str, schedule_id: str) -> w.Schedule:
        """Stop firing until resumed."""
        return w.Schedule(**self._request(
            "POST", f"/api/v1/rooms/{room_id}/schedules/{schedule_id}/pause"))

    def resume_schedule(self, room_id: str, schedule_id: str) -> w.Schedule:
        """Fire again from the next cron time (fires missed while paused are skipped)."""
        return w.Schedule(**self._request(
            "POST", f"/api/v1/rooms/{room_id}/schedules/{schedule_id}/resume"))

    def delete_schedule(self, room_id: str, schedule_id: str) -> None:
        """Remove a schedule (the runs it made stay, with their charges)."""
        self._request("DELETE", f"/api/v1/rooms/{room_id}/schedules/{schedule_id}")

    def schedule_fires(self, room_id: str, schedule_id: str) -> list[w.ScheduleFire]:
        """The schedule's history, newest first, with the reason of every refusal."""
        return [w.ScheduleFire(**f) for f in self._request(
            "GET", f"/api/v1/rooms/{room_id}/schedules/{schedule_id}/fires")]

    def budget_calendar(self, room_id: str) -> w.Calendar:
        """Projected spend of each protected party you may see, to the room's end."""
        return w.Calendar(**self._request("GET", f"/api/v1/rooms/{room_id}/calendar"))

    def flows(self, room_id: str) -> list[w.Flow]:
        """The room's flows (View Flows)."""
        return [w.Flow(**f) for f in self._request("GET", f"/api/v1/rooms/{room_id}/flows")]

    def create_flow(self, room_id: str, name: str, steps: list[dict[str, Any]], *,
                    description: str = "") -> w.Flow:
        """A flow of steps: {"name", "kind": "question"|"cohort", "question_id", "parameters",
        "epsilon", "after": [step names], "cohort_input": {"step", "macro"}} (Flow Builder)."""
        return w.Flow(**self._request("POST", f"/api/v1/rooms/{room_id}/flows",
                                      json={"name": name, "description": description,
                                            "steps": steps}))

    def flow(self, room_id: str, flow_id: str) -> w.Flow:
        return w.Flow(**self._request("GET", f"/api/v1/rooms/{room_id}/flows/{flow_id}"))

    def update_flow(self, room_id: str, flow_id: str, **changes: Any) -> w.Flow:
        """Edit name, description or steps; a new version."""
        return w.Flow(**self._request("PATCH", f"/api/v1/rooms/{room_id}/flows/{flow_id}",
                                      json=changes))

    def delete_flow(self, room_id: str, flow_id: str) -> None:
        """Delete a flow, its run history and the schedules that run it."""
        self._request("DELETE", f"/api/v1/rooms/{room_id}/flows/{flow_id}")

    def run_flow(self, room_id: str, flow_id: str) -> w.FlowRun:
        """Run a flow now (Flow Runs); returns when every step has finished."""
        return w.FlowRun(**self._request("POST",
                                         f"/api/v1/rooms/{room_id}/flows/{flow_id}/runs"))

    def flow_runs(self, room_id: str, flow_id: str) -> list[w.FlowRun]:
        """A flow's runs, newest first, each with its steps' status, timing and charge."""
        return [w.FlowRun(**r) for r in self._request(
            "GET", f"/api/v1/rooms/{room_id}/flows/{flow_id}/runs")]

    def flow_run(self, room_id: str, flow_run_id: str) -> w.FlowRun:
        return w.FlowRun(**self._request("GET",
                                         f"/api/v1/rooms/{room_id}/flow-runs/{flow_run_id}"))

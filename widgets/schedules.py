"""Schedules, flows and the budget calendar, for analysts (embedded in the question runner).

The panel schedules the runner's current question with its current parameters and ε, lists the
room's schedules (pause, resume, delete, fire history with the reason of every refusal), runs
flows, and draws the budget calendar: each protected party's spend projected to the room's end
against its budget. What the user may do is decided by the service; refusals show in the status.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

import ipywidgets as W
import plotly.graph_objects as go

from workbench.client import Client
from workbench.wire import schedules as ws
from widgets._common import (Confirmation, Status, button, done, esc, guarded, heading, number_text, set_options,
                             show, show_figure, table_html)

ZONES = ["UTC", "Europe/London", "Europe/Paris", "Europe/Berlin", "America/New_York",
         "America/Chicago", "America/Los_Angeles", "Asia/Tokyo", "Asia/Singapore",
         "Australia/Sydney"]


def _when(value: dt.datetime | None) -> str:
    return "—" if value is None else value.astimezone(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")


def calendar_figure(calendar: ws.Calendar) -> go.Figure:
    """Projected cumulative ε per party over time, each against its budget."""
    figure = go.Figure()
    for party in calendar.parties:
        xs = [calendar.now] + [p.at for p in party.points]
        ys = [float(number_text(party.epsilon_spent))] + [float(number_text(p.epsilon))
                                                          for p in party.points]
        figure.add_trace(go.Scatter(x=xs, y=ys, mode="lines", line_shape="hv",
                                    name=f"{esc(party.org_name)}: projected ε"))
        budget = float(number_text(party.epsilon_budget))
        figure.add_trace(go.Scatter(x=[calendar.now, calendar.ends_at], y=[budget, budget],
                                    mode="lines", line={"dash": "dash"},
                                    name=f"{esc(party.org_name)}: budget"))
        if party.exhausted_at is not None:
            figure.add_vline(x=party.exhausted_at.timestamp() * 1000, line_color="#b00020",
                             annotation_text=f"{esc(party.org_name)} runs out")
    figure.update_layout(title="Budget calendar: projected ε spend to the room's end",
                         xaxis_title="time (UTC)", yaxis_title="ε spent (cumulative)",
                         height=360, margin={"t": 50, "b": 40})
    return figure


class SchedulesPanel(W.VBox):
    """Schedule the current question, manage the room's schedules, run flows, see the calendar."""

    def __init__(self, client: Client, room_id: str | None = None, **kwargs: Any) -> None:
        self.client = client
        self.room_id = room_id
        self.question_id: str | None = None
        self._parameters: Callable[[], dict[str, Any]] = dict
        self._epsilon: Callable[[], str] = lambda: "1"
        self.status = Status()
        # its own class: inside the runner, the runner's status stays the last ".wb-status"
        self.status.remove_class("wb-status")
        self.status.add_class("wb-schedules-status")
        self.schedules: list[ws.Schedule] = []
        self.flows: list[ws.Flow] = []
        self.calendar: ws.Calendar | None = None
        self.figure: go.Figure | None = None

        self.name = W.Text(description="Name", placeholder="weekly reach")
        self.cron = W.Text(description="Cron", value="0 6 * * 1",
                           placeholder="minute hour day month weekday")
        self.zone = W.Dropdown(description="Time zone", options=ZONES, value="UTC")
        self.ends = W.DatePicker(description="Ends on")
        self.lasts = W.Checkbox(description="run until the budget lasts", value=False)
        self.create = button("Schedule this question", "primary")
        self.table = W.HTML()
        self.pick = W.Dropdown(description="Schedule", options=[])
        self.pause = button("Pause")
        self.resume = button("Resume")
        self.delete = button("Delete", "danger")
        self.confirm = Confirmation()
        self.history = W.HTML()
        self.flow_pick = W.Dropdown(description="Flow", options=[])
        self.run_flow_button = button("Run flow now", "info")
        self.flow_steps = W.HTML()
        self.chart = W.Output()
        self.calendar_note = W.HTML()
        #: fetch from the service only once shown (the runner keeps the panel folded at first)
        self.active = room_id is not None

        self.create.on_click(lambda _: self.do_create())
        self.pause.on_click(lambda _: self._act(self.client.pause_schedule, "paused"))
        self.resume.on_click(lambda _: self._act(self.client.resume_schedule, "resumed"))
        self.delete.on_click(lambda _: self.do_delete())
        self.pick.observe(lambda _: self._show_history(), names="value")
        self.run_flow_button.on_click(lambda _: self.do_run_flow())
        super().__init__([
            heading("Schedule the current question", 4),
            W.HBox([self.name, self.cron]), W.HBox([self.zone, self.ends]),
            W.HBox([self.lasts, self.create]),
            heading("Schedules of this room", 4), self.table,
            W.HBox([self.pick, self.pause, self.resume, self.delete]), self.confirm, self.history,
            heading("Flows", 4), W.HBox([self.flow_pick, self.run_flow_button]), self.flow_steps,
            heading("Budget calendar", 4), self.calendar_note, self.chart, self.status,
        ], **kwargs)
        self.add_class("wb-schedules")
        if room_id:
            self.refresh()

    def set_context(self, room_id: str | None, question_id: str | None,
                    parameters: Callable[[], dict[str, Any]] | None = None,
                    epsilon: Callable[[], str] | None = None) -> None:
        """Follow the runner: its room, question, parameters and ε."""
        changed = room_id != self.room_id
        self.room_id, self.question_id = room_id, question_id
        self._parameters = parameters or dict
        self._epsilon = epsilon or (lambda: "1")
        self.create.disabled = question_id is None
        if changed and self.active:
            self.status.clear()
            self.refresh()

    def activate(self) -> None:
        """The panel is shown: load it now, and follow the context from here on."""
        if not self.active:
            self.active = True
            self.refresh()

    def refresh(self) -> None:
        """Reload schedules, flows and the calendar of the room."""
        room_id = self.room_id
        if not room_id:
            self.schedules, self.flows, self.calendar = [], [], None
            self.table.value = self.history.value = self.flow_steps.value = ""
            return
        self.schedules = guarded(self.status, lambda: self.client.schedules(room_id)) or []
        self.table.value = table_html(
            ["name", "cron", "zone", "ε per fire", "status", "next fire", "why paused"],
            [(s.name, s.cron, s.timezone, number_text(s.epsilon), s.status, _when(s.next_fire_at),
              s.paused_reason or "") for s in self.schedules], empty="no schedules yet")
        set_options(self.pick, [(s.name, s.id) for s in self.schedules], self.pick.value)
        for b in (self.pause, self.resume, self.delete):
            b.disabled = self.pick.value is None
        self.flows = self._quiet(lambda: self.client.flows(room_id)) or []
        set_options(self.flow_pick, [(f.name, f.id) for f in self.flows], self.flow_pick.value)
        self.run_flow_button.disabled = self.flow_pick.value is None
        self._show_history()
        self._draw_calendar()

    def _quiet(self, fn: Callable[[], Any]) -> Any:
        """A call whose refusal only means "not for you" (flows need View Flows)."""
        try:
            return fn()
        except Exception:
            return None

    def do_create(self) -> None:
        """Schedule the runner's question with its current parameters and ε."""
        if not self.room_id or not self.question_id:
            self.status.error("pick a question first")
            return
        room_id, question_id = self.room_id, self.question_id
        ends = (dt.datetime.combine(self.ends.value, dt.time(23, 59), tzinfo=dt.UTC)
                if self.ends.value else None)
        made = guarded(self.status, lambda: self.client.create_schedule(
            room_id, self.name.value.strip() or "scheduled run", self.cron.value.strip(),
            question_id=question_id, parameters=self._parameters(), epsilon=self._epsilon(),
            timezone=self.zone.value, ends_at=ends, until_budget_lasts=self.lasts.value))
        if made is not None:
            self.pick.value = None
            self.refresh()
            self.pick.value = made.id
            self.status.ok(f"Scheduled {made.name!r}: next fire {_when(made.next_fire_at)}")

    def _act(self, call: Callable[[str, str], ws.Schedule], verb: str) -> None:
        room_id, schedule_id = self.room_id, self.pick.value
        if not room_id or not schedule_id:
            return
        done = guarded(self.status, lambda: call(room_id, schedule_id))
        if done is not None:
            self.refresh()
            self.status.ok(f"Schedule {done.name!r} {verb}")

    def do_delete(self) -> None:
        """Ask first, naming the schedule and what goes with it."""
        room_id, schedule_id = self.room_id, self.pick.value
        if not room_id or not schedule_id:
            return
        name = next((s.name for s in self.schedules if s.id == schedule_id), schedule_id)

        def delete() -> None:
            if guarded(self.status, done(lambda: self.client.delete_schedule(room_id, schedule_id))):
                self.refresh()
                self.status.ok(f"Deleted the schedule {name!r}")

        self.confirm.ask(f"Delete the schedule {name!r}?",
                         "Its fire history goes; its runs stay, with their charges.", delete)

    def _show_history(self) -> None:
        room_id, schedule_id = self.room_id, self.pick.value
        self.confirm.cancel()
        if not room_id or not schedule_id:
            self.history.value = ""
            return
        fires = guarded(self.status, lambda: self.client.schedule_fires(room_id, schedule_id)) or []
        self.history.value = table_html(
            ["due", "fired", "outcome", "missed", "run", "reason"],
            [(_when(f.due_at), _when(f.fired_at), f.outcome, f.missed, f.run_id or "",
              f.reason or "") for f in fires], empty="not fired yet")

    def do_run_flow(self) -> None:
        """Run the picked flow now and show each step's outcome."""
        room_id, flow_id = self.room_id, self.flow_pick.value
        if not room_id or not flow_id:
            return
        run = guarded(self.status, lambda: self.client.run_flow(room_id, flow_id))
        if run is None:
            return
        self.flow_steps.value = table_html(
            ["step", "kind", "status", "ε", "output", "error"],
            [(s.step, s.kind, s.status, number_text(s.epsilon or "0"), s.run_id or s.cohort_id or "",
              s.error or "") for s in run.steps])
        (self.status.ok if run.status == "succeeded" else self.status.error)(
            f"Flow run {run.status}")
        self._draw_calendar()

    def _draw_calendar(self) -> None:
        room_id = self.room_id
        self.calendar = guarded(self.status, lambda: self.client.budget_calendar(room_id)) \
            if room_id else None
        if self.calendar is None:
            return
        notes = [f"{esc(p.org_name)}: ε {esc(number_text(p.epsilon_spent))} spent, "
                 f"{esc(number_text(p.epsilon_projected))} projected by the end, of "
                 f"{esc(number_text(p.epsilon_budget))}"
                 + (f" — <b style='color:#b00020'>runs out {esc(_when(p.exhausted_at))}</b>"
                    if p.exhausted_at else "") for p in self.calendar.parties]
        self.calendar_note.value = "<br>".join(notes)
        show(self.chart, bool(self.calendar.parties))
        self.figure = calendar_figure(self.calendar)
        show_figure(self.chart, self.figure)

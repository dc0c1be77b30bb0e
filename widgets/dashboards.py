"""Intelligence dashboards: creators chart released results; viewers open saved dashboards.

Every chart shows its uncertainty (error bars from the run's noise) and the run's privacy
parameters. The numbers are read through the run's own result rule each time a chart is drawn.
"""

from __future__ import annotations

from typing import Any

import ipywidgets as W

from workbench.client import Client
from workbench.wire import dashboards as d
from workbench.wire import questions as q
from widgets._common import (Console, Status, button, error_text, esc, fetch_room, guarded, heading, pick_room,
                             set_options, show, show_figure)
from widgets.charts import measures, run_settings, privacy_caption, result_figure, result_table_html, suppression_notice


class ChartCard(W.VBox):
    """One saved chart, drawn from its run's released result (or the reason it cannot be)."""

    def __init__(self, client: Client, room_id: str, chart: d.Chart) -> None:
        self.chart = chart
        self.figure: Any = None
        self.result: q.RunResult | None = None
        self.error = ""
        out = W.Output()
        body: list[W.Widget] = [W.HTML(f"<h4 style='margin:6px 0 2px'>{esc(chart.title)}</h4>")]
        try:
            self.result = client.run_result(room_id, chart.run_id)
        except Exception as exc:  # the service says why (run deleted, not a receiver, ...)
            self.error = error_text(exc)
            body.append(W.HTML(f"<div class='wb-error' style='color:#b00020'>{esc(self.error)}</div>"))
        if self.result is not None:
            body += [W.HTML(privacy_caption(self.result)), W.HTML(suppression_notice(self.result))]
            if chart.kind == "table" or chart.measure is None:
                body.append(W.HTML(result_table_html(self.result)))
            else:
                self.figure = result_figure(self.result, chart.measure, chart.kind, title=chart.title,
                                            subtitle=_settings_of(client, room_id, chart.run_id))
                show_figure(out, self.figure)
                body.append(out)
        super().__init__(body, layout=W.Layout(border="1px solid #ddd", padding="4px 8px", margin="4px 0"))
        self.add_class("wb-chart-card")


def _settings_of(client: Client, room_id: str, run_id: str) -> str:
    """The parameters, ε and time of a chart's run for its subtitle ("" when the run cannot be read)."""
    try:
        return run_settings(client.get_run(room_id, run_id))
    except Exception:  # the chart still draws; its caption already gives ε and k-min
        return ""


def run_option(run: q.Run) -> str:
    """A released run as a picker names it: question, the settings that made it, and when (UTC)."""
    return f"{run.question_name} · {run_settings(run)}"


class Dashboards(Console):
    """Saved dashboards of the user's organisation in a room; creator tools when the service allows.

    ``value`` is the id of the dashboard shown.
    """

    def __init__(self, client: Client, room_id: str | None = None, *, defer: bool = False,
                 **kwargs: Any) -> None:
        """``defer=True`` draws the frame only; :meth:`start` then fetches rooms (apps show the frame first)."""
        self.client = client
        self._first_room = room_id
        self.status = Status()
        self.room_info: Any = None
        self.dashboard: d.Dashboard | None = None
        self.cards: list[ChartCard] = []
        self.room = W.Dropdown(description="Room", options=[])
        self.pick = W.Dropdown(description="Dashboard", options=[])
        self.refresh = button("Refresh")
        self.access = W.HTML()
        self.new_name = W.Text(description="New", placeholder="dashboard name")
        self.create = button("Create dashboard", "primary")
        self.run_pick = W.Dropdown(description="Result of", options=[], layout=W.Layout(width="460px"))
        self.measure = W.Dropdown(description="Measure", options=[])
        self.kind = W.ToggleButtons(options=[("Bar", "bar"), ("Line", "line"), ("Table", "table")], value="bar")
        self.title = W.Text(description="Title", placeholder="optional")
        self.add = button("Add chart", "primary")
        self.chart_pick = W.Dropdown(description="Chart", options=[])
        self.remove = button("Remove chart", "danger")
        self.creator = W.VBox([
            heading("Build", 4), W.HBox([self.new_name, self.create]),
            W.HBox([self.run_pick, self.measure]), W.HBox([self.kind, self.title, self.add]),
            W.HBox([self.chart_pick, self.remove]),
        ])
        self.creator.add_class("wb-dashboard-creator")
        self.charts = W.VBox()
        self.room.observe(lambda _: self._load_room(), names="value")
        self.follow(self.pick)
        self.observe(lambda _: self._show_dashboard(), names="value")
        self.refresh.on_click(lambda _: self._load_room())
        self.create.on_click(lambda _: self._create())
        self.run_pick.observe(lambda _: self._fill_measures(), names="value")
        self.add.on_click(lambda _: self._add())
        self.remove.on_click(lambda _: self._remove())
        super().__init__([
            W.HTML("<h2 style='margin:4px 0'>Dashboards</h2>"), W.HBox([self.room, self.pick, self.refresh]),
            self.access, self.status, self.charts, self.creator,
        ], **kwargs)
        self.add_class("wb-dashboards")
        show(self.creator, False)
        self.begin(defer)

    def start(self) -> None:
        """Fetch the rooms and show the first (or the requested) one."""
        self.status.clear()
        pick_room(self.status, self.client, self.room, self._first_room)

    def _load_room(self, select: str | None = None) -> None:
        room_id = self.room.value
        self.status.clear()  # a message about another room or an earlier action does not carry over
        self.room_info = fetch_room(self.status, self.client, room_id)
        abilities = self.room_info.abilities if self.room_info else {}
        can_view = abilities.get("dashboard.list", False)
        self.access.value = "" if can_view or not room_id else (
            "<div class='wb-not-allowed' style='color:#b00020'>Your role in this room does not include "
            "Intelligence Viewer (or Intelligence is off in the room).</div>")
        boards = (guarded(self.status, lambda: self.client.dashboards(room_id)) or []) if can_view else []
        set_options(self.pick, [(b.name, b.id) for b in boards], select or self.value)
        can_build = abilities.get("dashboard.create", False)
        show(self.creator, can_build)
        if can_build:
            runs = guarded(self.status, lambda: self.client.runs(room_id)) or []
            done = [r for r in runs if r.status == "succeeded"]
            set_options(self.run_pick, [(run_option(r), r.id) for r in done], self.run_pick.value)
            self._fill_measures()
        if room_id and can_view and not boards:
            self.status.info("No dashboards yet." + (" Create one below." if can_build else ""))
        self._show_dashboard()

    def _fill_measures(self) -> None:
        run_id = self.run_pick.value
        if run_id is None:
            set_options(self.measure, [])
            return
        result = guarded(self.status, lambda: self.client.run_result(self.room.value, run_id))
        set_options(self.measure, [(m, m) for m in measures(result)] if result else [], self.measure.value)

    def _show_dashboard(self) -> None:
        board_id, room_id = self.value, self.room.value
        self.dashboard = guarded(self.status, lambda: self.client.dashboard(room_id, board_id)) \
            if board_id and room_id else None
        self._draw()

    def _draw(self) -> None:
        board = self.dashboard
        if board is None:
            self.cards = []
            self.charts.children = []
            set_options(self.chart_pick, [])
            return
        self.cards = [ChartCard(self.client, board.room_id, c) for c in board.charts]
        empty = [W.HTML("<i>This dashboard has no charts yet.</i>")] if not self.cards else []
        self.charts.children = [W.HTML(f"<h3 class='wb-dashboard-name'>{esc(board.name)}</h3>"
                                       f"<div>{esc(board.description)}</div>"), *self.cards, *empty]
        set_options(self.chart_pick, [(c.title, c.id) for c in board.charts], self.chart_pick.value)

    def _create(self) -> None:
        room_id, name = self.room.value, self.new_name.value
        board = guarded(self.status, lambda: self.client.create_dashboard(room_id, name))
        if board is not None:
            self.new_name.value = ""
            self._load_room(select=board.id)
            self.status.ok(f"dashboard {board.name!r} created")

    def _add(self) -> None:
        room_id, board_id, run_id = self.room.value, self.value, self.run_pick.value
        if board_id is None or run_id is None:
            self.status.error("pick a dashboard and a run result first")
            return
        kind = self.kind.value
        board = guarded(self.status, lambda: self.client.add_chart(
            room_id, board_id, run_id, kind=kind, measure=None if kind == "table" else self.measure.value,
            title=self.title.value.strip() or None))
        if board is not None:
            self.dashboard = board
            self.title.value = ""
            self._draw()
            self.status.ok("chart added")

    def _remove(self) -> None:
        room_id, board_id, chart_id = self.room.value, self.value, self.chart_pick.value
        if chart_id is None or board_id is None:
            self.status.error("pick a chart to remove")
            return
        board = guarded(self.status, lambda: self.client.remove_chart(room_id, board_id, chart_id))
        if board is not None:
            self.dashboard = board
            self._draw()
            self.status.ok("chart removed")

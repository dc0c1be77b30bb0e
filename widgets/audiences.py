"""The Audiences console: build a cohort from a user-list question, see its noisy size and the
match rates, train a lookalike and pick its size from the reach curve, activate with a frequency
cap, and read the history of activations.

Built on ``workbench.client`` only: no member, score or model ever reaches this widget.
"""

from __future__ import annotations

from typing import Any

import ipywidgets as W

from workbench.client import Client
from workbench.wire import audiences as a
from widgets._common import (Console, Status, button, esc, guarded, heading, number_text,
                             pick_room, set_options, show_figure, table_html)
from widgets.runner import parameter_value, parameter_widget

SMALL = W.Layout(width="220px")


def cohort_rows(cohorts: list[a.Cohort]) -> list[list[Any]]:
    """Rows of the cohorts table: what every party may see."""
    rows = []
    for c in cohorts:
        size = "-" if c.size is None else (f"{c.size:,} ± {c.size_ci95:.0f}" if c.dp and
                                           c.size_ci95 else f"{c.size:,}")
        rows.append([c.name, c.kind, c.version, size, c.status, number_text(c.epsilon_spent),
                     c.refreshed_at[:19]])
    return rows


def curve_figure(cohort: a.Cohort) -> Any:
    """Recall of held-out seed members against reach, with random selection for comparison."""
    import plotly.graph_objects as go

    pct = [p.percent for p in cohort.curve]
    fig = go.Figure(data=[
        go.Scatter(x=pct, y=[p.recall for p in cohort.curve], name="lookalike", mode="lines+markers"),
        go.Scatter(x=pct, y=[p.random_recall for p in cohort.curve], name="random",
                   line={"dash": "dot"})])
    fig.update_layout(title=f"Reach / relevance of {esc(cohort.name)} (DP)", height=320,
                      xaxis_title="reach (% of users)", yaxis_title="held-out seed recalled",
                      margin={"l": 40, "r": 10, "t": 40, "b": 40})
    return fig


class AudiencesConsole(Console):
    """Cohorts, match rates, lookalikes and activation in one room; ``value`` is the room id."""

    def __init__(self, client: Client, room_id: str | None = None, *, defer: bool = False,
                 **kwargs: Any) -> None:
        self.client = client
        self._first_room = room_id
        self.status = Status()
        self.questions: list[Any] = []
        self.cohorts: list[a.Cohort] = []
        self.param_widgets: dict[str, W.Widget] = {}
        self.room = W.Dropdown(description="Room", options=[])
        # cohorts
        self.question = W.Dropdown(description="User list", options=[],
                                   layout=W.Layout(width="460px"))
        self.params = W.VBox()
        self.name = W.Text(description="Cohort name", layout=SMALL)
        self.epsilon = W.Text(description="ε to spend", value="0.5", layout=SMALL)
        self.build = button("Build cohort", "primary")
        self.table = W.HTML()
        # match rates
        self.rates_button = button("Match rates", "info")
        self.rates = W.HTML()
        # lookalike
        self.seed = W.Dropdown(description="Seed", options=[], layout=W.Layout(width="460px"))
        self.look_name = W.Text(description="Lookalike", layout=SMALL)
        self.features = W.Text(description="Features", placeholder="region, age_band",
                               layout=W.Layout(width="460px"))
        self.random_seed = W.IntText(description="Random seed", value=1, layout=SMALL)
        self.train = button("Train lookalike", "primary")
        self.trained = W.Dropdown(description="Modeled", options=[], layout=W.Layout(width="460px"))
        self.percent = W.FloatText(description="Size (% users)", value=10, layout=SMALL)
        self.pick_size = button("Pick size")
        self.curve = W.HTML()
        self.chart = W.Output()
        # activation
        self.activate_cohort = W.Dropdown(description="Cohort", options=[],
                                          layout=W.Layout(width="460px"))
        self.destination = W.Dropdown(description="Destination", options=[],
                                      layout=W.Layout(width="460px"))
        self.dest_name = W.Text(description="New dest.", layout=SMALL)
        self.dest_format = W.Dropdown(description="Format", options=list(a.FORMATS), layout=SMALL)
        self.dest_path = W.Text(description="Folder", placeholder="gam/sports", layout=SMALL)
        self.add_dest = button("Add destination")
        self.impressions = W.IntText(description="Cap", value=3, layout=SMALL)
        self.per = W.Dropdown(description="per", options=["day", "week"], layout=SMALL)
        self.activate = button("Activate", "warning")
        self.activation_note = W.HTML()
        self.history = W.HTML()

        self.room.observe(lambda _: self.refresh(), names="value")
        self.question.observe(lambda _: self._show_params(), names="value")
        self.build.on_click(lambda _: self.build_cohort())
        self.rates_button.on_click(lambda _: self.show_match_rates())
        self.train.on_click(lambda _: self.train_lookalike())
        self.pick_size.on_click(lambda _: self.pick_lookalike_size())
        self.trained.observe(lambda _: self._show_curve(), names="value")
        self.add_dest.on_click(lambda _: self.add_destination())
        self.activate.on_click(lambda _: self.activate_now())
        self.follow(self.room)
        super().__init__([
            heading("Audiences", 2), self.room, self.status,
            heading("Cohorts"), self.question, self.params, W.HBox([self.name, self.epsilon]),
            self.build, self.table,
            heading("Match rates"), self.rates_button, self.rates,
            heading("Lookalike"), self.seed, W.HBox([self.look_name, self.random_seed]),
            self.features, self.train, self.trained, W.HBox([self.percent, self.pick_size]),
            self.curve, self.chart,
            heading("Activation"), self.activation_note, self.activate_cohort, self.destination,
            W.HBox([self.dest_name, self.dest_format, self.dest_path, self.add_dest]),
            W.HBox([self.impressions, self.per, self.activate]), self.history,
        ], **kwargs)
        self.add_class("wb-audiences")
        self.begin(defer)

    def start(self) -> None:
        """Fetch the rooms and show the first one."""
        self.status.clear()
        if pick_room(self.status, self.client, self.room, self._first_room):
            self.refresh()

    def refresh(self) -> None:
        """Reload questions, cohorts, destinations and history of the picked room."""
        room = self.room.value
        if room is None:
            return
        questions = guarded(self.status, lambda: self.client.questions(room)) or []
        self.questions = [q for q in questions if q.kind == "user_list" and q.in_room]
        set_options(self.question, [(q.name, q.id) for q in self.questions], self.question.value)
        self._show_params()
        self.cohorts = guarded(self.status, lambda: self.client.cohorts(room)) or []
        self.table.value = table_html(
            ["cohort", "kind", "version", "size (DP)", "status", "ε", "refreshed"],
            cohort_rows(self.cohorts), empty="no cohort yet")
        matched = [(c.name, c.id) for c in self.cohorts if c.kind == "matched" and c.status == "ready"]
        set_options(self.seed, matched, self.seed.value)
        set_options(self.trained, [(c.name, c.id) for c in self.cohorts if c.kind == "modeled"],
                    self.trained.value)
        set_options(self.activate_cohort, [(c.name, c.id) for c in self.cohorts
                                           if c.status == "ready"], self.activate_cohort.value)
        self._show_curve()
        terms = guarded(self.status, lambda: self.client.audience_terms(room))
        mine = terms is not None and terms.activation_org_id == self._org_id()
        self.activation_note.value = "" if mine else (
            "<i>Only the room's activation party exports cohorts; every party sees the "
            "history below.</i>")
        for control in (self.activate, self.add_dest):
            control.disabled = not mine
        dests = guarded(Status(), lambda: self.client.destinations(room)) or [] if mine else []
        set_options(self.destination, [(f"{d.name} ({d.format}: {d.path})", d.id) for d in dests],
                    self.destination.value)
        history = guarded(self.status, lambda: self.client.activations(room)) or []
        self.history.value = table_html(
            ["when", "cohort", "version", "format", "members", "cap", "source"],
            [[h.created_at[:19], h.cohort_name, h.cohort_version, h.format,
              "exporter only" if h.manifest.get("members") is None else h.manifest["members"],
              f"{h.frequency_cap['impressions']} per {h.frequency_cap['per']}",
              h.source_status or "linked"] for h in history],
            empty="no activation yet")

    def _org_id(self) -> str | None:
        if not hasattr(self, "_org"):
            me = guarded(self.status, self.client.whoami)
            self._org = me.org.id if me is not None else None
        return self._org

    def _show_params(self) -> None:
        spec = next((q for q in self.questions if q.id == self.question.value), None)
        self.param_widgets = {p["name"]: parameter_widget(p) for p in (spec.parameters if spec else [])}
        self.params.children = list(self.param_widgets.values())

    def _param_values(self) -> dict[str, Any]:
        spec = next((q for q in self.questions if q.id == self.question.value), None)
        return {p["name"]: parameter_value(p, self.param_widgets[p["name"]])
                for p in (spec.parameters if spec else [])}

    def build_cohort(self) -> None:
        """Build a matched cohort from the picked user-list question (spends ε)."""
        room, qid, name = self.room.value, self.question.value, self.name.value.strip()
        if not qid or not name:
            self.status.error("pick a user-list question and name the cohort")
            return
        made = guarded(self.status, lambda: self.client.create_cohort(
            room, name, qid, self._param_values(), epsilon=self.epsilon.value))
        if made is not None:
            self.refresh()
            self.status.ok(f"built {made.name}: about {made.size:,} people (DP)")

    def show_match_rates(self) -> None:
        """Release the match rates (spends ε) and show them with the hints."""
        rates = guarded(self.status, lambda: self.client.match_rates(
            self.room.value, epsilon=self.epsilon.value))
        if rates is None:
            return
        rows = [[k.kind, p.org_id[:8], p.uploaded, p.matched,
                 "-" if p.rate is None else f"{p.rate:.1%}",
                 "" if p.rows_rejected is None else p.rows_rejected]
                for k in rates.kinds for p in k.parties]
        hints = "".join(f"<li>{esc(h)}</li>" for h in rates.hints)
        self.rates.value = (table_html(["kind", "org", "uploaded", "matched", "rate",
                                        "your rejected rows"], rows)
                            + f"<p>± {rates.ci95} (95%)</p><ul class='wb-hints'>{hints}</ul>")
        self.status.ok(f"match rates released (ε {rates.epsilon_spent} per party)")

    def train_lookalike(self) -> None:
        """Train a lookalike of the picked seed and show its curve (spends ε)."""
        features = [f.strip() for f in self.features.value.split(",") if f.strip()]
        name = self.look_name.value.strip()
        if not self.seed.value or not name or not features:
            self.status.error("pick a seed cohort, name the lookalike and list its features")
            return
        made = guarded(self.status, lambda: self.client.train_lookalike(
            self.room.value, name, self.seed.value, features, random_seed=self.random_seed.value,
            epsilon=self.epsilon.value))
        if made is not None:
            self.refresh()
            self.trained.value = made.id
            self.status.ok(f"trained {made.name}: pick a size from the curve")

    def _show_curve(self) -> None:
        cohort = next((c for c in self.cohorts if c.id == self.trained.value), None)
        if cohort is None:
            self.curve.value = ""
            return
        error = f" ± {cohort.curve_ci95:.1%}" if cohort.curve_ci95 else ""
        self.curve.value = table_html(
            ["reach %", "top N", "recall (DP)" + (" ± 95%" if error else ""), "random"],
            [[p.percent, p.top_n, f"{p.recall:.1%}{error}", f"{p.random_recall:.1%}"]
             for p in cohort.curve])
        if cohort.curve_ci95 and cohort.curve_ci95 >= 0.25:
            self.curve.value += (f"<p><b>Mostly noise:</b> each point is within ±{cohort.curve_ci95:.0%} "
                                 "of the true recall 95% of the time. A larger seed (more blocks) "
                                 "or more ε gives a curve worth reading.</p>")
        show_figure(self.chart, curve_figure(cohort))

    def pick_lookalike_size(self) -> None:
        """Members := the top percent of users by score."""
        made = guarded(self.status, lambda: self.client.pick_lookalike_size(
            self.room.value, self.trained.value, percent=self.percent.value))
        if made is not None:
            self.refresh()
            self.status.ok(f"{made.name} now holds {made.size:,} people (version {made.version})")

    def add_destination(self) -> None:
        """A folder under the service's activation root."""
        made = guarded(self.status, lambda: self.client.create_destination(
            self.room.value, self.dest_name.value.strip(), self.dest_format.value,
            self.dest_path.value.strip()))
        if made is not None:
            self.refresh()
            self.destination.value = made.id
            self.status.ok(f"destination {made.name} added")

    def activate_now(self) -> None:
        """Export the picked cohort to the picked destination with the cap."""
        if not self.activate_cohort.value or not self.destination.value:
            self.status.error("pick a ready cohort and add or pick a destination first")
            return
        done = guarded(self.status, lambda: self.client.activate(
            self.room.value, self.activate_cohort.value, self.destination.value,
            impressions=self.impressions.value, per=self.per.value))
        if done is not None:
            self.refresh()
            self.status.ok(f"exported {done.cohort_name} v{done.cohort_version}: "
                           f"{done.manifest.get('members')} ids")


def audiences_app(**kwargs: Any) -> Any:
    """The Voilà app: sign in, then the Audiences console."""
    from widgets.app import signed_in

    def build(client: Client) -> W.Widget:
        return AudiencesConsole(client, defer=True)

    return signed_in(build, title="Audiences", warm=("widgets.audiences",), **kwargs)

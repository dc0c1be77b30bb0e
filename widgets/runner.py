"""The analyst's question runner: pick, fill, preview the cost, run, explore the released table.

Run stays disabled until a preview (plan) of exactly the current question, parameters and ε has
succeeded: the cost, the budget of every party whose data the run reads and the expected error
are seen before anything is spent. Run always sends the preview's fingerprint, so the service
refuses (and charges nothing) if the question, its rules or the budget split changed meanwhile.
"""

from __future__ import annotations

import datetime as dt
import json
import statistics
from decimal import Decimal, InvalidOperation
from typing import Any

import ipywidgets as W

from workbench.client import Client
from workbench.wire import questions as q
from widgets._common import (Console, Status, button, esc, guarded, heading, number_text, pick_room, set_options,
                             show, show_figure, table_html)
from widgets.schedules import SchedulesPanel
from widgets.charts import (
    csv_link,
    run_settings,
    utc_time,
    measures,
    privacy_caption,
    result_figure,
    result_table_html,
    suppression_notice,
)


def parameter_widget(spec: dict[str, Any]) -> W.Widget:
    """An input generated from a parameter's type (integer, number, date, date_range, one_of, text)."""
    kind, name = spec.get("type"), spec.get("name", "")
    default = spec.get("default")
    label = spec.get("description") or name
    style = {"description_width": "initial"}
    if kind == "integer":
        return W.IntText(description=label, value=int(default or 0), style=style)
    if kind == "number":
        return W.FloatText(description=label, value=float(default or 0), style=style)
    if kind == "date":
        return W.DatePicker(description=label, value=_date(default), style=style)
    if kind == "date_range":
        start, end = (default or [None, None]) if not isinstance(default, dict) else (
            default.get("start"), default.get("end"))
        return W.HBox([W.DatePicker(description=f"{label} from", value=_date(start), style=style),
                       W.DatePicker(description="to", value=_date(end))])
    if kind == "one_of":
        choices = list(spec.get("choices") or [])
        return W.Dropdown(description=label, options=choices,
                          value=default if default in choices else (choices[0] if choices else None), style=style)
    return W.Text(description=label, value="" if default is None else str(default),
                  placeholder=spec.get("pattern") or "", style=style)


def _date(value: Any) -> dt.date | None:
    if isinstance(value, dt.date):
        return value
    try:
        return dt.date.fromisoformat(str(value)) if value else None
    except ValueError:
        return None


def parameter_value(spec: dict[str, Any], widget: W.Widget) -> Any:
    """The JSON value of one generated input (the service checks types and ranges)."""
    if spec.get("type") == "date_range":
        start, end = (w.value for w in widget.children)
        return [start.isoformat() if start else None, end.isoformat() if end else None]
    value = widget.value
    return value.isoformat() if isinstance(value, dt.date) else value


class BudgetGauge(W.VBox):
    """ε left of the budget, now and after the previewed run."""

    def __init__(self) -> None:
        self.bar = W.FloatProgress(value=0, min=0, max=1, description="ε budget", bar_style="success",
                                   layout=W.Layout(width="420px"))
        self.label = W.HTML()
        super().__init__([self.bar, self.label])
        self.add_class("wb-budget")

    def show_figures(self, before: q.BudgetFigures, after: q.BudgetFigures | None = None) -> None:
        """Fill the gauge from the service's exact figures."""
        shown = (after or before).epsilon_left
        if before.epsilon_left is None or shown is None:
            return  # another party's figures are its own; the plan says whether they suffice
        total = _dec(before.epsilon_total)
        left = _dec(shown)
        self.bar.max = float(total) if total > 0 else 1.0
        self.bar.value = float(max(left, Decimal(0)))
        share = (left / total) if total > 0 else Decimal(0)
        self.bar.bar_style = "success" if share > Decimal("0.5") else ("warning" if share > Decimal("0.2") else "danger")
        now = f"ε left now: {number_text(before.epsilon_left)} of {number_text(before.epsilon_total)}"
        then = f"; after this run: <b>{number_text(shown)}</b>" if after else ""
        whose = f"{esc(before.org_name)}: " if before.org_name else ""
        self.label.value = f"<span class='wb-budget-text'>{whose}{esc(now)}{then}</span>"


def tightest(plan: q.Plan) -> int | None:
    """The index of the charged party with the least ε left after the run (it limits the run)."""
    shown = [i for i, b in enumerate(plan.budget_after) if b.epsilon_left is not None]
    if not shown:
        return None  # only other parties are charged: their figures are theirs
    return min(shown, key=lambda i: _dec(plan.budget_after[i].epsilon_left or "0"))


def k_min_notice(result: q.RunResult) -> str:
    """In DP rooms how many rows k-min withheld is not released (it is exact); say the rule."""
    k_min = int(result.metadata.get("k_min") or 1)
    if not result.dp or k_min <= 1 or result.metadata.get("suppressed_rows") is not None:
        return ""
    return (f"<div class='wb-suppressed' style='background:#fff4e5;padding:4px 8px'>Rows from fewer "
            f"than {k_min} people (the room's crowd size) are withheld; with differential privacy "
            "the service does not say how many.</div>")


def party_table(plan: q.Plan) -> str:
    """Each charged party's ε left now and after the run (every party whose data it reads pays)."""
    if not plan.budget_before:
        return ""
    def left(f: q.BudgetFigures) -> str:
        if f.epsilon_left is None:  # another party's: only whether it covers the run
            return "enough" if f.enough else "not enough"
        return number_text(f.epsilon_left)

    rows = "".join(
        f"<tr><td>{esc(b.org_name or b.org_id)}</td><td>{esc(left(b))} of "
        f"{esc(number_text(b.epsilon_total))}</td><td>{esc(left(a))}</td></tr>"
        for b, a in zip(plan.budget_before, plan.budget_after, strict=True))
    return ("<table class='wb-parties'><thead><tr><th>charged party</th><th>ε left now</th>"
            f"<th>ε left after</th></tr></thead><tbody>{rows}</tbody></table>")


def target_error_box() -> W.Text:
    """The "target error" field beside "ε to spend": plan from the error you need instead."""
    return W.Text(description="target error", value="", placeholder="reach ±2%, spend ±5000",
                  layout=W.Layout(width="320px"))


def parse_targets(text: str) -> dict[str, str] | None:
    """``"reach ±2%, spend ±5000"`` as the service's targets (None when empty: plan by ε)."""
    found: dict[str, str] = {}
    for item in text.replace(";", ",").split(","):
        if not item.strip():
            continue
        name, _, error = item.strip().replace("=", " ").replace(":", " ").partition(" ")
        if not error.strip():
            raise ValueError(f"give each target as a column and an error, e.g. 'reach ±2%'; got {item.strip()!r}")
        found[name.strip()] = error.strip()
    return found or None


def targets_html(plan: q.Plan) -> str:
    """What accuracy targets cost: the solved ε, the even split's, and why an unreachable set fails."""
    t = plan.targets
    if t is None:
        return ""
    rows = "".join(f"<li>{esc(x.name)} {esc(x.asked)}: ±{x.ci95:,.2f} at ε {esc(number_text(x.epsilon))}</li>"
                   for x in t.targets)
    verdict = ("" if t.reachable else
               f"<div class='wb-unreachable' style='color:#b00020'>{esc(t.unreachable or '')}</div>")
    return (f"<div class='wb-targets'>Targets met with ε {esc(number_text(t.epsilon_needed))} "
            f"(an even split would need {esc(number_text(t.epsilon_uniform))}):<ul>{rows}</ul>{verdict}</div>")


def _dec(value: str) -> Decimal:
    try:
        if "/" in value:
            n, d = value.split("/")
            return Decimal(n) / Decimal(d)
        return Decimal(value)
    except (InvalidOperation, ValueError):
        return Decimal(0)


class QuestionRunner(Console):
    """For analysts: the room's runnable questions, a generated form, the plan, the run, the result.

    ``value`` is the id of the selected question.
    """

    def __init__(self, client: Client, room_id: str | None = None, *, defer: bool = False,
                 **kwargs: Any) -> None:
        """``defer=True`` draws the frame only; :meth:`start` then fetches rooms (apps show the frame first)."""
        self.client = client
        self._first_room = room_id
        self.status = Status()
        self.questions: list[q.Question] = []
        self.question: q.Question | None = None
        self.plan: q.Plan | None = None
        self.run: q.Run | None = None
        self.result: q.RunResult | None = None
        self.figure: Any = None
        self._planned_for: tuple | None = None
        self.param_widgets: dict[str, W.Widget] = {}

        self.room = W.Dropdown(description="Room", options=[])
        self.pick = W.Dropdown(description="Question", options=[], layout=W.Layout(width="520px"))
        self.about = W.HTML()
        self.allowed = W.HTML()
        self.params = W.VBox()
        self.epsilon = W.Text(description="ε to spend", value="1", layout=W.Layout(width="220px"))
        self.targets = target_error_box()
        self.preview = button("Preview cost", "info")
        self.run_button = button("Run", "primary", disabled=True)
        self.plan_box = W.HTML()
        self.gauge = BudgetGauge()
        self.progress = W.IntProgress(value=0, min=0, max=3, description="Running", bar_style="info")
        self.caption = W.HTML()
        self.notice = W.HTML()
        self.table = W.HTML()
        self.measure = W.Dropdown(description="Chart", options=[])
        self.kind = W.ToggleButtons(options=[("Bar", "bar"), ("Line", "line")], value="bar")
        self.chart = W.Output()
        self.download = W.HTML()
        self.result_label = W.HTML()
        self.error_warning = W.HTML()
        self.history = RunHistory(client)
        self.result_box = W.VBox([heading("Result", 4), self.result_label, self.caption, self.notice, self.table,
                                  W.HBox([self.measure, self.kind]), self.chart, self.download])
        self.result_box.add_class("wb-result")
        self.form = W.VBox([self.params, W.HBox([self.epsilon, self.targets, self.preview, self.run_button]),
                            self.plan_box, self.error_warning, self.gauge, self.progress])

        self.room.observe(lambda _: self._load_questions(), names="value")
        self.reload = button("↻", tooltip="fetch the room's questions again (after one was added or changed)")
        self.reload.on_click(lambda _: self._load_questions())
        self.follow(self.pick)
        self.observe(lambda _: self._show_question(), names="value")
        self.epsilon.observe(lambda _: self._stale(), names="value")
        self.targets.observe(lambda _: self._stale(), names="value")
        self.preview.on_click(lambda _: self.do_plan())
        self.run_button.on_click(lambda _: self.do_run())
        self.measure.observe(lambda _: self._draw(), names="value")
        self.kind.observe(lambda _: self._draw(), names="value")
        self.schedules = SchedulesPanel(client)
        self.more = W.Accordion(children=[self.schedules], selected_index=None,
                                titles=("Schedules, flows and the budget calendar",))
        self.more.observe(lambda change: self.schedules.activate() if change["new"] == 0 else None,
                          names="selected_index")
        super().__init__([
            W.HTML("<h2 style='margin:4px 0'>Question runner</h2>"), W.HBox([self.room, self.reload]), self.pick,
            self.about,
            self.allowed, self.form, self.status, self.result_box, self.history, self.more,
        ], **kwargs)
        self.add_class("wb-runner")
        show(self.result_box, False)
        show(self.progress, False)
        self.begin(defer)

    def start(self) -> None:
        """Fetch the rooms and show the first (or the requested) one."""
        self.status.clear()
        pick_room(self.status, self.client, self.room, self._first_room)

    # loading --------------------------------------------------------------------------------
    def _load_questions(self) -> None:
        room_id = self.room.value
        self.questions = (guarded(self.status, lambda: self.client.questions(room_id)) or []) if room_id else []
        runnable = [x for x in self.questions if x.in_room]
        set_options(self.pick, [(x.name, x.id) for x in runnable], self.value)
        self._show_question()
        if room_id and not runnable:
            self.status.info("This room has no questions added yet.")

    def _show_question(self) -> None:
        self.question = next((x for x in self.questions if x.id == self.value), None)
        self._clear_result()
        self.history.set_context(self.room.value, self.question)
        self.schedules.set_context(self.room.value, self.question.id if self.question else None,
                                   self.parameters, lambda: self.epsilon.value.strip())
        self._stale()
        question = self.question
        show(self.form, question is not None)
        if question is None:
            self.about.value = self.allowed.value = ""
            self.params.children = []
            return
        sql = (f"<details><summary>SQL</summary><pre style='white-space:pre-wrap'>{esc(question.sql)}</pre>"
               "</details>") if question.sql else ""
        self.about.value = f"<div class='wb-question'>{esc(question.description)}{sql}</div>"
        verdict = guarded(self.status, lambda: self.client.check(self.room.value, "run.create", question.id)) or {}
        can = bool(verdict.get("allowed"))
        self.allowed.value = "" if can else (
            f"<div class='wb-not-allowed' style='color:#b00020'>You cannot run this question: "
            f"{esc(verdict.get('reason', 'not allowed'))}</div>")
        show(self.form, can)
        self.param_widgets = {p["name"]: parameter_widget(p) for p in question.parameters}
        for widget in self.param_widgets.values():
            for leaf in (widget.children if isinstance(widget, W.HBox) else (widget,)):
                leaf.observe(lambda _: self._stale(), names="value")
        self.params.children = list(self.param_widgets.values())
        self.do_plan_budget_only()

    def parameters(self) -> dict[str, Any]:
        """The form's values, as the service expects them."""
        specs = {p["name"]: p for p in (self.question.parameters if self.question else [])}
        return {name: parameter_value(specs[name], w) for name, w in self.param_widgets.items()}

    def _request(self) -> tuple:
        return (self.room.value, self.value, repr(sorted(self.parameters().items())), self.epsilon.value.strip(),
                self.targets.value.strip())

    def _stale(self) -> None:
        """Any change after a preview disables Run until the next preview."""
        self.run_button.disabled = True
        self.plan = None
        self.plan_box.value = ""
        self.error_warning.value = ""
        self._label_result()

    # plan and run ---------------------------------------------------------------------------
    def do_plan(self) -> None:
        """Ask the service for the cost and expected error; enables Run on success."""
        self._stale()
        request = self._request()
        room_id, qid, _, eps, aims = request
        try:
            targets = parse_targets(aims)
        except ValueError as exc:  # a typo in the targets: say how to write them, not a widget failure
            self.status.error(str(exc))
            return
        plan = guarded(self.status, lambda: self.client.plan(room_id, qid, self.parameters(), epsilon=eps,
                                                             targets=targets))
        if plan is None:
            return
        self.plan = plan
        self._planned_for = request
        rows = "".join(
            f"<tr><td>{esc(c.name)}</td><td>{esc(c.kind)}</td>"
            f"<td>{'±' + format(c.ci95, ',.1f') if c.ci95 is not None else '—'}</td>"
            f"<td>{format(c.noise_scale, ',.2f') if c.noise_scale is not None else '—'}</td></tr>"
            for c in plan.columns)
        notes = "".join(f"<li>{esc(n)}</li>" for n in plan.notes)
        mode = (f"Spends ε {esc(number_text(plan.epsilon))}, δ {esc(number_text(plan.delta))}" if plan.dp
                else "<b style='color:#b00020'>Differential privacy is off: exact values, no budget spent</b>")
        self.plan_box.value = (
            f"<div class='wb-plan'><b>Preview</b>: {mode}; crowd size k-min {plan.k_min}."
            "<table class='wb-plan-table'><thead><tr><th>column</th><th>aggregate</th>"
            "<th>expected error (95%)</th><th>noise scale</th></tr></thead>"
            f"<tbody>{rows}</tbody></table>{targets_html(plan)}{party_table(plan)}"
            f"{'<ul>' + notes + '</ul>' if notes else ''}"
            f"<div class='wb-fingerprint' style='color:#666;font-size:small'>plan {esc(plan.fingerprint[:12])}"
            "</div></div>")
        short = [b for b in plan.budget_before if not b.enough]
        if plan.dp and short:
            names = ", ".join(esc(b.org_name or b.org_id) for b in short)
            self.plan_box.value += ("<div class='wb-overspend' style='color:#b00020'>This needs more ε than "
                                    f"your budget has left: {names} would be overspent, so the service will "
                                    "refuse the run. Lower ε, or ask that party to raise its budget.</div>")
        limit = tightest(plan)
        if limit is not None:
            self.gauge.show_figures(plan.budget_before[limit], plan.budget_after[limit])
        self.run_button.disabled = False
        self.status.info("Check the cost and expected error, then press Run.")
        self._warn_about_error(plan)

    def do_run(self) -> None:
        """Run exactly what was previewed; show progress, then the released result."""
        if self.plan is None or self._planned_for != self._request():
            self._stale()
            self.status.error("preview the cost of these settings first")
            return
        room_id, qid, _, eps, aims = self._planned_for
        self.run_button.disabled = True
        show(self.progress, True)
        self.progress.value, self.progress.description, self.progress.bar_style = 1, "Running…", "info"
        fingerprint = self.plan.fingerprint
        run = guarded(self.status, lambda: self.client.run(room_id, qid, self.parameters(), epsilon=eps,
                                                           plan=fingerprint, targets=parse_targets(aims)))
        if run is None:
            self.progress.bar_style, self.progress.description = "danger", "Refused"
            return
        self.run = run
        self.progress.value, self.progress.description = 2, "Fetching…"
        result = guarded(self.status, lambda: self.client.run_result(room_id, run.id))
        self.progress.value, self.progress.description = 3, "Done"
        self.progress.bar_style = "success" if result is not None else "warning"
        if result is None:
            return
        self._result_for = self._planned_for
        self.show_result(result)
        self.status.ok(f"Answered: {run.question_name} ({len(result.rows)} rows)")
        self._stale()
        self.history.refresh()
        self.do_plan_budget_only()

    def do_plan_budget_only(self) -> None:
        """Refresh the gauge after spending."""
        budget = guarded(self.status, lambda: self.client.budget(self.room.value))
        if budget is not None:
            self.gauge.show_figures(q.BudgetFigures(org_id=budget.org_id, epsilon_total=budget.epsilon_total,
                                                    delta_total=budget.delta_total, epsilon_left=budget.epsilon_left,
                                                    delta_left=budget.delta_left))

    def show_result(self, result: q.RunResult) -> None:
        """Table, chart, notices and download of a released result."""
        self.result = result
        self._label_result()
        self.caption.value = privacy_caption(result)
        self.notice.value = suppression_notice(result) or k_min_notice(result)
        self.table.value = result_table_html(result)
        name = (self.run.question_name if self.run else "result").lower().replace(" ", "_")[:40]
        self.download.value = csv_link(result, f"{name}.csv", self.run)
        set_options(self.measure, [(m, m) for m in measures(result)], self.measure.value)
        show(self.result_box, True)
        self._draw()

    def _draw(self) -> None:
        result, measure = self.result, self.measure.value
        if result is None or measure is None:
            return
        self.figure = result_figure(result, measure, self.kind.value,
                                    title=f"{self.run.question_name if self.run else ''}: {measure}",
                                    subtitle=run_settings(self.run) if self.run else "")
        show_figure(self.chart, self.figure)

    # the result on screen is always the one of named settings (kept apart for easy merges) ------
    _result_for: tuple | None = None

    _shown: str | None = None

    def _clear_result(self) -> None:
        """Another question or room: the result of the previous one goes, and so does its status line."""
        if self.value != self._shown:
            self.status.clear()
        self._shown = self.value
        self.result, self.run, self._result_for = None, None, None
        self.result_label.value = ""
        show(self.result_box, False)
        show(self.progress, False)

    def _label_result(self) -> None:
        """Say which run's settings made the result on screen, and whether the form still matches."""
        if self.result is None or self.run is None:
            self.result_label.value = ""
            return
        changed = self._result_for is not None and self.question is not None and self._result_for != self._request()
        self.result_label.value = result_label(self.run, changed)

    def _warn_about_error(self, plan: q.Plan) -> None:
        """Warn when the expected error is large against the values it protects (see :func:`error_warnings`)."""
        previous = self.history.last_release(self.client)
        self.error_warning.value = error_warning_html(error_warnings(plan, previous))


#: warn when a column's expected 95% error exceeds this share of the values it protects
LARGE_ERROR_SHARE = 0.25


def typical_values(result: q.RunResult) -> dict[str, float]:
    """Per numeric column, the median absolute released value (what a reader of the result sees)."""
    out: dict[str, float] = {}
    for i, column in enumerate(result.columns):
        values = [abs(float(r[i])) for r in result.rows
                  if isinstance(r[i], (int, float)) and not isinstance(r[i], bool)]
        if values:
            out[column] = statistics.median(values)
    return out


def error_warnings(plan: q.Plan, previous: q.RunResult | None = None) -> list[str]:
    """Columns whose expected error is large against the values it protects.

    The values a column protects are, in order: the typical (median absolute) value of the same
    column in this question's previous release, when the caller can read one; otherwise, for
    counts, the room's crowd size k-min (a released group has at least k-min people, so no
    released count is smaller). A warning is given when the 95% error half-width exceeds
    :data:`LARGE_ERROR_SHARE` of that value: the noise would then move a typical number by more
    than a quarter of itself in one run of twenty.
    """
    if not plan.dp:
        return []
    typical = typical_values(previous) if previous is not None else {}
    out = []
    for column in plan.columns:
        if column.ci95 is None or "(hidden" in column.name:  # a hidden count is never released
            continue
        if column.name in typical and typical[column.name] > 0:
            scale, what = typical[column.name], f"the typical value of the previous release ({typical[column.name]:,.1f})"
        elif column.kind.startswith("count") and plan.k_min > 1:
            scale, what = float(plan.k_min), f"the smallest count a group can have (k-min {plan.k_min})"
        else:
            continue
        if column.ci95 > LARGE_ERROR_SHARE * scale:
            out.append(f"{column.name}: expected error ±{column.ci95:,.1f} is {column.ci95 / scale:.0%} of {what}")
    return out


def error_warning_html(lines: list[str]) -> str:
    """The warning box; empty when nothing is worth a warning."""
    if not lines:
        return ""
    items = "".join(f"<li>{esc(line)}</li>" for line in lines)
    return ("<div class='wb-large-error' style='background:#fff4e5;padding:4px 8px'><b>The noise is large "
            f"against these numbers</b> (over {LARGE_ERROR_SHARE:.0%}):<ul>{items}</ul>Spend more ε, or ask for "
            "fewer, larger groups, for a result worth reading.</div>")


def result_label(run: q.Run, changed: bool) -> str:
    """Which settings produced the result on screen; a warning when the form no longer matches them."""
    stale = ("<br><b style='color:#8a5300'>The form has changed since: this result is of the settings "
             "above, not of the form.</b>") if changed else ""
    return f"<div class='wb-result-of' style='color:#444'>Result of: {esc(run_settings(run))}{stale}</div>"


class RunHistory(W.VBox):
    """The runs of one question the caller's org can see: parameters, ε, who, when, status, manifest."""

    def __init__(self, client: Client) -> None:
        self.client = client
        self.room_id: str | None = None
        self.question: q.Question | None = None
        self.runs: list[q.Run] = []
        self._names: dict[str, str] = {}
        self._previous: tuple[str, q.RunResult | None] | None = None
        self.status = Status()
        # its own class: inside the runner, the runner's status stays the last ".wb-status"
        self.status.remove_class("wb-status")
        self.status.add_class("wb-history-status")
        self.table = W.HTML()
        self.pick = W.Dropdown(description="Run", options=[], layout=W.Layout(width="460px"))
        self.show_manifest = button("Show manifest")
        self.manifest = W.HTML()
        self.show_manifest.on_click(lambda _: self.do_manifest())
        self.pick.observe(lambda _: setattr(self.manifest, "value", ""), names="value")
        self.body = W.VBox([self.table, W.HBox([self.pick, self.show_manifest]), self.manifest, self.status])
        self.box = W.Accordion(children=[self.body], selected_index=None, titles=("Run history of this question",))
        self.box.observe(lambda change: self.refresh() if change["new"] == 0 else None, names="selected_index")
        super().__init__([self.box])
        self.add_class("wb-run-history")

    def set_context(self, room_id: str | None, question: q.Question | None) -> None:
        """Follow the runner's room and question (fetches only while the panel is open)."""
        if room_id != self.room_id:
            self._names = {}  # another room's members and parties
        self.room_id, self.question, self._previous = room_id, question, None
        self.runs, self.table.value, self.manifest.value = [], "", ""
        self.status.clear()
        show(self, question is not None)
        if question is not None and self.box.selected_index == 0:
            self.refresh()

    def _who(self, run: q.Run) -> str:
        if not self._names and self.room_id:
            me = guarded(self.status, self.client.whoami)
            members = guarded(self.status, lambda: self.client.members(self.room_id or "")) or []
            self._names = {m.user_id: m.user_name for m in members}
            room = guarded(self.status, lambda: self.client.room(self.room_id or ""))
            if room is not None:
                self._names["org:" + room.owner_org_id] = room.owner_org_name
                self._names.update({"org:" + p.org_id: p.org_name for p in room.partners})
            if me is not None:
                self._names[me.user.id] = f"you ({me.user.name})"
                self._names["org:" + me.org.id] = me.org.name
        return self._names.get(run.user_id) or f"someone at {self._names.get('org:' + run.org_id, 'a partner')}"

    def refresh(self) -> None:
        """Fetch the question's runs, newest first."""
        self._previous = None
        if self.room_id is None or self.question is None:
            return
        room_id, qid = self.room_id, self.question.id
        runs = guarded(self.status, lambda: self.client.runs(room_id, qid))
        if runs is None:
            return
        self.runs = runs
        self.table.value = table_html(
            ["when", "who", "parameters", "ε", "status", "run"],
            [(utc_time(r.created_at), self._who(r),
              ", ".join(f"{k}={v}" for k, v in sorted(r.parameters.items())) or "default",
              number_text(r.epsilon) if r.dp else "exact (DP off)", r.status, r.id[:8]) for r in runs],
            css_class="wb-runs", empty="no runs of this question yet")
        set_options(self.pick, [(f"{utc_time(r.created_at)} · {r.id[:8]} · {r.status}", r.id) for r in runs],
                    self.pick.value)
        self.status.clear()

    def do_manifest(self) -> None:
        """Show the picked run's manifest: what it read, the noise it added, its ledger entries."""
        run_id = self.pick.value
        if run_id is None or self.room_id is None:
            self.status.error("pick a run first")
            return
        room_id = self.room_id
        manifest = guarded(self.status, lambda: self.client.manifest(room_id, run_id))
        if manifest is None:
            self.manifest.value = ""
            return
        body = json.dumps(manifest.model_dump(), indent=2, sort_keys=True, default=str)
        self.manifest.value = (f"<details open class='wb-manifest'><summary>Manifest of run {esc(run_id[:8])}"
                               f"</summary><pre style='white-space:pre-wrap;max-height:320px;overflow:auto'>"
                               f"{esc(body)}</pre></details>")
        self.status.clear()

    def last_release(self, client: Client) -> q.RunResult | None:
        """The latest succeeded release of the question the caller may read (None: none, or not allowed)."""
        if self.room_id is None or self.question is None:
            return None
        if self._previous is not None and self._previous[0] == self.question.id:
            return self._previous[1]
        room_id, qid = self.room_id, self.question.id
        quiet = Status()  # no earlier release to compare with is not an error of the run
        runs = guarded(quiet, lambda: client.runs(room_id, qid)) or []
        done = next((r for r in runs if r.status == "succeeded" and r.dp), None)
        result = guarded(quiet, lambda: client.run_result(room_id, done.id)) if done else None
        self._previous = (qid, result)
        return result

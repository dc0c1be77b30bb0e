"""The analyst's question runner: pick, fill, preview the cost, run, explore the released table.

Run stays disabled until a preview (plan) of exactly the current question, parameters and ε has
succeeded: the cost, the budget of every party whose data the run reads and the expected error
are seen before anything is spent. Run always sends the preview's fingerprint, so the service
refuses (and charges nothing) if the question, its rules or the budget split changed meanwhile.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal, InvalidOperation
from typing import Any

import ipywidgets as W

from workbench.client import Client
from workbench.wire import questions as q
from widgets._common import (Console, Status, button, esc, guarded, heading, number_text, pick_room, set_options,
                             show, show_figure)
from widgets.schedules import SchedulesPanel
from widgets.charts import (
    csv_link,
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
        total = _dec(before.epsilon_total)
        left = _dec((after or before).epsilon_left)
        self.bar.max = float(total) if total > 0 else 1.0
        self.bar.value = float(max(left, Decimal(0)))
        share = (left / total) if total > 0 else Decimal(0)
        self.bar.bar_style = "success" if share > Decimal("0.5") else ("warning" if share > Decimal("0.2") else "danger")
        now = f"ε left now: {number_text(before.epsilon_left)} of {number_text(before.epsilon_total)}"
        then = f"; after this run: <b>{number_text(after.epsilon_left)}</b>" if after else ""
        whose = f"{esc(before.org_name)}: " if before.org_name else ""
        self.label.value = f"<span class='wb-budget-text'>{whose}{esc(now)}{then}</span>"


def tightest(plan: q.Plan) -> int | None:
    """The index of the charged party with the least ε left after the run (it limits the run)."""
    if not plan.budget_after:
        return None
    return min(range(len(plan.budget_after)), key=lambda i: _dec(plan.budget_after[i].epsilon_left))


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
    rows = "".join(
        f"<tr><td>{esc(b.org_name or b.org_id)}</td><td>{esc(number_text(b.epsilon_left))} of "
        f"{esc(number_text(b.epsilon_total))}</td><td>{esc(number_text(a.epsilon_left))}</td></tr>"
        for b, a in zip(plan.budget_before, plan.budget_after, strict=True))
    return ("<table class='wb-parties'><thead><tr><th>charged party</th><th>ε left now</th>"
            f"<th>ε left after</th></tr></thead><tbody>{rows}</tbody></table>")


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
        self.result_box = W.VBox([heading("Result", 4), self.caption, self.notice, self.table,
                                  W.HBox([self.measure, self.kind]), self.chart, self.download])
        self.result_box.add_class("wb-result")
        self.form = W.VBox([self.params, W.HBox([self.epsilon, self.preview, self.run_button]), self.plan_box,
                            self.gauge, self.progress])

        self.room.observe(lambda _: self._load_questions(), names="value")
        self.follow(self.pick)
        self.observe(lambda _: self._show_question(), names="value")
        self.epsilon.observe(lambda _: self._stale(), names="value")
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
            W.HTML("<h2 style='margin:4px 0'>Question runner</h2>"), self.room, self.pick, self.about,
            self.allowed, self.form, self.status, self.result_box, self.more,
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
        if room_id and not runnable:
            self.status.info("This room has no questions added yet.")
        self._show_question()

    def _show_question(self) -> None:
        self.question = next((x for x in self.questions if x.id == self.value), None)
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
        return (self.room.value, self.value, repr(sorted(self.parameters().items())), self.epsilon.value.strip())

    def _stale(self) -> None:
        """Any change after a preview disables Run until the next preview."""
        self.run_button.disabled = True
        self.plan = None
        self.plan_box.value = ""

    # plan and run ---------------------------------------------------------------------------
    def do_plan(self) -> None:
        """Ask the service for the cost and expected error; enables Run on success."""
        self._stale()
        request = self._request()
        room_id, qid, _, eps = request
        plan = guarded(self.status, lambda: self.client.plan(room_id, qid, self.parameters(), epsilon=eps))
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
            f"<tbody>{rows}</tbody></table>{party_table(plan)}"
            f"{'<ul>' + notes + '</ul>' if notes else ''}"
            f"<div class='wb-fingerprint' style='color:#666;font-size:small'>plan {esc(plan.fingerprint[:12])}"
            "</div></div>")
        short = [b for b in plan.budget_before if _dec(plan.epsilon) > _dec(b.epsilon_left)]
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

    def do_run(self) -> None:
        """Run exactly what was previewed; show progress, then the released result."""
        if self.plan is None or self._planned_for != self._request():
            self._stale()
            self.status.error("preview the cost of these settings first")
            return
        room_id, qid, _, eps = self._planned_for
        self.run_button.disabled = True
        show(self.progress, True)
        self.progress.value, self.progress.description, self.progress.bar_style = 1, "Running…", "info"
        fingerprint = self.plan.fingerprint
        run = guarded(self.status, lambda: self.client.run(room_id, qid, self.parameters(), epsilon=eps,
                                                           plan=fingerprint))
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
        self.show_result(result)
        self.status.ok(f"Answered: {run.question_name} ({len(result.rows)} rows)")
        self._stale()
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
                                    title=f"{self.run.question_name if self.run else ''}: {measure}")
        show_figure(self.chart, self.figure)

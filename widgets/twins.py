""""Try on synthetic twin": the question builder's free dry run on the room's DP synthetic twins.

The answer is shown under a synthetic banner, its chart titled and watermarked SYNTHETIC, its
CSV marked on every line; it is never a run, so nothing here offers to save, chart on a
dashboard or schedule it. Built only on ``workbench.client``.
"""

from __future__ import annotations

import base64
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import ipywidgets as W

from workbench.client import Client
from workbench.client.twins import twin_csv
from workbench.wire.twins import LABEL, TwinResult
from widgets._common import Status, button, esc, guarded, show, show_figure, table_html

if TYPE_CHECKING:
    import plotly.graph_objects as go

BANNER_STYLE = ("background:#fff3cd;border:2px dashed #b26a00;color:#5c3a00;padding:6px 10px;"
                "margin:4px 0;font-weight:bold")


def _number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def twin_figure(result: TwinResult) -> go.Figure | None:
    """A bar chart of the first measure, titled and watermarked synthetic (None: no measure)."""
    import plotly.graph_objects as go  # only when there is something to draw

    if not result.rows:
        return None
    measures = [i for i, _ in enumerate(result.columns)
                if all(_number(r[i]) or r[i] is None for r in result.rows)]
    if not measures:
        return None
    m = measures[0]
    keys = [i for i in range(len(result.columns)) if i not in measures]
    labels = [esc(" / ".join(str(r[i]) for i in keys)) or "all" for r in result.rows]
    fig = go.Figure(data=[go.Bar(x=labels, y=[r[m] for r in result.rows],
                                 marker_color="#b26a00", name="synthetic")])
    fig.update_layout(template="plotly_white", title=f"SYNTHETIC twin: {esc(result.columns[m])}",
                      annotations=[dict(text="SYNTHETIC", xref="paper", yref="paper", x=0.5, y=0.5,
                                        showarrow=False, opacity=0.15, font=dict(size=64))])
    return fig


def parameter_values(draft: dict[str, Any]) -> dict[str, Any]:
    """The draft's parameter defaults: what the dry run fills in."""
    return {p["name"]: p["default"] for p in draft.get("parameters") or []
            if p.get("name") and p.get("default") not in (None, "")}


class TwinTry(W.VBox):
    """A "Try on synthetic twin" button and its labelled answer, for a draft given by a callable."""

    def __init__(self, client: Client, room_id: Callable[[], str | None],
                 draft: Callable[[], dict[str, Any]], **kwargs: Any) -> None:
        self.client = client
        self._room_id = room_id
        self._draft = draft
        self.result: TwinResult | None = None
        self.figure: go.Figure | None = None
        self.button = button("Try on synthetic twin", "warning",
                             tooltip="free: runs the draft on the room's DP synthetic twins; "
                                     "nothing is charged or stored")
        self.button.on_click(lambda _: self.do_try())
        self.status = Status()
        self.banner = W.HTML()
        self.table = W.HTML()
        self.csv = W.HTML()
        self.chart = W.Output()
        self.answer = W.VBox([self.banner, self.table, self.csv, self.chart])
        show(self.answer, False)
        super().__init__([self.button, self.status, self.answer], **kwargs)
        self.add_class("wb-twin-try")

    def do_try(self) -> TwinResult | None:
        """Run the draft on the twins (defaults for parameters) and show the labelled answer."""
        room_id, draft = self._room_id(), dict(self._draft())
        show(self.answer, False)
        self.result = self.figure = None
        if room_id is None:
            self.status.error("pick a room first")
            return None
        result = guarded(self.status, lambda: self.client.run_on_twin(
            room_id, draft.get("name") or "draft", draft.get("sql", ""), parameter_values(draft),
            parameter_specs=draft.get("parameters") or [], max_rows=draft.get("max_rows", 1),
            max_groups=draft.get("max_groups", 1)))
        if result is None:
            return None
        self.result = result
        notes = "".join(f"<li>{esc(n)}</li>" for n in result.notes)
        self.banner.value = (f"<div class='wb-synthetic' style='{BANNER_STYLE}'>{esc(LABEL)}</div>"
                             f"<ul style='color:#5c3a00;margin:2px 0'>{notes}</ul>")
        self.table.value = table_html(result.columns, result.rows, css_class="wb-twin-table",
                                      empty="no groups (on the twins)")
        data = base64.b64encode(twin_csv(result).encode()).decode()
        self.csv.value = (f'<a class="wb-csv wb-synthetic-csv" download="synthetic-draft.csv" '
                          f'href="data:text/csv;base64,{data}">Download synthetic CSV</a>')
        self.figure = twin_figure(result)
        if self.figure is not None:
            show_figure(self.chart, self.figure)
        show(self.answer, True)
        self.status.ok(f"ran on synthetic twins: {len(result.rows)} group(s); nothing was charged")
        return result

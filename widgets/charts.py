"""Released run results as tables, Plotly charts with error bars, captions and CSV links.

Pure functions of a :class:`~workbench.wire.questions.RunResult`: the runner and the dashboards
draw the same way, and tests check figures without a browser.
"""

from __future__ import annotations

import base64
import datetime as dt
import math
from typing import Any

import plotly.graph_objects as go

from workbench.client.exports import result_csv
from workbench.wire.questions import Run, RunResult
from widgets._common import esc, number_text


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def measures(result: RunResult) -> list[str]:
    """The released aggregate columns (noisy under DP), in result order."""
    noise = result.metadata.get("noise") or {}
    if noise:
        return [c for c in result.columns if c in noise]
    return [c for i, c in enumerate(result.columns)
            if result.rows and all(_is_number(r[i]) or r[i] is None for r in result.rows)]


def keys(result: RunResult) -> list[str]:
    """The group-key columns."""
    m = set(measures(result))
    return [c for c in result.columns if c not in m]


def ci95(result: RunResult, measure: str) -> float | None:
    """The 95% half-width of the noise added to ``measure`` (None: exact, or not a fixed width)."""
    value = (result.metadata.get("noise") or {}).get(measure, {}).get("ci95")
    return float(value) if value is not None and math.isfinite(float(value)) else None


def _labels(result: RunResult) -> list[str]:
    idx = [result.columns.index(k) for k in keys(result)]
    if not idx:
        return ["all"] * len(result.rows)
    return [esc(" / ".join("—" if r[i] is None else str(r[i]) for i in idx)) for r in result.rows]


def result_figure(result: RunResult, measure: str, kind: str = "bar", title: str | None = None,
                  subtitle: str = "") -> go.Figure:
    """A bar or line chart of one measure per group, with the noise's 95% interval as error bars;
    ``subtitle`` names the settings (parameters, ε) that produced it."""
    if measure not in result.columns:
        raise ValueError(f"the result has no column {measure!r}")
    i = result.columns.index(measure)
    x = _labels(result)
    y = [r[i] for r in result.rows]
    half = ci95(result, measure)
    error = dict(type="data", array=[half] * len(y), visible=True, color="#333") if half is not None else None
    if kind == "line":
        trace = go.Scatter(x=x, y=y, mode="lines+markers", error_y=error, name=esc(measure))
    else:
        trace = go.Bar(x=x, y=y, error_y=error, name=esc(measure), marker_color="#3b6ea8")
    note = f"error bars: 95% noise interval ±{half:,.1f}" if half is not None else (
        "exact values (differential privacy off)" if not result.dp else "no fixed-width error bar for this column")
    if subtitle:
        note += f"<br>{esc(subtitle)}"
    fig = go.Figure(data=[trace])
    # Plotly reads a subset of HTML (links, styles) in titles, legends and labels: names other
    # parties chose (questions, columns, values) are escaped like everywhere else
    fig.update_layout(title=dict(text=f"{esc(title or measure)}<br><sup>{note}</sup>"), height=380,
                      margin=dict(l=50, r=20, t=90 if subtitle else 70, b=80),
                      xaxis_title=esc(" / ".join(keys(result))) or None,
                      yaxis_title=esc(measure), template="plotly_white")
    return fig


def _fmt(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:,.2f}"
    if _is_number(value):
        return f"{value:,}"
    return "—" if value is None else str(value)


def result_table_html(result: RunResult, css_class: str = "wb-result-table") -> str:
    """The released table, escaped; measures show their ± 95% interval in the header."""
    heads = []
    for c in result.columns:
        half = ci95(result, c)
        heads.append(f"{esc(c)} <small>(±{half:,.1f})</small>" if half is not None else esc(c))
    head = "".join(f"<th style='text-align:left;padding:2px 8px'>{h}</th>" for h in heads)
    body = "".join("<tr>" + "".join(f"<td style='padding:2px 8px'>{esc(_fmt(v))}</td>" for v in row) + "</tr>"
                   for row in result.rows)
    if not result.rows:
        body = f"<tr><td colspan='{len(result.columns)}'><i>no rows released</i></td></tr>"
    return (f'<table class="{esc(css_class)}" style="border-collapse:collapse">'
            f"<thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>")


def privacy_caption(result: RunResult) -> str:
    """The run's privacy parameters in one line of HTML."""
    m = result.metadata
    if not result.dp:
        mode = "<b style='color:#b00020'>EXACT aggregates: differential privacy is off in this room</b>"
    else:
        mode = f"differential privacy: ε {esc(m.get('epsilon_spent', '?'))}, δ {esc(m.get('delta_spent', '?'))}"
    return (f"<div class='wb-privacy'>{mode} &middot; crowd size k-min {esc(m.get('k_min', '?'))}"
            f" &middot; {esc(m.get('suppressed_rows', 0))} row(s) suppressed</div>")


def suppression_notice(result: RunResult) -> str:
    """A notice when rows were withheld for being under the crowd size; empty otherwise."""
    n = int(result.metadata.get("suppressed_rows") or 0)
    if not n:
        return ""
    return (f"<div class='wb-suppressed' style='background:#fff4e5;padding:4px 8px'>{n} row(s) were "
            f"withheld: fewer than {esc(result.metadata.get('k_min', '?'))} people (the room's crowd "
            "size).</div>")


def run_settings(run: Run) -> str:
    """A run's parameters, ε and time in one line (charts and labels name what made a result)."""
    params = ", ".join(f"{k}={v}" for k, v in sorted(run.parameters.items())) or "default parameters"
    eps = f"ε {number_text(run.epsilon)}" if run.dp else "exact (DP off)"
    return f"{params}; {eps}; run {utc_time(run.created_at)}"


def utc_time(at: str | None) -> str:
    """An ISO instant as 'YYYY-MM-DD HH:MM UTC' (the service stamps runs to the minute)."""
    if not at:
        return "—"
    when = dt.datetime.fromisoformat(at)
    when = when.replace(tzinfo=dt.timezone.utc) if when.tzinfo is None else when.astimezone(dt.timezone.utc)
    return f"{when:%Y-%m-%d %H:%M} UTC"


def csv_text(result: RunResult, run: Run | None = None) -> str:
    """The released table as safe CSV with ± columns and the run's privacy preamble."""
    return result_csv(result, run)


def csv_link(result: RunResult, file_name: str, run: Run | None = None) -> str:
    """A download link carrying the CSV in the page (no file is written on the server)."""
    data = base64.b64encode(csv_text(result, run).encode()).decode()
    return (f'<a class="wb-csv" download="{esc(file_name)}" href="data:text/csv;base64,{data}">'
            f"Download CSV ({esc(file_name)})</a>")


def warm_up() -> None:
    """Pay Plotly's one-time costs (lazy imports, renderer set-up) before the first real chart."""
    fig = go.Figure(data=[go.Bar(x=["a"], y=[1], error_y=dict(type="data", array=[1]))])
    fig.update_layout(template="plotly_white")
    fig._repr_mimebundle_({}, {})

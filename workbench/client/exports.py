"""CSV exports of released results: safe to open in a spreadsheet, and complete enough to cite.

A released table leaves the clean room in a file people open in Excel or Sheets. Two things go
with it:

- **No formulas.** A text cell that begins with ``=``, ``+``, ``-``, ``@``, a TAB or a carriage
  return is read as a formula by spreadsheets (CSV injection: a group key or a parameter chosen
  by someone else could run ``=HYPERLINK(...)`` on the reader's machine). Such cells are
  prefixed with a single quote, which spreadsheets show as text. Numbers stay numbers.
- **What the numbers mean.** Each noisy measure is followed by its ``± 95%`` column (the
  half-width of the noise's 95% interval), and a preamble of ``# key, value`` rows gives the
  question and its version, the run, ε and δ, k-min, whether differential privacy was on, and
  the parameters. ``pandas.read_csv(path, comment="#")`` reads the table and skips the preamble.
"""

from __future__ import annotations

import csv
import io
import json
import math
from collections.abc import Sequence
from typing import Any

from workbench.wire.questions import Run, RunResult

#: first characters that make a spreadsheet treat a cell as a formula
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
#: the suffix of the column holding a measure's 95% noise half-width
PLUS_MINUS = " ±95%"


def safe_cell(value: Any) -> Any:
    """``value`` as a CSV cell that no spreadsheet evaluates (text starting a formula is quoted)."""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


def _half_width(result: RunResult, column: str) -> float | None:
    value = ((result.metadata.get("noise") or {}).get(column) or {}).get("ci95")
    if value is None:
        return None
    number = float(value)
    return number if math.isfinite(number) else None


def _preamble(result: RunResult, run: Run | None) -> list[list[Any]]:
    meta = result.metadata
    rows: list[list[Any]] = []
    if run is not None:
        rows += [["# question", run.question_name], ["# question_version", run.question_version],
                 ["# run_id", run.id], ["# parameters", json.dumps(run.parameters, sort_keys=True, default=str)]]
    else:
        rows += [["# question_version", meta.get("question_version", "")], ["# run_id", result.run_id]]
    rows += [["# differential_privacy", "on" if result.dp else "off (EXACT aggregates)"],
             ["# epsilon", meta.get("epsilon_spent", run.epsilon if run else "")],
             ["# delta", meta.get("delta_spent", run.delta if run else "")],
             ["# k_min", meta.get("k_min", run.k_min if run else "")],
             ["# suppressed_rows", meta.get("suppressed_rows", "")]]
    if any(_half_width(result, c) is not None for c in result.columns):
        rows.append(["# " + PLUS_MINUS.strip(), "half-width of the 95% interval of the noise added to the column before it"])
    return rows


def result_rows(result: RunResult, run: Run | None = None) -> list[Sequence[Any]]:
    """Every row of the export (preamble, header, data), cells already made safe."""
    widths = {c: _half_width(result, c) for c in result.columns}
    header: list[Any] = []
    for c in result.columns:
        header.append(c)
        if widths[c] is not None:
            header.append(c + PLUS_MINUS)
    rows: list[Sequence[Any]] = [*_preamble(result, run), header]
    for row in result.rows:
        out: list[Any] = []
        for c, value in zip(result.columns, row):
            out.append(value)
            if widths[c] is not None:
                out.append(widths[c])
        rows.append(out)
    return [[safe_cell(v) for v in row] for row in rows]


def result_csv(result: RunResult, run: Run | None = None) -> str:
    """The released table as safe CSV with its ± columns and a ``#`` preamble (see the module)."""
    out = io.StringIO()
    csv.writer(out).writerows(result_rows(result, run))  # RFC 4180 line ends: cells with CR get quoted
    return out.getvalue()


def run_csv(client: Any, room_id: str, run_id: str) -> str:
    """Fetch a run and its released result through ``client`` and export them as CSV."""
    return result_csv(client.run_result(room_id, run_id), client.get_run(room_id, run_id))

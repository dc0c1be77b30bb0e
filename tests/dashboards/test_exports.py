"""CSV exports of released results (issue 10.9): no cell a spreadsheet would run as a formula,
and every noisy measure with its ± column, ε/δ, parameters and the question version."""

from __future__ import annotations

import csv
import io
import json

import pytest

from tests.runs.room import add_q1, build_room
from workbench.client import exports
from workbench.wire.questions import RunResult


def _rows(text: str) -> list[list[str]]:
    return list(csv.reader(io.StringIO(text, newline="")))


def test_a_live_export_carries_plus_minus_columns_epsilon_delta_parameters_and_version(live_service):
    owner = live_service.client(live_service.admin_token)
    room = build_room(owner, live_service.make_org)
    question = add_q1(room)
    run = owner.run(room.id, question, {"min_amount": 5}, epsilon="1")
    result = owner.run_result(room.id, run.id)
    rows = _rows(exports.run_csv(owner, room.id, run.id))
    preamble = {r[0]: r[1] for r in rows if r and r[0].startswith("# ")}
    assert preamble["# question_version"] == str(run.question_version)
    assert preamble["# epsilon"] == result.metadata["epsilon_spent"] and "# delta" in preamble
    assert json.loads(preamble["# parameters"]) == {"min_amount": 5}
    assert preamble["# differential_privacy"] == "on"
    header = next(r for r in rows if r and not r[0].startswith("# "))
    noisy = list(result.metadata["noise"])
    assert noisy and all(header[header.index(m) + 1] == f"{m} ±95%" for m in noisy)
    data = rows[rows.index(header) + 1:]
    assert len(data) == len(result.rows)
    for m in noisy:
        width = result.metadata["noise"][m]["ci95"]
        assert all(float(r[header.index(m) + 1]) == pytest.approx(width) for r in data)


FORMULAS = ["=HYPERLINK(\"http://evil\",\"x\")", "+1+1", "-2+3", "@SUM(A1)", "\tx", "\rx"]


@pytest.mark.parametrize("cell", FORMULAS, ids=["equals", "plus", "minus", "at", "tab", "cr"])
def test_cells_that_start_a_formula_are_escaped(cell):
    result = RunResult(run_id="r", columns=["region", "reach"], rows=[[cell, -5], ["north", 7]], dp=False,
                       metadata={"k_min": 3})
    rows = _rows(exports.result_csv(result))
    region = [r[0] for r in rows[rows.index(["region", "reach"]) + 1:]]
    assert region == ["'" + cell, "north"]
    assert [r[1] for r in rows[-2:]] == ["-5", "7"]  # numbers stay numbers
    assert not any(c.startswith(tuple(exports.FORMULA_STARTS)) for r in rows for c in r if c != "-5")


def test_parameters_in_the_preamble_are_escaped_too():
    from workbench.wire.questions import Run

    run = Run(id="r", room_id="x", question_id="q", question_version=2, question_name="=cmd|' /C calc'!A0",
              org_id="o", user_id="u", receivers=[], parameters={"region": "=1+1"}, dp=True, epsilon="1",
              delta="0", k_min=3, status="succeeded", created_at="2026-01-01T00:00:00Z")
    result = RunResult(run_id="r", columns=["n"], rows=[[1]], dp=True,
                       metadata={"noise": {"n": {"ci95": 2.5}}, "epsilon_spent": "1", "delta_spent": "0"})
    rows = _rows(exports.result_csv(result, run))
    assert ["# question", "'=cmd|' /C calc'!A0"] in rows
    assert rows[-2:] == [["n", "n ±95%"], ["1", "2.5"]]
    assert json.loads(dict(r for r in rows if len(r) == 2)["# parameters"]) == {"region": "=1+1"}

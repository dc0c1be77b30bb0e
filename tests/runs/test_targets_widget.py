"""The runner's "target error" beside "ε to spend": it plans from the error asked, shows what the
targets cost, and runs that plan."""

from __future__ import annotations

import pytest

from tests.runs.room import add_q1, build_room
from widgets import QuestionRunner
from widgets.runner import parse_targets


def test_parse_targets_reads_columns_and_errors() -> None:
    assert parse_targets("") is None
    assert parse_targets("reach ±2%, spend ±5000") == {"reach": "±2%", "spend": "±5000"}
    assert parse_targets("reach=4; spend: 100") == {"reach": "4", "spend": "100"}
    with pytest.raises(ValueError, match="a column and an error"):
        parse_targets("reach")


def test_the_runner_plans_and_runs_by_target_error(admin, make_org, caplog):
    room = build_room(admin, make_org, epsilon_budget="10")
    add_q1(room)
    runner = QuestionRunner(room.owner)
    # a typo says how to write targets (not a widget failure) and plans nothing
    runner.targets.value = "reach"
    runner.preview.click()
    assert "a column and an error" in runner.status.text and "unexpected" not in runner.status.text
    assert runner.run_button.disabled and "widget action failed" not in caplog.text
    runner.targets.value = "reach ±5, spend ±3000"
    runner.preview.click()
    assert not runner.run_button.disabled, runner.status.text
    assert runner.plan is not None and runner.plan.targets is not None
    assert "Targets met with ε" in runner.plan_box.value and "even split" in runner.plan_box.value
    runner.run_button.click()
    assert "Answered" in runner.status.text, runner.status.text
    assert room.partner.budget(room.id).epsilon_spent == runner.run.epsilon
    # targets out of reach say what they would cost, and the run is refused without a charge
    runner.targets.value = "reach ±0.5, spend ±1"
    runner.preview.click()
    assert "these targets need epsilon" in runner.plan_box.value


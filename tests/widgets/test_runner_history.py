"""Question runner: run history, results labelled with their settings, large-error warnings, pickers.

Driven in-process over a real two-party room with real runs (real service, store and OpenDP).
"""

from __future__ import annotations

import pytest

from tests.runs.room import add_q1, build_room
from widgets import QuestionRunner
from widgets._common import is_shown
from widgets.runner import LARGE_ERROR_SHARE, error_warnings


@pytest.fixture
def room(admin, make_org):
    return build_room(admin, make_org, epsilon_budget="10000000", k_min=5)


def _analyst(room, user_client, name: str = "ann"):
    client, user_id = user_client(room.owner, name)
    role = room.owner.create_role(room.id, f"Analyst {name}",
                                  ["create_delete_question_runs", "view_reports", "intelligence_viewer"])
    room.owner.add_member(room.id, user_id, role.id)
    return client


def _run(runner: QuestionRunner, epsilon: str = "1", min_amount: float = 0.0) -> None:
    runner.epsilon.value = epsilon
    runner.param_widgets["min_amount"].value = min_amount
    runner.preview.click()
    runner.run_button.click()
    assert "Answered" in runner.status.text, runner.status.text


def test_history_lists_runs_with_who_parameters_epsilon_and_manifest(room, user_client):
    add_q1(room)
    runner = QuestionRunner(_analyst(room, user_client))
    _run(runner, "1", 0.0)
    _run(runner, "2", 10.0)
    runner.history.box.selected_index = 0  # opening the panel fetches
    table = runner.history.table.value
    assert table.count("<tr>") == 3 and "min_amount=10.0" in table and "min_amount=0.0" in table
    assert "you (ann)" in table and " UTC" in table and ">2<" in table and ">1<" in table
    assert runner.history.runs[0].parameters == {"min_amount": 10.0}  # newest first
    runner.history.show_manifest.click()
    assert "wb-manifest" in runner.history.manifest.value and "fingerprint" in runner.history.manifest.value
    _run(runner, "1", 5.0)  # a new run shows up without reopening the panel
    assert runner.history.table.value.count("<tr>") == 4


def test_result_names_its_settings_and_says_when_the_form_moved_on(room, user_client):
    add_q1(room)
    runner = QuestionRunner(_analyst(room, user_client))
    _run(runner, "1", 10.0)
    label = runner.result_label.value
    assert "Result of: min_amount=10.0; ε 1; run " in label and " UTC" in label and "changed since" not in label
    assert "min_amount=10.0" in runner.figure.layout.title.text  # the chart names its parameters
    runner.param_widgets["min_amount"].value = 20.0
    assert "The form has changed since" in runner.result_label.value
    runner.param_widgets["min_amount"].value = 10.0
    assert "changed since" not in runner.result_label.value


def test_another_question_clears_the_previous_result(room, user_client):
    add_q1(room)
    second = room.owner.create_question(room.id, "Second question", room.owner.question(room.id, add_q1(room)).sql,
                                        parameters=[{"name": "min_amount", "type": "number", "default": 0}])
    room.owner.add_question(room.id, second.id)
    runner = QuestionRunner(_analyst(room, user_client))
    _run(runner)
    assert is_shown(runner.result_box)
    runner.pick.value = next(v for _, v in runner.pick.options if v != runner.value)
    assert not is_shown(runner.result_box) and runner.result is None and runner.result_label.value == ""


def test_a_large_expected_error_is_warned_before_the_run(room, user_client):
    add_q1(room)
    runner = QuestionRunner(_analyst(room, user_client))
    runner.epsilon.value = "0.01"  # counts of ±hundreds against groups of at least k-min = 5
    runner.preview.click()
    warning = runner.error_warning.value
    assert "noise is large" in warning and "k-min 5" in warning and "reach" in warning
    runner.epsilon.value = "100000"
    runner.preview.click()
    assert runner.error_warning.value == ""
    runner.run_button.click()  # now a previous release exists: it is the yardstick
    runner.epsilon.value = "0.01"
    runner.preview.click()
    assert "typical value of the previous release" in runner.error_warning.value


def test_error_warnings_threshold(room, user_client):
    add_q1(room)
    plan = room.owner.plan(room.id, add_q1(room), {"min_amount": 0}, epsilon="1")
    counts = [c for c in plan.columns if c.kind.startswith("count") and "(hidden" not in c.name and c.ci95 is not None]
    assert counts
    big_k = plan.model_copy(update={"k_min": int(counts[0].ci95 / LARGE_ERROR_SHARE) + 10})
    small_k = plan.model_copy(update={"k_min": max(2, int(counts[0].ci95 / LARGE_ERROR_SHARE) - 1)})
    assert not any(c.name in w for w in error_warnings(big_k) for c in counts)
    assert any(counts[0].name in w for w in error_warnings(small_k))
    assert error_warnings(plan.model_copy(update={"dp": False, "k_min": 2})) == []


def test_room_pickers_list_only_rooms_the_user_is_in(room, user_client, admin):
    add_q1(room)
    admin.create_room("A room ann is not in")
    runner = QuestionRunner(_analyst(room, user_client))
    assert [v for _, v in runner.room.options] == [room.id]
    outsider, _ = user_client(room.owner, "olaf")
    empty = QuestionRunner(outsider)
    assert empty.room.options == () and "not in any clean room" in empty.status.text

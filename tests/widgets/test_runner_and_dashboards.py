"""Question runner and dashboards, driven in-process over a real two-party room with real runs."""

from __future__ import annotations

import base64

import pytest

from tests.runs.room import add_q1, build_room
from widgets import Dashboards, QuestionRunner
from widgets._common import is_shown


@pytest.fixture
def room(admin, make_org):
    return build_room(admin, make_org, epsilon_budget="10000000")


def _member(room, user_client, name: str, role: str, perms: list[str] | None = None):
    """A user of the owner org holding ``role`` (created with ``perms`` unless built in)."""
    client, user_id = user_client(room.owner, name)
    roles = {r.name: r.id for r in room.owner.roles(room.id)}
    role_id = roles.get(role) or room.owner.create_role(room.id, role, perms or []).id
    room.owner.add_member(room.id, user_id, role_id)
    return client


def test_run_is_enabled_only_after_a_preview_of_the_same_settings(room, user_client):
    qid = add_q1(room)
    analyst = _member(room, user_client, "ann", "Analyst",
                      ["create_delete_question_runs", "view_reports", "intelligence_viewer"])
    runner = QuestionRunner(analyst)
    assert runner.value == qid
    assert list(runner.param_widgets) == ["min_amount"]
    assert runner.run_button.disabled
    runner.epsilon.value = "1"
    runner.preview.click()
    assert not runner.run_button.disabled, runner.status.text
    assert "Spends ε 1," in runner.plan_box.value and "reach" in runner.plan_box.value
    assert "after this run" in runner.gauge.label.value
    runner.param_widgets["min_amount"].value = 10.0  # a change makes the preview stale
    assert runner.run_button.disabled
    runner.preview.click()
    runner.run_button.click()
    assert "Answered: Reach and spend by region and age band (12 rows)" in runner.status.text
    assert runner.table.value.count("<tr>") == 13
    assert is_shown(runner.result_box) and runner.progress.description == "Done"
    # the chart has one bar per group, with error bars from the run's noise
    bar = runner.figure.data[0]
    assert len(bar.x) == 12 and bar.error_y.array is not None and bar.error_y.array[0] > 0
    csv = base64.b64decode(runner.download.value.split("base64,")[1].split('"')[0]).decode()
    lines = csv.splitlines()  # the export: a "# key,value" preamble, then the table with ± columns
    assert lines[0].startswith("# question,") and any(x.startswith("# epsilon,") for x in lines)
    assert next(x for x in lines if not x.startswith("#")) == "region,age_band,reach,reach ±95%,spend,spend ±95%"
    assert "ε 1," in runner.caption.value
    assert runner.run_button.disabled  # the next run needs a fresh preview
    reach_error = runner.figure.data[0].error_y.array[0]
    runner.measure.value = "spend"  # spend is clamped to 250 per person: wider error bars
    assert runner.figure.data[0].error_y.array[0] > reach_error


def test_budget_refusal_is_a_message_with_the_figures(admin, make_org, user_client):
    room = build_room(admin, make_org, epsilon_budget="1")
    add_q1(room)
    runner = QuestionRunner(room.owner)
    runner.epsilon.value = "5"
    runner.preview.click()
    assert "needs more ε than your budget has left" in runner.plan_box.value
    runner.run_button.click()  # the service, not the widget, refuses an overspend
    assert "requested epsilon 5" in runner.status.text, runner.status.text
    assert runner.progress.description == "Refused"
    assert runner.result is None and "Traceback" not in runner.status.value


def test_viewer_cannot_run_and_sees_why(room, user_client):
    add_q1(room)
    viewer = _member(room, user_client, "vic", "Viewer")
    runner = QuestionRunner(viewer)
    assert "You cannot run this question" in runner.allowed.value
    assert not is_shown(runner.form)


def test_suppression_notice(admin, make_org):
    room = build_room(admin, make_org, epsilon_budget="10000000", k_min=1000)
    add_q1(room)
    runner = QuestionRunner(room.owner)
    runner.epsilon.value = "1000000"
    runner.preview.click()
    runner.run_button.click()
    assert "withheld" in runner.notice.value, runner.status.text


def test_creator_builds_a_dashboard_and_a_viewer_sees_it_without_build_tools(room, user_client):
    qid = add_q1(room)
    run = room.owner.run(room.id, qid, {"min_amount": 0}, epsilon="1")
    creator = Dashboards(room.owner)
    assert is_shown(creator.creator)
    creator.new_name.value = "Campaign overview"
    creator.create.click()
    assert "created" in creator.status.text
    creator.run_pick.value = run.id
    assert [v for _, v in creator.measure.options] == ["reach", "spend"]
    creator.measure.value = "reach"
    creator.title.value = "Reach <by> group"
    creator.add.click()
    assert "chart added" in creator.status.text
    creator.kind.value = "table"
    creator.add.click()
    assert [c.chart.kind for c in creator.cards] == ["bar", "table"]

    viewer = Dashboards(_member(room, user_client, "vic", "Viewer"))
    assert viewer.pick.label == "Campaign overview"
    assert not is_shown(viewer.creator)
    card = viewer.cards[0]
    assert card.error == "" and len(card.figure.data[0].x) == 12
    assert card.figure.data[0].error_y.array[0] > 0
    assert "Reach &lt;by&gt; group" in card.children[0].value
    assert "ε 1," in card.children[1].value

    creator.chart_pick.value = creator.cards[1].chart.id
    creator.remove.click()
    assert len(creator.cards) == 1


def test_dashboard_without_intelligence_viewer_says_so(room, user_client):
    nobody = _member(room, user_client, "nora", "Runs only", ["create_delete_question_runs"])
    board = Dashboards(nobody)
    assert "does not include Intelligence Viewer" in board.access.value
    assert board.pick.options == ()

"""The question runner shows every charged party's budget and always runs the plan it previewed."""

from __future__ import annotations

from tests.runs.room import add_q1, build_room
from widgets import QuestionRunner


def test_the_runner_shows_each_party_and_refuses_a_stale_preview(admin, make_org):
    room = build_room(admin, make_org, epsilon_budget="10")
    add_q1(room)
    runner = QuestionRunner(room.owner)
    runner.epsilon.value = "1"
    runner.preview.click()
    assert not runner.run_button.disabled, runner.status.text
    table = runner.plan_box.value
    assert "charged party" in table and "Publisher" in table and "Advertiser" in table
    assert runner.plan is not None and runner.plan.fingerprint[:12] in table
    # the advertiser changes its rules between the preview and the click
    room.partner.set_analysis_rules(room.id, room.advertiser_dataset, [
        {"name": "email", "join": True},
        {"name": "amount", "aggregations": ["SUM", "AVG"], "lower": 0, "upper": 10}])
    runner.run_button.click()
    assert "changed since your preview" in runner.status.text, runner.status.text
    assert runner.result is None
    assert room.owner.budget(room.id).epsilon_spent == "0"
    assert room.partner.budget(room.id).epsilon_spent == "0"
    runner.preview.click()  # a fresh preview of the new rules runs
    runner.run_button.click()
    assert "Answered" in runner.status.text, runner.status.text
    assert room.partner.budget(room.id).epsilon_spent == "1"

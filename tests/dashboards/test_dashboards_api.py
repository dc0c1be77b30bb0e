"""Dashboards through the client: who may build, who may look, what a chart may reference."""

from __future__ import annotations

import pytest

import workbench as wb
from tests.runs.room import add_q1, build_room


@pytest.fixture
def room(admin, make_org):
    return build_room(admin, make_org)


def _user(room, user_client, name, role, perms=None):
    client, user_id = user_client(room.owner, name)
    roles = {r.name: r.id for r in room.owner.roles(room.id)}
    role_id = roles.get(role) or room.owner.create_role(room.id, role, perms or []).id
    room.owner.add_member(room.id, user_id, role_id)
    return client


def test_creator_saves_charts_viewer_reads_them(room, user_client):
    run = room.owner.run(room.id, add_q1(room), {"min_amount": 0}, epsilon="1")
    board = room.owner.create_dashboard(room.id, "Overview", "weekly")
    board = room.owner.add_chart(room.id, board.id, run.id, measure="reach")
    board = room.owner.add_chart(room.id, board.id, run.id, kind="table")
    assert [(c.position, c.kind, c.title, c.measure) for c in board.charts] == [
        (1, "bar", "reach", "reach"), (2, "table", "Result table", None)]
    viewer = _user(room, user_client, "vic", "Viewer")
    assert [b.name for b in viewer.dashboards(room.id)] == ["Overview"]
    assert viewer.dashboard(room.id, board.id).charts == board.charts
    with pytest.raises(wb.PermissionDenied, match="Intelligence Creator"):
        viewer.create_dashboard(room.id, "Mine")
    assert viewer.room(room.id).abilities["dashboard.create"] is False
    assert room.owner.room(room.id).abilities["dashboard.create"] is True


@pytest.mark.parametrize("kwargs, error, message", [
    (dict(measure="nope"), wb.InvalidInput, "no column 'nope'"),
    (dict(kind="bar"), wb.InvalidInput, "needs measure="),
    (dict(kind="pie", measure="reach"), wb.InvalidInput, "kind"),
], ids=["unknown measure", "bar without measure", "unknown kind"])
def test_bad_charts_are_refused_and_nothing_is_saved(room, kwargs, error, message):
    run = room.owner.run(room.id, add_q1(room), {"min_amount": 0}, epsilon="1")
    board = room.owner.create_dashboard(room.id, "Overview")
    with pytest.raises(error, match=message):
        room.owner.add_chart(room.id, board.id, run.id, **kwargs)
    assert room.owner.dashboard(room.id, board.id).charts == []


def test_dashboards_are_per_organisation_and_runs_must_be_received(room):
    run = room.owner.run(room.id, add_q1(room), {"min_amount": 0}, epsilon="1")
    board = room.owner.create_dashboard(room.id, "Overview")
    room.owner.set_partner_permissions(room.id, room.partner_org, [
        "manage_clean_room_roles", "manage_datasets", "view_reports", "intelligence_viewer",
        "intelligence_creator"])
    assert room.partner.dashboards(room.id) == []
    with pytest.raises(wb.NotFound):
        room.partner.dashboard(room.id, board.id)
    # the template's terms say the owner receives results: the partner cannot chart them, and
    # the policy records that refusal as a denial
    mine = room.partner.create_dashboard(room.id, "Partner view")
    with pytest.raises(wb.PermissionDenied, match="not a receiver of this question's results"):
        room.partner.add_chart(room.id, mine.id, run.id, measure="reach")
    denied = [e for e in room.partner.audit(room_id=room.id) if e.action == "dashboard.chart.add"]
    assert [(e.outcome, e.resource_id) for e in denied] == [("denied", run.id)]
    assert room.partner.dashboard(room.id, mine.id).charts == []
    with pytest.raises(wb.Conflict, match="already has a dashboard"):
        room.owner.create_dashboard(room.id, "overview")


def test_a_run_whose_question_hides_its_output_cannot_be_charted(room):
    """A receiver under the terms still may not chart a run when the question's author denies it
    view_output for that question (the override): decided by the policy, audited as denied."""
    question = add_q1(room)
    room.owner.set_terms(room.id, question, receivers=[room.owner_org, room.partner_org])
    run = room.owner.run(room.id, question, {"min_amount": 0}, epsilon="1")
    room.owner.set_partner_permissions(room.id, room.partner_org, [
        "manage_clean_room_roles", "manage_datasets", "view_reports", "intelligence_viewer",
        "intelligence_creator"])
    board = room.partner.create_dashboard(room.id, "Partner view")
    assert room.partner.add_chart(room.id, board.id, run.id, measure="reach").charts
    room.owner.set_question_permissions(room.id, question, [
        {"permission": "view_output", "partner_org_id": room.partner_org, "allowed": False}])
    with pytest.raises(wb.PermissionDenied, match="view_output"):
        room.partner.add_chart(room.id, board.id, run.id, kind="table")
    assert len(room.partner.dashboard(room.id, board.id).charts) == 1
    outcomes = [e.outcome for e in room.partner.audit(room_id=room.id) if e.action == "dashboard.chart.add"]
    assert sorted(outcomes) == ["allowed", "denied"]


def test_intelligence_off_hides_dashboards(room):
    room.owner.update_room(room.id, intelligence=False)
    with pytest.raises(wb.PermissionDenied, match="Intelligence Viewer"):
        room.owner.dashboards(room.id)


def test_unlinking_a_dataset_removes_charts_of_its_runs(room):
    run = room.owner.run(room.id, add_q1(room), {"min_amount": 0}, epsilon="1")
    board = room.owner.create_dashboard(room.id, "Overview")
    room.owner.add_chart(room.id, board.id, run.id, measure="reach")
    room.partner.unprovision_dataset(room.id, room.advertiser_dataset)
    assert room.owner.dashboard(room.id, board.id).charts == []


def test_every_dashboard_action_is_audited(room):
    board = room.owner.create_dashboard(room.id, "Overview")
    room.owner.delete_dashboard(room.id, board.id)
    actions = [e.action for e in room.owner.audit(room_id=room.id)]
    assert "dashboard.create" in actions and "dashboard.delete" in actions

"""Questions through the client: authoring, owner-only add/delete, permissions, terms, templates."""

from __future__ import annotations

import pytest
import yaml

import workbench as wb
from tests.runs.room import Q1_SQL, add_q1, build_room

PARAMS = [{"name": "min_amount", "type": "number", "default": 0}]


@pytest.fixture
def room(admin, make_org):
    return build_room(admin, make_org)


def test_violations_are_explained_and_nothing_is_saved(room):
    bad = "SELECT p.email, SUM(a.amount) AS s FROM publisher p JOIN advertiser a ON p.email = a.email GROUP BY p.email"
    report = room.owner.check_question(room.id, "bad", bad)
    assert not report.ok
    assert {(v.rule, v.dataset, v.column) for v in report.violations} == {
        ("allowed_outputs", "publisher", "email"), ("no_pii", "publisher", "email")}
    with pytest.raises(wb.RuleViolation, match="never output"):
        room.owner.create_question(room.id, "bad", bad)
    assert room.owner.questions(room.id) == []


def test_authoring_needs_question_builder_and_adding_is_owner_only(room, user_client):
    viewer, uid = user_client(room.owner, "viewer")
    roles = {r.name: r.id for r in room.owner.roles(room.id)}
    room.owner.add_member(room.id, uid, roles["Viewer"])
    with pytest.raises(wb.PermissionDenied, match="Question Builder"):
        viewer.create_question(room.id, "q", Q1_SQL, parameters=PARAMS)
    q = room.partner.create_question(room.id, "partner's q", Q1_SQL, parameters=PARAMS)
    assert q.author_org_id == room.partner_org and not q.in_room
    with pytest.raises(wb.PermissionDenied, match="owner organisation only"):
        room.partner.add_question(room.id, q.id)
    with pytest.raises(wb.PermissionDenied, match="not been added"):
        room.owner.run(room.id, q.id, {"min_amount": 0})
    assert room.owner.add_question(room.id, q.id).in_room
    # the author (a partner) may take its question out of the room; the author's copy stays
    room.partner.delete_question(room.id, q.id)
    assert not room.partner.question(room.id, q.id).in_room
    assert room.owner.add_question(room.id, q.id).in_room
    room.owner.delete_question(room.id, q.id)
    with pytest.raises(wb.NotFound):
        room.owner.question(room.id, q.id)


def test_question_permissions_defaults_and_overrides(room):
    qid = add_q1(room)
    mine = room.owner.question(room.id, qid)
    assert mine.sql and all(mine.my_permissions.values())
    seen = room.partner.question(room.id, qid)
    assert seen.sql and seen.my_permissions["run"] and not seen.my_permissions["clone"]
    with pytest.raises(wb.PermissionDenied, match="clone"):
        room.partner.clone_question(room.id, qid)
    # the owner's org default: partners may clone but not see code
    room.owner.set_question_permission_defaults(room.id, [
        {"permission": "clone", "partner_org_id": "*", "allowed": True},
        {"permission": "view_code", "partner_org_id": room.partner_org, "allowed": False}])
    seen = room.partner.question(room.id, qid)
    assert seen.sql is None and seen.my_permissions["clone"]
    clone = room.partner.clone_question(room.id, qid, "my copy")
    assert clone.author_org_id == room.partner_org and clone.cloned_from == qid and clone.sql
    # a per-question override wins, more restrictive here
    room.owner.set_question_permissions(room.id, qid, [
        {"permission": "run", "partner_org_id": "*", "allowed": False}])
    with pytest.raises(wb.PermissionDenied, match="question permission run"):
        room.partner.plan(room.id, qid, {"min_amount": 0})
    with pytest.raises(wb.PermissionDenied, match="author organisation"):
        room.partner.set_question_permissions(room.id, qid, [])
    # edits need edit_delete; the author may edit, and each edit is a new version
    with pytest.raises(wb.PermissionDenied, match="edit"):
        room.partner.update_question(room.id, qid, description="mine now")
    assert room.owner.update_question(room.id, qid, description="v2").version == 2


def test_terms_decide_who_runs_and_who_receives(room):
    qid = add_q1(room)
    room.owner.set_terms(room.id, qid, runners=[room.partner_org],
                         receivers=[room.owner_org, room.partner_org])
    with pytest.raises(wb.PermissionDenied, match="terms"):
        room.owner.run(room.id, qid, {"min_amount": 0})
    run = room.partner.run(room.id, qid, {"min_amount": 0}, epsilon="2")
    assert sorted(run.receivers) == sorted([room.owner_org, room.partner_org])
    assert room.owner.run_result(room.id, run.id).rows
    assert room.partner.run_result(room.id, run.id).rows
    assert room.owner.budget(room.id).epsilon_spent == "2"
    assert room.partner.budget(room.id).epsilon_spent == "2"
    with pytest.raises(wb.InvalidInput, match="not in the room"):
        room.owner.set_terms(room.id, qid, runners=["00000000-0000-0000-0000-000000000000"])


def test_template_round_trip(room):
    qid = add_q1(room)
    room.owner.set_terms(room.id, qid, receivers=[room.owner_org])
    room.owner.set_question_permissions(room.id, qid, [
        {"permission": "view_code", "partner_org_id": "*", "allowed": False}])
    room.owner.set_question_permission_defaults(room.id, [
        {"permission": "clone", "partner_org_id": "*", "allowed": True}])
    text = room.owner.export_template(room.id)
    doc = yaml.safe_load(text)
    assert doc["privacy"]["epsilon_budget"] == "10"
    assert doc["fields"]["publisher"]["required"] == ["age_band", "email", "region"]
    assert doc["questions"][0]["terms"] == {"runners": [], "receivers": ["owner"]}
    assert [(d["macro"], d["party"]) for d in doc["datasets"]] == [("publisher", "owner"), ("advertiser", "partners")]
    assert doc["terms"] == {"runs": "all", "receives": "owner"}
    made = room.owner.import_template(text, name="copy of the room")
    declared = room.owner.template(made.room_id)
    assert [f.macro for f in declared.datasets[1].fields] == ["email", "amount"]
    assert room.owner.room(made.room_id).status == "draft"
    again = yaml.safe_load(room.owner.export_template(made.room_id))
    assert {**again, "name": doc["name"]} == doc
    copy = room.owner.question(made.room_id, made.question_ids[0])
    assert copy.in_room and copy.sql == room.owner.question(room.id, qid).sql


def test_bad_templates_leave_nothing_behind(room):
    before = {r.id for r in room.owner.rooms()}
    text = room.owner.export_template(room.id)
    broken = text + "\nquestions:\n  - name: x\n    sql: 'SELECT FROM'\n"
    with pytest.raises(wb.InvalidInput):
        room.owner.import_template(broken, name="never")
    with pytest.raises(wb.InvalidInput, match="not a room template"):
        room.owner.import_template("name: x\n", name="never")
    bad_macro = text.replace("macro: advertiser", "macro: 'bad macro!'")
    with pytest.raises(wb.InvalidInput, match="must be a name of letters"):
        room.owner.import_template(bad_macro, name="never")
    assert {r.id for r in room.owner.rooms()} == before


def test_edit_and_delete_question_lets_a_partner_take_a_question_out_of_the_room(room):
    """The seeds' "Edit and Delete Question": a partner it is granted to may delete the question
    from the room (the owner's copy stays); without it the partner is refused."""
    q = room.owner.create_question(room.id, "owner's q", Q1_SQL, parameters=PARAMS)
    room.owner.add_question(room.id, q.id)
    with pytest.raises(wb.PermissionDenied, match="edit_delete"):
        room.partner.delete_question(room.id, q.id)
    assert room.owner.question(room.id, q.id).in_room
    room.owner.set_question_permissions(room.id, q.id, [
        {"permission": "edit_delete", "partner_org_id": room.partner_org, "allowed": True}])
    room.partner.delete_question(room.id, q.id)
    kept = room.owner.question(room.id, q.id)
    assert not kept.in_room and kept.author_org_id == room.owner_org
    with pytest.raises(wb.PermissionDenied, match="not been added"):
        room.owner.run(room.id, q.id, {"min_amount": 0})
    events = [e for e in room.partner.audit(room_id=room.id) if e.action == "question.remove"]
    assert [e.outcome for e in events] == ["allowed", "denied"]  # newest first

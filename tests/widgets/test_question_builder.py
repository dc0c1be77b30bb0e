"""Question builder driven in-process over a real two-party room (tests/runs/room.py)."""

from __future__ import annotations

import pytest

from tests.runs.room import Q1_SQL, build_room
from widgets import QuestionBuilder
from widgets._common import is_shown

BAD_SQL = ("SELECT p.email, a.amount, COUNT(*) AS n FROM publisher p JOIN advertiser a ON p.email = a.email"
           " GROUP BY p.email, a.amount")

NO_PARAMS_SQL = Q1_SQL.replace("WHERE a.amount >= :min_amount", "")


@pytest.fixture
def room(admin, make_org):
    return build_room(admin, make_org)


def _write(builder: QuestionBuilder, name: str, sql: str) -> None:
    builder.name.value, builder.sql.value = name, sql


def test_check_and_save_list_every_violation_inline_and_save_nothing(room):
    builder = QuestionBuilder(room.owner)
    assert "<code>publisher</code> (Publisher): email, region, age_band" in builder.macros.value
    _write(builder, "Leaky", BAD_SQL)
    builder.check.click()
    assert "breaks the room's analysis rules" in builder.status.text
    rules = [(v["rule"], v["dataset"], v["column"]) for v in builder.violations]
    assert rules == [("allowed_outputs", "publisher", "email"), ("allowed_outputs", "advertiser", "amount"),
                     ("no_pii", "publisher", "email")]
    assert "3 rule violation(s)" in builder.report.value and "<td style='padding:2px 8px'>no_pii</td>" in builder.report.value
    builder.save.click()
    assert "not saved: 3 rule violation(s)" in builder.report.value and len(builder.violations) == 3
    assert "Traceback" not in builder.status.value
    assert room.owner.questions(room.id) == []


def test_author_saves_a_parameterised_question_then_the_owner_adds_it_and_sets_terms(room):
    builder = QuestionBuilder(room.owner)
    _write(builder, "Reach and spend", Q1_SQL)
    builder.max_rows.value, builder.max_groups.value = 5, 3
    row = builder.add_parameter()
    row.name.value, row.type.value, row.default.value, row.allowed.value = "min_amount", "number", "0", "0..1000"
    extra = builder.add_parameter()
    builder.remove_parameter(extra)
    builder.check.click()
    assert "No rule violations" in builder.report.value and builder.violations == []
    builder.save.click()
    assert "saved (version 1)" in builder.status.text, builder.status.text
    [saved] = room.owner.questions(room.id)
    assert builder.value == saved.id and saved.name == "Reach and spend" and not saved.in_room
    assert saved.parameters[0]["name"] == "min_amount" and saved.parameters[0]["type"] == "number"
    assert (saved.max_rows, saved.max_groups) == (5, 3)
    assert is_shown(builder.add_to_room)

    builder.add_to_room.click()
    assert "added to the room" in builder.status.text
    assert room.owner.question(room.id, saved.id).in_room and not is_shown(builder.add_to_room)

    builder.runners.value = (room.owner_org,)
    builder.receivers.value = (room.owner_org, room.partner_org)
    builder.save_terms.click()
    assert "terms saved" in builder.status.text
    terms = room.owner.question(room.id, saved.id).terms
    assert terms.runners == [room.owner_org] and sorted(terms.receivers) == sorted([room.owner_org, room.partner_org])

    # a per-question override: the partner may not see this question's code
    assert builder.perm_scope.value == "question"
    builder.grid.cells[(room.partner_org, "view_code")].value = False
    builder.save_perms.click()
    assert "1 override(s)" in builder.status.text
    partner_view = QuestionBuilder(room.partner)
    partner_view.pick.value = saved.id
    assert partner_view.sql.value == "" and "may not view its SQL" in partner_view.about.value
    assert not any(is_shown(w) for w in (partner_view.save, partner_view.add_to_room, partner_view.terms_box,
                                         partner_view.check))

    # editing makes a new version; the parameter row round-trips
    builder.description.value = "by region and age band"
    builder.save.click()
    assert "saved (version 2)" in builder.status.text
    assert [r.spec() for r in builder.params] == [
        {"name": "min_amount", "type": "number", "default": 0.0, "minimum": 0.0, "maximum": 1000.0}]


def test_partner_author_cannot_add_to_the_room(room):
    builder = QuestionBuilder(room.partner)
    assert is_shown(builder.save)  # the owner gave the partner Question Builder
    _write(builder, "Partner question", NO_PARAMS_SQL)
    builder.save.click()
    assert "the room owner adds it" in builder.status.text, builder.status.text
    assert not is_shown(builder.add_to_room) and not is_shown(builder.terms_box)
    assert [x.name for x in room.owner.questions(room.id)] == ["Partner question"]


def test_viewer_sees_no_authoring_or_owner_controls(room, user_client):
    client, user_id = user_client(room.owner, "vic")
    viewer_role = next(r.id for r in room.owner.roles(room.id) if r.name == "Viewer")
    room.owner.add_member(room.id, user_id, viewer_role)
    builder = QuestionBuilder(client)
    assert builder.room_pick.value == room.id
    assert not any(is_shown(w) for w in (builder.check, builder.save, builder.perms_box))
    owner = QuestionBuilder(room.owner)
    _write(owner, "Q1", NO_PARAMS_SQL)
    owner.save.click()
    assert "saved" in owner.status.text, owner.status.text
    builder.refresh.click()
    builder.pick.value = owner.value
    assert builder.name.value == "Q1"
    assert not any(is_shown(w) for w in (builder.check, builder.save, builder.clone, builder.add_to_room,
                                         builder.delete, builder.terms_box, builder.perms_box))


def test_the_data_and_questions_app_signs_in_and_starts_both_consoles(room):
    from widgets import data_and_questions_app

    app = data_and_questions_app(token="given", connect_with=lambda url, token: room.owner)
    manager, builder = app.app.children
    assert app.value == "alice" and app.children[-1] is app.app
    assert manager.room_pick.value == room.id and "users" in manager.conn_list.value
    assert builder.room_pick.value == room.id and "<code>advertiser</code>" in builder.macros.value

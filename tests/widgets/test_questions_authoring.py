"""Question builder authoring: the bundled SQL editor, macro completion, parameter descriptions.

Driven in-process over a real two-party room (real service and store)."""

from __future__ import annotations

import pytest

from tests.runs.room import Q1_SQL, build_room
from widgets import QuestionBuilder, QuestionRunner
from widgets.sql_editor import SqlEditor


@pytest.fixture
def room(admin, make_org):
    return build_room(admin, make_org)


def test_the_editor_offers_the_rooms_macros_and_the_parameters(room):
    builder = QuestionBuilder(room.owner)
    assert isinstance(builder.sql, SqlEditor)
    offered = {c["label"]: c for c in builder.sql.completions}
    assert offered["publisher"]["type"] == "table" and offered["publisher"]["columns"] == ["email", "region", "age_band"]
    assert offered["advertiser"]["type"] == "table" and "amount" in offered
    assert ":min_amount" not in offered
    row = builder.add_parameter()
    row.name.value, row.description.value = "min_amount", "smallest purchase counted"
    builder._offer_parameters()
    offered = {c["label"]: c for c in builder.sql.completions}
    assert offered[":min_amount"]["type"] == "variable" and "publisher" in offered


def test_a_parameter_description_is_saved_and_labels_the_runners_input(room):
    builder = QuestionBuilder(room.owner)
    builder.name.value, builder.sql.value = "Reach by spend", Q1_SQL
    row = builder.add_parameter()
    row.name.value, row.type.value, row.default.value = "min_amount", "number", "0"
    row.description.value = "Smallest purchase counted"
    builder.save.click()
    assert "saved (version 1)" in builder.status.text, builder.status.text
    [saved] = room.owner.questions(room.id)
    assert saved.parameters[0]["description"] == "Smallest purchase counted"
    builder.add_to_room.click()
    builder.pick.value = None
    builder.pick.value = saved.id  # reloaded from the service: the description comes back
    assert builder.params[0].description.value == "Smallest purchase counted"
    runner = QuestionRunner(room.owner)
    assert runner.param_widgets["min_amount"].description == "Smallest purchase counted"


def test_the_editor_bundle_is_local_and_loads_nothing_from_the_network():
    from widgets.sql_editor import _STATIC

    text = (_STATIC / "sql_editor.js").read_text(encoding="utf-8")
    assert str(SqlEditor()._esm) == text  # the widget ships exactly the bundled file
    assert "export" in text and "cm-editor" in text
    assert "cdn" not in text.lower() and "import(" not in text and "https://" not in text


@pytest.mark.parametrize("value", ["", "SELECT 1"])
def test_the_editor_value_round_trips(value):
    editor = SqlEditor(value=value)
    assert editor.value == value
    editor.value = "SELECT 2"
    assert editor.value == "SELECT 2"


def test_permission_settings_left_alone_read_default_not_blank(room):
    builder = QuestionBuilder(room.owner)
    cell = builder.grid.cells[(room.partner_org, "view_code")]
    assert cell.label == "default"
    assert builder.grid.rules() == []
    cell.value = False
    assert builder.grid.rules() == [{"permission": "view_code", "partner_org_id": room.partner_org, "allowed": False}]

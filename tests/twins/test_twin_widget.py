"""The question builder's "Try on synthetic twin", driven in-process over a real two-party room."""

from __future__ import annotations

import base64

import pytest

from tests.runs.room import Q1_SQL, build_room
from widgets import QuestionBuilder
from widgets._common import is_shown


@pytest.fixture
def room(admin, make_org):
    return build_room(admin, make_org, dp=True, k_min=5, epsilon_budget="10")


def _draft(builder: QuestionBuilder) -> None:
    builder.name.value, builder.sql.value = "Reach draft", Q1_SQL
    row = builder.add_parameter()
    row.name.value, row.type.value, row.default.value = "min_amount", "number", "0"


def test_try_on_twin_shows_a_labelled_free_answer(room):
    builder = QuestionBuilder(room.partner)
    _draft(builder)
    assert is_shown(builder.twin)
    builder.twin.button.click()  # no twins yet: the service says what to do
    assert "no synthetic twin" in builder.twin.status.text and not is_shown(builder.twin.answer)

    room.owner.publish_twin(room.id, room.publisher_dataset, epsilon="1", match_rate=0.5)
    room.partner.publish_twin(room.id, room.advertiser_dataset, epsilon="1", match_rate=1)
    spent = room.partner.budget(room.id, room.partner_org).epsilon_spent
    builder.twin.button.click()
    result = builder.twin.result
    assert result is not None and result.synthetic and is_shown(builder.twin.answer)
    assert "SYNTHETIC" in builder.twin.banner.value and "wb-synthetic" in builder.twin.banner.value
    assert "wb-twin-table" in builder.twin.table.value
    csv = base64.b64decode(builder.twin.csv.value.split("base64,")[1].split('"')[0]).decode()
    assert csv.startswith("# SYNTHETIC")
    assert builder.twin.figure is not None
    assert builder.twin.figure.layout.title.text.startswith("SYNTHETIC")
    assert "nothing was charged" in builder.twin.status.text
    assert room.partner.budget(room.id, room.partner_org).epsilon_spent == spent
    assert room.partner.runs(room.id) == [] and room.owner.questions(room.id) == []


def test_rooms_without_dp_have_no_twin_button(admin, make_org):
    exact = build_room(admin, make_org, dp=False, k_min=5)
    builder = QuestionBuilder(exact.owner)
    assert not is_shown(builder.twin)

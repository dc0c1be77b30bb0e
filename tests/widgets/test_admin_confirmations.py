"""Destructive buttons in the other consoles ask first, naming what goes, and act only on Confirm:
delete a schedule, delete a question, delete a data connection (issue 14.3)."""

from __future__ import annotations

import datetime as dt

from widgets._common import is_shown
from widgets.datasets import DatasetManager
from widgets.questions import QuestionBuilder
from widgets.schedules import SchedulesPanel

from tests.runs.room import add_q1, build_room, publisher_frame


def test_schedule_question_and_connection_deletions_ask_first(admin, make_org):
    room = build_room(admin, make_org, publisher=publisher_frame(60))
    qid = add_q1(room)
    owner = room.owner
    made = owner.create_schedule(room.id, "nightly reach", "0 3 * * *", question_id=qid,
                                 parameters={"min_amount": 0}, epsilon="0.1",
                                 ends_at=dt.datetime.now(dt.UTC) + dt.timedelta(days=7))

    panel = SchedulesPanel(owner, room.id)
    panel.pick.value = made.id
    panel.delete.click()
    assert panel.confirm.text.startswith("Delete the schedule 'nightly reach'?")
    assert "runs stay" in panel.confirm.text
    panel.confirm.no.click()
    assert [s.id for s in owner.schedules(room.id)] == [made.id]
    panel.delete.click()
    panel.confirm.yes.click()
    assert "Deleted the schedule 'nightly reach'" in panel.status.text
    assert owner.schedules(room.id) == []

    builder = QuestionBuilder(owner)
    builder.pick.value = qid
    name = builder.name.value
    builder.delete.click()
    assert builder.confirm.text.startswith(f"Delete the question {name!r} from ")
    assert owner.question(room.id, qid).in_room
    builder.confirm.yes.click()
    assert f"question {name!r} deleted from the room" in builder.status.text, builder.status.text
    assert qid not in [q.id for q in owner.questions(room.id)]

    manager = DatasetManager(owner)
    manager.conn_pick.value = room.publisher_connection
    manager.delete_conn.click()
    assert manager.confirm_conn.text.startswith("Delete the connection 'users' everywhere?")
    assert is_shown(manager.confirm_conn)
    assert room.publisher_connection in [c.id for c in owner.connections()]
    manager.confirm_conn.yes.click()
    assert "connection deleted with 1 room dataset(s)" in manager.status.text, manager.status.text
    assert room.publisher_connection not in [c.id for c in owner.connections()]


def test_a_deletion_asked_about_one_thing_never_deletes_another(admin, make_org):
    """Confirm acts on what the question named: picking something else withdraws the question,
    and an answered question deletes the connection it named even if the picker moved."""
    first, second = build_room(admin, make_org), build_room(admin, make_org)
    manager = DatasetManager(admin)
    manager.conn_pick.value = first.publisher_connection
    manager.delete_conn.click()
    assert manager.confirm_conn.pending
    manager.conn_pick.value = second.publisher_connection
    assert not manager.confirm_conn.pending and not is_shown(manager.confirm_conn)

    manager.conn_pick.value = first.publisher_connection
    manager.delete_conn.click()
    action = manager.confirm_conn._action  # what Confirm would run, then pressed after a move
    manager.conn_pick.value = second.publisher_connection
    action()
    left = [c.id for c in admin.connections()]
    assert first.publisher_connection not in left and second.publisher_connection in left

    manager.value = second.id
    manager.ds_pick.value = manager.ds_pick.options[0][1]
    manager.unlink.click()
    assert manager.confirm_unlink.pending
    manager.value = first.id  # another room: the question about the second room's dataset goes
    assert not manager.confirm_unlink.pending
    assert admin.datasets(second.id) != []

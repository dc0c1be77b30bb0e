"""Reads never wait for writes: a long write holds the store's write lock, reads still answer.

The in-process client runs the very application `workbench serve` runs. A thread holds the write
lock (as a slow write transaction would); reads of metadata, first answered or served again, must
come back while it is held, and the refusal of a read (which waits for its audit commit) must come
back as soon as the lock is released.
"""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

import workbench as wb
from tests.conftest import Org
from workbench.service.local import connect_local, local_app


def in_thread(call: Callable[[], Any]) -> tuple[threading.Thread, dict[str, Any]]:
    out: dict[str, Any] = {}

    def run() -> None:
        try:
            out["value"] = call()
        except Exception as exc:  # the test inspects it
            out["error"] = exc

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return thread, out


def hold_write_lock(store_dir: Path) -> tuple[threading.Event, threading.Thread]:
    store = local_app(store_dir).state.store
    held, release = threading.Event(), threading.Event()

    def writer() -> None:
        with store.transaction():
            held.set()
            release.wait(120)

    thread = threading.Thread(target=writer, daemon=True)
    thread.start()
    assert held.wait(60)
    return release, thread


def test_metadata_reads_answer_while_a_write_holds_the_lock(publisher: Org, store_dir: Path) -> None:
    admin = publisher.admin
    room = admin.create_room("Busy room", start_date=dt.date.today() - dt.timedelta(days=1))
    release, writer = hold_write_lock(store_dir)
    try:
        for call in (lambda: admin.room(room.id), lambda: admin.rooms(), lambda: admin.datasets(room.id),
                     lambda: admin.room(room.id)):
            thread, out = in_thread(call)
            thread.join(60)
            assert not thread.is_alive(), "a read waited for the write lock"
            assert "error" not in out, out
    finally:
        release.set()
        writer.join(60)
    assert admin.room(room.id).name == "Busy room"


def test_a_refused_read_waits_for_its_audit_row_then_answers(publisher: Org, store_dir: Path) -> None:
    admin = publisher.admin
    room = admin.create_room("Private room", start_date=dt.date.today() - dt.timedelta(days=1))
    outsider = admin.create_org("Outsider", "eve")
    assert outsider.token.secret is not None
    eve = connect_local(store_dir, outsider.token.secret)
    release, writer = hold_write_lock(store_dir)
    try:
        thread, out = in_thread(lambda: eve.room(room.id))
        thread.join(2)
        assert thread.is_alive(), "the refusal was sent before its audit row could be committed"
    finally:
        release.set()
        writer.join(60)
    thread.join(60)
    assert isinstance(out.get("error"), wb.NotFound)
    denied = [e for e in eve.audit(limit=50) if e.action == "room.read" and e.outcome == "denied"]
    assert len(denied) == 1


@pytest.mark.parametrize("reads", [1, 5])
def test_served_again_reads_are_each_audited_while_the_lock_is_held(publisher: Org, store_dir: Path,
                                                                    reads: int) -> None:
    admin = publisher.admin
    room = admin.create_room(f"Audited room {reads}", start_date=dt.date.today() - dt.timedelta(days=1))
    admin.room(room.id)
    before = len(admin.audit(room_id=room.id, action="room.read", limit=1000))
    release, writer = hold_write_lock(store_dir)
    try:
        for _ in range(reads):
            thread, out = in_thread(lambda: admin.room(room.id))
            thread.join(60)
            assert not thread.is_alive() and "error" not in out
    finally:
        release.set()
        writer.join(60)
    assert len(admin.audit(room_id=room.id, action="room.read", limit=1000)) == before + reads

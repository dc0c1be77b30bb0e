"""Run limits and the strictest k-min, each written as the abuse it stops: flooding a room with
runs, a run that never ends, a partner's floor ignored, an exact suppression count leaked."""

from __future__ import annotations

import time
from types import SimpleNamespace

import pytest

import workbench as wb
from tests.conftest import TEST_KEY
from tests.runs.room import add_q1, build_room
from workbench.engine import DuckDBEngine
from workbench.runs import limits
from workbench.store import Store


@pytest.fixture
def room(admin, make_org):
    return build_room(admin, make_org, epsilon_budget="10000000")


def test_a_run_past_the_rooms_concurrency_limit_gets_busy_and_is_not_charged(room):
    qid = add_q1(room)
    me = room.owner.whoami().user.id
    before = room.owner.budget(room.id).epsilon_spent
    # another run of the same user is executing (the slot the run path takes, held here)
    with limits.SLOTS.hold(room.id, me, limits.Limits()):
        with limits.SLOTS.hold(room.id, me, limits.Limits()):
            with pytest.raises(wb.Busy, match="already have 2 runs executing"):
                room.owner.run(room.id, qid, {"min_amount": 0}, epsilon="1")
        assert room.owner.budget(room.id).epsilon_spent == before
        room.owner.set_run_limits(room.id, max_concurrent_per_user=1)
        with pytest.raises(wb.Busy, match="already have 1 runs executing"):
            room.owner.run(room.id, qid, {"min_amount": 0}, epsilon="1")
    refused = [e for e in room.owner.audit(room_id=room.id) if e.action == "run.refused"]
    assert len(refused) == 2 and room.owner.budget(room.id).epsilon_spent == before
    assert room.owner.run(room.id, qid, {"min_amount": 0}, epsilon="1").status == "succeeded"
    assert limits.SLOTS.executing(room.id) == 0  # every slot given back


def test_a_room_wide_limit_stops_many_users_at_once(room):
    qid = add_q1(room)
    room.owner.set_run_limits(room.id, max_concurrent_per_room=1)
    with limits.SLOTS.hold(room.id, "someone-else", limits.Limits()):
        with pytest.raises(wb.Busy, match="the room already has 1 runs executing"):
            room.owner.run(room.id, qid, {"min_amount": 0}, epsilon="1")


def test_run_limits_are_the_owners_and_refuse_nonsense(room):
    shown = room.partner.run_limits(room.id)
    assert (shown.timeout_seconds, shown.max_concurrent_per_user,
            shown.max_concurrent_per_room) == (120, 2, 4)
    with pytest.raises(wb.PermissionDenied):
        room.partner.set_run_limits(room.id, timeout_seconds=3600)
    with pytest.raises(wb.InvalidInput):
        room.owner.set_run_limits(room.id, timeout_seconds=0)
    assert room.owner.set_run_limits(room.id, timeout_seconds=30).timeout_seconds == 30
    assert room.owner.set_run_limits(room.id, timeout_seconds=0.5).timeout_seconds == 0.5
    assert room.partner.run_limits(room.id).max_concurrent_per_user == 2


def test_a_query_that_outlives_the_timeout_is_interrupted(tmp_path):
    store = Store.open(tmp_path / "s", TEST_KEY, create=True)
    try:
        slow = SimpleNamespace(sql="SELECT count(*) FROM range(100000000) a, range(100000) b",
                               params=[])
        started = time.monotonic()
        with limits.deadline(1), pytest.raises(wb.errors.TimedOut, match="budget stays spent"):
            DuckDBEngine(store).execute(slow)  # type: ignore[arg-type]
        assert time.monotonic() - started < 20
    finally:
        store.close()


def test_the_engine_memory_limit_is_set_before_the_store_locks(tmp_path, monkeypatch):
    monkeypatch.setenv(limits.MEMORY_ENV, "512MiB")
    store = Store.open(tmp_path / "s", TEST_KEY, create=True)
    with store.reader() as cur:
        assert cur.execute("SELECT current_setting('memory_limit')").fetchone()[0] == "512.0 MiB"
        with pytest.raises(Exception, match="lock"):
            cur.execute("SET memory_limit = '64GB'")
    store.close()
    monkeypatch.setenv(limits.MEMORY_ENV, "lots")
    with pytest.raises(wb.InvalidInput, match="such as 4GB"):
        Store.open(tmp_path / "s", TEST_KEY)


def test_a_partners_dataset_floor_binds_the_owners_runs_and_no_dp_suppression_count_leaks(room):
    qid = add_q1(room)
    room.partner.set_k_min_floor(room.id, room.advertiser_dataset, 34)
    assert room.owner.plan(room.id, qid, {"min_amount": 0}, epsilon="1000000").k_min == 34
    run = room.owner.run(room.id, qid, {"min_amount": 0}, epsilon="1000000")
    result = room.owner.run_result(room.id, run.id)
    # 12 public keys: 6 empty, 6 with 33 or 34 people; the floor (not the room's 1) decides
    assert result.rows and all(r[2] >= 34 for r in result.rows) and len(result.rows) < 12
    assert run.k_min == 34
    assert result.metadata["suppressed_rows"] is None
    done = [e for e in room.owner.audit(room_id=room.id) if e.action == "run.completed"]
    assert done[0].detail["suppressed_rows"] is None


def test_a_run_past_its_timeout_fails_and_stays_charged(live_service):
    """Over real HTTP: a timeout shorter than the charge-and-start step (a millisecond) times
    every run out after the charge; nothing is released and the budget is not given back."""
    room = build_room(live_service.client(live_service.admin_token), live_service.make_org)
    qid = add_q1(room)
    room.owner.set_run_limits(room.id, timeout_seconds=0.001)
    with pytest.raises(wb.errors.TimedOut, match="stays spent") as caught:
        room.owner.run(room.id, qid, {"min_amount": 0}, epsilon="1")
    run = room.owner.get_run(room.id, caught.value.details["run_id"])
    assert run.status == "failed" and run.metadata.get("engine_seconds") is None
    with pytest.raises(wb.Conflict, match="no result"):
        room.owner.run_result(room.id, run.id)
    assert room.owner.budget(room.id).epsilon_spent == "1"
    assert room.partner.budget(room.id).epsilon_spent == "1"  # every data party stays charged

"""The audit log under concurrency: group commit, durability, the hash chain in commit order.

A real store in a temporary folder; the audit writer is driven the way the policy drives it:
through reader cursors (reads, group-committed) and write transactions (writes and refusals).
"""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

from tests.conftest import TEST_KEY
from workbench.governance import audit
from workbench.governance.model import Actor
from workbench.store import Store

ACTOR = Actor(user_id="u-1", org_id="o-1", user_name="ann", org_roles=frozenset())


@pytest.fixture
def store(tmp_path: Path):
    s = Store.open(tmp_path / "store", TEST_KEY, create=True)
    yield s
    s.close()


def rows(store: Store) -> list[tuple]:
    with store.reader() as cur:
        return cur.execute("SELECT seq, action, outcome FROM audit_events ORDER BY seq").fetchall()


def read_many(store: Store, threads: int, each: int, outcome: str) -> None:
    def reader(k: int) -> None:
        for j in range(each):
            with store.reader() as cur:
                audit.record(cur, ACTOR, "room.read", outcome=outcome, resource_id=f"{k}-{j}")

    workers = [threading.Thread(target=reader, args=(k,)) for k in range(threads)]
    for w in workers:
        w.start()
    for w in workers:
        w.join()


def test_concurrent_reads_all_land_in_one_unbroken_chain(store: Store) -> None:
    read_many(store, threads=16, each=25, outcome="allowed")
    with store.reader() as cur:
        audit.flush(cur)
        assert audit.first_broken(cur) is None
        entries = audit.chain(cur)
    seqs = [seq for seq, _ in entries]
    assert seqs == list(range(1, 401)), "every read audited once, seq dense and in chain order"
    ids = {e.payload["resource_id"] for _, e in entries}
    assert len(ids) == 400


def test_a_refused_read_is_durable_before_the_refusal_returns(store: Store) -> None:
    """No flush: the refusal's own commit must already hold it when record() returns."""
    read_many(store, threads=8, each=5, outcome="denied")
    with store.reader() as cur:
        count = cur.execute("SELECT count(*) FROM audit_events WHERE outcome = 'denied'").fetchone()[0]
    assert count == 40


def test_a_refusal_inside_a_write_outlives_the_rollback(store: Store) -> None:
    with pytest.raises(RuntimeError):
        with store.transaction() as cur:
            audit.record(cur, ACTOR, "room.update", outcome="allowed")
            audit.record(cur, ACTOR, "partner.invite", outcome="denied")
            raise RuntimeError("the operation fails after the refusal")
    with store.transaction() as cur:
        audit.record(cur, ACTOR, "room.create", outcome="allowed")
    assert [r[1:] for r in rows(store)] == [("partner.invite", "denied"), ("room.create", "allowed")]
    with store.reader() as cur:
        assert audit.first_broken(cur) is None


def test_a_writes_events_go_with_the_write(store: Store) -> None:
    with pytest.raises(ValueError):
        with store.transaction() as cur:
            audit.record(cur, ACTOR, "room.update", outcome="allowed")
            raise ValueError
    assert rows(store) == []


def test_reads_and_writes_interleaved_keep_commit_order(store: Store) -> None:
    stop = threading.Event()

    def writer() -> None:
        while not stop.is_set():
            with store.transaction() as cur:
                audit.record(cur, ACTOR, "room.update", outcome="allowed")

    w = threading.Thread(target=writer)
    w.start()
    try:
        read_many(store, threads=8, each=20, outcome="allowed")
    finally:
        stop.set()
        w.join()
    with store.reader() as cur:
        audit.flush(cur)
        assert audit.first_broken(cur) is None
        seqs = [s for s, _ in audit.chain(cur)]
    assert seqs == list(range(1, len(seqs) + 1))


def test_closing_the_store_commits_queued_reads(tmp_path: Path) -> None:
    s = Store.open(tmp_path / "store", TEST_KEY, create=True)
    read_many(s, threads=4, each=10, outcome="allowed")
    s.close()
    again = Store.open(tmp_path / "store", TEST_KEY)
    try:
        assert len(rows(again)) == 40
        with again.reader() as cur:
            assert audit.first_broken(cur) is None
    finally:
        again.close()


@pytest.mark.parametrize("tamper, broken", [
    ("DELETE FROM audit_events WHERE seq = 3", 4),
    ("UPDATE audit_events SET reason = 'nothing to see' WHERE seq = 2", 2),
    ("UPDATE audit_events SET outcome = 'allowed' WHERE seq = 5", 5),
])
def test_the_chain_names_the_first_tampered_event(store: Store, tamper: str, broken: int) -> None:
    for k in range(6):
        with store.transaction() as cur:
            audit.record(cur, ACTOR, "room.update", outcome="denied" if k == 4 else "allowed",
                         reason="why", detail={"k": k, "share": 0.1})
    with store.transaction() as cur:
        cur.execute(tamper)
    with store.reader() as cur:
        assert audit.first_broken(cur) == broken


def test_an_event_hash_commits_to_every_column(store: Store) -> None:
    with store.transaction() as cur:
        audit.record(cur, ACTOR, "room.update", room_id="r", resource_type="room", resource_id="r",
                     resource_org_id="o-1", outcome="allowed", reason="holds it", detail={"a": [1, 2]})
    with store.reader() as cur:
        (seq, entry), = audit.chain(cur)
    assert set(entry.payload) == {"seq", "occurred_at", "actor_user_id", "actor_org_id", "action", "room_id",
                                  "resource_type", "resource_id", "resource_org_id", "outcome", "reason",
                                  "detail"}
    assert entry.payload["occurred_at"].endswith("+00:00")

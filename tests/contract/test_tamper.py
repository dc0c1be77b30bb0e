"""Tamper evidence over a real service: each test is an attack on the ledger by someone who holds
the store and its key (an operator restoring a copy, a row deleted to give budget back)."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

import workbench as wb
from tests.contract.served import Served, new_served
from tests.runs.room import add_q1, build_room
from workbench.client.contract import CONFIG_ENV


@pytest.fixture
def served(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Served]:
    monkeypatch.setenv(CONFIG_ENV, str(tmp_path / "config"))
    s = new_served(tmp_path)
    s.start()
    yield s
    s.stop()


def _room_with_runs(s: Served, runs: int):
    owner = s.client(s.admin_token)
    room = build_room(owner, s.make_org)
    qid = add_q1(room)
    for _ in range(runs):
        room.owner.run(room.id, qid, {"min_amount": 0}, epsilon="1")
    return room, qid


def _backup(s: Served, where: Path) -> Path:
    """Stop the service, copy its store folder (what an operator's backup holds), restart it."""
    s.stop()
    shutil.copytree(s.store, where)
    s.start()
    return where


def _restore(s: Served, backup: Path) -> None:
    """Stop the service, put the old copy back, restart: the store is internally consistent."""
    s.stop()
    shutil.rmtree(s.store)
    shutil.copytree(backup, s.store)
    s.start()


def _reconnect(s: Served, room) -> tuple[wb.Client, wb.Client]:
    owner = s.client(s.admin_token)
    partner_token = room.partner._http.headers["Authorization"].split()[1]
    return owner, s.client(partner_token)


def test_an_intact_ledger_verifies_for_every_party_and_shows_only_its_own_entries(served: Served):
    room, _ = _room_with_runs(served, 2)
    mine = room.owner.verify(room.id)
    # one entry per run per party whose data it reads: both parties, twice
    assert mine.length == 4 and mine.recomputed == 2 and mine.previous_head is None
    assert mine.audit_recomputed > 0 and mine.audit_head_seq > 0  # the room's events about us
    theirs = room.partner.verify(room.id)
    assert theirs.head == mine.head and theirs.recomputed == 2
    chain = room.partner.chain(room.id)
    shown = [e.payload for e in chain.entries if e.payload is not None]
    assert len(shown) == 2 and {p["org_id"] for p in shown} == {room.partner_org}
    again = room.owner.verify(room.id)
    assert again.previous_head == mine.head


def test_restoring_an_older_copy_of_the_store_to_give_budget_back_is_detected(served: Served,
                                                                              tmp_path: Path):
    room, qid = _room_with_runs(served, 1)
    backup = _backup(served, tmp_path / "backup")
    owner, partner = _reconnect(served, room)
    owner.run(room.id, qid, {"min_amount": 0}, epsilon="1")
    assert owner.verify(room.id).length == 4
    assert partner.verify(room.id).length == 4
    spent = owner.budget(room.id).epsilon_spent
    _restore(served, backup)  # internally consistent: the service itself cannot tell
    owner, partner = _reconnect(served, room)
    assert owner.budget(room.id).epsilon_spent != spent  # the attack: budget given back
    with pytest.raises(wb.TamperDetected, match="lost entries.*first missing entry is 2"):
        owner.verify(room.id)
    with pytest.raises(wb.TamperDetected, match="restored from an older copy"):
        partner.verify(room.id)


def test_deleting_a_ledger_row_with_the_key_stops_the_service_and_says_where(served: Served):
    room, _ = _room_with_runs(served, 2)
    served.stop()
    store = served.open_store()
    with store.transaction() as cur:
        (seq,) = cur.execute("SELECT min(seq) FROM budget_ledger WHERE room_id = ?",
                             [room.id]).fetchone()
        cur.execute("DELETE FROM budget_ledger WHERE seq = ?", [seq])
    store.close()
    with pytest.raises(RuntimeError, match=f"room {room.id} is broken at entry 0: ledger row "
                                           f"{seq} was deleted"):
        served.start()


def test_editing_a_ledger_amount_with_the_key_stops_the_service(served: Served):
    room, _ = _room_with_runs(served, 1)
    served.stop()
    store = served.open_store()
    with store.transaction() as cur:
        cur.execute("UPDATE budget_ledger SET epsilon = '0' WHERE room_id = ?", [room.id])
    store.close()
    with pytest.raises(RuntimeError, match="broken at entry 0: ledger row .* was changed"):
        served.start()


def test_deleting_the_last_entry_and_its_chain_link_is_caught_by_the_parties(served: Served):
    room, _ = _room_with_runs(served, 2)
    assert room.owner.verify(room.id).length == 4
    served.stop()
    store = served.open_store()
    with store.transaction() as cur:
        (seq,) = cur.execute("SELECT max(seq) FROM budget_ledger WHERE room_id = ?",
                             [room.id]).fetchone()
        cur.execute("DELETE FROM budget_ledger WHERE seq = ?", [seq])
        cur.execute("DELETE FROM contract_chain WHERE room_id = ? AND ref = ?", [room.id, str(seq)])
    store.close()
    served.start()  # the rest of the chain is intact: only a party's memory shows the loss
    owner, _ = _reconnect(served, room)
    with pytest.raises(wb.TamperDetected, match="first missing entry is 3"):
        owner.verify(room.id)


def test_a_forged_chain_from_the_service_is_refused_by_the_client():
    from workbench.client.contract import check_chain
    from workbench.contract.chain import GENESIS, link
    from workbench.wire.contract import Chain, ChainEntry

    p0, p1 = {"seq": "1", "epsilon": "1"}, {"seq": "2", "epsilon": "1"}
    h0 = link(GENESIS, p0)
    h1 = link(h0, p1)
    good = [ChainEntry(seq=0, prev_hash=GENESIS, entry_hash=h0, payload=p0),
            ChainEntry(seq=1, prev_hash=h0, entry_hash=h1, payload=p1)]
    assert check_chain(Chain(room_id="r", chain="ledger", head=h1, length=2, entries=good), None) == 2
    forged = [good[0], ChainEntry(seq=1, prev_hash=h0, entry_hash=h1, payload={**p1, "epsilon": "0"})]
    with pytest.raises(wb.TamperDetected, match="entry 1 does not match its hash"):
        check_chain(Chain(room_id="r", chain="ledger", head=h1, length=2, entries=forged), None)
    with pytest.raises(wb.TamperDetected, match="entry 0 does not extend"):
        check_chain(Chain(room_id="r", chain="ledger", head=h1, length=1, entries=good[1:]), None)
    with pytest.raises(wb.TamperDetected, match="no longer extends the head you verified"):
        check_chain(Chain(room_id="r", chain="ledger", head=h1, length=2, entries=good),
                    {"head": "f" * 64, "length": 2})


def test_deleting_an_audit_event_with_the_key_stops_the_service(served: Served):
    room, _ = _room_with_runs(served, 1)
    served.stop()
    store = served.open_store()
    with store.transaction() as cur:
        (seq,) = cur.execute("SELECT min(seq) FROM audit_events WHERE room_id = ?"
                             " AND action = 'run.create'", [room.id]).fetchone()
        cur.execute("DELETE FROM audit_events WHERE seq = ?", [seq])
    store.close()
    with pytest.raises(RuntimeError, match="audit log's hash chain is broken at event"):
        served.start()


def test_rolling_back_only_the_audit_log_is_caught_by_the_parties(served: Served, tmp_path: Path):
    room, _ = _room_with_runs(served, 1)
    backup = _backup(served, tmp_path / "backup")
    owner, _ = _reconnect(served, room)
    owner.update_room(room.id, description="what we agreed")  # audited, no ledger entry
    assert owner.verify(room.id).length == 2
    _restore(served, backup)
    owner, _ = _reconnect(served, room)
    with pytest.raises(wb.TamperDetected, match="audit log"):
        owner.verify(room.id)

"""A store from before party ledgers keeps working: migration 0220 re-keys each charge from its
receiving orgs to the data parties it read, never charging less than before, and the first
chained charge afterwards chains the migrated rows first, so the service still starts."""

from __future__ import annotations

import datetime as dt
import json
from fractions import Fraction
from pathlib import Path

from tests.conftest import TEST_KEY
from workbench.contract.verification import check_store
from workbench.governance.model import Room
from workbench.privacy.budget import Budget
from workbench.runs import budgets
from workbench.store import Store, _store

ROOM = "11111111-1111-1111-1111-111111111111"


def _old_store(path: Path, monkeypatch) -> None:
    """A store with only the migrations before 0220, holding per-receiver ledger rows."""
    every = _store.migrations()
    monkeypatch.setattr(_store, "migrations", lambda: [m for m in every if m[0] < 220])
    store = Store.open(path, TEST_KEY, create=True)
    with store.transaction() as cur:
        cur.execute("INSERT INTO provisioned_datasets (id, room_id, org_id, connection_id, name,"
                    " columns, row_filter, partners_may_assign, view_name, created_by) VALUES"
                    " ('d-pub', ?, 'publisher', 'c-pub', 'users', ['x'], NULL, true, 'v1', 'u'),"
                    " ('d-adv', ?, 'advertiser', 'c-adv', 'sales', ['x'], NULL, true, 'v2', 'u')",
                    [ROOM, ROOM])
        cur.execute("INSERT INTO runs (id, room_id, question_id, question_version, question_name,"
                    " org_id, user_id, receivers, parameters, mode, epsilon, delta, k_min, status,"
                    " metadata) VALUES ('run-1', ?, 'q', 1, 'n', 'publisher', 'u',"
                    " ['publisher', 'agency'], '{}', 'dp', '1', '0', 1, 'succeeded', ?)",
                    [ROOM, json.dumps({"datasets": ["d-pub", "d-adv"]})])
        for org, state in [("publisher", "reserved"), ("agency", "reserved"),
                           ("publisher", "committed"), ("agency", "committed")]:
            cur.execute("INSERT INTO budget_ledger (seq, room_id, org_id, charge_id, state, epsilon,"
                        " delta) VALUES (nextval('budget_ledger_seq'), ?, ?, 'run-1', ?, '1', '0')",
                        [ROOM, org, state])
        # a charge whose run is gone: every data party of the room pays it
        cur.execute("INSERT INTO budget_ledger (seq, room_id, org_id, charge_id, state, epsilon,"
                    " delta) VALUES (nextval('budget_ledger_seq'), ?, 'agency', 'gone', 'committed',"
                    " '1/2', '0')", [ROOM])
    store.close()
    monkeypatch.undo()


def test_per_receiver_charges_become_per_party_and_chain_on_the_next_charge(tmp_path, monkeypatch):
    path = tmp_path / "store"
    _old_store(path, monkeypatch)
    store = Store.open(path, TEST_KEY)
    room = Room(id=ROOM, name="r", description="", owner_org_id="publisher",
                start_date=dt.date(2026, 1, 1), end_date=None, k_min=1, dp_enabled=True,
                epsilon_budget=Fraction(10), delta_budget=Fraction(0), intelligence=False,
                flows=False)
    try:
        with store.reader() as cur:
            spent = {org: budgets.spent(cur, ROOM, org).epsilon
                     for org in ("publisher", "advertiser", "agency")}
            # the receiver-only agency is no longer charged; both data parties paid both charges
            assert spent == {"publisher": Fraction(3, 2), "advertiser": Fraction(3, 2),
                             "agency": 0}
            assert budgets.connection_spent(cur, "c-adv").epsilon == 1
        with store.transaction() as cur:
            budgets.charge(cur, room, ["publisher", "advertiser"], [], "run-2",
                           Budget(epsilon=Fraction(1)), "u")
        with store.reader() as cur:
            assert check_store(cur) == 1  # the migrated rows were chained before the new one
            assert budgets.figures(cur, room, "advertiser").left.epsilon == Fraction(15, 2)
    finally:
        store.close()

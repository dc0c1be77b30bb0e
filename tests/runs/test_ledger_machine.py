"""A Hypothesis state machine over multi-party ledgers in a real store.

Random interleavings of charges (to any parties, drawing on any connections), parties changing
their own budgets and owners changing connection caps, checked against a small reference model:
no party's spent ever exceeds its budget, no connection's draws ever exceed its cap, and every
refusal (BudgetExceeded, or a budget/cap below what is spent) changes nothing.
"""

from __future__ import annotations

import datetime as dt
import tempfile
from fractions import Fraction
from pathlib import Path

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule

from tests.conftest import TEST_KEY
from workbench.errors import BudgetExceeded, InvalidInput
from workbench.governance.model import Room
from workbench.ids import new_id
from workbench.privacy.budget import Budget
from workbench.runs import budgets
from workbench.store import Store

PARTIES = ("publisher", "advertiser", "agency")
CONNECTIONS = {"crm": "publisher", "sales": "advertiser"}
amounts = st.fractions(min_value=Fraction(1, 100), max_value=Fraction(4), max_denominator=100)


_shared: list[Store] = []


def _store() -> Store:
    """One real store for every example (each example has its own room and connections)."""
    if not _shared:
        _shared.append(Store.open(Path(tempfile.mkdtemp()) / "store", TEST_KEY, create=True))
    return _shared[0]


class Ledgers(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.store = _store()
        self.ids = {c: f"{c}-{new_id()}" for c in CONNECTIONS}
        self.room = Room(id=new_id(), name="r", description="", owner_org_id="publisher",
                         start_date=dt.date(2026, 1, 1), end_date=None, k_min=1, dp_enabled=True,
                         epsilon_budget=Fraction(5), delta_budget=Fraction(0), intelligence=False,
                         flows=False)
        self.budget = dict.fromkeys(PARTIES, Fraction(5))
        self.spent = dict.fromkeys(PARTIES, Fraction(0))
        self.cap: dict[str, Fraction | None] = dict.fromkeys(CONNECTIONS)
        self.drawn = dict.fromkeys(CONNECTIONS, Fraction(0))

    @rule(parties=st.sets(st.sampled_from(PARTIES), min_size=1),
          connections=st.sets(st.sampled_from(sorted(CONNECTIONS))), epsilon=amounts)
    def charge(self, parties: set[str], connections: set[str], epsilon: Fraction) -> None:
        sources = [budgets.Source(connection_id=self.ids[c], name=c, org_id=CONNECTIONS[c])
                   for c in sorted(connections)]
        fits = (all(self.spent[p] + epsilon <= self.budget[p] for p in parties)
                and all(self.cap[c] is None or self.drawn[c] + epsilon <= self.cap[c]
                        for c in connections))
        try:
            with self.store.transaction() as cur:
                budgets.charge(cur, self.room, sorted(parties), sources, new_id(),
                               Budget(epsilon=epsilon), "user")
        except BudgetExceeded:
            assert not fits
            return
        assert fits
        for p in parties:
            self.spent[p] += epsilon
        for c in connections:
            self.drawn[c] += epsilon

    @rule(party=st.sampled_from(PARTIES), epsilon=amounts.map(lambda a: a * 2))
    def set_budget(self, party: str, epsilon: Fraction) -> None:
        try:
            with self.store.transaction() as cur:
                budgets.set_party_budget(cur, self.room.id, party, Budget(epsilon=epsilon), "user")
        except InvalidInput:
            assert epsilon < self.spent[party]
            return
        assert epsilon >= self.spent[party]
        self.budget[party] = epsilon

    @rule(connection=st.sampled_from(sorted(CONNECTIONS)),
          epsilon=st.none() | amounts.map(lambda a: a * 3))
    def set_cap(self, connection: str, epsilon: Fraction | None) -> None:
        cap = None if epsilon is None else Budget(epsilon=epsilon)
        try:
            with self.store.transaction() as cur:
                budgets.set_connection_cap(cur, self.ids[connection], cap, "owner")
        except InvalidInput:
            assert epsilon is not None and epsilon < self.drawn[connection]
            return
        self.cap[connection] = epsilon

    @invariant()
    def nobody_overspends(self) -> None:
        with self.store.reader() as cur:
            for party in PARTIES:
                figures = budgets.figures(cur, self.room, party)
                assert figures.spent.epsilon == self.spent[party]
                assert figures.total.epsilon == self.budget[party]
                assert figures.spent.epsilon <= figures.total.epsilon
            for connection in CONNECTIONS:
                drawn = budgets.connection_spent(cur, self.ids[connection]).epsilon
                assert drawn == self.drawn[connection]
                cap = budgets.connection_cap(cur, self.ids[connection])
                assert cap is None or drawn <= cap.epsilon


TestLedgers = Ledgers.TestCase
TestLedgers.settings = settings(max_examples=10, stateful_step_count=20, deadline=None,
                                suppress_health_check=[HealthCheck.too_slow])

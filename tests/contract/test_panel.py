"""The contract panel in-process, over a real store: what each party sees and may press."""

from __future__ import annotations

import pytest

from tests.runs.room import add_q1, build_room
from widgets._common import is_shown
from widgets.contract import ContractPanel
from widgets.governance import OwnerConsole, PartnerConsole
from workbench.client.contract import CONFIG_ENV


@pytest.fixture
def room(admin, make_org, tmp_path, monkeypatch):
    monkeypatch.setenv(CONFIG_ENV, str(tmp_path / "config"))
    return build_room(admin, make_org)


def test_the_affected_party_approves_in_the_panel_and_the_owner_cannot(room):
    proposal = room.owner.propose(room.id, dp_enabled=False)
    owners = ContractPanel(room.owner)
    owners.load(room.owner.room(room.id))
    assert "switches differential privacy off" in owners.table.value
    assert not is_shown(owners.decide_box)  # the owner already approved by proposing
    partners = ContractPanel(room.partner)
    partners.load(room.partner.room(room.id))
    assert is_shown(partners.decide_box) and partners.pick.value == proposal.id
    partners.approve.click()
    assert "now applied" in partners.status.text
    assert "OFF (exact results)" in partners.protections.value
    assert not is_shown(partners.decide_box)


def test_the_panel_shows_each_partys_budget_and_verifies_the_ledger(room):
    qid = add_q1(room)
    room.owner.run(room.id, qid, {"min_amount": 0}, epsilon="1")
    panel = ContractPanel(room.partner)
    panel.load(room.partner.room(room.id))
    assert "wb-party-budgets" in panel.budgets.value and panel.budgets.value.count("<tr>") == 3
    panel.verify.click()
    assert "Verified 2 ledger entries (1 of yours recomputed)" in panel.verification.value
    panel.verify.click()
    assert "extends the 2 entries verified before" in panel.verification.value


def test_both_consoles_embed_the_panel(room):
    owner = OwnerConsole(room.owner)
    owner.value = room.id
    assert owner.contract.room is not None and owner.contract in owner.room_box.children
    partner = PartnerConsole(room.partner)
    partner.value = room.id
    assert partner.contract.room is not None and partner.contract in partner.room_box.children

"""Consent over a live service: each test is an attempt to weaken a party's protection behind its
back, or to decide a proposal one has no say in."""

from __future__ import annotations

import uuid

import pytest

import workbench as wb
from tests.runs.room import add_q1, build_room


@pytest.fixture(scope="module")
def room(live_service):
    """A DP room (k-min 5) where the advertiser has provisioned data."""
    r = build_room(live_service.client(live_service.admin_token), live_service.make_org)
    r.owner.update_room(r.id, k_min=5)  # raising k-min strengthens: applies directly
    return r


def _fresh(live_service):
    return build_room(live_service.client(live_service.admin_token), live_service.make_org)


def test_owner_cannot_lower_k_min_or_switch_dp_off_directly_once_partner_data_is_in(room):
    for change, fix in (({"k_min": 2}, "client.propose"), ({"dp_enabled": False}, "dp_enabled=False")):
        with pytest.raises(wb.Conflict, match=f"needs their consent.*{fix}"):
            room.owner.update_room(room.id, **change)
    settings = room.owner.room(room.id)
    assert settings.k_min == 5 and settings.dp_enabled
    with pytest.raises(wb.Conflict, match="raises every party's epsilon budget"):
        room.owner.update_room(room.id, epsilon_budget="1000")
    assert room.owner.room(room.id).epsilon_budget == "10"


def test_a_mixed_update_that_also_weakens_changes_nothing(room):
    with pytest.raises(wb.Conflict, match="lowers k-min"):
        room.owner.update_room(room.id, description="harmless", k_min=1)
    assert room.owner.room(room.id).description != "harmless"


def test_dp_off_applies_only_after_every_data_party_approves_and_every_party_sees_it(live_service):
    r = _fresh(live_service)
    proposal = r.owner.propose(r.id, dp_enabled=False, note="exact counts for the pilot")
    assert proposal.status == "open" and proposal.kind == "room_settings"
    assert {c.org_id: c.decision for c in proposal.consents} == {
        r.owner_org: "approved", r.partner_org: "pending"}
    assert r.owner.room(r.id).dp_enabled  # nothing applied yet
    seen = r.partner.proposals(r.id, status="open")
    assert [p.id for p in seen] == [proposal.id]
    assert "switches differential privacy off" in seen[0].reasons[0]
    decided = r.partner.approve(r.id, proposal.id)
    assert decided.status == "applied" and not r.owner.room(r.id).dp_enabled
    for client in (r.owner, r.partner):
        actions = {e.action for e in client.audit(room_id=r.id)}
        assert {"contract.proposal.created", "contract.proposal.approved",
                "contract.proposal.applied"} <= actions


def test_a_declined_proposal_never_applies_and_cannot_be_approved_later(live_service):
    r = _fresh(live_service)
    proposal = r.owner.propose(r.id, epsilon_budget="50")
    declined = r.partner.decline(r.id, proposal.id)
    assert declined.status == "declined"
    with pytest.raises(wb.Conflict, match="already declined"):
        r.partner.approve(r.id, proposal.id)
    assert r.owner.room(r.id).epsilon_budget == "10"
    assert "contract.proposal.declined" in {e.action for e in r.owner.audit(room_id=r.id)}


def test_approving_unknown_garbage_or_own_proposals_is_refused_and_changes_nothing(room):
    with pytest.raises(wb.NotFound, match="no proposal"):
        room.partner.approve(room.id, str(uuid.uuid4()))
    with pytest.raises(wb.NotFound):
        room.partner.approve(room.id, "not-an-id")
    proposal = room.owner.propose(room.id, k_min=3)
    with pytest.raises(wb.Conflict, match="already approved"):
        room.owner.approve(room.id, proposal.id)
    assert room.owner.room(room.id).k_min == 5
    assert room.partner.decline(room.id, proposal.id).status == "declined"


def test_an_org_without_data_in_the_room_has_no_say(live_service, room):
    bystander = live_service.make_org(f"Bystander {uuid.uuid4().hex[:6]}")
    proposal = room.owner.propose(room.id, k_min=4)
    with pytest.raises(wb.NotFound):  # not in the room at all: the room is invisible
        bystander.admin.approve(room.id, proposal.id)
    room.owner.invite_partner(room.id, bystander.id)
    bystander.admin.accept_invitation(room.id)
    room.owner.set_partner_permissions(room.id, bystander.id, ["manage_datasets", "view_reports"])
    with pytest.raises(wb.PermissionDenied, match="not a party affected by this proposal"):
        bystander.admin.approve(room.id, proposal.id)
    assert [p.status for p in bystander.admin.proposals(room.id) if p.id == proposal.id] == ["open"]
    room.partner.decline(room.id, proposal.id)


def test_proposing_a_strengthening_change_is_refused_with_the_direct_route(room):
    with pytest.raises(wb.InvalidInput, match="change it directly with update_room"):
        room.owner.propose(room.id, k_min=50)
    with pytest.raises(wb.PermissionDenied):
        room.partner.propose(room.id, k_min=1)  # only the owner proposes room settings


def test_raising_one_partys_budget_waits_for_that_party(live_service):
    r = _fresh(live_service)
    before = r.partner.budget(r.id)
    proposal = r.owner.propose_party_budget(r.id, r.partner_org, epsilon_budget="20")
    assert proposal.kind == "party_budget" and proposal.target_org_id == r.partner_org
    assert r.partner.budget(r.id) == before
    assert r.partner.approve(r.id, proposal.id).status == "applied"
    assert r.partner.budget(r.id).epsilon_total == "20"


def test_a_budget_below_what_is_spent_is_refused_and_changes_nothing(live_service):
    r = _fresh(live_service)
    qid = add_q1(r)
    r.owner.run(r.id, qid, {"min_amount": 0}, epsilon="3")
    with pytest.raises(wb.InvalidInput, match="below what a party has already spent"):
        r.owner.update_room(r.id, epsilon_budget="2")
    assert r.owner.room(r.id).epsilon_budget == "10"
    r.owner.update_room(r.id, epsilon_budget="5")  # lowering above spent strengthens: applies
    assert r.owner.room(r.id).epsilon_budget == "5"


def test_each_dataset_floor_raises_the_effective_k_min_and_only_its_owner_sets_it(room):
    with pytest.raises(wb.PermissionDenied, match="only the dataset's own organisation"):
        room.owner.set_k_min_floor(room.id, room.advertiser_dataset, 1)
    shown = room.partner.set_k_min_floor(room.id, room.advertiser_dataset, 40)
    assert shown.effective_k_min == 40 and shown.room_k_min == 5
    assert room.owner.protections(room.id).dataset_floors == {room.advertiser_dataset: 40}
    assert room.partner.set_k_min_floor(room.id, room.advertiser_dataset, None).effective_k_min == 5


def test_raising_the_largest_epsilon_per_run_needs_every_data_partys_consent(live_service):
    r = _fresh(live_service)
    assert r.owner.set_epsilon_bounds(r.id, max_epsilon="2").max_epsilon == "2"  # stricter: direct
    with pytest.raises(wb.Conflict, match="raises the largest epsilon per run from 2 to 8"):
        r.owner.set_epsilon_bounds(r.id, max_epsilon="8")
    assert r.partner.epsilon_bounds(r.id).max_epsilon == "2"
    proposal = r.owner.propose(r.id, max_epsilon_per_run="8")
    assert r.partner.approve(r.id, proposal.id).status == "applied"
    assert r.partner.epsilon_bounds(r.id).max_epsilon == "8"

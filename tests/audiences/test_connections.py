"""Publisher connections gate what an advertiser may create in the publisher's rooms."""

from __future__ import annotations

import pytest

import workbench as wb
from tests.audiences.conftest import add_user_list


def test_connections_gate_partner_cohorts_match_rates_and_lookalikes(room):
    qid = add_user_list(room)
    # no list yet: nothing is gated
    seed = room.partner.create_cohort(room.id, "by partner", qid, {"min_amount": 0})
    other = room.owner.create_org("Someone Else", "someone").org.id
    room.owner.set_audience_connection(other, insights=True)
    with pytest.raises(wb.errors.PermissionDenied, match="no audience connection"):
        room.partner.match_rates(room.id)
    room.owner.set_audience_connection(room.partner_org, insights=True, matched_cohorts=False)
    room.partner.match_rates(room.id)
    with pytest.raises(wb.errors.PermissionDenied, match="matched cohorts"):
        room.partner.create_cohort(room.id, "again", qid, {"min_amount": 0})
    with pytest.raises(wb.errors.PermissionDenied, match="modeled cohorts"):
        room.partner.train_lookalike(room.id, "look", seed.id, ["visits"])
    room.owner.set_audience_connection(room.partner_org, matched_cohorts=True,
                                       modeled_cohorts=True)
    room.partner.create_cohort(room.id, "again", qid, {"min_amount": 0})
    room.partner.train_lookalike(room.id, "look", seed.id, ["visits"])
    # the owner is never gated by its own list
    room.owner.create_cohort(room.id, "owner's", qid, {"min_amount": 0})
    listed = {c.advertiser_org_id: c for c in room.owner.audience_connections()}
    assert listed[room.partner_org].modeled_cohorts and not listed[room.partner_org].activation
    room.owner.delete_audience_connection(room.partner_org)
    with pytest.raises(wb.errors.PermissionDenied):
        room.partner.create_cohort(room.id, "third", qid, {"min_amount": 0})


def test_only_org_admins_keep_connections_and_bad_ids_are_refused(room, user_client):
    analyst, _ = user_client(room.owner, "analyst")
    with pytest.raises(wb.errors.PermissionDenied):
        analyst.set_audience_connection(room.partner_org)
    with pytest.raises(wb.errors.NotFound):
        room.owner.set_audience_connection("00000000-0000-4000-8000-000000000000")
    with pytest.raises(wb.errors.InvalidInput):
        room.owner.set_audience_connection(room.owner_org)
    assert room.owner.audience_connections() == []

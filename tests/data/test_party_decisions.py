"""Decisions about another party's data, over a live service (issues 9.4 and 10.5).

Every refusal is made by the policy and lands in the audit log as a denial (not as an allowed
call that failed later); reads of a party's rules show in that party's audit log; another
party's row counts are rounded and never shown below k-min.
"""

from __future__ import annotations

import uuid

import pytest

import workbench as wb

from .conftest import emails_csv


@pytest.fixture(scope="module")
def parties(live_service):
    owner = live_service.client(live_service.admin_token)
    partner = live_service.make_org(f"Partner {uuid.uuid4().hex[:6]}")
    room = owner.create_room(f"decisions {uuid.uuid4().hex[:6]}", k_min=50)
    owner.invite_partner(room.id, partner.id)
    partner.admin.accept_invitation(room.id)
    conn = owner.connect_dataset(emails_csv(1_234), f"users {uuid.uuid4().hex[:6]}", file_name="u.csv",
                                 identity_column="email", identity_kind="email", progress=False)
    ds = owner.provision_dataset(room.id, conn.id, "owner users")
    return owner, partner, room, ds, conn


def _events(client, room_id, action):
    return [(e.outcome, e.resource_id) for e in client.audit(room_id=room_id, action=action)]


def test_changing_another_partys_rules_is_a_denial_in_the_audit(parties):
    owner, partner, room, ds, _ = parties
    with pytest.raises(wb.PermissionDenied, match="only the organisation that provisioned"):
        partner.admin.set_analysis_rules(room.id, ds.id, [{"name": "email", "join": True}])
    assert ("denied", ds.id) in _events(partner.admin, room.id, "dataset.rules.set")
    assert ("allowed", ds.id) not in _events(partner.admin, room.id, "dataset.rules.set")
    assert owner.analysis_rules(room.id, ds.id).version == 1


def test_unlinking_another_partys_dataset_is_a_denial_and_changes_nothing(parties):
    owner, partner, room, ds, _ = parties
    with pytest.raises(wb.PermissionDenied, match="only the organisation that provisioned"):
        partner.admin.unprovision_dataset(room.id, ds.id)
    assert _events(partner.admin, room.id, "dataset.unprovision") == [("denied", ds.id)]
    assert [d.id for d in owner.datasets(room.id)] == [ds.id]


def test_reading_a_partys_rules_shows_in_that_partys_audit(parties):
    owner, partner, room, ds, _ = parties
    partner.admin.analysis_rules(room.id, ds.id)
    reads = [e for e in owner.audit(room_id=room.id, action="dataset.read")
             if e.resource_id == ds.id and e.actor_org_id == partner.id]
    assert reads and reads[0].outcome == "allowed" and reads[0].detail == {"read": "rules"}


def test_listing_datasets_shows_in_the_audit_of_every_party_listed(parties):
    owner, partner, room, ds, _ = parties
    conn = partner.admin.connect_dataset(emails_csv(60), f"p {uuid.uuid4().hex[:6]}", file_name="p.csv",
                                         identity_column="email", identity_kind="email", progress=False)
    theirs = partner.admin.provision_dataset(room.id, conn.id, "partner users")
    owner.datasets(room.id)
    reads = [e for e in partner.admin.audit(room_id=room.id, action="dataset.read")
             if e.actor_org_id != partner.id]
    assert reads and theirs.id in reads[0].detail["datasets"] and ds.id not in reads[0].detail["datasets"]
    partner.admin.unprovision_dataset(room.id, theirs.id)


def test_another_users_upload_is_not_found_and_the_attempt_is_audited(live_service, parties):
    owner, partner, *_ = parties
    mine = owner.start_upload("mine.csv", 10)
    for step in (lambda: partner.admin.cancel_upload(mine.id),
                 lambda: partner.admin.create_connection(mine.id, "stolen", identity_column="email",
                                                         identity_kind="email")):
        with pytest.raises(wb.NotFound, match="no upload"):
            step()
    attempts = [e for e in partner.admin.audit(action="data.upload") if e.resource_id == mine.id]
    assert [e.outcome for e in attempts] == ["denied"] * 2
    seen_by_owner = [e for e in owner.audit(action="data.upload") if e.resource_id == mine.id and e.outcome == "denied"]
    assert {e.actor_org_id for e in seen_by_owner} == {partner.id} and len(seen_by_owner) == 2
    owner.cancel_upload(mine.id)  # still there: the attempts changed nothing


def test_other_partys_row_counts_are_rounded_and_never_exact(parties):
    owner, partner, room, ds, _ = parties
    mine = owner.dataset(room.id, ds.id)
    theirs = partner.admin.dataset(room.id, ds.id)
    assert (mine.row_count, mine.row_count_exact) == (1_234, True)
    assert (theirs.row_count, theirs.row_count_exact) == (1_200, False)
    assert "rounded to 2 significant digits" in theirs.row_count_note


def test_two_views_differing_by_a_few_people_look_the_same(parties):
    """Differencing two views' counts would isolate the people between them: rounded, it cannot."""
    owner, partner, room, _, conn = parties
    a = owner.provision_dataset(room.id, conn.id, "everyone", row_filter="spend >= 0")
    b = owner.provision_dataset(room.id, conn.id, "all but a few",
                                row_filter="spend >= 0 AND NOT (spend = 99 AND region = 'west')")
    seen = {d.id: d.row_count for d in partner.admin.datasets(room.id)}
    exact = {d.id: d.row_count for d in owner.datasets(room.id)}
    assert exact[a.id] != exact[b.id] and seen[a.id] == seen[b.id]


def test_counts_below_k_min_are_hidden_and_small_ones_never_below_it(parties):
    owner, partner, room, _, conn = parties
    small = owner.provision_dataset(room.id, conn.id, "north few", row_filter="spend < 4 AND region = 'north'")
    assert owner.dataset(room.id, small.id).row_count == 13  # the owner sees its own exactly
    near = owner.provision_dataset(room.id, conn.id, "near k-min", row_filter="spend < 21")
    seen = {d.id: d for d in partner.admin.datasets(room.id)}
    assert seen[small.id].row_count is None and "crowd size (50)" in seen[small.id].row_count_note
    assert owner.dataset(room.id, near.id).row_count == 273
    assert seen[near.id].row_count == 270


@pytest.mark.parametrize("count, k_min, shown", [
    (1_234, 50, 1_200), (1_250, 50, 1_200), (1_251, 50, 1_300), (105, 105, 105), (149, 140, 150),
    (99, 10, 99), (9_876_543, 10, 9_900_000), (49, 50, None), (0, 1, None),
], ids=lambda v: str(v))
def test_the_rounding_rule(count, k_min, shown):
    from workbench.data.provisioning import shown_row_count

    assert shown_row_count(count, k_min, mine=False)[0] == shown
    assert shown_row_count(count, k_min, mine=True)[0] == count

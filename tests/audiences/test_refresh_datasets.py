"""A cohort refreshed from a changed user-list question is derived from every dataset it has
read: activation needs each of their owners' consent, and an unlink of any of them drops it."""

from __future__ import annotations

import pytest

import workbench as wb
from tests.audiences.conftest import BUYERS_SQL


def test_a_refresh_that_reads_a_new_dataset_counts_it(room, activation_root):
    user_list = room.owner.create_question(room.id, "everyone", "SELECT p.email FROM publisher p",
                                           kind="user_list")
    room.owner.add_question(room.id, user_list.id)
    cohort = room.owner.create_cohort(room.id, "c", user_list.id, {}, epsilon="1")
    room.owner.update_question(room.id, user_list.id, sql=BUYERS_SQL,
                               parameters=[{"name": "min_amount", "type": "number", "default": 0}])
    room.owner.add_question(room.id, user_list.id)
    room.owner.refresh_cohort(room.id, cohort.id, {"min_amount": 0}, epsilon="1")

    # only the publisher consents: the refreshed cohort reads the advertiser's data too
    room.owner.set_activation_policy(room.id, room.publisher_dataset, True)
    destination = room.owner.create_destination(room.id, "csv", "csv", "out")
    with pytest.raises(wb.errors.PermissionDenied, match="consent|activation"):
        room.owner.activate(room.id, cohort.id, destination.id, impressions=1, per="day")
    assert not [p for p in activation_root.rglob("*") if p.is_file()]

    room.partner.unprovision_dataset(room.id, room.advertiser_dataset)
    assert cohort.id not in [c.id for c in room.owner.cohorts(room.id)]


def test_an_unlink_removes_the_exports_of_a_cohort_deleted_before(room, activation_root):
    from tests.audiences.conftest import add_user_list

    qid = add_user_list(room)
    cohort = room.owner.create_cohort(room.id, "c", qid, {"min_amount": 0}, epsilon="1")
    room.owner.set_activation_policy(room.id, room.publisher_dataset, True)
    room.partner.set_activation_policy(room.id, room.advertiser_dataset, True)
    destination = room.owner.create_destination(room.id, "csv", "csv", "out")
    room.owner.activate(room.id, cohort.id, destination.id, impressions=1, per="day")
    room.owner.delete_cohort(room.id, cohort.id)
    assert [p for p in activation_root.rglob("*") if p.is_file()]
    room.partner.unprovision_dataset(room.id, room.advertiser_dataset)
    assert not [p for p in activation_root.rglob("*") if p.is_file()]
    assert [a.source_status for a in room.partner.activations(room.id)] == ["source unlinked"]

"""Matched cohorts from user-list questions: built inside the service, sized with DP, charged
to every data party, refused under k-min, and never readable member by member."""

from __future__ import annotations

import pytest

import workbench as wb
from tests.audiences.conftest import ADVERTISER_SQL, add_user_list


def test_a_user_list_question_builds_a_cohort_with_a_dp_size(room):
    qid = add_user_list(room)
    before = {o: room.owner.budget(room.id, o).epsilon_left for o in (room.owner_org, room.partner_org)}
    cohort = room.owner.create_cohort(room.id, "buyers", qid, {"min_amount": 0}, epsilon="1")
    assert cohort.kind == "matched" and cohort.status == "ready" and cohort.version == 1
    assert cohort.dp and cohort.size is not None and abs(cohort.size - 200) < 40
    assert cohort.activation_org_id == room.owner_org
    assert cohort.parameters == {"min_amount": 0} and cohort.question_id == qid
    after = {o: room.owner.budget(room.id, o).epsilon_left for o in before}
    for org in before:  # both parties' data is read, both pay
        assert float(before[org]) - float(after[org]) == pytest.approx(1.0)
    # the partner sees the cohort and its noisy size, never members
    seen = room.partner.cohorts(room.id)
    assert [c.id for c in seen] == [cohort.id] and seen[0].size == cohort.size
    assert "member" not in seen[0].model_dump_json().lower().replace("member_dataset_id", "")


def test_refresh_makes_a_new_version_and_charges_again(room):
    qid = add_user_list(room)
    cohort = room.owner.create_cohort(room.id, "buyers", qid, {"min_amount": 0}, epsilon="1")
    left = float(room.partner.budget(room.id).epsilon_left)
    again = room.owner.refresh_cohort(room.id, cohort.id, {"min_amount": 150}, epsilon="1")
    assert again.version == 2 and again.parameters == {"min_amount": 150}
    assert again.size < cohort.size
    assert float(room.partner.budget(room.id).epsilon_left) == pytest.approx(left - 1)


def test_a_cohort_under_k_min_is_refused_and_nothing_is_kept(room):
    qid = add_user_list(room)
    with pytest.raises(wb.errors.InvalidInput, match="k-min"):
        room.owner.create_cohort(room.id, "tiny", qid, {"min_amount": 10_000}, epsilon="5")
    assert room.owner.cohorts(room.id) == []


def test_running_a_user_list_as_a_question_points_to_cohorts(room):
    qid = add_user_list(room)
    with pytest.raises(wb.errors.InvalidInput, match="audiences"):
        room.owner.run(room.id, qid, {"min_amount": 0})


def test_a_user_list_projecting_another_partys_identity_is_refused(room):
    qid = add_user_list(room, ADVERTISER_SQL)
    left = room.partner.budget(room.id).epsilon_left
    with pytest.raises(wb.errors.RuleViolation, match="activation party") as err:
        room.owner.create_cohort(room.id, "their ids", qid)
    assert err.value.details["violations"][0]["dataset"] == "advertiser"
    assert room.owner.cohorts(room.id) == []
    assert room.partner.budget(room.id).epsilon_left == left


def test_a_cohort_of_a_removed_dataset_is_gone_and_cannot_be_rebuilt(room):
    qid = add_user_list(room)
    cohort = room.owner.create_cohort(room.id, "buyers", qid, {"min_amount": 0})
    room.partner.unprovision_dataset(room.id, room.advertiser_dataset)
    assert room.owner.cohorts(room.id) == []
    with pytest.raises(wb.errors.NotFound):
        room.owner.refresh_cohort(room.id, cohort.id)
    with pytest.raises((wb.errors.RuleViolation, wb.errors.NotFound, wb.errors.InvalidInput,
                        wb.errors.Conflict)):  # Conflict: the room is a draft again
        room.owner.create_cohort(room.id, "again", qid, {"min_amount": 0})
    assert room.owner.cohorts(room.id) == []


def test_bad_names_and_analytical_questions_are_refused(room):
    qid = add_user_list(room)
    room.owner.create_cohort(room.id, "buyers", qid, {"min_amount": 0})
    with pytest.raises(wb.errors.Conflict, match="already has a cohort"):
        room.owner.create_cohort(room.id, "BUYERS", qid, {"min_amount": 0})
    q = room.owner.create_question(room.id, "count", "SELECT COUNT(DISTINCT p.email) AS n FROM "
                                   "publisher p")
    room.owner.add_question(room.id, q.id)
    with pytest.raises(wb.errors.InvalidInput, match="only user-list"):
        room.owner.create_cohort(room.id, "agg", q.id)
    assert len(room.owner.cohorts(room.id)) == 1


def test_deleting_a_cohort_removes_its_lookalikes_and_keeps_the_budget_spent(room):
    qid = add_user_list(room)
    cohort = room.owner.create_cohort(room.id, "buyers", qid, {"min_amount": 0})
    room.owner.train_lookalike(room.id, "alike", cohort.id, ["visits"], epsilon="1")
    left = room.partner.budget(room.id).epsilon_left
    with pytest.raises(wb.errors.PermissionDenied):
        room.partner.delete_cohort(room.id, cohort.id)  # built by the owner
    room.owner.delete_cohort(room.id, cohort.id)
    assert room.owner.cohorts(room.id) == []
    assert room.partner.budget(room.id).epsilon_left == left
    with pytest.raises(wb.errors.NotFound):
        room.owner.cohort(room.id, cohort.id)
    with pytest.raises(wb.errors.NotFound):
        room.owner.cohort(room.id, "not-an-id")


def test_the_terms_can_make_the_partner_the_activation_party(room):
    with pytest.raises(wb.errors.InvalidInput, match="not an organisation of this room"):
        room.owner.set_audience_terms(room.id, "00000000-0000-4000-8000-000000000000")
    with pytest.raises(wb.errors.PermissionDenied):
        room.partner.set_audience_terms(room.id, room.partner_org)
    terms = room.owner.set_audience_terms(room.id, room.partner_org, max_seed=1000)
    assert room.partner.audience_terms(room.id) == terms
    publisher_ids = add_user_list(room)
    with pytest.raises(wb.errors.RuleViolation, match="activation party"):
        room.owner.create_cohort(room.id, "publisher ids", publisher_ids, {"min_amount": 0})
    theirs = room.partner.create_cohort(room.id, "advertiser ids", add_user_list(room, ADVERTISER_SQL))
    assert theirs.activation_org_id == room.partner_org and abs(theirs.size - 200) < 40


def test_overlap_by_public_dimensions_is_an_ordinary_question(room):
    q = room.owner.create_question(room.id, "overlap", "SELECT p.region, COUNT(DISTINCT p.email) "
                                   "AS matched FROM publisher p JOIN advertiser a ON p.email = "
                                   "a.email GROUP BY p.region")
    room.owner.add_question(room.id, q.id)
    rows = room.owner.run_result(room.id, room.owner.run(room.id, q.id, epsilon="5").id).rows
    # the buyers are even users: regions north and east only; empty regions fall under k-min
    counts = {r[0]: r[1] for r in rows}
    assert {"north", "east"} <= set(counts) and abs(counts["north"] - 100) < 30

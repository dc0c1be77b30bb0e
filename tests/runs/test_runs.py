"""Plans, runs, results and the budget, through the client over a real two-party room."""

from __future__ import annotations

import datetime as dt
import json

import pytest

import workbench as wb
from tests.runs.room import BANDS, Q1_SQL, REGIONS, add_q1, build_room


#: Q1 without its numeric filter: exact (DP-off) rooms take no numeric parameters or ranges
EXACT_SQL = Q1_SQL.replace("WHERE a.amount >= :min_amount", "")


@pytest.fixture
def room(admin, make_org):
    return build_room(admin, make_org)


@pytest.fixture
def big_room(admin, make_org):
    """A room whose budget allows a near-exact release (epsilon 1e6) for checking values."""
    return build_room(admin, make_org, epsilon_budget="10000000")


def test_plan_spends_nothing_and_shows_cost_and_error(room):
    qid = add_q1(room)
    before = room.owner.budget(room.id)
    plan = room.owner.plan(room.id, qid, {"min_amount": 0}, epsilon="1")
    assert plan.dp and plan.epsilon == "1" and plan.delta == "0" and plan.keys_public
    assert plan.n_groups == len(REGIONS) * len(BANDS)
    cols = {c.name: c for c in plan.columns}
    assert cols["reach"].sensitivity == 1 and cols["reach"].ci95 > 0
    assert cols["spend"].noise_scale == pytest.approx(2 * 250.0, rel=1e-6)  # eps 1/2, sens 250
    assert plan.budget_before[0].epsilon_left == "10" and plan.budget_after[0].epsilon_left == "9"
    assert room.owner.budget(room.id) == before
    assert room.owner.runs(room.id) == []


def test_run_releases_noisy_table_over_public_keys_and_charges_receivers(big_room):
    room = big_room
    qid = add_q1(room)
    run = room.owner.run(room.id, qid, {"min_amount": 0}, epsilon="1000000")
    assert run.status == "succeeded" and run.dp and run.epsilon == "1000000"
    result = room.owner.run_result(room.id, run.id)
    assert result.columns == ["region", "age_band", "reach", "spend"]
    assert len(result.rows) == 12  # every public key, even empty ones
    reach = {(r[0], r[1]): r[2] for r in result.rows}
    # 200 matched users (every second of 400: regions north and east); epsilon huge: exact
    assert sum(reach.values()) == 200
    assert reach[("south", "18-34")] == 0
    spend = sum(r[3] for r in result.rows)
    expected = sum(min(float((7 * i) % 300), 250.0) for i in range(200))
    assert spend == pytest.approx(expected, abs=1)
    meta = result.metadata
    assert meta["question_version"] == 1 and meta["suppressed_rows"] is None  # DP: not released
    assert meta["epsilon_spent"] == "1000000" and "engine_seconds" not in meta  # timings stay in the log
    assert room.owner.budget(room.id).epsilon_spent == "1000000"
    # the owner receives, but the run read the advertiser's data too: both parties are charged
    assert room.partner.budget(room.id).epsilon_spent == "1000000"
    assert sorted(run.parties) == sorted([room.owner_org, room.partner_org])


def test_exhausting_the_budget_is_refused_with_the_figures(room):
    qid = add_q1(room)
    for _ in range(3):
        room.owner.run(room.id, qid, {"min_amount": 0}, epsilon="3")
    with pytest.raises(wb.BudgetExceeded, match="needs epsilon 3.* only epsilon 1,.* left") as e:
        room.owner.run(room.id, qid, {"min_amount": 0}, epsilon="3")
    assert (e.value.requested, e.value.remaining) == ("epsilon 3, delta 0",
                                                      "epsilon 1, delta 0.000001")
    assert len(room.owner.runs(room.id)) == 3
    refused = [a for a in room.owner.audit(room_id=room.id) if a.action == "run.refused"]
    assert refused and "not enough privacy budget" in refused[0].reason
    room.owner.raise_budget(room.id, room.owner_org, epsilon="2")
    with pytest.raises(wb.BudgetExceeded, match="Advertiser"):  # the partner's data is read too
        room.owner.run(room.id, qid, {"min_amount": 0}, epsilon="3")
    room.partner.raise_budget(room.id, room.partner_org, epsilon="2")
    room.owner.run(room.id, qid, {"min_amount": 0}, epsilon="3")
    assert room.owner.budget(room.id).epsilon_left == "0"


def test_rule_change_is_checked_again_at_run_time(room):
    qid = add_q1(room)
    room.partner.set_analysis_rules(room.id, room.advertiser_dataset, [
        {"name": "email", "join": True}, {"name": "amount", "aggregations": ["AVG"],
                                          "lower": 0, "upper": 250}])
    with pytest.raises(wb.RuleViolation) as e:
        room.owner.run(room.id, qid, {"min_amount": 0})
    assert e.value.violations[0]["rule"] == "allowed_outputs"
    assert (e.value.violations[0]["dataset"], e.value.violations[0]["column"]) == \
        ("advertiser", "amount")
    assert room.owner.budget(room.id).epsilon_spent == "0"


def test_results_only_for_receivers_holding_view_reports(room, user_client):
    qid = add_q1(room)
    run = room.owner.run(room.id, qid, {"min_amount": 0})
    with pytest.raises(wb.PermissionDenied, match="not a receiver"):
        room.partner.run_result(room.id, run.id)
    roles = {r.name: r.id for r in room.owner.roles(room.id)}
    analyst_role = room.owner.create_role(room.id, "runner only", ["create_delete_question_runs"])
    runner, uid = user_client(room.owner, "runner")
    room.owner.add_member(room.id, uid, analyst_role.id)
    with pytest.raises(wb.PermissionDenied, match="View Reports"):
        runner.run_result(room.id, run.id)
    viewer, vid = user_client(room.owner, "viewer")
    room.owner.add_member(room.id, vid, roles["Viewer"])
    assert viewer.run_result(room.id, run.id).columns[0] == "region"
    reads = [a for a in room.owner.audit(room_id=room.id) if a.action == "run.result"]
    assert {a.outcome for a in reads} == {"allowed", "denied"}


def test_delete_run_removes_result_but_not_the_spend(room):
    qid = add_q1(room)
    run = room.owner.run(room.id, qid, {"min_amount": 0}, epsilon="2")
    room.owner.delete_run(room.id, run.id)
    with pytest.raises(wb.NotFound):
        room.owner.get_run(room.id, run.id)
    assert room.owner.budget(room.id).epsilon_spent == "2"


def test_no_runs_after_the_end_date(room):
    qid = add_q1(room)
    room.owner.update_room(room.id, end_date=dt.date.today() - dt.timedelta(days=1))
    with pytest.raises(wb.RoomExpired):
        room.owner.run(room.id, qid, {"min_amount": 0})
    with pytest.raises(wb.RoomExpired, match="read-only"):  # previews too: the room is read-only
        room.owner.plan(room.id, qid, {"min_amount": 0})


def test_dp_off_room_releases_exact_values_with_k_min_and_says_so(admin, make_org):
    room = build_room(admin, make_org, dp=False, k_min=34)
    q = room.owner.create_question(room.id, "reach and spend (exact room shape)", EXACT_SQL)
    room.owner.add_question(room.id, q.id)
    qid = q.id
    plan = room.owner.plan(room.id, qid)
    assert not plan.dp and plan.epsilon == "0" and "OFF" in plan.notes[0]
    run = room.owner.run(room.id, qid)
    result = room.owner.run_result(room.id, run.id)
    assert result.dp is False and result.metadata["dp"] is False
    assert "differential privacy is OFF" in result.metadata["notes"][0]
    # 200 matched users in 6 (region, band) groups of 33 or 34: the 33s share a profile with
    # fewer than k-min people, so they are left out of every exact run and their rows are absent
    assert result.rows and all(r[2] >= 34 for r in result.rows) and len(result.rows) < 6
    assert result.metadata["suppressed_rows"] == 0
    assert room.owner.budget(room.id).epsilon_spent == "0"
    done = [a for a in room.owner.audit(room_id=room.id) if a.action == "run.completed"]
    assert "EXACT" in done[0].reason and json.loads(json.dumps(done[0].detail))["dp"] is False


def test_k_min_suppresses_noisy_rows_and_counts_them(admin, make_org):
    room = build_room(admin, make_org, k_min=34, epsilon_budget="10000000")
    qid = add_q1(room)
    run = room.owner.run(room.id, qid, {"min_amount": 0}, epsilon="1000000")
    result = room.owner.run_result(room.id, run.id)
    # 12 public keys: 6 empty, 6 with 33 or 34 people; only the 34s are released
    assert result.rows and all(r[2] >= 34 for r in result.rows)
    assert 12 - len(result.rows) > 0
    assert result.metadata["suppressed_rows"] is None  # an exact count: not released in DP rooms


def test_unlinking_a_dataset_removes_runs_derived_from_it(room):
    qid = add_q1(room)
    run = room.owner.run(room.id, qid, {"min_amount": 0})
    room.partner.unprovision_dataset(room.id, room.advertiser_dataset)
    with pytest.raises(wb.NotFound):
        room.owner.get_run(room.id, run.id)


def test_hostile_parameter_values_are_refused_or_inert(big_room):
    room = big_room
    q = room.owner.create_question(room.id, "by region", """
        SELECT p.region, COUNT(DISTINCT p.email) AS reach FROM publisher p
        WHERE p.region = :region GROUP BY p.region""",
        parameters=[{"name": "region", "type": "text", "pattern": "[^\\n]{1,64}"}])
    room.owner.add_question(room.id, q.id)
    for hostile in ["north' OR '1'='1", "'; DROP TABLE runs; --", "$__max_rows"]:
        run = room.owner.run(room.id, q.id, {"region": hostile}, epsilon="1000000")
        rows = room.owner.run_result(room.id, run.id).rows
        assert [r[1] for r in rows] == [0, 0, 0, 0]
    with pytest.raises(wb.InvalidInput, match="does not match the pattern"):
        room.owner.run(room.id, q.id, {"region": "x" * 65})
    assert len(room.owner.runs(room.id)) == 3

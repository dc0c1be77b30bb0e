"""One privacy ledger per (room, protected party), over a live `workbench serve`.

The attacks encoded here: a second receiver, a clone, another analyst or another org trying to
spend a party's budget a second time; an owner raising a partner's budget alone; a partner
reading the owner's budget; a new room over the same data starting fresh; a run below the
room's minimum or above its maximum epsilon; a run in a draft room; a retried request charged
twice; a stale preview run after the rules changed; a failure after reading that refunds.
"""

from __future__ import annotations

import hashlib
import uuid

import pytest

import workbench as wb
from tests.runs.room import Q1_SQL, Room, add_q1, build_room


@pytest.fixture(scope="module")
def owner(live_service) -> wb.Client:
    return live_service.client(live_service.admin_token)


@pytest.fixture
def room(live_service, owner) -> Room:
    return build_room(owner, live_service.make_org, epsilon_budget="10")


def _spent(client: wb.Client, room: Room, org_id: str) -> str:
    return client.budget(room.id, org_id=org_id).epsilon_spent


def test_every_path_to_a_party_s_data_draws_on_one_ledger(live_service, owner, room):
    """Two receivers, a third org that holds no data, the partner's clone, the owner's analyst:
    each party is charged once per run, whoever runs or receives it."""
    third = live_service.make_org(f"Agency {uuid.uuid4().hex[:6]}")
    owner.invite_partner(room.id, third.id)
    third.admin.accept_invitation(room.id)
    qid = add_q1(room)
    owner.set_terms(room.id, qid, receivers=[room.owner_org, room.partner_org, third.id])
    analyst = owner.create_user(f"analyst-{uuid.uuid4().hex[:6]}")
    analyst_client = live_service.client(owner.issue_token(analyst.id).secret)
    owner.add_member(room.id, analyst.id, owner.create_role(
        room.id, f"analysts {uuid.uuid4().hex[:4]}",
        ["create_delete_question_runs", "view_reports"]).id)

    owner.run(room.id, qid, {"min_amount": 0}, epsilon="1")
    analyst_client.run(room.id, qid, {"min_amount": 0}, epsilon="2")
    room.partner.run(room.id, qid, {"min_amount": 0}, epsilon="1")
    owner.set_question_permissions(room.id, qid, [
        {"permission": "clone", "partner_org_id": "*", "allowed": True}])
    clone = room.partner.clone_question(room.id, qid, "partner's copy")
    owner.add_question(room.id, clone.id)
    room.partner.run(room.id, clone.id, {"min_amount": 10}, epsilon="1.5")

    for org in (room.owner_org, room.partner_org):
        assert _spent(owner, room, org) == "5.5"
    assert room.partner.budget(room.id).epsilon_left == "4.5"
    # the receiver-only org is charged nothing: none of its people are in the data
    assert third.admin.budget(room.id).epsilon_spent == "0"
    with pytest.raises(wb.BudgetExceeded, match="needs epsilon 5, delta 0 but only epsilon 4.5"):
        room.partner.run(room.id, clone.id, {"min_amount": 0}, epsilon="5")


def test_data_parties_see_every_run_over_their_data_but_not_its_result(owner, room):
    qid = add_q1(room)
    run = owner.run(room.id, qid, {"min_amount": 7}, epsilon="1")  # the owner receives
    seen = {r.id: r for r in room.partner.runs(room.id)}
    assert run.id in seen
    mine = seen[run.id]
    assert (mine.org_id, mine.user_id, mine.question_version) == (room.owner_org, run.user_id, 1)
    assert mine.parameters == {"min_amount": 7} and mine.epsilon == "1"
    assert sorted(mine.parties) == sorted([room.owner_org, room.partner_org])
    assert room.partner.get_run(room.id, run.id).status == "succeeded"
    with pytest.raises(wb.PermissionDenied, match="not a receiver"):
        room.partner.run_result(room.id, run.id)
    charged = [a for a in room.partner.audit(room_id=room.id) if a.action == "run.charged"]
    assert charged and charged[0].detail["parameters"] == {"min_amount": 7}


def test_each_party_controls_its_own_budget(owner, room):
    # the owner cannot raise a partner's budget alone: that is a proposal the partner approves
    with pytest.raises(wb.PermissionDenied, match="only that party raises its own budget"):
        owner.set_budget(room.id, room.partner_org, epsilon="20")
    with pytest.raises(wb.PermissionDenied, match="only that party raises"):
        owner.raise_budget(room.id, room.partner_org, epsilon="1")
    assert room.partner.budget(room.id).epsilon_total == "10"
    # the partner lowers and raises its own; the owner may lower it too
    assert room.partner.set_budget(room.id, room.partner_org, epsilon="4").epsilon_total == "4"
    assert room.partner.raise_budget(room.id, room.partner_org, epsilon="2").epsilon_total == "6"
    assert owner.set_budget(room.id, room.partner_org, epsilon="5").epsilon_total == "5"
    # a budget below what is spent is refused and changes nothing
    qid = add_q1(room)
    owner.run(room.id, qid, {"min_amount": 0}, epsilon="3")
    with pytest.raises(wb.InvalidInput, match="below what is already spent"):
        room.partner.set_budget(room.id, room.partner_org, epsilon="2")
    assert room.partner.budget(room.id).epsilon_total == "5"
    # reading another party's budget is decided and audited like everything else
    with pytest.raises(wb.PermissionDenied, match="only the room owner"):
        room.partner.budget(room.id, org_id=room.owner_org)
    reads = [a for a in room.partner.audit(room_id=room.id) if a.action == "budget.read"]
    assert "denied" in {a.outcome for a in reads}
    decisions = {(a.action, a.outcome) for a in owner.audit(room_id=room.id)}
    assert {("budget.raise", "denied"), ("budget.lower", "allowed")} <= decisions


def test_a_connection_cap_spans_every_room_over_the_same_data(live_service, owner, room):
    conn = owner.connection(room.publisher_connection)
    qid = add_q1(room)
    owner.set_connection_cap(conn.id, epsilon="3")
    owner.run(room.id, qid, {"min_amount": 0}, epsilon="2")
    assert owner.connection_cap(conn.id).epsilon_spent == "2"
    # a new room over the same connection does not start fresh
    second = build_room(owner, live_service.make_org, epsilon_budget="10",
                        publisher_connection=conn.id)
    qid2 = add_q1(second)
    with pytest.raises(wb.BudgetExceeded, match=f"data connection {conn.name}"):
        owner.run(second.id, qid2, {"min_amount": 0}, epsilon="2")
    owner.run(second.id, qid2, {"min_amount": 0}, epsilon="1")
    assert owner.connection_cap(conn.id).epsilon_spent == "3"
    with pytest.raises(wb.InvalidInput, match="below what rooms already drew"):
        owner.set_connection_cap(conn.id, epsilon="2")
    with pytest.raises(wb.NotFound):
        room.partner.connection_cap(conn.id)  # another org's connection is not visible


def test_epsilon_per_run_stays_within_the_room_bounds(owner, room):
    qid = add_q1(room)
    with pytest.raises(wb.InvalidInput, match="below this room's minimum"):
        owner.plan(room.id, qid, {"min_amount": 0}, epsilon="0.001")
    assert owner.epsilon_bounds(room.id).max_epsilon is None  # each party's budget limits a run
    owner.set_epsilon_bounds(room.id, min_epsilon="0.1", max_epsilon="2")
    with pytest.raises(wb.InvalidInput, match="above this room's maximum"):
        owner.run(room.id, qid, {"min_amount": 0}, epsilon="3")
    with pytest.raises(wb.PermissionDenied):
        room.partner.set_epsilon_bounds(room.id, min_epsilon="0.01", max_epsilon="10")
    assert _spent(owner, room, room.owner_org) == "0"


def test_a_draft_room_refuses_plans_and_runs_with_its_readiness_list(live_service, owner):
    partner = live_service.make_org(f"Late {uuid.uuid4().hex[:6]}")
    room = owner.create_room(f"draft {uuid.uuid4().hex[:6]}", epsilon_budget="10")
    owner.invite_partner(room.id, partner.id)
    partner.admin.accept_invitation(room.id)
    owner.set_template(room.id, [
        {"macro": "publisher", "party": "owner", "fields": [{"macro": "email"}]},
        {"macro": "advertiser", "party": partner.id, "fields": [{"macro": "email"}]},
    ], runs="all", receives="owner")
    q = owner.create_question(room.id, "matched", "SELECT COUNT(DISTINCT p.email) AS n FROM "
                              "publisher p JOIN advertiser a ON p.email = a.email")
    owner.add_question(room.id, q.id)
    for attempt in (lambda: owner.plan(room.id, q.id), lambda: owner.run(room.id, q.id)):
        with pytest.raises(wb.Conflict, match="still a draft.*has not mapped a dataset") as e:
            attempt()
        assert e.value.details["missing"]
    assert owner.runs(room.id) == []
    assert owner.budget(room.id).epsilon_spent == "0"


def test_a_retried_request_returns_the_same_run_without_a_second_charge(owner, room):
    qid = add_q1(room)
    first = owner.run(room.id, qid, {"min_amount": 0}, epsilon="1", idempotency_key="order-1")
    again = owner.run(room.id, qid, {"min_amount": 0}, epsilon="1", idempotency_key="order-1")
    assert again.id == first.id
    assert owner.run_result(room.id, again.id) == owner.run_result(room.id, first.id)
    assert _spent(owner, room, room.owner_org) == "1" == _spent(owner, room, room.partner_org)
    with pytest.raises(wb.Conflict, match="different run request"):
        owner.run(room.id, qid, {"min_amount": 5}, epsilon="1", idempotency_key="order-1")
    # without a key the client sends a fresh one: two calls, two runs
    owner.run(room.id, qid, {"min_amount": 0}, epsilon="1")
    assert _spent(owner, room, room.owner_org) == "2"


def test_the_preview_binds_the_run(owner, room):
    qid = add_q1(room)
    plan = owner.plan(room.id, qid, {"min_amount": 0}, epsilon="1")
    assert plan.fingerprint and sorted(plan.parties) == sorted([room.owner_org, room.partner_org])
    assert owner.plan(room.id, qid, {"min_amount": 0}, epsilon="1").fingerprint == plan.fingerprint
    # the advertiser tightens its clamp: the sum's noise changes, the old preview is stale
    room.partner.set_analysis_rules(room.id, room.advertiser_dataset, [
        {"name": "email", "join": True},
        {"name": "amount", "aggregations": ["SUM", "AVG"], "lower": 0, "upper": 100}])
    with pytest.raises(wb.Conflict, match="changed since your preview") as e:
        owner.run(room.id, qid, {"min_amount": 0}, epsilon="1", plan=plan.fingerprint)
    assert _spent(owner, room, room.owner_org) == "0"
    fresh = e.value.details["fingerprint"]
    assert fresh != plan.fingerprint
    assert owner.run(room.id, qid, {"min_amount": 0}, epsilon="1", plan=fresh).fingerprint == fresh
    # a different budget split (another epsilon) is another plan too
    with pytest.raises(wb.Conflict):
        owner.run(room.id, qid, {"min_amount": 0}, epsilon="2", plan=fresh)


def test_the_manifest_reproduces_the_plan(owner, room):
    qid = add_q1(room)
    run = owner.run(room.id, qid, {"min_amount": 3}, epsilon="1.5")
    m = owner.manifest(room.id, run.id)
    assert m.question_digest == hashlib.sha256(Q1_SQL.encode()).hexdigest()
    assert (m.question_version, m.parameters, m.engine) == (1, {"min_amount": 3}, "duckdb")
    assert set(m.versions) == {"workbench", "duckdb", "opendp", "sqlglot"}
    by_party = {d["org_id"]: d for d in m.datasets}
    assert set(by_party) == {room.owner_org, room.partner_org}
    assert all(len(d["content_digest"]) == 64 for d in m.datasets)
    rules = owner.analysis_rules(room.id, room.publisher_dataset)
    assert by_party[room.owner_org]["rule_version"] == rules.version
    assert {v["aggregate"] for v in m.noise} == {"reach", "spend"}
    assert set(m.ledger_hashes) == {room.owner_org, room.partner_org}
    again = owner.plan(room.id, qid, m.parameters, epsilon=m.epsilon, delta=m.delta)
    assert again.fingerprint == m.fingerprint == run.fingerprint
    # the partner, whose data it read, may check the manifest too
    assert room.partner.manifest(room.id, run.id).fingerprint == m.fingerprint

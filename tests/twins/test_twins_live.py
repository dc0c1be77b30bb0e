"""Synthetic twins over a real `workbench serve`: who pays, what a twin holds, and that drafts on
twins are free, labelled synthetic and never become runs."""

from __future__ import annotations

import hashlib
from fractions import Fraction

import pytest

import workbench as wb
from tests.runs.room import Room, build_room
from workbench.client.twins import twin_csv
from workbench.demo import BANDS, REGIONS
from workbench.demo import REACH_SQL as Q1_SQL

Q1_PARAMS = [{"name": "min_amount", "type": "number", "default": 0}]


def digest(email: str) -> str:
    return hashlib.sha256(email.strip().lower().encode()).hexdigest()


#: every identity digest of the two parties' real data (tests.runs.room frames)
REAL = {digest(f"User{i}@Example.com ") for i in range(400)} | {
    digest(f"user{2 * i}@example.com") for i in range(200)}


def spent(client: wb.Client, room_id: str, org_id: str) -> Fraction:
    return Fraction(client.budget(room_id, org_id).epsilon_spent)


@pytest.fixture(scope="module")
def room(live_service) -> Room:
    owner = live_service.client(live_service.admin_token)
    return build_room(owner, lambda name: live_service.make_org(name), dp=True, k_min=5,
                      epsilon_budget="20")


@pytest.fixture(scope="module")
def twins(room):
    """Both parties publish: the publisher declares half its users match, the advertiser all."""
    before = spent(room.owner, room.id, room.owner_org)
    pub = room.owner.publish_twin(room.id, room.publisher_dataset, epsilon="2", match_rate=0.5)
    adv = room.partner.publish_twin(room.id, room.advertiser_dataset, epsilon="2", match_rate=1.0)
    return pub, adv, before


def test_publish_charges_the_owner_once_and_is_audited(room, twins):
    pub, adv, before = twins
    assert pub.status == "ready" and pub.synthetic and "SYNTHETIC" in pub.label
    assert spent(room.owner, room.id, room.owner_org) - before == Fraction(2)
    charges = [e for e in room.owner.audit(room_id=room.id, action="twin.charged")
               if e.resource_id == pub.id]
    assert len(charges) == 1 and charges[0].detail["epsilon"] == "2"
    assert charges[0].detail["dataset_id"] == room.publisher_dataset
    # the advertiser paid for its own twin, once, and nothing of the publisher's
    assert spent(room.partner, room.id, room.partner_org) == Fraction(2)
    assert {c.name for c in pub.columns} == {"region", "age_band"}
    assert pub.columns[0].source == "public values" and pub.marginals == 4
    assert [c.name for c in adv.columns] == ["amount"] and adv.columns[0].source == "rule bounds"
    assert abs(pub.rows - 400) < 60 and abs(adv.rows - 200) < 60


def test_partner_cannot_publish_another_partys_twin(room, twins):
    owner_before = spent(room.owner, room.id, room.owner_org)
    partner_before = spent(room.partner, room.id, room.partner_org)
    with pytest.raises(wb.errors.PermissionDenied, match="only the organisation that provisioned"):
        room.partner.publish_twin(room.id, room.publisher_dataset, epsilon="1")
    assert spent(room.owner, room.id, room.owner_org) == owner_before
    assert spent(room.partner, room.id, room.partner_org) == partner_before
    assert len([t for t in room.owner.twins(room.id) if t.dataset_id == room.publisher_dataset]) == 1


def test_twin_rows_hold_no_real_identity(room, twins):
    pub, adv, _ = twins
    for t in (pub, adv):
        shown = room.partner.twin_rows(room.id, t.id, limit=10_000)
        assert shown.synthetic and len(shown.rows) == t.rows
        ids = {r[shown.columns.index("email")] for r in shown.rows}
        assert len(ids) == t.rows and not ids & REAL
        for r in shown.rows:  # no real row's identity in any column
            assert not {str(v) for v in r} & REAL
    shown = room.owner.twin_rows(room.id, pub.id, limit=10_000)
    regions = {r[shown.columns.index("region")] for r in shown.rows}
    assert regions <= set(REGIONS) | {None} and len(regions & set(REGIONS)) >= 3
    # the joinable ids: about half the publisher's twin, all of the advertiser's
    pub_ids = {r[0] for r in shown.rows}
    adv_rows = room.owner.twin_rows(room.id, adv.id, limit=10_000).rows
    matched = len(pub_ids & {r[0] for r in adv_rows})
    assert matched == min(round(0.5 * pub.rows), adv.rows)


def test_drafts_on_twins_are_free_and_labelled_synthetic(room, twins):
    ledgers = [spent(room.owner, room.id, room.owner_org), spent(room.owner, room.id, room.partner_org)]
    runs = room.owner.runs(room.id)
    result = room.partner.run_on_twin(room.id, "reach draft", Q1_SQL, {"min_amount": 0},
                                      parameter_specs=Q1_PARAMS)
    assert result.synthetic is True and result.epsilon_spent == "0"
    assert result.label.startswith("SYNTHETIC")
    assert set(result.twins.values()) == {twins[0].id, twins[1].id}
    assert result.columns == ["region", "age_band", "reach", "spend"]
    assert result.rows and {r[0] for r in result.rows} <= set(REGIONS)
    assert {r[1] for r in result.rows} <= set(BANDS)
    reach = sum(r[2] for r in result.rows)
    assert 0 < reach <= 200 and all(0 <= r[3] <= 250 * r[2] for r in result.rows)
    csv = twin_csv(result).splitlines()
    assert csv[0].startswith("# SYNTHETIC") and csv[1].startswith("synthetic,region")
    assert all(line.startswith("synthetic,") for line in csv[1:])
    assert [spent(room.owner, room.id, room.owner_org),
            spent(room.owner, room.id, room.partner_org)] == ledgers
    assert [r.id for r in room.owner.runs(room.id)] == [r.id for r in runs]
    # the draft went to the audit log as a draft on twins
    assert any(e.detail and e.detail.get("synthetic") for e in
               room.owner.audit(room_id=room.id, action="twin.draft"))


def test_a_draft_result_is_not_a_run(room, twins):
    result = room.owner.run_on_twin(room.id, "reach draft", Q1_SQL, {"min_amount": 0},
                                    parameter_specs=Q1_PARAMS)
    dash = room.owner.create_dashboard(room.id, "twin probe")
    with pytest.raises(wb.errors.NotFound):
        room.owner.add_chart(room.id, dash.id, result.draft_id, kind="table")
    with pytest.raises(wb.errors.NotFound):
        room.owner.run_result(room.id, result.draft_id)
    assert result.draft_id not in {r.id for r in room.owner.runs(room.id)}
    assert room.owner.dashboard(room.id, dash.id).charts == []


def test_a_draft_needs_every_twin_and_rules_still_apply(room, twins):
    with pytest.raises(wb.errors.RuleViolation):
        room.owner.run_on_twin(room.id, "ids", "SELECT p.email FROM publisher p GROUP BY p.email")


def test_publish_with_exhausted_budget_is_refused_and_writes_nothing(live_service):
    owner = live_service.client(live_service.admin_token)
    small = build_room(owner, lambda name: live_service.make_org(name), dp=True, k_min=5,
                       epsilon_budget="1")
    with pytest.raises(wb.errors.BudgetExceeded):
        small.owner.publish_twin(small.id, small.publisher_dataset, epsilon="2")
    with pytest.raises(wb.errors.InvalidInput, match="not a provisioned column"):
        small.owner.publish_twin(small.id, small.publisher_dataset, epsilon="0.5",
                                 bounds={"nope": [0, 1]})
    assert small.owner.twins(small.id) == []
    assert spent(small.owner, small.id, small.owner_org) == 0
    assert not small.owner.audit(room_id=small.id, action="twin.charged")
    with pytest.raises(wb.errors.Conflict, match="no synthetic twin"):
        small.owner.run_on_twin(small.id, "reach", Q1_SQL, {"min_amount": 0},
                                parameter_specs=Q1_PARAMS)


def test_unlink_drops_the_twin(room, twins):
    again = room.owner.provision_dataset(room.id, room.publisher_connection, "publisher again")
    t = room.owner.publish_twin(room.id, again.id, epsilon="1",
                                domains={"region": REGIONS, "age_band": BANDS})
    assert t.columns[0].source == "declared values"
    room.owner.unprovision_dataset(room.id, again.id)
    assert t.id not in {x.id for x in room.owner.twins(room.id)}
    with pytest.raises(wb.errors.NotFound):
        room.owner.twin_rows(room.id, t.id)


def test_an_avg_on_twins_is_the_ratio_of_its_sum_and_count(room, twins):
    sql = ("SELECT p.region, SUM(a.amount) AS spend, COUNT(*) AS n, AVG(a.amount) AS mean "
           "FROM publisher p JOIN advertiser a ON p.email = a.email GROUP BY p.region")
    alone = ("SELECT p.region, AVG(a.amount) AS mean FROM publisher p JOIN advertiser a "
             "ON p.email = a.email GROUP BY p.region")
    for text in (sql, alone):
        result = room.owner.run_on_twin(room.id, "avg draft", text)
        assert result.rows and result.synthetic
        mean = result.columns.index("mean")
        assert all(0 <= r[mean] <= 250 for r in result.rows)
        if "spend" in result.columns:
            for r in result.rows:
                assert r[mean] == pytest.approx(r[1] / r[2], rel=1e-4)

"""Post-processing is free, over a live service: an AVG next to its SUM and COUNT(*) costs nothing
and is their ratio, every released value comes with a 95% interval, and totals over public keys
are the sums of the released parts."""

from __future__ import annotations

from fractions import Fraction

import pytest

from tests.runs.room import build_room

WITH_AVG = """
SELECT p.region, p.age_band, COUNT(*) AS buyers, SUM(a.amount) AS spend, AVG(a.amount) AS avg_spend
FROM publisher p JOIN advertiser a ON p.email = a.email
GROUP BY p.region, p.age_band
"""
WITHOUT_AVG = """
SELECT p.region, p.age_band, COUNT(*) AS buyers, SUM(a.amount) AS spend
FROM publisher p JOIN advertiser a ON p.email = a.email
GROUP BY p.region, p.age_band
"""
AVG_ONLY = """
SELECT p.region, AVG(a.amount) AS avg_spend
FROM publisher p JOIN advertiser a ON p.email = a.email
GROUP BY p.region
"""


@pytest.fixture(scope="module")
def room(live_service):
    owner = live_service.client(live_service.admin_token)
    return build_room(owner, live_service.make_org, epsilon_budget="100")


def _question(room, name: str, sql: str) -> str:
    q = room.owner.create_question(room.id, name, sql)
    room.owner.add_question(room.id, q.id)
    return q.id


def _spent(room) -> Fraction:
    return Fraction(room.partner.budget(room.id).epsilon_spent)


def test_avg_next_to_its_sum_and_count_costs_nothing(room):
    with_avg, without = _question(room, "with avg", WITH_AVG), _question(room, "without", WITHOUT_AVG)
    plan_a, plan_b = room.owner.plan(room.id, with_avg, epsilon="1"), room.owner.plan(room.id, without, epsilon="1")
    a, b = {c.name: c for c in plan_a.columns}, {c.name: c for c in plan_b.columns}
    for name in ("buyers", "spend"):  # the same noise with or without the average
        assert (a[name].noise_scale, a[name].epsilon) == (b[name].noise_scale, b[name].epsilon)
    assert a["avg_spend"].epsilon == "0"
    charges = []
    for qid in (with_avg, without):
        before = _spent(room)
        run = room.owner.run(room.id, qid, epsilon="1")
        charges.append(_spent(room) - before)
        vectors = [n["vector"] for n in room.owner.manifest(room.id, run.id).noise]
        assert vectors == ["buyers", "spend"]  # no vector of the average's own
    assert charges[0] == charges[1] == 1


def test_avg_is_the_ratio_with_intervals_and_totals_are_the_sum_of_parts(room):
    qid = _question(room, "with avg 2", WITH_AVG)
    run = room.owner.run(room.id, qid, epsilon="2")
    result = room.owner.run_result(room.id, run.id)
    cols = result.columns
    meta = result.metadata
    assert "Fieller" in meta["interval_method"]
    for i, row in enumerate(result.rows):
        buyers, spend, avg = row[cols.index("buyers")], row[cols.index("spend")], row[cols.index("avg_spend")]
        assert avg == pytest.approx(min(max(spend / max(buyers, 1), 0.0), 250.0), abs=1e-4)
        for name, value in (("buyers", buyers), ("spend", spend), ("avg_spend", avg)):
            low, high = meta["intervals"][name][i]
            assert low <= value <= high
        low, high = meta["intervals"]["buyers"][i]
        assert high - low == pytest.approx(2 * meta["noise"]["buyers"]["ci95"], abs=1e-5)
    for name in ("buyers", "spend"):
        assert meta["totals"][name] == pytest.approx(sum(r[cols.index(name)] for r in result.rows), abs=1e-5)
    assert "avg_spend" not in meta["totals"]


def test_avg_alone_is_charged_for_its_own_sum_and_count_and_releases_only_the_ratio(room):
    qid = _question(room, "avg only", AVG_ONLY)
    plan = room.owner.plan(room.id, qid, epsilon="1")
    assert [(c.name, c.epsilon) for c in plan.columns] == [("avg_spend", "1")]
    run = room.owner.run(room.id, qid, epsilon="1")
    vectors = [n["vector"] for n in room.owner.manifest(room.id, run.id).noise]
    assert vectors == ["avg_spend__sum", "avg_spend__count"]
    result = room.owner.run_result(room.id, run.id)
    assert result.columns == ["region", "avg_spend"]
    assert all(0 <= r[1] <= 250 for r in result.rows)
    assert len(result.metadata["intervals"]["avg_spend"]) == len(result.rows)

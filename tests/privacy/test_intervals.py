"""Intervals of released values, by the fast in-process path (the same functions a run calls):
coverage measured statistically, and the edge cases of the avg interval.

False-alarm rate: each coverage check is a one-sided exact binomial test at alpha = 1e-3 (two
per aggregate: "covers at least 95%" and "covers at most 97%"), so a correct implementation fails
this module with probability at most 6e-3 (three aggregates).
"""

from __future__ import annotations

import math

import pytest

from workbench.privacy import Aggregate, plan_release, release, release_with_intervals

ALPHA_TEST = 1e-3
GROUPS = 40
RUNS = 60
COUNTS = [100 + 37 * g for g in range(GROUPS)]
#: true averages 20..215 (inside the clamping bounds 0..250), in cents
SUMS = [c * 100 * (20 + 5 * g) for g, c in enumerate(COUNTS)]
AGGS = [
    Aggregate(name="buyers", kind="count"),
    Aggregate(name="spend", kind="sum", lower=0.0, upper=250.0, scale=100),
    Aggregate(name="avg_spend", kind="avg", lower=0.0, upper=250.0, scale=100,
              sum_of="spend", count_of="buyers"),
]


def binomial_cdf(k: int, n: int, p: float) -> float:
    """P(Bin(n, p) <= k), exactly (log-space sum)."""
    if k < 0:
        return 0.0
    if k >= n:
        return 1.0
    logs = [math.lgamma(n + 1) - math.lgamma(i + 1) - math.lgamma(n - i + 1)
            + i * math.log(p) + (n - i) * math.log1p(-p) for i in range(k + 1)]
    top = max(logs)
    return min(1.0, math.exp(top) * sum(math.exp(v - top) for v in logs))


@pytest.fixture(scope="module")
def coverage() -> dict[str, int]:
    plan = plan_release(AGGS, epsilon=1, n_groups=GROUPS, keys_public=True)
    truth = {"buyers": COUNTS, "spend": [s / 100 for s in SUMS],
             "avg_spend": [s / 100 / c for s, c in zip(SUMS, COUNTS, strict=True)]}
    covered = dict.fromkeys(truth, 0)
    for _ in range(RUNS):
        values, intervals = release_with_intervals(plan, {"buyers": COUNTS, "spend": SUMS})
        for name, exact in truth.items():
            for (low, high), value, true in zip(intervals[name], values[name], exact, strict=True):
                assert low <= value <= high
                covered[name] += low <= true <= high
    return covered


@pytest.mark.parametrize("name", ["buyers", "spend", "avg_spend"])
def test_intervals_cover_95_percent(coverage, name):
    trials = RUNS * GROUPS
    hits = coverage[name]
    # valid: as many misses as this would be a 1-in-1000 event if coverage were 95%
    assert binomial_cdf(hits, trials, 0.95) > ALPHA_TEST, f"{name}: {hits / trials:.4f} < 95%"
    # and not loose: as many hits would be a 1-in-1000 event if coverage were 97%
    assert 1 - binomial_cdf(hits - 1, trials, 0.97) > ALPHA_TEST, f"{name}: {hits / trials:.4f}"


def test_avg_is_released_sum_over_released_count_with_no_vector_of_its_own():
    plan = plan_release(AGGS, epsilon=1, n_groups=GROUPS, keys_public=True)
    avg = plan.aggregate("avg_spend")
    assert avg.parts == () and avg.epsilon == 0
    assert plan.epsilon_share == plan.aggregate("spend").parts[0].epsilon == plan.aggregate("buyers").parts[0].epsilon
    values = release(plan, {"buyers": COUNTS, "spend": SUMS})
    for count, total, mean in zip(values["buyers"], values["spend"], values["avg_spend"], strict=True):
        assert mean == pytest.approx(min(max(total / max(count, 1), 0.0), 250.0))


def test_avg_interval_of_a_tiny_noisy_count_is_the_clamping_range():
    plan = plan_release(AGGS, epsilon=1, n_groups=3, keys_public=True)
    _, intervals = release_with_intervals(plan, {"buyers": [0, 1, 5], "spend": [0, 1000, 50_000]})
    assert intervals["avg_spend"] == [(0.0, 250.0)] * 3


def test_avg_interval_narrows_with_group_size_and_stays_in_bounds():
    plan = plan_release(AGGS, epsilon=1, n_groups=2, keys_public=True)
    _, intervals = release_with_intervals(plan, {"buyers": [500, 50_000], "spend": [500 * 100 * 240, 50_000 * 100 * 240]})
    (small_lo, small_hi), (big_lo, big_hi) = intervals["avg_spend"]
    assert 0 <= small_lo <= small_hi <= 250 and big_hi - big_lo < small_hi - small_lo
    assert big_hi - big_lo < 1  # 50,000 buyers: the average is known to within a unit


def test_interval_work_is_bounded_whatever_the_scales_and_groups():
    """Intervals are computed after the charge: a huge count scale (max_rows 100 at the room's
    smallest epsilon) gives the clamping bounds at once, and thousands of groups go in chunks."""
    from workbench.privacy._intervals import ratio_intervals

    wide = ratio_intervals([500.0] * 1000, [10.0] * 1000, sum_scale=2e6, count_scale=20_000,
                           lower=0, upper=1000)
    assert wide == [(0.0, 1000.0)] * 1000
    many = ratio_intervals([5000.0 + g for g in range(3000)], [100.0] * 3000, sum_scale=200,
                           count_scale=50, lower=0, upper=1000)
    assert len(many) == 3000 and all(0 <= lo <= 50 + g / 100 <= hi <= 1000
                                     for g, (lo, hi) in enumerate(many))

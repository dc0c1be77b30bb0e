"""plan_release: the split, the figures OpenDP reports, accuracy, and exact release at huge epsilon."""

from __future__ import annotations

from fractions import Fraction

import opendp.prelude as dp
import pytest

from workbench.errors import InvalidInput
from workbench.privacy import Aggregate, accuracy, avg_ci_half_width, l1_sensitivity, plan_release, release

dp.enable_features("contrib")

AGGS = (
    Aggregate(name="users", kind="count_distinct", max_groups=3),
    Aggregate(name="rows", kind="count", max_rows=4, max_groups=3),
    Aggregate(name="spend", kind="sum", lower=-5.0, upper=99.99, scale=100, max_rows=4, max_groups=3),
    Aggregate(name="basket", kind="avg", lower=0.0, upper=20.0, scale=10, max_rows=2),
)


def opendp_epsilon(integer_scale: float, sensitivity: int) -> float:
    """What OpenDP itself says a discrete Laplace vector release costs."""
    meas = dp.m.make_laplace(dp.vector_domain(dp.atom_domain(T="i64")), dp.l1_distance(T="i64"), scale=integer_scale)
    return meas.map(sensitivity)


def test_epsilon_split_evenly_over_measurements_public_keys() -> None:
    plan = plan_release(AGGS, epsilon="1", n_groups=5, keys_public=True)
    assert plan.epsilon == 1 and plan.delta == 0
    assert plan.epsilon_share == Fraction(1, 5)  # 3 single measurements + avg's two
    assert plan.keys is None
    assert [len(a.parts) for a in plan.aggregates] == [1, 1, 1, 2]
    assert plan.epsilon_opendp <= plan.epsilon
    for agg in plan.aggregates:
        for part in agg.parts:
            assert part.epsilon <= plan.epsilon_share
            assert float(part.epsilon) == pytest.approx(0.2, rel=1e-12)


def test_delta_not_charged_with_public_keys() -> None:
    plan = plan_release(AGGS, epsilon=1, delta="1e-6", n_groups=5, keys_public=True)
    assert plan.delta == 0
    assert plan.budget.delta == 0


def test_private_keys_take_one_share_and_all_delta() -> None:
    plan = plan_release(AGGS, epsilon="1.5", delta="1e-6", n_groups=5, keys_public=False)
    assert plan.epsilon_share == Fraction(3, 2) / 6
    assert plan.delta == Fraction(1, 10**6)
    assert plan.keys is not None
    assert plan.keys.d_in == (3, 12, 4)  # (max groups, groups * rows, max rows) over all aggregates
    meas = dp.m.make_laplace_threshold(
        dp.map_domain(dp.atom_domain(T=str), dp.atom_domain(T="i64")),
        dp.l01inf_distance(dp.absolute_distance(T="i64")),
        scale=plan.keys.integer_scale,
        threshold=plan.keys.threshold,
    )
    eps, delta = meas.map(plan.keys.d_in)
    assert Fraction(eps) == plan.keys.epsilon <= plan.epsilon_share
    assert Fraction(delta) == plan.keys.delta <= plan.delta
    # the threshold is the smallest that fits delta
    lower = dp.m.make_laplace_threshold(
        meas.input_domain, meas.input_metric, scale=plan.keys.integer_scale, threshold=plan.keys.threshold - 1
    )
    assert Fraction(lower.map(plan.keys.d_in)[1]) > plan.delta
    assert plan.epsilon_opendp <= plan.epsilon


def test_plan_figures_equal_opendp_map() -> None:
    plan = plan_release(AGGS, epsilon="0.7", n_groups=2, keys_public=True, alpha=0.1)
    for agg in plan.aggregates:
        for part in agg.parts:
            assert Fraction(opendp_epsilon(part.integer_scale, part.sensitivity)) == part.epsilon
            assert part.noise_scale == part.integer_scale / part.fixed_point
        assert agg.epsilon == sum(p.epsilon for p in agg.parts)
    spend = plan.aggregate("spend")
    assert spend.sensitivity == l1_sensitivity("sum", max_rows=4, max_groups=3, lower=-5.0, upper=99.99, scale=100)
    assert spend.sensitivity == 3 * 4 * 9999
    assert spend.noise_scale == pytest.approx(3 * 4 * 99.99 / 0.14, rel=1e-12)
    basket = plan.aggregate("basket")
    assert [p.vector for p in basket.parts] == ["basket__sum", "basket__count"]
    assert [p.sensitivity for p in basket.parts] == [2 * 200, 2]


def test_calibration_never_reports_more_than_the_share() -> None:
    """1/3 as a float is a hair under 1/3, so the naive scale would overspend by a rounding."""
    plan = plan_release([Aggregate(name="n", kind="count")], epsilon="3", n_groups=1, keys_public=True)
    part = plan.aggregates[0].parts[0]
    assert opendp_epsilon(1 / 3, 1) > 3  # the naive choice
    assert Fraction(opendp_epsilon(part.integer_scale, 1)) <= 3


def test_accuracy_matches_opendp_helper() -> None:
    plan = plan_release(AGGS, epsilon="1", n_groups=3, keys_public=True, alpha=0.05)
    for agg in plan.aggregates:
        for part in agg.parts:
            expected = dp.discrete_laplacian_scale_to_accuracy(part.integer_scale, 0.05) / part.fixed_point
            assert part.ci_half_width == expected
        if agg.kind != "avg":
            assert agg.ci_half_width == agg.parts[0].ci_half_width
        else:
            assert agg.ci_half_width is None
    assert accuracy(6.0, 0.01) == dp.discrete_laplacian_scale_to_accuracy(6.0, 0.01)


def test_avg_half_width_shrinks_with_group_size_and_is_capped_by_the_bounds() -> None:
    plan = plan_release(AGGS, epsilon="1", n_groups=3, keys_public=True).aggregate("basket")
    small, large = avg_ci_half_width(plan, 10), avg_ci_half_width(plan, 100_000)
    assert small == 20.0  # no better than knowing the bounds
    assert 0 < large < 0.1
    with pytest.raises(InvalidInput, match="not an avg"):
        avg_ci_half_width(plan_release(AGGS, epsilon=1, n_groups=1, keys_public=True).aggregate("rows"), 10)


def test_huge_epsilon_releases_exact_values() -> None:
    plan = plan_release(AGGS, epsilon="1e9", n_groups=3, keys_public=True)
    out = release(
        plan,
        {
            "users": [7, 0, 123456],
            "rows": [10, 3, 999999],
            "spend": [12345, -500, 0],
            "basket__sum": [105, 1000, 7],
            "basket__count": [10, 0, 2],
        },
    )
    assert out["users"] == [7.0, 0.0, 123456.0]
    assert out["rows"] == [10.0, 3.0, 999999.0]
    assert out["spend"] == [123.45, -5.0, 0.0]
    assert out["basket"] == [10.5 / 10, 20.0, 0.35]  # 100/max(0,1) clamped to upper


def test_release_checks_its_input() -> None:
    plan = plan_release([Aggregate(name="n", kind="count")], epsilon=1, n_groups=2, keys_public=True)
    with pytest.raises(InvalidInput, match="missing"):
        release(plan, {})
    with pytest.raises(InvalidInput, match="2 public groups"):
        release(plan, {"n": [1, 2, 3]})
    with pytest.raises(InvalidInput, match="integers"):
        release(plan, {"n": [1.5, 2]})
    with pytest.raises(InvalidInput, match="64-bit"):
        release(plan, {"n": [2**63, 2]})
    with pytest.raises(InvalidInput, match="unexpected"):
        release(plan, {"n": [1, 2], "m": [1, 2]})


@pytest.mark.parametrize(
    ("spec", "match"),
    [
        pytest.param({"name": "s", "kind": "sum"}, "needs clamping bounds", id="sum-without-bounds"),
        pytest.param({"name": "s", "kind": "avg", "lower": 3, "upper": 1}, "above upper", id="bounds-reversed"),
        pytest.param({"name": "n", "kind": "count", "upper": 3}, "takes no clamping bounds", id="count-with-bounds"),
        pytest.param({"name": "n", "kind": "count", "scale": 10}, "leave scale at 1", id="count-with-scale"),
        pytest.param({"name": "a__sum", "kind": "count"}, "without '__'", id="reserved-name"),
        pytest.param({"name": "n", "kind": "median"}, "unknown aggregate kind", id="unknown-kind"),
        pytest.param({"name": "n", "kind": "count", "max_rows": 0}, "max_rows", id="zero-rows"),
        pytest.param({"name": "s", "kind": "sum", "lower": 0, "upper": float("nan")}, "finite", id="nan-bound"),
    ],
)
def test_aggregate_spec_validates_itself(spec, match) -> None:
    with pytest.raises(InvalidInput, match=match):
        Aggregate(**spec)


def test_plan_rejects_bad_budgets() -> None:
    one = [Aggregate(name="n", kind="count")]
    with pytest.raises(InvalidInput, match="greater than 0"):
        plan_release(one, epsilon=0, n_groups=1, keys_public=True)
    with pytest.raises(InvalidInput, match="must not be negative"):
        plan_release(one, epsilon="-1", n_groups=1, keys_public=True)
    with pytest.raises(InvalidInput, match="delta must be below 1"):
        plan_release(one, epsilon=1, delta=1, n_groups=1, keys_public=True)
    with pytest.raises(InvalidInput, match="set a delta budget > 0 or give the column a public value list"):
        plan_release(one, epsilon=1, n_groups=1, keys_public=False)
    with pytest.raises(InvalidInput, match="unique"):
        plan_release(one * 2, epsilon=1, n_groups=1, keys_public=True)
    with pytest.raises(InvalidInput, match="alpha"):
        plan_release(one, epsilon=1, n_groups=1, keys_public=True, alpha=1.5)

"""The one sensitivity derivation, as a table a reviewer can check by hand."""

from __future__ import annotations

import pytest

from workbench.errors import InvalidInput
from workbench.privacy import l1_sensitivity, unit_bound

# (kind, max_rows, max_groups, lower, upper, scale) -> L1 sensitivity in integer units
TABLE = [
    pytest.param("count", 1, 1, None, None, 1, 1, id="count-one-row-one-group"),
    pytest.param("count", 3, 1, None, None, 1, 3, id="count-rows-add-up"),
    pytest.param("count", 1, 4, None, None, 1, 4, id="count-groups-add-up"),
    pytest.param("count", 3, 4, None, None, 1, 12, id="count-rows-times-groups"),
    pytest.param("count_distinct", 1, 1, None, None, 1, 1, id="distinct-one"),
    pytest.param("count_distinct", 5, 1, None, None, 1, 1, id="distinct-ignores-rows"),
    pytest.param("count_distinct", 5, 7, None, None, 1, 7, id="distinct-one-per-group"),
    pytest.param("sum", 1, 1, 0, 10, 1, 10, id="sum-upper-dominates"),
    pytest.param("sum", 1, 1, -20, 10, 1, 20, id="sum-negative-lower-dominates"),
    pytest.param("sum", 2, 3, 0, 10, 1, 60, id="sum-rows-and-groups"),
    pytest.param("sum", 1, 1, 0, 99.99, 100, 9999, id="sum-cents"),
    pytest.param("sum", 2, 1, -5, 10, 100, 2000, id="sum-cents-two-rows"),
    pytest.param("sum", 1, 1, 0, 1.1, 10, 11, id="sum-decimal-bound-not-float-noise"),
    pytest.param("sum", 1, 1, 0, 0.005, 100, 1, id="sum-half-unit-rounds-up"),
    pytest.param("sum", 1, 1, 0, 0.001, 100, 1, id="sum-tiny-bound-still-one-unit"),
    pytest.param("sum", 1, 1, 0, 0, 1, 0, id="sum-zero-range"),
    pytest.param("sum", 4, 2, -2.5, 2.5, 2, 40, id="sum-symmetric"),
]


@pytest.mark.parametrize(("kind", "max_rows", "max_groups", "lower", "upper", "scale", "expected"), TABLE)
def test_sensitivity_table(kind, max_rows, max_groups, lower, upper, scale, expected) -> None:
    got = l1_sensitivity(kind, max_rows=max_rows, max_groups=max_groups, lower=lower, upper=upper, scale=scale)
    assert got == expected
    assert isinstance(got, int)


def test_unit_bound_covers_every_rounding_the_engine_can_do() -> None:
    """No clamped value, fixed-pointed with round(), exceeds the bound the sensitivity uses."""
    for lower, upper, scale in [(0, 1.1, 10), (-3.3, 2.2, 100), (0, 0.005, 100), (-0.015, 0.0, 100)]:
        bound = unit_bound(lower, upper, scale)
        steps = 1000
        for i in range(steps + 1):
            x = lower + (upper - lower) * i / steps
            assert abs(round(min(max(x, lower), upper) * scale)) <= bound


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        pytest.param({"kind": "sum", "max_rows": 1, "max_groups": 1}, "needs clamping bounds", id="sum-no-bounds"),
        pytest.param({"kind": "count", "max_rows": 0, "max_groups": 1}, "max_rows", id="zero-rows"),
        pytest.param({"kind": "count", "max_rows": 1, "max_groups": True}, "max_groups", id="bool-groups"),
        pytest.param({"kind": "median", "max_rows": 1, "max_groups": 1}, "unknown aggregate kind", id="bad-kind"),
        pytest.param(
            {"kind": "sum", "max_rows": 1, "max_groups": 1, "lower": 0, "upper": float("inf")},
            "finite",
            id="infinite-bound",
        ),
    ],
)
def test_sensitivity_rejects_bad_input(kwargs, match) -> None:
    with pytest.raises(InvalidInput, match=match):
        l1_sensitivity(**kwargs)

"""Data-dependent group keys (OpenDP threshold) and crowd-size suppression."""

from __future__ import annotations

import pytest

from workbench.errors import InvalidInput
from workbench.privacy import Aggregate, plan_release, release_keys, suppress

AGG = Aggregate(name="n", kind="count", max_rows=2, max_groups=2)


def test_release_keys_refuses_without_delta() -> None:
    plan = plan_release([AGG], epsilon=1, n_groups=3, keys_public=True)
    with pytest.raises(InvalidInput, match="set a delta budget > 0 or give the column a public value list"):
        release_keys(plan, {("a",): 100})


def test_release_keys_needs_a_private_key_plan() -> None:
    plan = plan_release([AGG], epsilon=1, delta="1e-6", n_groups=3, keys_public=True)
    with pytest.raises(InvalidInput, match="plan made with keys_public=False"):
        release_keys(plan, {("a",): 100})


def test_release_keys_keeps_crowds_and_drops_rare_keys() -> None:
    plan = plan_release([AGG], epsilon=1, delta="1e-8", n_groups=0, keys_public=False)
    assert plan.keys is not None
    threshold = plan.keys.threshold
    noise = 20 * plan.keys.integer_scale  # |noise| beyond this has probability ~ e^-20
    counts = {
        ("north", 1): threshold + round(noise),
        ("south", None): threshold + round(2 * noise),
        ("rare", 2): 1,
        ("east", 3): max(threshold - round(noise), 0),
    }
    assert release_keys(plan, counts) == [("north", 1), ("south", None)]


def test_release_keys_order_does_not_depend_on_input_order() -> None:
    plan = plan_release([AGG], epsilon=1000, delta="1e-6", n_groups=0, keys_public=False)
    big = plan.keys.threshold + 1000
    forward = {("b",): big, ("a",): big, ("c",): big}
    backward = dict(reversed(list(forward.items())))
    assert release_keys(plan, forward) == release_keys(plan, backward) == [("a",), ("b",), ("c",)]


def test_release_keys_checks_its_input() -> None:
    plan = plan_release([AGG], epsilon=1, delta="1e-6", n_groups=0, keys_public=False)
    with pytest.raises(InvalidInput, match="tuples"):
        release_keys(plan, {"a": 10})  # type: ignore[dict-item]
    with pytest.raises(InvalidInput, match="integers"):
        release_keys(plan, {("a",): 1.5})  # type: ignore[dict-item]


@pytest.mark.parametrize(
    ("counts", "k_min", "expected"),
    [
        pytest.param([0.0, 4.9, 5.0, 12.0], 5, [True, True, False, False], id="below-k-min-suppressed"),
        pytest.param([-3.0, 0.0], 0, [True, False], id="k-min-zero-only-negatives"),
        pytest.param([float("nan"), 100.0], 10, [True, False], id="nan-suppressed"),
        pytest.param([], 10, [], id="empty"),
        pytest.param([10, 9], 10, [False, True], id="ints"),
    ],
)
def test_suppress(counts, k_min, expected) -> None:
    assert suppress(counts, k_min) == expected


def test_suppress_rejects_bad_k_min() -> None:
    with pytest.raises(InvalidInput, match="k_min"):
        suppress([1.0], -1)

"""Releasing: noise on exact aggregated vectors, DP key selection, crowd-size suppression.

Noise is OpenDP's exact discrete Laplace over 64-bit integers, drawn from the operating system's
randomness; it cannot be seeded, on purpose.
"""

from __future__ import annotations

import math
import operator
from collections.abc import Mapping, Sequence
from typing import Any

from workbench.errors import InvalidInput
from workbench.privacy import _opendp
from workbench.privacy._intervals import ratio_intervals
from workbench.privacy._plan import ReleasePlan


def _int_vector(name: str, values: Sequence[Any]) -> list[int]:
    out = []
    for value in values:
        if isinstance(value, bool | float):
            raise InvalidInput(f"exact vector {name!r} must hold integers, got {value!r}")
        try:
            number = operator.index(value)
        except TypeError:
            raise InvalidInput(f"exact vector {name!r} must hold integers, got {value!r}") from None
        if not _opendp.I64_MIN <= number <= _opendp.I64_MAX:
            raise InvalidInput(f"exact vector {name!r} has {number}, outside the 64-bit integer range")
        out.append(number)
    return out


def _noisy(plan: ReleasePlan, exact: Mapping[str, Sequence[int]]) -> dict[str, list[int]]:
    """Every planned measurement's vector with fresh noise, in integer units."""
    expected = {part.vector for agg in plan.aggregates for part in agg.parts}
    missing = sorted(expected - exact.keys())
    extra = sorted(exact.keys() - expected)
    if missing or extra:
        raise InvalidInput(f"exact vectors do not match the plan: missing {missing}, unexpected {extra}")
    vectors = {name: _int_vector(name, exact[name]) for name in expected}
    lengths = {len(v) for v in vectors.values()}
    if len(lengths) > 1:
        raise InvalidInput(f"exact vectors must all have one entry per group; got lengths {sorted(lengths)}")
    if plan.keys_public and lengths and lengths != {plan.n_groups}:
        raise InvalidInput(f"the plan has {plan.n_groups} public groups but the vectors have {lengths.pop()}")
    return {part.vector: _opendp.noisy_vector(part.integer_scale, vectors[part.vector])
            for agg in plan.aggregates for part in agg.parts}


def _outputs(plan: ReleasePlan, noisy: Mapping[str, list[int]]) -> dict[str, list[float]]:
    """Released values in real units; an avg is its noisy sum over its noisy count (free)."""
    released: dict[str, list[float]] = {}
    for agg in plan.aggregates:
        spec = agg.aggregate
        if spec.kind in ("count", "count_distinct"):
            released[spec.name] = [float(v) for v in noisy[agg.parts[0].vector]]
        elif spec.kind == "sum":
            released[spec.name] = [v / spec.scale for v in noisy[agg.parts[0].vector]]
        else:
            assert agg.ratio is not None
            lower, upper = spec.clamp
            sums, counts = (noisy[part.vector] for part in agg.ratio)
            released[spec.name] = [
                min(max((s / spec.scale) / max(c, 1), lower), upper) for s, c in zip(sums, counts, strict=True)
            ]
    return released


def _intervals(plan: ReleasePlan, noisy: Mapping[str, list[int]], released: Mapping[str, list[float]]
               ) -> dict[str, list[tuple[float, float]]]:
    """Per aggregate and row, the (1 - alpha) interval of the value before noise.

    Counts and sums: the value plus or minus OpenDP's accuracy for the scale. Avgs: Fieller's
    inversion over the two noise laws (``_intervals``).
    """
    out: dict[str, list[tuple[float, float]]] = {}
    for agg in plan.aggregates:
        spec = agg.aggregate
        if agg.ratio is None:
            half = agg.ci_half_width or 0.0
            out[spec.name] = [(v - half, v + half) for v in released[spec.name]]
            continue
        total, count = agg.ratio
        lower, upper = spec.clamp
        found = ratio_intervals(noisy[total.vector], noisy[count.vector], sum_scale=total.integer_scale,
                                count_scale=count.integer_scale, lower=lower * spec.scale,
                                upper=upper * spec.scale, alpha=plan.alpha)
        out[spec.name] = [(a / spec.scale, b / spec.scale) for a, b in found]
    return out


def release(plan: ReleasePlan, exact: Mapping[str, Sequence[int]]) -> dict[str, list[float]]:
    """Add the planned noise to exact integer vectors and return values in real units.

    ``exact`` holds one vector per measurement (see ``Aggregate.vectors``): one entry per group in
    the same fixed key order for every vector; sums in fixed-point integers; an avg's own
    ``<name>__sum`` and ``<name>__count`` (none for what it reuses). Charge the ledger for
    ``plan.budget`` before calling.
    """
    return _outputs(plan, _noisy(plan, exact))


def release_with_intervals(plan: ReleasePlan, exact: Mapping[str, Sequence[int]]
                           ) -> tuple[dict[str, list[float]], dict[str, list[tuple[float, float]]]]:
    """:func:`release`, plus every released value's (1 - alpha) interval (post-processing, free)."""
    noisy = _noisy(plan, exact)
    released = _outputs(plan, noisy)
    return released, _intervals(plan, noisy, released)


def _key_order(key: tuple) -> Any:
    return tuple((type(part).__name__, repr(part)) for part in key)


def release_keys(plan: ReleasePlan, counts: Mapping[tuple, int]) -> list[tuple]:
    """The data-dependent group keys that survive OpenDP's noisy threshold, in a data-free order.

    ``counts`` are the per-key counts after contribution bounding (each unit at most the plan's
    max_rows rows per key in at most max_groups keys; counting distinct units per key also fits).
    """
    if plan.keys is None:
        raise InvalidInput(
            "releasing group keys found in the data needs a plan made with keys_public=False and "
            "delta > 0: set a delta budget > 0 or give the column a public value list"
        )
    keys = list(counts)
    for key in keys:
        if not isinstance(key, tuple):
            raise InvalidInput(f"group keys must be tuples of column values, got {key!r}")
    encoded = {str(i): _int_vector("counts", [counts[key]])[0] for i, key in enumerate(keys)}
    kept = _opendp.noisy_keys(plan.keys.integer_scale, plan.keys.threshold, encoded)
    return sorted((keys[int(i)] for i in kept), key=_key_order)


def suppress(counts: Sequence[float], k_min: int) -> list[bool]:
    """Crowd-size rule: True where the (noisy) count is below ``k_min`` (or not a number)."""
    if isinstance(k_min, bool) or not isinstance(k_min, int) or k_min < 0:
        raise InvalidInput(f"k_min must be a whole number >= 0, got {k_min!r}")
    return [not (isinstance(c, int | float) and not math.isnan(c) and c >= k_min) for c in counts]

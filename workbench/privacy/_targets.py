"""Accuracy first: the smallest epsilon whose release meets every error target at 95%.

Each noisy vector is a discrete Laplace measurement (pure epsilon-DP, composed by adding
epsilons), so a target on one column constrains that column's vector alone: its (1 - alpha)
half-width, OpenDP's ``discrete_laplacian_scale_to_accuracy(scale, alpha)``, falls as its scale
falls and its epsilon is ``sensitivity / scale``. The total is a sum of independent terms, so the
smallest total is each vector at its own smallest epsilon:

    scale_i = accuracy_to_discrete_laplacian_scale(target_i * fixed_point_i, alpha)
    eps_i   = sensitivity_i / scale_i

rounded up to 6 significant digits, then checked against OpenDP's own calibration and map (the
plan made with these shares meets every target, and one step of the 6th digit less would not).

Measurements with no error of their own to target: an avg reuses the released sum and count
(target those); the key threshold of data-dependent keys takes the mean of the other shares.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from fractions import Fraction

from workbench.errors import InvalidInput
from workbench.privacy import _opendp
from workbench.privacy._plan import KEYS, Aggregate, ReleasePlan, _check_alpha, measurements, plan_release
from workbench.privacy._sensitivity import l1_sensitivity

#: significant digits of a solved epsilon share
DIGITS = 6
_TARGET = re.compile(r"^\s*(?:±|\+/?-|\+-)?\s*([0-9][0-9_,]*(?:\.[0-9]*)?(?:[eE][+-]?[0-9]+)?)\s*(%?)\s*$")


def parse_target(name: str, value: object, scale: float | None = None) -> float:
    """An error target as an absolute 95% half-width in released units.

    ``"±5000"`` or ``5000`` is absolute; ``"±2%"`` is relative to ``scale``, the public scale the
    question declares for the column.
    """
    if isinstance(value, bool):
        raise InvalidInput(f"target for {name!r} must be a number such as 5000 or text such as '±2%'")
    if isinstance(value, int | float):
        number, relative = float(value), False
    elif isinstance(value, str) and (found := _TARGET.match(value)):
        number, relative = float(found.group(1).replace(",", "").replace("_", "")), found.group(2) == "%"
    else:
        raise InvalidInput(f"target for {name!r} must be a number such as 5000 or text such as "
                           f"'±2%' or '±5000', got {value!r:.60}")
    if relative:
        if scale is None:
            raise InvalidInput(f"a relative target for {name!r} needs a public scale: declare one in "
                               f"the question (scales={{'{name}': typical value}}) or give an "
                               "absolute target such as '±5000'")
        number = number / 100 * scale
    if not math.isfinite(number) or number <= 0:
        raise InvalidInput(f"target for {name!r} must be an error above 0, got {value!r:.60}")
    return number


@dataclass(frozen=True, kw_only=True)
class TargetSolution:
    """The cheapest plan that meets the targets, and what an even split would have cost."""

    plan: ReleasePlan
    #: absolute 95% half-width asked per column, released units
    targets: dict[str, float]
    #: the epsilon of every measurement
    shares: dict[str, Fraction]
    #: the smallest epsilon an even split needs to meet the same targets
    epsilon_uniform: Fraction


def _round_up(x: Fraction) -> Fraction:
    """``x`` rounded up to DIGITS significant digits."""
    step = _step(x)
    return math.ceil(x / step) * step


def _step(x: Fraction) -> Fraction:
    exponent = math.floor(math.log10(x)) - DIGITS + 1
    return Fraction(10) ** exponent


def _meets(sensitivity: int, fixed_point: int, epsilon: Fraction, half_width: float, alpha: float) -> bool:
    scale = _opendp.calibrate_laplace(sensitivity, epsilon)
    return _opendp.laplace_accuracy(scale, alpha) / fixed_point <= half_width


def smallest_share(sensitivity: int, fixed_point: int, half_width: float, alpha: float = 0.05) -> Fraction:
    """The smallest epsilon (DIGITS significant digits) whose vector meets ``half_width``."""
    wanted = half_width * fixed_point
    scale = _opendp.laplace_scale_for(wanted, alpha)
    eps = _round_up(Fraction(sensitivity) / Fraction(scale))
    for _ in range(1000):  # OpenDP's rounding may need a step or two more
        if _meets(sensitivity, fixed_point, eps, half_width, alpha):
            break
        eps += _step(eps)
    else:
        raise ArithmeticError(f"no epsilon meets the target {half_width}")
    while True:  # and never more than needed
        lower = eps - _step(eps * (1 - Fraction(1, 10 ** (DIGITS + 1))))
        if lower <= 0 or not _meets(sensitivity, fixed_point, lower, half_width, alpha):
            return eps
        eps = lower


def _vector_sensitivity(agg: Aggregate, vector: str) -> tuple[int, int]:
    bounds = {"max_rows": agg.max_rows, "max_groups": agg.max_groups}
    if agg.kind == "count_distinct":
        return l1_sensitivity("count_distinct", **bounds), 1
    if agg.kind == "count" or vector.endswith("__count"):
        return l1_sensitivity("count", **bounds), 1
    return l1_sensitivity("sum", lower=agg.lower, upper=agg.upper, scale=agg.scale, **bounds), agg.scale


def solve_targets(aggregates: Sequence[Aggregate], targets: Mapping[str, float], *, n_groups: int,
                  keys_public: bool, delta: Fraction | float | str = 0, alpha: float = 0.05
                  ) -> TargetSolution:
    """The plan of least total epsilon whose every targeted column meets its (1 - alpha) target.

    ``targets`` maps output columns to absolute half-widths in released units (see
    :func:`parse_target`). Every column with a noisy vector of its own needs one.
    """
    _check_alpha(alpha)
    by_name = {a.name: a for a in aggregates}
    unknown = sorted(set(targets) - set(by_name))
    if unknown:
        raise InvalidInput(f"targets name unknown columns {unknown}; the columns are {sorted(by_name)}")
    for name in targets:
        if by_name[name].kind == "avg":
            raise InvalidInput(
                f"{name} is an average: its error depends on the group size. Add SUM and COUNT(*) of "
                "the same column to the question and set targets on those; the average is derived "
                "from them for free")
    shares: dict[str, Fraction] = {}
    asked: dict[str, float] = {}
    for agg in aggregates:
        for vector in agg.vectors:
            if agg.kind == "avg":
                raise InvalidInput(
                    f"{agg.name} is an average with noise of its own; add SUM and COUNT(*) of the same "
                    "column to the question and target those (the average is then derived for free), "
                    "or plan with an epsilon")
            if agg.name not in targets:
                raise InvalidInput(f"give a target for every noisy column; missing: {agg.name}",
                                   missing=[agg.name])
            half = float(targets[agg.name])
            if not math.isfinite(half) or half <= 0:
                raise InvalidInput(f"target for {agg.name!r} must be an error above 0, got {half!r}")
            sensitivity, fixed_point = _vector_sensitivity(agg, vector)
            shares[vector] = smallest_share(sensitivity, fixed_point, half, alpha)
            asked[agg.name] = half
    names = measurements(aggregates, keys_public=keys_public)
    if not keys_public:
        shares[KEYS] = _round_up(sum(shares.values(), Fraction(0)) / max(len(shares), 1))
    total = sum(shares.values(), Fraction(0))
    plan = plan_release(aggregates, epsilon=total, delta=delta, n_groups=n_groups,
                        keys_public=keys_public, alpha=alpha, shares=shares)
    for planned in plan.aggregates:
        if planned.name in asked and (planned.ci_half_width or 0.0) > asked[planned.name]:
            raise ArithmeticError(f"the solved plan misses the target of {planned.name}")
    return TargetSolution(plan=plan, targets=asked, shares=shares,
                          epsilon_uniform=max(shares.values()) * len(names))

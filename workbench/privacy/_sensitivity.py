"""How much one privacy unit can move an aggregated vector: the L1 sensitivity.

OpenDP never sees our SQL, so this derivation is the one piece of the privacy argument that is
ours. It lives here, alone, and is tested as a table and empirically.

Neighbouring datasets differ by adding or removing ALL rows of one privacy unit. The engine
bounds each unit to at most ``max_rows`` rows in any one group and at most ``max_groups`` groups,
clamps sum/avg inputs to [lower, upper] and turns them into integers with
``round(clamp(x) * scale)``. Then, summed over every group of the released vector:

| kind           | L1 sensitivity (integer units)                        |
|----------------|-------------------------------------------------------|
| count          | max_groups * max_rows                                 |
| count_distinct | max_groups  (distinct privacy units: one per group)   |
| sum            | max_groups * max_rows * ceil(max(|lower|,|upper|) * scale) |

An avg is released as a sum and a count, each with its own row of the table.
"""

from __future__ import annotations

from decimal import Decimal
from fractions import Fraction
from math import ceil, isfinite
from typing import Literal

from workbench.errors import InvalidInput

Kind = Literal["count", "count_distinct", "sum"]


def _positive_int(name: str, value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise InvalidInput(f"{name} must be a whole number of at least 1, got {value!r}")
    return value


def unit_bound(lower: float, upper: float, scale: int) -> int:
    """Largest absolute fixed-point integer one clamped value can become.

    The bounds are read as the decimals they were written as (1.1, not 1.1000000000000000888), and
    the product is rounded up, which covers every rounding of ``clamp(x) * scale`` the engine may do.
    """
    for label, bound in (("lower", lower), ("upper", upper)):
        if isinstance(bound, bool) or not isinstance(bound, int | float) or not isfinite(bound):
            raise InvalidInput(f"{label} bound must be a finite number, got {bound!r}")
    _positive_int("scale", scale)
    largest = max(abs(Fraction(Decimal(repr(float(b))))) for b in (lower, upper))
    return ceil(largest * scale)


def l1_sensitivity(
    kind: Kind,
    *,
    max_rows: int,
    max_groups: int,
    lower: float | None = None,
    upper: float | None = None,
    scale: int = 1,
) -> int:
    """L1 sensitivity, in integer units, of one aggregated vector under add/remove-one-unit."""
    _positive_int("max_rows", max_rows)
    _positive_int("max_groups", max_groups)
    if kind == "count":
        return max_groups * max_rows
    if kind == "count_distinct":
        return max_groups
    if kind == "sum":
        if lower is None or upper is None:
            raise InvalidInput("a sum needs clamping bounds: set lower and upper")
        return max_groups * max_rows * unit_bound(lower, upper, scale)
    raise InvalidInput(f"unknown aggregate kind {kind!r}; use count, count_distinct or sum")

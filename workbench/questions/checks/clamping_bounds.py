"""clamping_bounds: every summed or averaged column has clamping bounds, and those bounds cannot
overflow the engine's 64-bit fixed-point sums however much data the room holds.

A sum is taken over ``round(clamp(x) * scale)`` integers. In one group each person contributes at
most ``max_rows`` of them, and no dataset holds more than :data:`MAX_PERSONS` people, so a group's
total is at most ``MAX_PERSONS * max_rows * ceil(max(|lower|, |upper|) * scale)``. That must stay
below 2**62 (headroom for the noise), or the question is refused before it reads anything:
an overflow found while reading data would make success depend on the data.
"""

from __future__ import annotations

from workbench.privacy import unit_bound
from workbench.questions.checks._base import CheckInput, Violation, outer_select
from workbench.questions.checks.allowed_outputs import aggregate_form

RULE = "clamping_bounds"
#: fixed-point factor for sums and averages (cents), unless that could come near 64-bit limits
FIXED_POINT = 100
#: more people than live on Earth: no dataset can hold more privacy units
MAX_PERSONS = 10**10
#: the largest group total allowed (noise is added in 64-bit integers)
LIMIT = 2**62


def fixed_point_scale(lower: float, upper: float, max_rows: int, max_groups: int) -> int:
    """Cents, unless one unit's contribution in cents would come near 64-bit limits."""
    largest = max(abs(lower), abs(upper))
    return FIXED_POINT if largest * FIXED_POINT * max_rows * max_groups < 2**40 else 1


def largest_total(lower: float, upper: float, max_rows: int, max_groups: int) -> int:
    """The largest absolute fixed-point total one group can reach."""
    scale = fixed_point_scale(lower, upper, max_rows, max_groups)
    return MAX_PERSONS * max_rows * unit_bound(lower, upper, scale)


def clamping_bounds(q: CheckInput) -> list[Violation]:
    """SUM/AVG inputs have bounds, and bounds x max_rows x scale x people fit the integer type."""
    select = outer_select(q.parsed)
    if select is None or q.kind != "analytical":
        return []
    out: list[Violation] = []
    for projection in select.expressions:
        form = aggregate_form(projection.unalias())
        if form is None or form.kind not in ("sum", "avg") or form.column is None:
            continue
        for ref in sorted(q.parsed.sources_of(form.column), key=lambda r: (r.dataset, r.field)):
            binding = q.binding(ref)
            rule = binding.rule(ref.field) if binding is not None else None
            if rule is None or form.kind.upper() not in rule.aggregations:
                continue  # known_columns and allowed_outputs report these
            if rule.lower is None or rule.upper is None:
                out.append(Violation(rule=RULE, dataset=ref.dataset, column=ref.field, message=(
                    f"{ref.dataset}.{ref.field} has no clamping bounds; its analysis rule needs "
                    "lower and upper before it can be summed or averaged")))
                continue
            total = largest_total(rule.lower, rule.upper, q.max_rows, q.max_groups)
            if total >= LIMIT:
                out.append(Violation(rule=RULE, dataset=ref.dataset, column=ref.field, message=(
                    f"the bounds [{rule.lower}, {rule.upper}] of {ref.dataset}.{ref.field} with "
                    f"max_rows {q.max_rows} could overflow the 64-bit sum of "
                    f"{projection.alias_or_name}; lower max_rows or ask the data manager for "
                    "narrower bounds")))
    return out


"""Planning a release: which noise, at what cost, with what expected error, before any spending.

The split of the budget (documented once, here):

- Every noisy vector is one measurement: a count, count_distinct or sum is one; an avg is two
  (its noisy sum and its noisy count), unless the question releases that sum or that count
  already: then the avg reuses the released vector (``sum_of``/``count_of``) and costs nothing
  for it (post-processing is free).
- With private (data-dependent) group keys, the key release by threshold is one more measurement.
- Epsilon is split evenly across all measurements, unless the caller gives each measurement its
  own share (``shares``, as the accuracy-target solver in ``_targets`` does). Delta is spent only by the key threshold: with
  public keys nothing uses it and nothing is charged; with private keys the threshold gets all of it.
- The plan charges exactly the epsilon asked for (and the delta, if the keys are private). The
  epsilon OpenDP's own maps report for each measurement is recorded next to it, and planning fails
  if those ever add up to more than the charge.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from fractions import Fraction
from math import isfinite
from typing import Literal

from workbench.errors import InvalidInput
from workbench.privacy import _opendp
from workbench.privacy.budget import Budget, to_fraction
from workbench.privacy._sensitivity import l1_sensitivity

AggregateKind = Literal["count", "count_distinct", "sum", "avg"]
KINDS: tuple[AggregateKind, ...] = ("count", "count_distinct", "sum", "avg")


def aggregate_kind(value: str) -> AggregateKind:
    """A kind read from text (compiled questions carry it as a string), checked."""
    for kind in KINDS:
        if value == kind:
            return kind
    raise InvalidInput(f"unknown aggregate kind {value!r}; use one of {KINDS}")


@dataclass(frozen=True, kw_only=True)
class Aggregate:
    """One released output column and the bounds the engine enforced before aggregating it."""

    #: output column name (no "__": the engine's vectors for an avg are "<name>__sum"/"__count")
    name: str
    #: what is aggregated; count_distinct counts distinct privacy units
    kind: AggregateKind
    #: clamping bounds for sum/avg, in real units (None for counts)
    lower: float | None = None
    upper: float | None = None
    #: fixed-point factor: the engine sums round(clamp(x) * scale) as integers
    scale: int = 1
    #: most rows one privacy unit contributes to one group
    max_rows: int = 1
    #: most groups one privacy unit contributes to
    max_groups: int = 1
    #: an avg only: the released sum (same column, bounds and scale) it divides, instead of a
    #: noisy sum of its own
    sum_of: str | None = None
    #: an avg only: the released row count it divides by, instead of a noisy count of its own
    count_of: str | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.name, str) or not self.name or "__" in self.name:
            raise InvalidInput(f"aggregate name must be a non-empty string without '__', got {self.name!r}")
        if self.kind not in KINDS:
            raise InvalidInput(f"{self.name}: unknown aggregate kind {self.kind!r}; use one of {KINDS}")
        for label in ("scale", "max_rows", "max_groups"):
            value = getattr(self, label)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise InvalidInput(f"{self.name}: {label} must be a whole number of at least 1, got {value!r}")
        bounded = self.kind in ("sum", "avg")
        if bounded:
            if self.lower is None or self.upper is None:
                raise InvalidInput(f"{self.name}: a {self.kind} needs clamping bounds; set lower and upper")
            for label in ("lower", "upper"):
                value = getattr(self, label)
                if isinstance(value, bool) or not isinstance(value, int | float) or not isfinite(value):
                    raise InvalidInput(f"{self.name}: {label} must be a finite number, got {value!r}")
            if self.lower > self.upper:
                raise InvalidInput(f"{self.name}: lower bound {self.lower} is above upper bound {self.upper}")
        elif self.lower is not None or self.upper is not None:
            raise InvalidInput(f"{self.name}: a {self.kind} takes no clamping bounds; leave lower and upper unset")
        if self.scale != 1 and not bounded:
            raise InvalidInput(f"{self.name}: a {self.kind} is an integer already; leave scale at 1")
        if self.kind != "avg" and (self.sum_of is not None or self.count_of is not None):
            raise InvalidInput(f"{self.name}: only an avg reuses a released sum or count")

    @property
    def vectors(self) -> tuple[str, ...]:
        """Names of the exact integer vectors ``release`` expects for this aggregate."""
        if self.kind == "avg":
            return tuple(v for v, reused in ((f"{self.name}__sum", self.sum_of),
                                              (f"{self.name}__count", self.count_of))
                         if reused is None)
        return (self.name,)

    @property
    def clamp(self) -> tuple[float, float]:
        """(lower, upper) of a sum or avg, in real units."""
        if self.lower is None or self.upper is None:
            raise InvalidInput(f"{self.name}: a {self.kind} has no clamping bounds")
        return float(self.lower), float(self.upper)


@dataclass(frozen=True, kw_only=True)
class NoisePlan:
    """One noisy vector (one measurement): its sensitivity, share, noise and expected error."""

    #: key of the exact vector in ``release``'s input
    vector: str
    #: integer counts or fixed-point sums
    kind: Literal["count", "sum"]
    #: L1 sensitivity in integer units (see _sensitivity)
    sensitivity: int
    #: fixed-point factor dividing integer units into released units (1 for counts)
    fixed_point: int
    #: OpenDP's discrete Laplace scale parameter, in integer units
    integer_scale: float
    #: noise scale in released units (integer_scale / fixed_point)
    noise_scale: float
    #: epsilon as OpenDP's privacy map reports it at ``sensitivity``
    epsilon: Fraction
    #: |noise| stays below this with probability 1 - alpha (released units; OpenDP's helper)
    ci_half_width: float


@dataclass(frozen=True, kw_only=True)
class AggregatePlan:
    """The plan of one output column."""

    aggregate: Aggregate
    #: its own measurements: one, or up to two for an avg (the sum and count it does not reuse)
    parts: tuple[NoisePlan, ...]
    #: the epsilon these measurements use (OpenDP's figures, summed)
    epsilon: Fraction
    #: noise scale in released units (for an avg: of its noisy sum; see parts)
    noise_scale: float
    #: L1 sensitivity in integer units (for an avg: of its noisy sum; see parts)
    sensitivity: int
    #: expected (1 - alpha) error half-width in released units; None for an avg, whose error
    #: depends on the group size (use ``avg_ci_half_width``, or the per-row intervals)
    ci_half_width: float | None
    #: an avg only: the (sum, count) measurements it divides, its own or reused ones
    ratio: tuple[NoisePlan, NoisePlan] | None = None

    @property
    def name(self) -> str:
        return self.aggregate.name

    @property
    def kind(self) -> AggregateKind:
        return self.aggregate.kind


@dataclass(frozen=True, kw_only=True)
class KeyPlan:
    """Release of data-dependent group keys by a noisy threshold."""

    #: OpenDP's Laplace scale for the key counts
    integer_scale: float
    #: keys whose noisy count is below this are not released
    threshold: int
    #: (l0, l1, linf) of one unit's contribution to the key counts
    d_in: tuple[int, int, int]
    #: what OpenDP's map reports at d_in
    epsilon: Fraction
    delta: Fraction


@dataclass(frozen=True, kw_only=True)
class ReleasePlan:
    """Everything a release will do and cost, computed without touching data."""

    #: exactly what the ledger is charged
    epsilon: Fraction
    delta: Fraction
    #: the share of epsilon each measurement was planned with (with per-measurement shares:
    #: their mean)
    epsilon_share: Fraction
    #: the significance level of the ci_half_width figures
    alpha: float
    #: number of groups: the length of every exact vector when keys are public (with private
    #: keys the released key count decides and this is not checked)
    n_groups: int
    keys_public: bool
    aggregates: tuple[AggregatePlan, ...]
    #: the key threshold (private keys only)
    keys: KeyPlan | None

    @property
    def budget(self) -> Budget:
        """The charge, as a ledger Budget."""
        return Budget(epsilon=self.epsilon, delta=self.delta)

    @property
    def epsilon_opendp(self) -> Fraction:
        """Sum of what OpenDP's maps report for every measurement (at most ``epsilon``)."""
        total = sum((p.epsilon for p in self.aggregates), Fraction(0))
        return total + (self.keys.epsilon if self.keys else Fraction(0))

    def aggregate(self, name: str) -> AggregatePlan:
        for plan in self.aggregates:
            if plan.name == name:
                return plan
        raise InvalidInput(f"no aggregate named {name!r} in this plan")


def _part(vector: str, kind: Literal["count", "sum"], sensitivity: int, fixed_point: int,
          share: Fraction, alpha: float) -> NoisePlan:
    integer_scale = _opendp.calibrate_laplace(sensitivity, share)
    epsilon = _opendp.laplace_epsilon(integer_scale, sensitivity)
    return NoisePlan(
        vector=vector,
        kind=kind,
        sensitivity=sensitivity,
        fixed_point=fixed_point,
        integer_scale=integer_scale,
        noise_scale=integer_scale / fixed_point,
        epsilon=epsilon,
        ci_half_width=accuracy(integer_scale, alpha) / fixed_point,
    )


def accuracy(integer_scale: float, alpha: float = 0.05) -> float:
    """Half-width, in integer units, that discrete Laplace noise exceeds with probability alpha."""
    _check_alpha(alpha)
    return _opendp.laplace_accuracy(integer_scale, alpha)


def avg_ci_half_width(plan: AggregatePlan, group_rows: int, alpha: float = 0.05) -> float:
    """Expected (1 - alpha) error half-width of an avg over a group of ``group_rows`` rows.

    Union bound: the sum and the count are each within their (1 - alpha/2) half-widths, and the
    avg of [lower, upper]-bounded values moves by at most (e_sum + M * e_count) / (n - e_count),
    M = max(|lower|, |upper|); never more than the width of the bounds.
    """
    agg = plan.aggregate
    if agg.kind != "avg":
        raise InvalidInput(f"{agg.name} is a {agg.kind}, not an avg; use its ci_half_width")
    _check_alpha(alpha)
    assert plan.ratio is not None
    total, count = plan.ratio
    e_sum = accuracy(total.integer_scale, alpha / 2) / total.fixed_point
    e_count = accuracy(count.integer_scale, alpha / 2)
    lower, upper = agg.clamp
    width = upper - lower
    if group_rows <= e_count:
        return width
    largest = max(abs(lower), abs(upper))
    return min(width, (e_sum + largest * e_count) / (group_rows - e_count))


def _check_alpha(alpha: float) -> None:
    if isinstance(alpha, bool) or not isinstance(alpha, int | float) or not 0 < alpha < 1:
        raise InvalidInput(f"alpha must be between 0 and 1 (e.g. 0.05 for 95%), got {alpha!r}")


#: the name of the key-threshold measurement in ``shares``
KEYS = "group keys"


def measurements(aggregates: Sequence[Aggregate], *, keys_public: bool) -> list[str]:
    """The names of the noisy measurements a release of ``aggregates`` makes, in plan order."""
    names = [v for a in aggregates for v in a.vectors]
    return names + ([] if keys_public else [KEYS])


def _reused(agg: Aggregate, planned: dict[str, AggregatePlan], own: tuple[NoisePlan, ...]
            ) -> tuple[NoisePlan, NoisePlan]:
    """The (sum, count) measurements an avg divides: its own, or released columns it reuses."""
    mine = {p.vector: p for p in own}
    if agg.sum_of is None:
        total = mine[f"{agg.name}__sum"]
    else:
        other = planned.get(agg.sum_of)
        if other is None or other.kind != "sum" or (other.aggregate.lower, other.aggregate.upper,
                                                    other.aggregate.scale) != (agg.lower, agg.upper, agg.scale):
            raise InvalidInput(f"{agg.name}: sum_of must name a released sum of the same column, "
                               f"bounds and scale; {agg.sum_of!r} is not one")
        total = other.parts[0]
    if agg.count_of is None:
        count = mine[f"{agg.name}__count"]
    else:
        other = planned.get(agg.count_of)
        if other is None or other.kind != "count":
            raise InvalidInput(f"{agg.name}: count_of must name a released row count; "
                               f"{agg.count_of!r} is not one")
        count = other.parts[0]
    return total, count


def plan_release(
    aggregates: Sequence[Aggregate],
    *,
    epsilon: Fraction | float | str,
    delta: Fraction | float | str = 0,
    n_groups: int,
    keys_public: bool,
    alpha: float = 0.05,
    shares: Mapping[str, Fraction] | None = None,
) -> ReleasePlan:
    """Plan a release: per-measurement noise, OpenDP-checked cost and expected error; spends nothing.

    ``shares`` gives each measurement (see :func:`measurements`) its own epsilon; they must add
    up to ``epsilon`` exactly. Without it, epsilon is split evenly.
    """
    aggregates = tuple(aggregates)
    if not aggregates:
        raise InvalidInput("nothing to release: give at least one aggregate")
    names = [a.name for a in aggregates]
    if len(set(names)) != len(names):
        raise InvalidInput(f"aggregate names must be unique, got {names}")
    if not all(isinstance(a, Aggregate) for a in aggregates):
        raise InvalidInput("aggregates must be Aggregate specs")
    if isinstance(n_groups, bool) or not isinstance(n_groups, int) or n_groups < 0:
        raise InvalidInput(f"n_groups must be a whole number >= 0, got {n_groups!r}")
    _check_alpha(alpha)
    eps = to_fraction(epsilon, name="epsilon")
    dlt = to_fraction(delta, name="delta")
    if eps == 0:
        raise InvalidInput("epsilon must be greater than 0 for a differentially private release")
    if dlt >= 1:
        raise InvalidInput(f"delta must be below 1 (typically 1e-6 or smaller), got {delta!r}")
    if not keys_public and dlt == 0:
        raise InvalidInput(
            "group keys that come from the data need a delta budget: "
            "set a delta budget > 0 or give the column a public value list"
        )

    names_measured = measurements(aggregates, keys_public=keys_public)
    if shares is None:
        share = eps / len(names_measured)
        split = dict.fromkeys(names_measured, share)
    else:
        split = {name: to_fraction(shares.get(name, 0), name=f"epsilon share of {name}")
                 for name in names_measured}
        if set(shares) - set(names_measured):
            raise InvalidInput(f"shares name unknown measurements {sorted(set(shares) - set(names_measured))}")
        if any(v == 0 for v in split.values()) or sum(split.values(), Fraction(0)) != eps:
            raise InvalidInput("every measurement needs a share above 0, and the shares must add up "
                               "to epsilon")
        share = eps / len(names_measured)
    planned: dict[str, AggregatePlan] = {}
    for agg in sorted(aggregates, key=lambda a: a.kind == "avg"):
        bounds = {"max_rows": agg.max_rows, "max_groups": agg.max_groups}
        count_kind: Literal["count", "count_distinct"] = (
            "count_distinct" if agg.kind == "count_distinct" else "count")
        if agg.kind in ("count", "count_distinct"):
            parts: tuple[NoisePlan, ...] = (
                _part(agg.name, "count", l1_sensitivity(count_kind, **bounds), 1, split[agg.name], alpha),
            )
        else:
            sum_sens = l1_sensitivity("sum", lower=agg.lower, upper=agg.upper, scale=agg.scale, **bounds)
            parts = ()
            for vector in agg.vectors:
                if vector.endswith("__count"):
                    parts += (_part(vector, "count", l1_sensitivity("count", **bounds), 1, split[vector], alpha),)
                else:
                    parts += (_part(vector, "sum", sum_sens, agg.scale, split[vector], alpha),)
        ratio = _reused(agg, planned, parts) if agg.kind == "avg" else None
        first = ratio[0] if ratio is not None else parts[0]
        planned[agg.name] = AggregatePlan(
            aggregate=agg,
            parts=parts,
            epsilon=sum((p.epsilon for p in parts), Fraction(0)),
            noise_scale=first.noise_scale,
            sensitivity=first.sensitivity,
            ci_half_width=None if agg.kind == "avg" else first.ci_half_width,
            ratio=ratio,
        )
    plans = [planned[name] for name in names]

    keys = None
    if not keys_public:
        max_rows = max(a.max_rows for a in aggregates)
        max_groups = max(a.max_groups for a in aggregates)
        d_in = (max_groups, max_groups * max_rows, max_rows)
        key_scale = _opendp.calibrate_threshold_scale(d_in, split[KEYS])
        threshold, key_eps, key_delta = _opendp.calibrate_threshold(key_scale, d_in, dlt)
        keys = KeyPlan(integer_scale=key_scale, threshold=threshold, d_in=d_in, epsilon=key_eps, delta=key_delta)

    plan = ReleasePlan(
        epsilon=eps,
        delta=dlt if keys is not None else Fraction(0),
        epsilon_share=share,
        alpha=float(alpha),
        n_groups=n_groups,
        keys_public=keys_public,
        aggregates=tuple(plans),
        keys=keys,
    )
    if plan.epsilon_opendp > plan.epsilon or (keys is not None and keys.delta > plan.delta):
        raise ArithmeticError("OpenDP reports a higher cost than planned; refusing to release")
    return plan

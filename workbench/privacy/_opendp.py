"""The one place the project imports OpenDP.

Importing OpenDP costs about a second and a half, so it happens once, when the privacy package
is first imported (at service start). Every other module asks this one for measurements, so the
choice of mechanism (exact discrete Laplace over 64-bit integers) is made in a single place.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from fractions import Fraction
from math import inf, isfinite, nextafter
from typing import Any

import opendp.prelude as dp

dp.enable_features("contrib")

#: OpenDP's integer type for counts and fixed-point sums
INT_TYPE = "i64"
I64_MIN = -(2**63)
I64_MAX = 2**63 - 1


def laplace_vector(scale: float) -> Any:
    """Discrete Laplace noise over a vector of i64 with L1 sensitivity (pure epsilon-DP)."""
    return dp.m.make_laplace(
        dp.vector_domain(dp.atom_domain(T=INT_TYPE)), dp.l1_distance(T=INT_TYPE), scale=scale
    )


def laplace_threshold(scale: float, threshold: int) -> Any:
    """Noisy counts per key, keeping only keys whose noisy count reaches ``threshold``."""
    domain = dp.map_domain(dp.atom_domain(T=str), dp.atom_domain(T=INT_TYPE))
    metric = dp.l01inf_distance(dp.absolute_distance(T=INT_TYPE))
    return dp.m.make_laplace_threshold(domain, metric, scale=scale, threshold=threshold)


def laplace_epsilon(scale: float, sensitivity: int) -> Fraction:
    """The epsilon OpenDP's own privacy map reports for one vector release."""
    return Fraction(laplace_vector(scale).map(sensitivity))


def threshold_loss(scale: float, threshold: int, d_in: tuple[int, int, int]) -> tuple[Fraction, Fraction]:
    """(epsilon, delta) OpenDP reports for a threshold release at ``d_in`` = (l0, l1, linf)."""
    eps, delta = laplace_threshold(scale, threshold).map(d_in)
    return Fraction(eps), Fraction(delta)


def _calibrate(loss: Callable[[float], Fraction], sensitivity: int, epsilon: Fraction) -> float:
    """Smallest float scale (near sensitivity/epsilon) whose OpenDP map stays within ``epsilon``.

    OpenDP rounds its maps conservatively, so the naive scale can report a hair more than the
    target; step up one float at a time until the map itself says we are within budget.
    """
    scale = float(Fraction(sensitivity) / epsilon)
    for _ in range(64):
        if loss(scale) <= epsilon:
            return scale
        scale = nextafter(scale, inf)
    raise ArithmeticError(f"could not calibrate a noise scale for epsilon {epsilon}")


def calibrate_laplace(sensitivity: int, epsilon: Fraction) -> float:
    """Noise scale for a vector release of L1 ``sensitivity`` within ``epsilon`` (OpenDP's map)."""
    return _calibrate(lambda scale: laplace_epsilon(scale, sensitivity), sensitivity, epsilon)


def calibrate_threshold_scale(d_in: tuple[int, int, int], epsilon: Fraction) -> float:
    """Noise scale for a key threshold release whose OpenDP epsilon stays within ``epsilon``."""
    lowest = max(d_in[2], 1)
    return _calibrate(lambda scale: threshold_loss(scale, lowest, d_in)[0], d_in[1], epsilon)


def calibrate_threshold(
    scale: float, d_in: tuple[int, int, int], delta: Fraction
) -> tuple[int, Fraction, Fraction]:
    """Smallest integer threshold whose OpenDP map keeps delta within ``delta``.

    Returns (threshold, epsilon, delta) as OpenDP reports them for that threshold.
    """
    low = max(d_in[2], 1)
    eps, got = threshold_loss(scale, low, d_in)
    if got <= delta:
        return low, eps, got
    high = low * 2
    while threshold_loss(scale, high, d_in)[1] > delta:
        low, high = high, high * 2
        if high > I64_MAX // 2:
            raise ArithmeticError(f"no threshold reaches delta {delta}")
    while high - low > 1:  # invariant: low fails, high passes
        mid = (low + high) // 2
        if threshold_loss(scale, mid, d_in)[1] <= delta:
            high = mid
        else:
            low = mid
    eps, got = threshold_loss(scale, high, d_in)
    return high, eps, got


def laplace_accuracy(scale: float, alpha: float) -> float:
    """Half-width that discrete Laplace noise of ``scale`` exceeds with probability ``alpha``."""
    value = dp.discrete_laplacian_scale_to_accuracy(scale, alpha)
    # a vanishing scale makes OpenDP answer -inf: there is no error at all
    return value if isfinite(value) and value > 0 else 0.0


def laplace_scale_for(accuracy: float, alpha: float) -> float:
    """The discrete Laplace scale whose (1 - alpha) half-width is ``accuracy`` (OpenDP's helper)."""
    return float(dp.accuracy_to_discrete_laplacian_scale(accuracy, alpha))


def noisy_vector(scale: float, values: list[int]) -> list[int]:
    """One release of ``values`` with fresh OS-randomness discrete Laplace noise."""
    return list(laplace_vector(scale)(values))


def noisy_keys(scale: float, threshold: int, counts: Mapping[str, int]) -> dict[str, int]:
    """Threshold release: only keys whose noisy count reaches ``threshold`` come back."""
    return dict(laplace_threshold(scale, threshold)(dict(counts)))

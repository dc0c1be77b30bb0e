"""Statistical tests of the noise itself: calibration and an empirical privacy audit.

OpenDP's noise cannot be seeded, so every test here is a hypothesis test with a fixed
false-alarm rate (ALPHA per assertion): a correct implementation fails one of them about once in
ten thousand runs; a mis-calibrated one (e.g. a sensitivity off by a factor 2) fails every time.
Many "releases" are drawn at once as one long vector: OpenDP adds independent noise to every
entry, so entries are independent releases.
"""

from __future__ import annotations

import math
from fractions import Fraction
from statistics import NormalDist, fmean

import pytest

from workbench.privacy import Aggregate, plan_release, release

ALPHA = 1e-4
Z = NormalDist().inv_cdf(1 - ALPHA / 2)


# --- small exact statistics helpers (no scipy in the project) ---------------------------------


def _betacf(a: float, b: float, x: float) -> float:
    """Continued fraction of the incomplete beta function (modified Lentz)."""
    tiny = 1e-300
    qab, qap, qam = a + b, a + 1.0, a - 1.0
    c, d = 1.0, 1.0 - qab * x / qap
    d = 1.0 / (d if abs(d) > tiny else tiny)
    h = d
    for m in range(1, 10_000):
        m2 = 2 * m
        aa = m * (b - m) * x / ((qam + m2) * (a + m2))
        d = 1.0 + aa * d
        d = 1.0 / (d if abs(d) > tiny else tiny)
        c = 1.0 + aa / c if abs(1.0 + aa / c) > tiny else tiny
        h *= d * c
        aa = -(a + m) * (qab + m) * x / ((a + m2) * (qap + m2))
        d = 1.0 + aa * d
        d = 1.0 / (d if abs(d) > tiny else tiny)
        c = 1.0 + aa / c if abs(1.0 + aa / c) > tiny else tiny
        delta = d * c
        h *= delta
        if abs(delta - 1.0) < 1e-15:
            return h
    raise ArithmeticError("betacf did not converge")


def betainc(a: float, b: float, x: float) -> float:
    """Regularized incomplete beta I_x(a, b)."""
    if x <= 0:
        return 0.0
    if x >= 1:
        return 1.0
    log_front = math.lgamma(a + b) - math.lgamma(a) - math.lgamma(b) + a * math.log(x) + b * math.log1p(-x)
    if x < (a + 1) / (a + b + 2):
        return math.exp(log_front) * _betacf(a, b, x) / a
    return 1.0 - math.exp(log_front) * _betacf(b, a, 1 - x) / b


def _beta_quantile(q: float, a: float, b: float) -> float:
    lo, hi = 0.0, 1.0
    for _ in range(100):
        mid = (lo + hi) / 2
        if betainc(a, b, mid) < q:
            lo = mid
        else:
            hi = mid
    return (lo + hi) / 2


def clopper_pearson(k: int, n: int, alpha: float) -> tuple[float, float]:
    """Exact two-sided (1 - alpha) interval for a binomial proportion."""
    lower = 0.0 if k == 0 else _beta_quantile(alpha / 2, k, n - k + 1)
    upper = 1.0 if k == n else _beta_quantile(1 - alpha / 2, k + 1, n - k)
    return lower, upper


def test_clopper_pearson_helper_against_exact_binomial_tails() -> None:
    n, k = 40, 7
    lower, upper = clopper_pearson(k, n, 0.1)

    def tail_at_least(p: float) -> float:
        return sum(math.comb(n, i) * p**i * (1 - p) ** (n - i) for i in range(k, n + 1))

    assert tail_at_least(lower) == pytest.approx(0.05, rel=1e-6)
    assert 1 - tail_at_least(upper) + math.comb(n, k) * upper**k * (1 - upper) ** (n - k) == pytest.approx(
        0.05, rel=1e-6
    )


def discrete_laplace_moments(scale: float) -> tuple[float, float]:
    """Variance and 4th moment of P(x) ∝ exp(-|x|/scale) on the integers."""
    q = math.exp(-1 / scale)
    var = 2 * q / (1 - q) ** 2
    norm = (1 - q) / (1 + q)
    fourth, k = 0.0, 1
    while True:
        term = 2 * norm * k**4 * q**k
        fourth += term
        if k > 10 * scale + 50 and term < 1e-18 * fourth:
            return var, fourth
        k += 1


def assert_spread_matches(noise: list[int], scale: float) -> None:
    """Variance-ratio z-test of integer noise against the discrete Laplace of ``scale``."""
    n = len(noise)
    var, fourth = discrete_laplace_moments(scale)
    mean = fmean(noise)
    sample_var = sum((x - mean) ** 2 for x in noise) / (n - 1)
    z_var = (sample_var - var) / math.sqrt((fourth - var**2) / n)
    z_mean = mean / math.sqrt(var / n)
    assert abs(z_var) < Z, f"noise variance {sample_var:.3f} vs {var:.3f} for scale {scale} (z={z_var:.2f})"
    assert abs(z_mean) < Z, f"noise mean {mean:.3f} is not centred (z={z_mean:.2f})"


# --- calibration ------------------------------------------------------------------------------


def test_count_noise_spread_matches_the_planned_scale() -> None:
    n = 30_000
    agg = Aggregate(name="n", kind="count", max_rows=2, max_groups=3)
    plan = plan_release([agg], epsilon="1", n_groups=n, keys_public=True)
    part = plan.aggregates[0].parts[0]
    assert part.integer_scale == pytest.approx(6.0)
    exact = [1000] * n
    noise = [int(v) - 1000 for v in release(plan, {"n": exact})["n"]]
    assert_spread_matches(noise, part.integer_scale)

    # the advertised 95% half-width is honest: |noise| >= it at most alpha of the time
    outside = sum(abs(x) >= part.ci_half_width for x in noise)
    lower, _ = clopper_pearson(outside, n, ALPHA)
    assert lower <= plan.alpha
    q = math.exp(-1 / part.integer_scale)
    tail = 2 * q ** math.ceil(part.ci_half_width) / (1 + q)  # P(|X| >= ceil(half-width))
    assert q * plan.alpha <= tail <= plan.alpha  # and not wastefully wide


def test_sum_noise_spread_matches_the_planned_scale_in_released_units() -> None:
    n = 30_000
    agg = Aggregate(name="s", kind="sum", lower=-5.0, upper=10.0, scale=100, max_rows=2)
    plan = plan_release([agg], epsilon="2", n_groups=n, keys_public=True)
    part = plan.aggregates[0].parts[0]
    assert part.sensitivity == 2000
    assert part.noise_scale == pytest.approx(10.0)  # 20 (real units) / epsilon 2
    exact = 123_456
    released = release(plan, {"s": [exact] * n})["s"]
    noise = [round(v * 100) - exact for v in released]
    assert_spread_matches(noise, part.integer_scale)
    assert part.noise_scale == part.integer_scale / 100


# --- empirical privacy audit on neighbouring datasets -----------------------------------------


def epsilon_lower_bound(hits_d: int, hits_d2: int, n: int) -> float:
    """Clopper-Pearson lower bound on ln(P[E | D'] / P[E | D]) at joint confidence 1 - ALPHA."""
    p_d2_low, _ = clopper_pearson(hits_d2, n, ALPHA)  # each interval two-sided at ALPHA/2 ...
    _, p_d_high = clopper_pearson(hits_d, n, ALPHA)  # ... so the pair holds with >= 1 - ALPHA
    return math.log(p_d2_low / p_d_high)


def audit_count(plan_rows: int, unit_rows: int, n: int) -> tuple[float, float]:
    """Release counts on D and on D' = D plus one unit with ``unit_rows`` rows in each of 3 groups.

    Event E: every group's output is at least D' + ... i.e. o_i >= c_i + unit_rows for all three,
    the most telling event for Laplace noise (its likelihood ratio is the largest possible).
    Returns (lower bound on epsilon, claimed epsilon).
    """
    agg = Aggregate(name="n", kind="count", max_rows=plan_rows, max_groups=3)
    plan = plan_release([agg], epsilon="1", n_groups=3 * n, keys_public=True)
    base = [40, 7, 300]
    neighbour = [c + unit_rows for c in base]
    out_d = release(plan, {"n": base * n})["n"]
    out_d2 = release(plan, {"n": neighbour * n})["n"]

    def hits(out: list[float]) -> int:
        return sum(all(out[3 * i + g] >= neighbour[g] for g in range(3)) for i in range(n))

    return epsilon_lower_bound(hits(out_d), hits(out_d2), n), float(plan.epsilon)


def test_count_release_is_no_more_than_epsilon_dp_empirically() -> None:
    lower, claimed = audit_count(plan_rows=2, unit_rows=2, n=20_000)
    assert lower < claimed, f"empirical epsilon >= {lower:.3f} exceeds the claimed {claimed}"
    assert lower > 0.5 * claimed  # the audit is sharp enough to mean something


def test_the_audit_catches_an_understated_contribution_bound() -> None:
    """Power check: if a unit really adds 2 rows per group but the plan says 1, the audit fails it."""
    lower, claimed = audit_count(plan_rows=1, unit_rows=2, n=10_000)
    assert lower > claimed


def test_sum_release_is_no_more_than_epsilon_dp_empirically() -> None:
    n = 20_000
    agg = Aggregate(name="s", kind="sum", lower=-5.0, upper=10.0, scale=100, max_rows=2)
    plan = plan_release([agg], epsilon=Fraction(1), n_groups=n, keys_public=True)
    base = 7_500  # 75.00 in cents
    neighbour = base + 2 * round(10.0 * 100)  # the unit's two rows at the upper bound
    out_d = release(plan, {"s": [base] * n})["s"]
    out_d2 = release(plan, {"s": [neighbour] * n})["s"]
    threshold = neighbour / 100
    lower = epsilon_lower_bound(sum(v >= threshold for v in out_d), sum(v >= threshold for v in out_d2), n)
    assert lower < float(plan.epsilon), f"empirical epsilon >= {lower:.3f} exceeds the claimed {plan.epsilon}"
    assert lower > 0.5

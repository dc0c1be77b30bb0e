"""95% intervals of released ratios (an avg is a noisy sum over a noisy count), exact for the
mechanism, by Fieller's test inversion.

Released: S' = S + Xs and C' = C + Xc, with Xs, Xc independent discrete Laplace noises of known
integer scales (OpenDP's mechanism, see ``_opendp``). For the true ratio r = S / C,

    T(r) = S' - r C' = Xs - r Xc

has a distribution we know exactly for every r (a mixture over Xc of shifted discrete Laplace
laws), whatever S and C are. The interval is every r in the clamping bounds [lower, upper] that
the level-alpha test of "T(r) is a draw of Xs - r Xc" accepts:

    accept r  iff  P(|Xs - r Xc| < |S' - r C'|) < 1 - alpha

so it contains the truth with probability at least 1 - alpha (the p-value of a draw is at least
uniform), and the bounds only cut values the truth cannot take. When the released count is
larger than every count noise that matters (|Xc| <= K except with probability below 1e-10), the
accepted set is one interval around S'/C' (moving r away from S'/C' widens the window of every
term of the mixture), found by bisection on each side; otherwise (tiny or negative noisy counts)
the interval is the whole of [lower, upper]. The work is bounded (it runs after the charge): rows
go in chunks, and a count noise so wide that its law needs more than ``MAX_POINTS`` points gives
the whole of [lower, upper] too.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

#: count noise beyond K (the mixture's truncation) has probability below this
TAIL = 1e-10
#: bisection steps per side (halves the bracket each time: 2**-32 of the bounds' width)
STEPS = 32
#: the most count-noise points the mixture is summed over (count scales up to about 360); past
#: that, the interval is the clamping bounds (still valid; the count's noise is huge anyway)
MAX_POINTS = 20_001
#: rows x points per step: memory and time stay bounded whatever the number of groups
CHUNK_CELLS = 2_000_000


def _cdf(x: np.ndarray, scale: float) -> np.ndarray:
    """P(X <= x) for discrete Laplace X of ``scale``, x integer-valued floats."""
    p = math.exp(-1.0 / scale)
    below = x < 0
    # x <= -1: p^(-x) / (1 + p); x >= 0: 1 - p^(x + 1) / (1 + p)
    tail = np.exp(-np.where(below, -x, x + 1) / scale) / (1 + p)
    return np.where(below, tail, 1 - tail)


def _count_law(scale: float) -> tuple[np.ndarray, np.ndarray]:
    """The support (|k| <= K) and probabilities of discrete Laplace count noise of ``scale``."""
    p = math.exp(-1.0 / scale)
    k_max = 1 if p == 0 else max(1, math.ceil(math.log(TAIL) / math.log(p)))
    k = np.arange(-k_max, k_max + 1, dtype=float)
    return k, (1 - p) / (1 + p) * np.exp(-np.abs(k) / scale)


def _p_inside(r: np.ndarray, d: np.ndarray, sum_scale: float, k: np.ndarray, pk: np.ndarray
              ) -> np.ndarray:
    """P(|Xs - r Xc| < d) per row."""
    centre = r[:, None] * k[None, :]
    high = np.ceil(centre + d[:, None]) - 1
    low = np.floor(centre - d[:, None])
    inside = np.clip(_cdf(high, sum_scale) - _cdf(low, sum_scale), 0.0, 1.0)
    return (inside * pk[None, :]).sum(axis=1)


def ratio_intervals(sums: Sequence[float], counts: Sequence[float], *, sum_scale: float,
                    count_scale: float, lower: float, upper: float, alpha: float = 0.05
                    ) -> list[tuple[float, float]]:
    """Per row, the (1 - alpha) interval of S/C from noisy integer ``sums`` and ``counts``.

    Scales are OpenDP's integer discrete Laplace scales; ``lower``/``upper`` bound the ratio in
    the same integer units (the avg's clamping bounds times its fixed-point factor).
    """
    s = np.asarray(sums, dtype=float)
    c = np.asarray(counts, dtype=float)
    if not len(s):
        return []
    k, pk = _count_law(count_scale)
    if len(k) > MAX_POINTS:  # computed after the charge: never unbounded work
        return [(float(lower), float(upper))] * len(s)
    rows = max(1, CHUNK_CELLS // len(k))
    out: list[tuple[float, float]] = []
    for start in range(0, len(s), rows):
        out += _intervals(s[start:start + rows], c[start:start + rows], sum_scale, k, pk,
                          float(lower), float(upper), 1 - alpha)
    return out


def _intervals(s: np.ndarray, c: np.ndarray, sum_scale: float, k: np.ndarray, pk: np.ndarray,
               lower: float, upper: float, level: float) -> list[tuple[float, float]]:
    """:func:`ratio_intervals` for one chunk of rows."""

    def accepted(r: np.ndarray) -> np.ndarray:
        return _p_inside(r, np.abs(s - r * c), sum_scale, k, pk) < level

    lo = np.full(len(s), float(lower))
    hi = np.full(len(s), float(upper))
    one_piece = c > k[-1]
    centre = np.clip(np.where(one_piece, s / np.where(c == 0, 1, c), lower), lower, upper)
    for side, bound in ((hi, float(upper)), (lo, float(lower))):
        inner = centre.copy()  # accepted (or the bound itself when S'/C' lies beyond it)
        outer = np.full(len(s), bound)
        search = one_piece & ~accepted(outer)
        for _ in range(STEPS):
            mid = (inner + outer) / 2
            ok = accepted(mid)
            inner = np.where(search & ok, mid, inner)
            outer = np.where(search & ~ok, mid, outer)
        side[:] = np.where(search, outer, bound)
    # the truth is in the bounds; a set that misses S'/C' entirely collapses onto the nearest bound
    empty = one_piece & ~accepted(centre)
    lo = np.where(empty, centre, lo)
    hi = np.where(empty, centre, hi)
    return [(float(a), float(b)) for a, b in zip(lo, hi, strict=True)]

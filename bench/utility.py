"""Utility benchmark: how close released values are to the ideal mechanism, whether the shown 95%
intervals cover 95%, and the epsilon accuracy targets save against an even split.

Q1-like questions (COUNT(*), SUM and AVG of spend by region x age band over seeded publisher and
advertiser tables, as in bench/q1.py) are compiled and executed once by the engine; the release
(noise, the free AVG, every interval) is then repeated ``--runs`` times in process with the same
functions a run calls, so the figures are about the noise, not the data.

Sections are independent functions returning rows for bench/README.md; add one to SECTIONS.

    python bench/utility.py --runs 1000
"""

from __future__ import annotations

import argparse
import math
import statistics
import time
from collections.abc import Callable
from fractions import Fraction

import duckdb
import numpy as np

from bench.q1 import bindings, generate
from workbench.engine import execute
from workbench.privacy import ReleasePlan, plan_release, release_with_intervals, solve_targets
from workbench.questions import Question
from workbench.questions.compile import Compiled, compile_question
from workbench.runs.release import aggregates_for

#: the Q1-like questions: a row count, a sum and an average (derived, free), with and without reach
QUESTIONS = {
    "count+sum+avg": """
        SELECT p.region, p.age_band, COUNT(*) AS buyers, SUM(a.amount) AS spend,
               AVG(a.amount) AS avg_spend
        FROM publisher p JOIN advertiser a ON p.email = a.email
        GROUP BY p.region, p.age_band""",
    "reach+count+sum+avg": """
        SELECT p.region, p.age_band, COUNT(DISTINCT p.email) AS reach, COUNT(*) AS buyers,
               SUM(a.amount) AS spend, AVG(a.amount) AS avg_spend
        FROM publisher p JOIN advertiser a ON p.email = a.email
        GROUP BY p.region, p.age_band""",
}


def compiled_and_exact(con: duckdb.DuckDBPyConnection, sql: str) -> tuple[Compiled, dict[str, list[int]]]:
    """Compile a question for the seeded tables and run the engine once (exact vectors)."""
    compiled = compile_question(Question(name="utility", sql=sql), bindings(), {})
    exact = execute(con, compiled)
    return compiled, {k: [int(v) for v in vs] for k, vs in exact.vectors.items()}


def _plan(compiled: Compiled, n_groups: int, epsilon: float) -> ReleasePlan:
    aggs, _, _ = aggregates_for(compiled, k_min=1)
    return plan_release(aggs, epsilon=epsilon, n_groups=n_groups, keys_public=True)


def _discrete_mae(scale: float) -> float:
    """E|X| of discrete Laplace noise of ``scale`` (integer units)."""
    p = math.exp(-1 / scale)
    return 2 * p / (1 - p * p)


def _ideal_avg_error(total_scale: float, count_scale: float, ratio: float, count: int,
                     rng: np.random.Generator) -> float:
    """E|Ls - r Lc| / C with continuous Laplace noises of the two vectors' scales (the error of an
    ideal ratio of the two mechanisms, to first order in 1/C), by a seeded simulation."""
    draws = rng.laplace(0, total_scale, 200_000) - ratio * rng.laplace(0, count_scale, 200_000)
    return float(np.mean(np.abs(draws))) / max(count, 1)


def utility(con: duckdb.DuckDBPyConnection, runs: int, epsilon: float) -> list[str]:
    """MAE against the ideal mechanism error, and interval coverage, per released aggregate."""
    rows = ["| question | aggregate | vectors, epsilon | MAE | ideal (Laplace at sens/eps) | "
            "ratio | discrete Laplace E|X| | 95% interval coverage | release + intervals s |",
            "|---|---|---|---|---|---|---|---|---|"]
    rng = np.random.default_rng(7)
    for label, sql in QUESTIONS.items():
        compiled, exact = compiled_and_exact(con, sql)
        n = len(next(iter(exact.values())))
        plan = _plan(compiled, n, epsilon)
        truth: dict[str, list[float]] = {}
        for agg in plan.aggregates:
            spec = agg.aggregate
            if agg.ratio is None:
                truth[spec.name] = [v / spec.scale for v in exact[spec.name]]
        errors = {a.name: 0.0 for a in plan.aggregates}
        covered = {a.name: 0 for a in plan.aggregates}
        trials = {a.name: 0 for a in plan.aggregates}
        for agg in plan.aggregates:  # an avg over a group with no rows has no true value
            if agg.ratio is not None:
                total, count = (exact[p.vector] for p in agg.ratio)
                truth[agg.name] = [t / agg.aggregate.scale / c if c else math.nan
                                   for t, c in zip(total, count, strict=True)]
        vectors = {p.vector: exact[p.vector] for a in plan.aggregates for p in a.parts}
        started = time.perf_counter()
        for _ in range(runs):
            values, intervals = release_with_intervals(plan, vectors)
            for name, true in truth.items():
                for value, (low, high), t in zip(values[name], intervals[name], true, strict=True):
                    if math.isnan(t):
                        continue
                    errors[name] += abs(value - t)
                    covered[name] += low <= t <= high
                    trials[name] += 1
        seconds = (time.perf_counter() - started) / runs
        for agg in plan.aggregates:
            name = agg.name
            mae = errors[name] / trials[name]
            if agg.ratio is None:
                part = agg.parts[0]
                ideal = part.sensitivity / float(part.epsilon) / part.fixed_point
                discrete = f"{_discrete_mae(part.integer_scale) / part.fixed_point:.3f}"
                vectors_used = f"1, {float(part.epsilon):.3g}"
            else:
                total_part, count_part = agg.ratio
                ideal_scales = (total_part.sensitivity / float(total_part.epsilon),
                                count_part.sensitivity / float(count_part.epsilon))
                ideals = [_ideal_avg_error(*ideal_scales, t * agg.aggregate.scale, c, rng)
                          / agg.aggregate.scale
                          for t, c in zip(truth[name], exact[count_part.vector], strict=True)
                          if not math.isnan(t)]
                ideal = statistics.fmean(ideals)
                discrete = "-"
                vectors_used = f"{len(agg.parts)} (reuses {total_part.vector}, {count_part.vector}), 0"
            rows.append(f"| {label} | {name} | {vectors_used} | {mae:.4g} | {ideal:.4g} | "
                        f"{mae / ideal:.3f} | {discrete} | {covered[name] / trials[name]:.4f} "
                        f"({trials[name]:,}) | {seconds:.3f} |")
    return rows


def targets(con: duckdb.DuckDBPyConnection, runs: int, epsilon: float) -> list[str]:
    """The epsilon the target solver spends against the even split that meets the same targets."""
    rows = ["| question | targets (95% half-widths) | epsilon, solved split | epsilon, even split | "
            "saved |", "|---|---|---|---|---|"]
    cases = {
        "count+sum+avg": [{"buyers": 5, "spend": 1000}, {"buyers": 20, "spend": 500},
                          {"buyers": 2, "spend": 20_000}],
        "reach+count+sum+avg": [{"reach": 5, "buyers": 5, "spend": 1000},
                                {"reach": 10, "buyers": 50, "spend": 5000}],
    }
    for label, sets in cases.items():
        compiled, exact = compiled_and_exact(con, QUESTIONS[label])
        aggs, _, _ = aggregates_for(compiled, k_min=1)
        n = len(next(iter(exact.values())))
        for wanted in sets:
            solved = solve_targets(aggs, {k: float(v) for k, v in wanted.items()}, n_groups=n,
                                   keys_public=True)
            saved = 1 - solved.plan.epsilon / solved.epsilon_uniform
            shown = ", ".join(f"{k} ±{v:,}" for k, v in wanted.items())
            rows.append(f"| {label} | {shown} | {float(solved.plan.epsilon):.4f} | "
                        f"{float(solved.epsilon_uniform):.4f} | {float(saved):.1%} |")
    return rows


#: name -> section(con, runs, epsilon) -> markdown rows; other sections (the twin's) add here
SECTIONS: dict[str, Callable[[duckdb.DuckDBPyConnection, int, float], list[str]]] = {
    "utility": utility,
    "targets": targets,
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=200_000, help="publisher rows (advertiser: half)")
    parser.add_argument("--runs", type=int, default=1000)
    parser.add_argument("--epsilon", type=float, default=1.0)
    parser.add_argument("--sections", nargs="+", default=list(SECTIONS), choices=list(SECTIONS))
    args = parser.parse_args()
    con = duckdb.connect()
    generate(con, args.rows)
    print(f"duckdb {duckdb.__version__}; {args.rows:,} publisher rows; epsilon {args.epsilon}; "
          f"{args.runs} releases per question")
    for name in args.sections:
        print(f"\n### {name}\n")
        for row in SECTIONS[name](con, args.runs, args.epsilon):
            print(row, flush=True)


if __name__ == "__main__":
    main()

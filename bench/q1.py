"""Q1 benchmark: reach and spend by region x age band, DP path vs plain DuckDB.

Generates seeded data (publisher N rows, advertiser N/2 rows, about 30% of advertiser customers
matched by hashed email), then in one process times, alternating, (a) the same aggregation as
plain DuckDB SQL and (b) the engine's DP path: compile (checks, contribution bounds, clamping,
fixed-point sums, public key list) + execute + OpenDP release. Reports medians, the ratio, and the
mean absolute error at the chosen epsilon against OpenDP's predicted error.

    python bench/q1.py --rows 1000000 10000000 --repeat 5
"""

from __future__ import annotations

import argparse
import statistics
import time

import duckdb

from workbench.data.rules import AnalysisRules, ColumnRule
from workbench.engine import execute
from workbench.privacy import Aggregate, plan_release, release
from workbench.questions import DatasetBinding, Question
from workbench.questions.compile import compile_question

REGIONS = tuple(f"region_{i:02d}" for i in range(10))
AGE_BANDS = tuple(f"age_{i:02d}" for i in range(12))
LOWER, UPPER = 0.0, 500.0

Q1 = Question(
    name="Q1 reach and spend by region and age band",
    sql="""
        SELECT p.region, p.age_band,
               COUNT(DISTINCT p.email) AS reach,
               SUM(a.amount) AS spend
        FROM publisher p JOIN advertiser a ON p.email = a.email
        GROUP BY p.region, p.age_band
    """,
)

PLAIN = """
    SELECT p.region, p.age_band, COUNT(DISTINCT p.email_sha256) AS reach,
           SUM(LEAST(GREATEST(a.amount, 0.0), 500.0)) AS spend
    FROM publisher_users p JOIN advertiser_sales a ON p.email_sha256 = a.email_sha256
    GROUP BY p.region, p.age_band
"""


def generate(con: duckdb.DuckDBPyConnection, rows: int, seed: int = 7) -> None:
    """Seeded publisher and advertiser tables; identities are SHA-256 of normalised emails."""
    con.execute(f"SELECT setseed({1 / (seed + 1)})")
    con.execute("""
        CREATE OR REPLACE TABLE publisher_users AS
        SELECT sha256('user' || i || '@example.com') AS email_sha256,
               'region_' || lpad(CAST(hash('r' || i) % 10 AS VARCHAR), 2, '0') AS region,
               'age_' || lpad(CAST(hash('a' || i) % 12 AS VARCHAR), 2, '0') AS age_band
        FROM range(?) t(i)
    """, [rows])
    con.execute("""
        CREATE OR REPLACE TABLE advertiser_sales AS
        SELECT sha256(CASE WHEN hash('m' || i) % 10 < 3
                           THEN 'user' || (hash('u' || i) % ?) || '@example.com'
                           ELSE 'customer' || i || '@example.org' END) AS email_sha256,
               round(random() * 600 - 20, 2) AS amount
        FROM range(?) t(i)
    """, [rows, rows // 2])
    # one row per customer, as an advertiser's CRM would hold it
    con.execute("""
        CREATE OR REPLACE TABLE advertiser_sales AS
        SELECT email_sha256, sum(amount) AS amount FROM advertiser_sales GROUP BY email_sha256
    """)


def bindings() -> dict[str, DatasetBinding]:
    """The room's mapping: macros to tables, with the analysis rules the data managers set."""
    pub = AnalysisRules(
        dataset_id="publisher", identity="email_sha256", pii=frozenset({"email_sha256"}),
        columns={
            "email_sha256": ColumnRule(name="email_sha256", join=True,
                                       aggregations=frozenset({"COUNT_DISTINCT"})),
            "region": ColumnRule(name="region", group_by=True, public_values=REGIONS),
            "age_band": ColumnRule(name="age_band", group_by=True, public_values=AGE_BANDS),
        })
    adv = AnalysisRules(
        dataset_id="advertiser", identity="email_sha256", pii=frozenset({"email_sha256"}),
        columns={
            "email_sha256": ColumnRule(name="email_sha256", join=True),
            "amount": ColumnRule(name="amount", aggregations=frozenset({"SUM", "AVG"}),
                                 lower=LOWER, upper=UPPER),
        })
    return {
        "publisher": DatasetBinding(macro="publisher", view="publisher_users", rules=pub,
                                    fields={"email": "email_sha256", "region": "region",
                                            "age_band": "age_band"}),
        "advertiser": DatasetBinding(macro="advertiser", view="advertiser_sales", rules=adv,
                                     fields={"email": "email_sha256", "amount": "amount"}),
    }


def dp_run(con: duckdb.DuckDBPyConnection, epsilon: float) -> tuple[dict, object, object]:
    """The engine's DP path end to end (no store, no ledger)."""
    compiled = compile_question(Q1, bindings(), {})
    exact = execute(con, compiled)
    aggs = [Aggregate(name=a.name, kind=a.kind, lower=a.lower, upper=a.upper, scale=a.scale,
                      max_rows=compiled.max_rows, max_groups=compiled.max_groups)
            for a in compiled.aggregates]
    plan = plan_release(aggs, epsilon=epsilon, n_groups=len(exact.keys), keys_public=True)
    return release(plan, exact.vectors), plan, exact


def bench(rows: int, repeat: int, epsilon: float) -> dict:
    con = duckdb.connect()
    t0 = time.perf_counter()
    generate(con, rows)
    gen = time.perf_counter() - t0
    plain_times, dp_times = [], []
    con.execute(PLAIN).fetchall()
    dp_run(con, epsilon)
    for _ in range(repeat):
        t = time.perf_counter()
        truth = con.execute(PLAIN).fetchall()
        plain_times.append(time.perf_counter() - t)
        t = time.perf_counter()
        released, plan, exact = dp_run(con, epsilon)
        dp_times.append(time.perf_counter() - t)
    exact_by_key = {(r, a): (reach, float(spend)) for r, a, reach, spend in truth}
    keys = exact.keys
    errors = {"reach": [], "spend": []}
    for _ in range(20):  # average the error over several releases of the same exact vectors
        noisy = release(plan, exact.vectors)
        for i, key in enumerate(keys):
            reach, spend = exact_by_key.get(key, (0, 0.0))
            errors["reach"].append(abs(noisy["reach"][i] - reach))
            errors["spend"].append(abs(noisy["spend"][i] - spend))
    return {
        "rows": rows,
        "matched": sum(exact.units),
        "generate_s": gen,
        "plain_s": statistics.median(plain_times),
        "dp_s": statistics.median(dp_times),
        "ratio": statistics.median(dp_times) / statistics.median(plain_times),
        "mae": {k: statistics.fmean(v) for k, v in errors.items()},
        "scale": {a.name: a.noise_scale for a in plan.aggregates},
        "ci95": {a.name: a.ci_half_width for a in plan.aggregates},
        "released": released,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, nargs="+", default=[1_000_000, 10_000_000])
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--epsilon", type=float, default=1.0)
    args = parser.parse_args()
    print(f"duckdb {duckdb.__version__}; epsilon {args.epsilon}; {args.repeat} repeats; medians")
    print("| publisher rows | matched users | plain DuckDB s | DP path s | ratio | "
          "reach MAE (scale, 95% ±) | spend MAE (scale, 95% ±) |")
    print("|---|---|---|---|---|---|---|")
    for rows in args.rows:
        r = bench(rows, args.repeat, args.epsilon)
        print(f"| {rows:,} | {r['matched']:,} | {r['plain_s']:.3f} | {r['dp_s']:.3f} | "
              f"{r['ratio']:.2f} | {r['mae']['reach']:.2f} ({r['scale']['reach']:.0f}, "
              f"{r['ci95']['reach']:.1f}) | {r['mae']['spend']:.0f} ({r['scale']['spend']:.0f}, "
              f"{r['ci95']['spend']:.0f}) |", flush=True)


if __name__ == "__main__":
    main()

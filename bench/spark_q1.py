"""Q1 on Spark: the DP path on Spark local[2] vs plain Spark SQL, with DuckDB beside it.

Generates seeded Parquet with DuckDB (publisher N rows, advertiser N/2 rows for N/10 persons
with 1-9 rows each, about 70% of them publisher users; amounts DECIMAL(12,2) with negatives,
values over the clamp and NULLs), then, in one process and over the same files:

- Spark DP: compile (checks, contribution bounds, clamping, fixed-point sums, public keys),
  render for Spark, execute, OpenDP release (noise stays in this process, as in the service);
- Spark plain: the same aggregate as hand-written Spark SQL (clamped sum, distinct reach);
- DuckDB DP and plain, on 2 threads, reading the same Parquet files.

The first run of each is reported apart (a fresh JVM compiles and warms up); medians are of the
rest. Peak memory: the JVM's VmHWM and this Python process's max RSS (DuckDB runs in it).

    python bench/spark_q1.py --rows 2000000 --repeat 3 --driver-memory 4g --data /tmp/q1-2m
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import resource
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import duckdb
import q1  # bench/q1.py: the same question, rules and plain SQL as the DuckDB Q1 benchmark
import sqlglot
from q1 import PLAIN, bindings

from workbench.engine import execute
from workbench.engine.dialect import render
from workbench.engine.spark_engine import build_session, run_sql, stop_session
from workbench.privacy import Aggregate, plan_release, release
from workbench.questions.compile import compile_question

#: bench/q1.py's question, allowing up to 3 rows per person (customers have 1-9 orders here)
Q1 = dataclasses.replace(q1.Q1, max_rows=3, max_groups=1)


def generate(directory: Path, rows: int) -> dict[str, str]:
    """Seeded Parquet files written by DuckDB; identities are SHA-256 hex of emails."""
    con = duckdb.connect()
    pub, adv = directory / "publisher.parquet", directory / "advertiser.parquet"
    con.execute(f"""COPY (
        SELECT sha256('user' || i || '@example.com') AS email_sha256,
               CASE WHEN i % 97 = 0 THEN NULL
                    ELSE 'region_' || lpad(CAST(i * 7 % 10 AS VARCHAR), 2, '0') END AS region,
               'age_' || lpad(CAST(i * 13 % 12 AS VARCHAR), 2, '0') AS age_band
        FROM range({int(rows)}) t(i)) TO '{pub}' (FORMAT parquet)""")
    persons = max(rows // 10, 1)
    con.execute(f"""COPY (
        SELECT sha256(CASE WHEN u % 10 < 7 THEN 'user' || (u * 3 % {int(rows)}) || '@example.com'
                           ELSE 'customer' || u || '@example.org' END) AS email_sha256,
               CASE WHEN (u + k) % 53 = 0 THEN NULL
                    ELSE CAST(((u * 31 + k * 17) % 62000) / 100.0 - 20 AS DECIMAL(12, 2))
               END AS amount
        FROM range({persons}) p(u), range(9) r(k)
        WHERE k < 1 + u % 9) TO '{adv}' (FORMAT parquet)""")
    con.close()
    return {"publisher_users": str(pub), "advertiser_sales": str(adv)}


def _release(compiled: Any, exact: Any, epsilon: float) -> dict[str, list[float]]:
    aggs = [Aggregate(name=a.name, kind=a.kind, lower=a.lower, upper=a.upper, scale=a.scale,
                      max_rows=compiled.max_rows, max_groups=compiled.max_groups)
            for a in compiled.aggregates]
    plan = plan_release(aggs, epsilon=epsilon, n_groups=len(exact.keys), keys_public=True)
    return release(plan, exact.vectors)


def _timed(name: str, fn: Any, repeat: int) -> tuple[float, float, Any]:
    """(first run, median of the others, last result)."""
    times, out = [], None
    for _ in range(repeat + 1):
        t = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t)
        _say(f"{name} run {len(times)}: {times[-1]:.2f} s")
    return times[0], statistics.median(times[1:]), out


def _vm_hwm(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) * 1024
    return 0


def _say(message: str) -> None:
    """Progress on stderr, so a run cut short still tells how far it got."""
    print(f"{time.strftime('%H:%M:%S')} {message}", file=sys.stderr, flush=True)


def bench(rows: int, repeat: int, epsilon: float, driver_memory: str,
          data: Path | None = None, shuffle_partitions: int | None = None) -> dict[str, Any]:
    from pyspark import SparkContext

    work = data or Path(tempfile.mkdtemp(prefix="spark-q1-"))
    work.mkdir(parents=True, exist_ok=True)
    t = time.perf_counter()
    done = work / f"generated-{rows}"
    if done.exists():  # reuse the files of an earlier run at the same scale
        files = {"publisher_users": str(work / "publisher.parquet"),
                 "advertiser_sales": str(work / "advertiser.parquet")}
    else:
        files = generate(work, rows)
        done.touch()
    generated = time.perf_counter() - t
    _say(f"data ready in {generated:.0f} s: {files}")
    size = sum(Path(f).stat().st_size for f in files.values())

    con = duckdb.connect(config={"threads": 2})
    for view, path in files.items():
        con.execute(f"CREATE VIEW {view} AS SELECT * FROM read_parquet('{path}')")
    t = time.perf_counter()
    session = build_session("local[2]", driver_memory=driver_memory,
                            local_dir=str(work / "spark-local"),
                            extra={"spark.sql.shuffle.partitions": str(shuffle_partitions)}
                            if shuffle_partitions else None)
    started = time.perf_counter() - t
    _say(f"spark session in {started:.0f} s")
    for view, path in files.items():
        session.read.parquet(path).createOrReplaceTempView(view)
    plain_spark = sqlglot.transpile(PLAIN, read="duckdb", write="spark")[0]

    def spark_dp() -> Any:
        compiled = compile_question(Q1, bindings(), {})
        exact = run_sql(session, compiled, render(compiled, "spark"))
        return _release(compiled, exact, epsilon), exact

    def duck_dp() -> Any:
        compiled = compile_question(Q1, bindings(), {})
        exact = execute(con, compiled)
        return _release(compiled, exact, epsilon), exact

    try:
        results = {
            "spark_plain": _timed("spark_plain", lambda: session.sql(plain_spark).collect(), repeat),
            "spark_dp": _timed("spark_dp", spark_dp, repeat),
            "duckdb_plain": _timed("duckdb_plain", lambda: con.execute(PLAIN).fetchall(), repeat),
            "duckdb_dp": _timed("duckdb_dp", duck_dp, repeat),
        }
        jvm_peak = _vm_hwm(SparkContext._gateway.proc.pid)
    finally:
        stop_session(session)
    plain_rows = {(r[0], r[1]): (r[2], float(r[3])) for r in results["spark_plain"][2]}
    duck_rows = {(r[0], r[1]): (r[2], float(r[3])) for r in results["duckdb_plain"][2]}
    out = {
        "rows": rows, "shuffle_partitions": shuffle_partitions or "service default",
        "advertiser_rows": duckdb.sql(
            f"SELECT count(*) FROM read_parquet('{files['advertiser_sales']}')").fetchone()[0],
        "parquet_mb": round(size / 2**20, 1), "generate_s": round(generated, 1),
        "spark_start_s": round(started, 1),
        "plain_results_equal": plain_rows == duck_rows,
        "dp_exact_equal_engines": results["spark_dp"][2][1].vectors["reach"]
        == results["duckdb_dp"][2][1].vectors["reach"],
        "jvm_peak_gib": round(jvm_peak / 2**30, 2),
        "python_peak_gib": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20, 2),
    }
    for name, (first, median, _) in results.items():
        out[f"{name}_first_s"] = round(first, 2)
        out[f"{name}_s"] = round(median, 2)
    out["spark_ratio_dp_over_plain"] = round(out["spark_dp_s"] / out["spark_plain_s"], 2)
    out["duckdb_ratio_dp_over_plain"] = round(out["duckdb_dp_s"] / out["duckdb_plain_s"], 2)
    out["spark_dp_over_duckdb_dp"] = round(out["spark_dp_s"] / out["duckdb_dp_s"], 1)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=100_000_000, help="publisher rows")
    parser.add_argument("--repeat", type=int, default=3, help="timed runs after the first")
    parser.add_argument("--epsilon", type=float, default=1.0)
    parser.add_argument("--driver-memory", default="4g")
    parser.add_argument("--data", type=Path, default=None,
                        help="directory for the Parquet files (reused when already generated)")
    parser.add_argument("--shuffle-partitions", type=int, default=None,
                        help="spark.sql.shuffle.partitions (the service's local default is 4)")
    args = parser.parse_args()
    print(json.dumps(bench(args.rows, args.repeat, args.epsilon, args.driver_memory, args.data,
                           args.shuffle_partitions), indent=1))


if __name__ == "__main__":
    main()

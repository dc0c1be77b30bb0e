"""Ingest benchmark: our email upload (normalise + SHA-256 + store) vs DuckDB's own pipeline.

    python bench/ingest.py [--rows 10000000] [--repeat 2]

Generates a CSV of emails (mixed case, some padded with spaces) under bench/data/, then in one
run times, on the same file:

- ours: the client's chunked upload into an in-process service over an encrypted store, CSV
  parsing, identity normalisation and hashing, insert and ingest report (end to end);
- DuckDB: ``read_csv`` + ``sha256(lower(trim(email)))`` into a table of a database file (the
  same kind of sink as ours) and into an in-memory table.

Prints rows/s for each and the ratio ours / DuckDB.
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import tempfile
import time
from pathlib import Path

import duckdb

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from workbench.governance.operations import bootstrap  # noqa: E402
from workbench.service.local import close_local, connect_local  # noqa: E402
from workbench.store import Store  # noqa: E402

KEY = "bench-key-0123456789abcdef"


def generate(path: Path, rows: int) -> None:
    """A CSV of ``rows`` emails: every 7th mixed case and padded, plus a region and a spend."""
    if path.exists():
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    con = duckdb.connect()
    con.execute(
        "COPY (SELECT CASE WHEN i % 7 = 0 THEN '  User' || i::VARCHAR || '@Example.COM '"
        " ELSE 'user' || i::VARCHAR || '@example.com' END AS email,"
        " ['north', 'south', 'east', 'west'][1 + (i % 4)::INTEGER] AS region, (i % 1000)::INTEGER AS spend"
        f" FROM range({int(rows)}) t(i)) TO '{path}' (HEADER)"
    )
    con.close()


def ours(path: Path) -> dict[str, float]:
    """End to end through the client: upload (chunks), parse, hash and insert."""
    with tempfile.TemporaryDirectory() as tmp:
        store_dir = Path(tmp) / "store"
        store = Store.open(store_dir, KEY, create=True)
        token = bootstrap(store, "Bench", "bench").token.secret
        store.close()
        client = connect_local(store_dir, token, key=KEY)
        try:
            t0 = time.perf_counter()
            schema = client.upload(path, progress=False)
            t1 = time.perf_counter()
            conn = client.create_connection(schema, "emails", identity_column="email", identity_kind="email")
            t2 = time.perf_counter()
        finally:
            client.close()
            close_local(store_dir)
        assert conn.rows_kept == schema.rows, conn
        return {"total": t2 - t0, "upload+parse": t1 - t0, "hash+insert": t2 - t1, "rows": conn.rows_kept}


def duckdb_baseline(path: Path, sink: str) -> float:
    """DuckDB's read_csv + sha256(lower(trim())) into a table (file or memory)."""
    with tempfile.TemporaryDirectory() as tmp:
        con = duckdb.connect(str(Path(tmp) / "b.duckdb") if sink == "file" else ":memory:")
        t0 = time.perf_counter()
        con.execute(f"CREATE TABLE t AS SELECT sha256(lower(trim(email))) AS email, region, spend"
                    f" FROM read_csv('{path}')")
        if sink == "file":
            con.execute("CHECKPOINT")
        elapsed = time.perf_counter() - t0
        con.close()
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=10_000_000)
    parser.add_argument("--repeat", type=int, default=2, help="runs of each; the best is reported")
    args = parser.parse_args()
    os.environ.setdefault("WORKBENCH_MAX_UPLOAD_BYTES", str(8 * 1024**3))
    path = ROOT / "bench" / "data" / f"emails_{args.rows}.csv"
    generate(path, args.rows)
    print(f"{args.rows:,} rows, {path.stat().st_size / 1e6:.0f} MB CSV; {os.cpu_count()} cores; "
          f"python {platform.python_version()}, duckdb {duckdb.__version__}")
    best: dict[str, float] = {}
    parts: dict[str, float] = {}
    for _ in range(args.repeat):  # interleaved, so load on the machine hits both alike
        o = ours(path)
        if o["total"] < best.get("ours", float("inf")):
            best["ours"] = o["total"]
            parts = o
        for sink in ("file", "memory"):
            best[f"duckdb-{sink}"] = min(best.get(f"duckdb-{sink}", float("inf")), duckdb_baseline(path, sink))
    n = args.rows
    for name, secs in best.items():
        print(f"{name:14s} {secs:7.2f} s  {n / secs / 1e6:5.2f} M rows/s")
    print(f"ours: upload+parse {parts['upload+parse']:.2f} s, hash+insert+report {parts['hash+insert']:.2f} s")
    print(f"ratio ours / duckdb-file   {best['ours'] / best['duckdb-file']:.2f}x")
    print(f"ratio ours / duckdb-memory {best['ours'] / best['duckdb-memory']:.2f}x")


if __name__ == "__main__":
    main()

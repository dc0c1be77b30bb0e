"""Ingest benchmark: our email upload (normalise + SHA-256 + store) vs DuckDB's own pipeline.

    python bench/ingest.py [--rows 10000000] [--repeat 3]

Generates a CSV of emails (every 7th mixed case and padded with spaces) under bench/data/, then
times, interleaved run by run so machine load hits every contender alike, on the same file:

- ours: the client's chunked upload into an in-process service over an encrypted store, CSV
  parsing with our checks, identity normalisation, validation and hashing, the insert, the
  ingest report and the commit (end to end, as a user sees it);
- duckdb-encrypted: ``read_csv`` + ``sha256(lower(trim(email)))`` into a table of an encrypted
  database file (the same sink as ours, encrypted with the same extension), committed;
- duckdb-encrypted-same-storage: the same, with the digest column stored uncompressed like ours;
- duckdb-memory: the same into an in-memory table (no file at all);
- hashing: SHA-256 hex of the 10M cleaned e-mails alone, by each candidate in the same run:
  DuckDB's ``sha256`` (what the ingest used before), polars-hash (what it uses now, in Rust with
  the CPU's SHA extensions) and Python's hashlib (OpenSSL, one call per value; timed on the first
  1M values to keep the run short). The three must give identical digests.

Target (issue 8): at least 2M rows/s for 10M e-mails normalised, hashed and stored. Both the
end-to-end rate (upload, parse, normalise, hash, store, commit) and the rate of the connection
step alone (normalise, hash, store, report, commit; the file already parsed) are printed.

The machine may be shared: every run prints the 1-minute load average next to its time, and
the summary gives medians. CPU seconds (user + system of this process) are printed as well:
they move less with load than wall time does.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import platform
import resource
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa
import pyarrow.csv as pcsv

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from workbench.governance.orgs import bootstrap  # noqa: E402
from workbench.service.local import close_local, connect_local  # noqa: E402
from workbench.store import Store  # noqa: E402
from workbench.store import httpfs_extension  # noqa: E402
from workbench.data import identity  # noqa: E402

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


def _cpu() -> float:
    use = resource.getrusage(resource.RUSAGE_SELF)
    return use.ru_utime + use.ru_stime


def ours(path: Path, rows: int) -> dict[str, float]:
    """End to end through the client: upload (chunks), parse, hash, insert, report, commit."""
    with tempfile.TemporaryDirectory() as tmp:
        store_dir = Path(tmp) / "store"
        store = Store.open(store_dir, KEY, create=True)
        token = bootstrap(store, "Bench", "bench").token.secret
        store.close()
        client = connect_local(store_dir, token, key=KEY)
        try:
            c0, t0 = _cpu(), time.perf_counter()
            schema = client.upload(path, progress=False)
            t1 = time.perf_counter()
            conn = client.create_connection(schema, "emails", identity_column="email", identity_kind="email")
            t2, c2 = time.perf_counter(), _cpu()
        finally:
            client.close()
            close_local(store_dir)
        assert conn.rows_kept == rows and conn.distinct_identities == rows, conn
        size = sum(f.stat().st_size for f in store_dir.iterdir()) / 1e6
    return {"wall": t2 - t0, "cpu": c2 - c0, "upload+parse": t1 - t0, "connection": t2 - t1, "MB": size}


def _duckdb(path: Path, sink: str) -> dict[str, float]:
    """DuckDB's read_csv + sha256(lower(trim())) into a table of the given sink."""
    with tempfile.TemporaryDirectory() as tmp:
        con = duckdb.connect(config={"autoinstall_known_extensions": False,
                                     "autoload_known_extensions": False})
        if sink == "memory":
            con.execute("ATTACH ':memory:' AS sink")
        else:
            con.execute(f"LOAD '{httpfs_extension()}'")
            con.execute(f"ATTACH '{Path(tmp) / 'b.duckdb'}' AS sink (ENCRYPTION_KEY '{KEY}')")
        select = f"SELECT sha256(lower(trim(email))) AS email, region, spend FROM read_csv('{path}')"
        c0, t0 = _cpu(), time.perf_counter()
        if sink == "encrypted-same-storage":
            con.execute("CREATE TABLE sink.t (email VARCHAR USING COMPRESSION uncompressed,"
                        " region VARCHAR, spend BIGINT)")
            con.execute(f"INSERT INTO sink.t {select}")
        else:
            con.execute(f"CREATE TABLE sink.t AS {select}")
        if sink != "memory":
            con.execute("CHECKPOINT sink")
        t1, c1 = time.perf_counter(), _cpu()
        con.close()
        size = sum(f.stat().st_size for f in Path(tmp).iterdir()) / 1e6
    return {"wall": t1 - t0, "cpu": c1 - c0, "MB": size}


def hashing(path: Path, rows: int) -> dict[str, float]:
    """Millions of SHA-256 digests of the cleaned e-mails per second, per candidate (same values).

    Wall time moves with the machine's load; CPU seconds (all threads of this process) much less,
    so both are reported: "M/s" per wall second and "M/cpu-s" per CPU second.
    """
    clean = identity.clean_arrow(pcsv.read_csv(path).column("email"))
    sample = clean.slice(0, 1_000_000).to_pylist()
    con = duckdb.connect()
    con.register("emails", pa.table({"e": clean}))
    out: dict[str, float] = {}
    digests: dict[str, Any] = {}
    candidates: dict[str, tuple[int, Callable[[], Any]]] = {
        "duckdb": (len(clean), lambda: con.execute("SELECT sha256(e) FROM emails").fetch_arrow_table().column(0)),
        "polars-hash": (len(clean), lambda: identity.sha256_hex(clean)),
        "hashlib": (len(sample), lambda: [hashlib.sha256(v.encode()).hexdigest() for v in sample]),
    }
    for name, (n, run) in candidates.items():
        c0, t0 = _cpu(), time.perf_counter()
        digests[name] = run()
        t1, c1 = time.perf_counter(), _cpu()
        out[f"{name} M/s"] = n / (t1 - t0) / 1e6
        out[f"{name} M/cpu-s"] = n / max(c1 - c0, 1e-9) / 1e6
    con.close()
    by_duckdb, by_polars = digests["duckdb"], digests["polars-hash"]
    same = (by_duckdb.slice(0, 1000).to_pylist() == by_polars.slice(0, 1000).to_pylist() == digests["hashlib"][:1000]
            and by_duckdb.combine_chunks().cast(pa.large_string()).equals(by_polars.cast(pa.large_string())))
    if not same:
        raise AssertionError("the hashing candidates disagree")
    return {"wall": len(clean) / out["polars-hash M/s"] / 1e6, "cpu": len(clean) / out["polars-hash M/cpu-s"] / 1e6,
            "MB": 0.0, **out}


CONTENDERS: dict[str, Callable[[Path, int], dict[str, float]]] = {
    "ours": ours,
    "duckdb-encrypted": lambda p, n: _duckdb(p, "encrypted"),
    "duckdb-encrypted-same-storage": lambda p, n: _duckdb(p, "encrypted-same-storage"),
    "duckdb-memory": lambda p, n: _duckdb(p, "memory"),
    "hashing": hashing,
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=10_000_000)
    parser.add_argument("--repeat", type=int, default=3, help="runs of each; medians are reported")
    parser.add_argument("--only", nargs="*", choices=list(CONTENDERS), help="run only these")
    args = parser.parse_args()
    os.environ.setdefault("WORKBENCH_MAX_UPLOAD_BYTES", str(8 * 1024**3))
    path = ROOT / "bench" / "data" / f"emails_{args.rows}.csv"
    generate(path, args.rows)
    names = args.only or list(CONTENDERS)
    print(f"{args.rows:,} rows, {path.stat().st_size / 1e6:.0f} MB CSV; {os.cpu_count()} cores; "
          f"python {platform.python_version()}, duckdb {duckdb.__version__}", flush=True)
    runs: dict[str, list[dict[str, float]]] = {name: [] for name in names}
    for i in range(args.repeat):
        for name in names:
            load = os.getloadavg()[0]
            result = CONTENDERS[name](path, args.rows) | {"load": load}
            runs[name].append(result)
            extra = "".join(f", {k} {v:.2f} s" for k, v in result.items() if k in ("upload+parse", "connection"))
            extra += "".join(f", {k} {v:.2f}" for k, v in result.items() if k.endswith(("M/s", "M/cpu-s")))
            print(f"run {i + 1} {name:30s} {result['wall']:7.2f} s (cpu {result['cpu']:6.2f} s{extra}),"
                  f" load {load:5.2f}, {result['MB']:.0f} MB on disk", flush=True)
    n = args.rows
    med = {name: {k: statistics.median(r[k] for r in rs) for k in rs[0]} for name, rs in runs.items()}
    print(f"\nmedians of {args.repeat} runs:")
    for name, m in med.items():
        loads = [r["load"] for r in runs[name]]
        print(f"{name:30s} {m['wall']:7.2f} s  {n / m['wall'] / 1e6:5.2f} M rows/s  cpu {m['cpu']:6.2f} s"
              f"  load {min(loads):.1f}-{max(loads):.1f}")
    if "ours" in med:
        end_to_end, step = n / med["ours"]["wall"] / 1e6, n / med["ours"]["connection"] / 1e6
        print(f"ours end to end {end_to_end:.2f} M rows/s, connection step (normalise, hash, store)"
              f" {step:.2f} M rows/s; target 2.00 M rows/s: end to end {'met' if end_to_end >= 2 else 'not met'},"
              f" connection step {'met' if step >= 2 else 'not met'}")
        for name in [x for x in names if x not in ("ours", "hashing")]:
            print(f"ratio ours / {name:30s} wall {med['ours']['wall'] / med[name]['wall']:.2f}x"
                  f"  cpu {med['ours']['cpu'] / med[name]['cpu']:.2f}x")


if __name__ == "__main__":
    main()

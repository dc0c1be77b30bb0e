"""Benchmark: how close a synthetic twin's marginals are to the real data's, and what it costs.

Seeded data with dependencies between columns (region -> device, age band -> segment,
segment -> visits -> spend) is ingested through the in-process client, provisioned with public
value lists and bounds, and its twin published through the service at several epsilons. For
each twin the rows are read back and both tables cut into the twin's cells (the same public
domains and bins), then:

- one-way and two-way marginal error: mean over marginals of the mean absolute error of cell
  shares (fractions of rows), and the total variation distance;
- the same two-way error for a baseline drawn from the same noisy one-way marginals with
  independent columns (no tree), to show what the Chow-Liu tree buys;
- the expected cell error the twin's status reports (noise scale / rows);
- publish time, and that no real identity digest is in the twin.

Usage: python bench/twin.py [--people 20000 100000] [--epsilons 0.5 1 2 4] [--repeat 3]
"""

from __future__ import annotations

import argparse
import datetime as dt
import hashlib
import json
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

KEY = "bench-key-" + "0123456789abcdef"
REGIONS = [f"region {i}" for i in range(8)]
BANDS = ["18-24", "25-34", "35-44", "45-54", "55-64", "65+"]
SEGMENTS = ["sport", "news", "travel", "food", "tech"]
DEVICES = ["mobile", "desktop", "tablet"]


def make_people(n: int, seed: int = 7) -> pd.DataFrame:
    """n people, one row each, with dependencies a twin should keep."""
    rng = np.random.default_rng(seed)
    region = rng.choice(len(REGIONS), size=n, p=np.linspace(2, 1, len(REGIONS)) / np.linspace(2, 1, len(REGIONS)).sum())
    band = rng.choice(len(BANDS), size=n)
    device = np.where(region < 3, rng.choice(3, size=n, p=[0.8, 0.15, 0.05]),
                      rng.choice(3, size=n, p=[0.4, 0.45, 0.15]))
    young = band < 2
    segment = np.where(young, rng.choice(5, size=n, p=[0.35, 0.05, 0.1, 0.1, 0.4]),
                       rng.choice(5, size=n, p=[0.15, 0.4, 0.25, 0.15, 0.05]))
    visits = np.clip(rng.poisson(np.where(segment == 0, 20, 6)), 0, 40)
    spend = np.clip(rng.gamma(2.0, 5.0 + 4.0 * visits), 0, 500).round(2)
    return pd.DataFrame({
        "email": [hashlib.sha256(f"person{i}@example.com".encode()).hexdigest() for i in range(n)],
        "region": [REGIONS[i] for i in region], "age_band": [BANDS[i] for i in band],
        "segment": [SEGMENTS[i] for i in segment], "device": [DEVICES[i] for i in device],
        "visits": visits.astype("int64"), "spend": spend,
    })


def cells_of(frame: pd.DataFrame, models: list[Any]) -> np.ndarray:
    """Cut a table into the twin's cells (the service does the same in SQL on the real data)."""
    out = np.zeros((len(frame), len(models)), dtype=np.int64)
    for j, m in enumerate(models):
        col = frame[m.name]
        missing = m.cells - 1
        if m.numeric:
            x = pd.to_numeric(col, errors="coerce").to_numpy(dtype=float)
            width = (m.upper - m.lower) or 1.0
            idx = np.floor((np.clip(x, m.lower, m.upper) - m.lower) / width * m.bins)
            idx = np.clip(np.nan_to_num(idx, nan=missing), 0, m.bins - 1)
            out[:, j] = np.where(np.isnan(x), missing, idx).astype(np.int64)
        else:
            pos = {v: i for i, v in enumerate(m.values)}
            out[:, j] = [pos.get(str(v), missing) if v is not None else missing for v in col]
    return out


def _shares(counts: np.ndarray) -> np.ndarray:
    total = counts.sum()
    return counts / total if total > 0 else np.full(counts.shape, 1 / counts.size)


def run(people: int, epsilons: list[str], repeat: int) -> list[dict[str, Any]]:
    from workbench.governance.orgs import bootstrap
    from workbench.service.local import close_local, connect_local, local_app
    from workbench.store import Store
    from workbench.twins import model as m
    from workbench.wiring import wire

    wire()
    frame = make_people(people)
    real_ids = set(frame["email"])
    results = []
    with tempfile.TemporaryDirectory(prefix="bench-twin-") as tmp:
        path = Path(tmp) / "store"
        store = Store.open(path, KEY, create=True)
        created = bootstrap(store, "Publisher", "alice")
        store.close()
        client = connect_local(path, created.token.secret, key=KEY)
        room = client.create_room("twin bench", k_min=1, epsilon_budget="1000",
                                  start_date=dt.date.today() - dt.timedelta(days=1))
        conn = client.connect_dataset(frame, "people", identity_column="email",
                                      identity_kind="sha256", progress=False)
        ds = client.provision_dataset(room.id, conn.id, "people")
        client.set_analysis_rules(room.id, ds.id, [
            {"name": "email", "join": True, "aggregations": ["COUNT_DISTINCT"]},
            {"name": "region", "group_by": True, "public_values": REGIONS},
            {"name": "age_band", "group_by": True, "public_values": BANDS},
            {"name": "segment", "group_by": True, "public_values": SEGMENTS},
            {"name": "device", "group_by": True, "public_values": DEVICES},
            {"name": "visits", "aggregations": ["SUM", "AVG"], "lower": 0, "upper": 40},
            {"name": "spend", "aggregations": ["SUM", "AVG"], "lower": 0, "upper": 500},
        ])
        store = local_app(path, KEY).state.store
        for eps in epsilons:
            for _ in range(repeat):
                started = time.perf_counter()
                twin = client.publish_twin(room.id, ds.id, epsilon=eps, bins=8)
                seconds = time.perf_counter() - started
                with store.reader() as cur:
                    row = cur.execute("SELECT table_name, model FROM twins WHERE id = ?",
                                      [twin.id]).fetchone()
                    synthetic = cur.execute(f"SELECT * FROM twin.{row[0]}").fetchdf()
                model = json.loads(row[1])
                models = [m.ColumnModel.from_dict(c) for c in model["columns"]]
                real, fake = cells_of(frame, models), cells_of(synthetic, models)
                err = m.marginal_error(real, fake, models)
                marginals = m.split_vector(model["noisy"], models)
                rng = np.random.default_rng()
                independent = np.stack(
                    [rng.choice(c.cells, size=len(synthetic), p=_shares(marginals.one_way[j]))
                     for j, c in enumerate(models)], axis=1)
                base = m.marginal_error(real, independent, models)
                results.append({
                    "people": people, "epsilon": eps, "rows": twin.rows, "seconds": seconds,
                    "one_way_mae": err.one_way_mae, "two_way_mae": err.two_way_mae,
                    "one_way_tvd": err.one_way_tvd, "two_way_tvd": err.two_way_tvd,
                    "independent_two_way_mae": base.two_way_mae,
                    "independent_two_way_tvd": base.two_way_tvd,
                    "expected_cell_error": twin.expected_cell_error, "marginals": twin.marginals,
                    "real_ids_in_twin": len(real_ids & set(synthetic["email"])),
                })
        client.close()
        close_local(path)
    return results


def summarise(results: list[dict[str, Any]]) -> None:
    print("| people | epsilon | rows | publish s | 1-way MAE | 2-way MAE | 2-way MAE, independent |"
          " 1-way TVD | 2-way TVD | 2-way TVD, independent | expected cell error | real ids in twin |")
    print("|---|---|---|---|---|---|---|---|---|---|---|---|")
    keys = sorted({(r["people"], float(r["epsilon"])) for r in results})
    for people, eps in keys:
        rs = [r for r in results if r["people"] == people and float(r["epsilon"]) == eps]

        def med(name: str, rs: list[dict[str, Any]] = rs) -> float:
            return statistics.median(r[name] for r in rs)

        print(f"| {people:,} | {eps:g} | {int(med('rows')):,} | {med('seconds'):.2f} |"
              f" {med('one_way_mae'):.5f} | {med('two_way_mae'):.5f} |"
              f" {med('independent_two_way_mae'):.5f} | {med('one_way_tvd'):.4f} |"
              f" {med('two_way_tvd'):.4f} | {med('independent_two_way_tvd'):.4f} |"
              f" {med('expected_cell_error'):.5f} | {max(r['real_ids_in_twin'] for r in rs)} |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--people", type=int, nargs="+", default=[20_000, 100_000])
    parser.add_argument("--epsilons", nargs="+", default=["0.5", "1", "2", "4"])
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    results = []
    for people in args.people:
        results.extend(run(people, args.epsilons, args.repeat))
    summarise(results)


if __name__ == "__main__":
    main()

"""Benchmark: a matched cohort and a lookalike over N activation-party users with an S seed.

Three processes, so each peak memory (ru_maxrss) is its own:

1. setup: synthetic publisher users (region, age band, segment, visits; buyers lean to sport and
   visit more) and advertiser buyers (S of the publisher's users plus strangers), ingested
   through the in-process client; then the matched cohort is built through the service (timed);
2. service: the lookalike trained and sized through the service (timed, peak memory);
3. plain: the same cohort as a plain DuckDB join and the same scikit-learn fits and scoring (the
   per-block models of the curve, then the scoring model) on the same arrays read straight from
   the Parquet files (timed, peak memory).

Reports the ratios service / plain and the lookalike's recall on held-out seed members against
random selection. Usage: python bench/audiences.py [--users N] [--seed-size S] [--out DIR]
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

KEY = "bench-key-" + "0123456789abcdef"
FEATURES = ["region", "age_band", "segment", "visits"]
BUYERS_SQL = ("SELECT p.email FROM publisher p JOIN advertiser a ON p.email = a.email "
              "WHERE a.amount >= :min_amount")


def _peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def make_data(out: Path, users: int, seed_size: int) -> None:
    """Publisher and advertiser Parquet files; identities pre-hashed (sha256) to save ingest time."""
    import numpy as np
    import pandas as pd

    rng = np.random.default_rng(42)
    ids = np.array([hashlib.sha256(f"user{i}@example.com".encode()).hexdigest()
                    for i in range(users)])
    buyer = np.zeros(users, dtype=bool)
    buyer[rng.choice(users, size=seed_size, replace=False)] = True
    sport = np.where(buyer, rng.random(users) < 0.7, rng.random(users) < 0.3)
    pd.DataFrame({
        "email": ids,
        "region": rng.choice(["north", "south", "east", "west"], size=users),
        "age_band": rng.choice(["18-34", "35-54", "55+"], size=users),
        "segment": np.where(sport, "sport", rng.choice(["news", "travel", "food"], size=users)),
        "visits": np.where(buyer, rng.poisson(12, users), rng.poisson(6, users)).astype("int64"),
    }).to_parquet(out / "publisher.parquet")
    strangers = [hashlib.sha256(f"stranger{i}@example.org".encode()).hexdigest()
                 for i in range(seed_size // 10)]
    pd.DataFrame({"email": np.concatenate([ids[buyer], strangers]),
                  "amount": rng.gamma(2.0, 40.0, seed_size + len(strangers)).round(2)}
                 ).to_parquet(out / "advertiser.parquet")


def setup(out: Path) -> dict:
    """Store, both parties, the room and the matched cohort (timed) through the client."""
    import datetime as dt

    from workbench.governance.orgs import bootstrap
    from workbench.service.local import connect_local
    from workbench.store import Store

    store_dir = out / "store"
    s = Store.open(store_dir, KEY, create=True)
    created = bootstrap(s, "Publisher", "pat")
    s.close()
    token = created.token.secret
    assert token is not None
    owner = connect_local(store_dir, token, key=KEY)
    adv = owner.create_org("Advertiser", "ada")
    assert adv.token.secret is not None
    partner = connect_local(store_dir, adv.token.secret, key=KEY)
    room = owner.create_room("bench", k_min=20, epsilon_budget="100",
                             start_date=dt.date.today() - dt.timedelta(days=1))
    owner.invite_partner(room.id, adv.org.id)
    partner.accept_invitation(room.id)
    owner.set_partner_permissions(room.id, adv.org.id, ["manage_datasets", "view_reports"])
    started = time.perf_counter()
    pub = owner.connect_dataset(out / "publisher.parquet", "users", identity_column="email",
                                identity_kind="sha256", progress=False)
    ads = partner.connect_dataset(out / "advertiser.parquet", "sales", identity_column="email",
                                  identity_kind="sha256", progress=False)
    ingest = time.perf_counter() - started
    pds = owner.provision_dataset(room.id, pub.id, "publisher users")
    owner.set_analysis_rules(room.id, pds.id, [{"name": "email", "join": True}])
    aps = partner.provision_dataset(room.id, ads.id, "advertiser sales")
    partner.set_analysis_rules(room.id, aps.id, [
        {"name": "email", "join": True},
        {"name": "amount", "aggregations": ["SUM"], "lower": 0, "upper": 1000}])
    owner.set_template(room.id, [
        {"macro": "publisher", "party": "owner", "fields": [{"macro": "email"}]},
        {"macro": "advertiser", "party": adv.org.id,
         "fields": [{"macro": "email"}, {"macro": "amount"}]},
    ], runs="all", receives="owner")
    owner.map_dataset(room.id, "publisher", pds.id, {"email": "email"})
    partner.map_dataset(room.id, "advertiser", aps.id, {"email": "email", "amount": "amount"})
    owner.set_audience_terms(room.id, max_seed=10_000_000)
    q = owner.create_question(room.id, "buyers", BUYERS_SQL, kind="user_list", parameters=[
        {"name": "min_amount", "type": "number", "default": 0}])
    owner.add_question(room.id, q.id)
    started = time.perf_counter()
    cohort = owner.create_cohort(room.id, "buyers", q.id, {"min_amount": 0}, epsilon="1")
    cohort_s = time.perf_counter() - started
    return {"token": token, "room_id": room.id, "cohort_id": cohort.id,
            "cohort_size_dp": cohort.size, "ingest_s": round(ingest, 2),
            "cohort_s": round(cohort_s, 3), "peak_mb": round(_peak_mb())}


def service(out: Path, info: dict) -> dict:
    """The lookalike through the service: train (curve released), then pick 10%."""
    from workbench.service.local import connect_local

    owner = connect_local(out / "store", info["token"], key=KEY)
    base = _peak_mb()
    started = time.perf_counter()
    look = owner.train_lookalike(info["room_id"], "lookalike", info["cohort_id"], FEATURES,
                                 random_seed=1, epsilon="1")
    train_s = time.perf_counter() - started
    started = time.perf_counter()
    owner.pick_lookalike_size(info["room_id"], look.id, percent=10)
    pick_s = time.perf_counter() - started
    return {"train_s": round(train_s, 2), "pick_s": round(pick_s, 2),
            "curve": [p.model_dump() for p in look.curve], "peak_mb": round(_peak_mb()),
            "peak_before_mb": round(base)}


def plain(out: Path) -> dict:
    """The same cohort in plain DuckDB and the same fit/scoring on the same arrays."""
    import duckdb
    import pandas as pd

    from workbench.audiences import _records as rec
    from workbench.audiences.lookalike import GRID, blocks_for, train

    con = duckdb.connect()
    started = time.perf_counter()
    row = con.execute(
        f"SELECT count(*) FROM (SELECT DISTINCT p.email FROM '{out / 'publisher.parquet'}' p JOIN"
        f" '{out / 'advertiser.parquet'}' a ON p.email = a.email WHERE a.amount >= 0)").fetchone()
    n = row[0] if row else 0
    cohort_s = time.perf_counter() - started
    base = _peak_mb()
    started = time.perf_counter()
    frame = pd.read_parquet(out / "publisher.parquet").sort_values("email")
    buyers = set(pd.read_parquet(out / "advertiser.parquet")["email"])
    frame = frame.rename(columns={"email": "__member"}).reset_index(drop=True)
    frame["__seed"] = frame["__member"].isin(buyers)
    cols = [rec.ColumnInfo(name=f, type="integer" if f == "visits" else "text", pii=False,
                           is_identity=False) for f in FEATURES]
    trained = train(frame, cols, 1, 0.2, blocks_for(int(n)))
    train_s = time.perf_counter() - started
    curve = [{"percent": pct, "recall": round(r, 4), "random_recall": pct / 100}
             for pct, r in zip(GRID, trained.exact_curve, strict=True)]
    return {"cohort_rows": int(n), "cohort_s": round(cohort_s, 3), "train_s": round(train_s, 2),
            "fit_score_s": round(trained.seconds, 2), "blocks": trained.blocks, "curve": curve,
            "peak_mb": round(_peak_mb()), "peak_before_mb": round(base)}


def _child(step: str, out: Path, info: dict | None = None) -> dict:
    cmd = [sys.executable, __file__, "--step", step, "--out", str(out)]
    if info is not None:
        cmd += ["--info", json.dumps(info)]
    done = subprocess.run(cmd, capture_output=True, text=True, check=False,
                          env={**os.environ, "WORKBENCH_STORE_KEY": KEY})
    if done.returncode != 0:
        raise RuntimeError(f"{step} failed:\n{done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--users", type=int, default=10_000_000)
    parser.add_argument("--seed-size", type=int, default=100_000)
    parser.add_argument("--out", type=Path, default=None)
    parser.add_argument("--step", default=None)
    parser.add_argument("--info", default=None)
    args = parser.parse_args()
    if args.step:
        info = json.loads(args.info) if args.info else {}
        result = {"setup": lambda: setup(args.out), "service": lambda: service(args.out, info),
                  "plain": lambda: plain(args.out)}[args.step]()
        print(json.dumps(result), flush=True)
        if args.step != "plain":
            from workbench.service.local import close_local

            close_local(args.out / "store")
        return
    out = args.out or Path(tempfile.mkdtemp(prefix="bench-audiences-"))
    out.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    make_data(out, args.users, args.seed_size)
    print(f"data: {args.users:,} users, {args.seed_size:,} seed in "
          f"{time.perf_counter() - started:.1f} s", flush=True)
    info = _child("setup", out)
    print("setup:", json.dumps(info), flush=True)
    svc = _child("service", out, info)
    base = _child("plain", out)
    report = {
        "users": args.users, "seed": args.seed_size, "load": os.getloadavg()[0],
        "cohort_service_s": info["cohort_s"], "cohort_plain_duckdb_s": base["cohort_s"],
        "cohort_ratio": round(info["cohort_s"] / max(base["cohort_s"], 1e-9), 1),
        "cohort_size_dp": info["cohort_size_dp"], "cohort_size_exact": base["cohort_rows"],
        "lookalike_service_s": svc["train_s"], "lookalike_plain_s": base["train_s"],
        "lookalike_ratio": round(svc["train_s"] / max(base["train_s"], 1e-9), 2),
        "pick_size_s": svc["pick_s"], "blocks": base["blocks"],
        "peak_service_mb": svc["peak_mb"], "peak_plain_mb": base["peak_mb"],
        "peak_ratio": round(svc["peak_mb"] / max(base["peak_mb"], 1), 2),
        "recall_service_dp": {f'{p["percent"]:g}%': f'{p["recall"]:.3f} vs random {p["random_recall"]:.3f}'
                              for p in svc["curve"]},
        "recall_plain_exact": {f'{p["percent"]:g}%': f'{p["recall"]:.3f} vs random {p["random_recall"]:.3f}'
                               for p in base["curve"]},
    }
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()

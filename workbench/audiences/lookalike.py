"""Modeled (lookalike) cohorts, trained inside the service with scikit-learn.

Seed: a matched cohort (its released size at least 25 and at most the room's maximum). Features:
declared columns of the activation party's dataset, never PII or the identity. The model, the
scores and the seed never leave the service; what is released is a reach / relevance curve (how
many held-out seed members rank within the top p% of users) and the number of users scored, both
with DP and charged to every data party like a run.

Why the curve's sensitivity is provable (subsample and aggregate):

- every user is put in one of B blocks, and every seed member in "held out" or "training", by a
  keyed hash of its identity digest (the key derives from the recorded random seed): removing or
  adding one person changes no one else's block or split;
- each user's features are encoded from that user's values alone (a fixed log transform of
  numbers, text values one-hot into hashed columns: no scaling or category list learnt from
  other users);
- one model per block, fitted only on that block's users (its training seed members against a
  hash-sampled share of its non-seed users, at a rate set by the block's own counts); each block
  ranks its own users and measures, at each grid point p, the fraction of its held-out members
  within its top p%, a number in [0, 1] that reads nothing outside the block;
- the released point is the mean over blocks. One person lives in one block, so it moves each
  point by at most 1/B, and the G points by at most G/B in L1, whatever the data. Laplace noise is
  calibrated to that (fixed point, ``FIXED_POINT`` units per block), and B grows with the seed's
  released size (``SEED_PER_BLOCK`` seed members per block, at most ``MAX_BLOCKS``).

The users are then scored by one model fitted on the whole seed against sampled non-seed users
(usually at least as good as the block models the curve measures); the runner picks a size from
the curve. The grid's top N are taken from the released (noisy) number of users, never the exact
one. No step refuses or fails on the data once the budget is charged: a block without enough
members to fit measures a constant score instead.
"""

from __future__ import annotations

import hashlib
import json
import math
import secrets
import time
from dataclasses import dataclass
from typing import Any

import numpy as np
import pyarrow as pa

from workbench.audiences import _records as rec
from workbench.audiences.cohorts import cohort_out, parties_of
from workbench.audiences.release import (charge, check_active, epsilon_of, library_versions,
                                         release_counts, release_sums)
from workbench.contract.consent import strictest
from workbench.errors import Conflict, InvalidInput, NotFound, PermissionDenied
from workbench.governance.audit import record
from workbench.governance.model import Actor
from workbench.governance.policy import ensure_allowed_in_room
from workbench.ids import new_id, parse_uuid
from workbench.store import Store
from workbench.wire import audiences as w

MIN_SEED = 25
#: the reach grid of the curve, in percent of the activation party's users
GRID = (1, 2, 5, 10, 20, 30, 50, 75, 100)
#: negatives sampled per training positive (bounded)
NEGATIVES_PER_POSITIVE = 5
MIN_NEGATIVES = 200
MAX_NEGATIVES = 500_000
#: hashed one-hot columns for the text features' values
HASH_BUCKETS = 256
NUMERIC = {"integer", "double", "boolean", "bigint", "float"}
#: released seed members per block of the curve (B = released seed size // this, 1..MAX_BLOCKS)
SEED_PER_BLOCK = 100
MAX_BLOCKS = 1000
#: fixed-point units of one block's recall fraction (the curve is released as integer sums)
FIXED_POINT = 10_000


@dataclass(frozen=True, kw_only=True)
class Trained:
    """What training produced (all of it stays in the service)."""

    #: member digests in the frame's order
    members: np.ndarray
    scores: np.ndarray
    #: blocks of the curve and each block's held-out recall at each grid point (B x G)
    blocks: int
    block_recall: np.ndarray
    #: the exact (pre-noise) vector released: per grid point, the sum over blocks of
    #: round(recall * FIXED_POINT); one person moves each entry by at most FIXED_POINT
    exact_sums: list[int]
    #: the exact curve: mean over blocks of the held-out recall at each grid point
    exact_curve: list[float]
    #: exact number of users scored (released only with noise)
    population: int
    seconds: float

    @property
    def sensitivity(self) -> float:
        """Most one person moves one point of ``exact_curve`` (L1 over the curve: G times it)."""
        return 1 / self.blocks


def blocks_for(released_seed: int) -> int:
    """B from the seed's released size (public), so choosing it reads nothing new."""
    return max(1, min(MAX_BLOCKS, released_seed // SEED_PER_BLOCK))


def keyed_hash(members: np.ndarray, random_seed: int) -> np.ndarray:
    """A 64-bit keyed hash (SipHash) of each identity digest: a person's block and split depend
    on nothing but its own identity and the key."""
    import pandas as pd

    key = hashlib.sha256(f"lookalike:{random_seed}".encode()).hexdigest()[:16]
    return pd.util.hash_array(np.asarray(members, dtype=object), hash_key=key, categorize=False)


def check_features(cols: list[rec.ColumnInfo], features: list[str]) -> list[rec.ColumnInfo]:
    """The declared feature columns, refusing unknown, PII and identity columns."""
    by_name = {c.name.lower(): c for c in cols}
    chosen: list[rec.ColumnInfo] = []
    problems = []
    for name in features:
        col = by_name.get(name.lower())
        if col is None:
            problems.append(f"{name!r} is not a provisioned column of the activation party's "
                            f"dataset (columns: {', '.join(c.name for c in cols)})")
        elif col.is_identity:
            problems.append(f"{col.name!r} is the identity: a model may not learn from it")
        elif col.pii:
            problems.append(f"{col.name!r} is labelled PII: lookalike features may not use it")
        elif col not in chosen:
            chosen.append(col)
    if problems:
        raise InvalidInput("refused features: " + "; ".join(problems) + ". Declare segment, "
                           "behaviour or public attribute columns instead",
                           problems=problems)
    return chosen


def _bucket(column: str, value: str) -> int:
    """The design column of one text value: a hash of the column and the value only."""
    digest = hashlib.blake2b(f"{column}={value}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big") % HASH_BUCKETS


def design(frame: Any, cols: list[rec.ColumnInfo]) -> Any:
    """A sparse design matrix whose every row depends on that user's own features only (no
    scaling or category list learnt from other users, which would let one person move every
    block): numbers as sign(x)·log(1 + |x|) with a missing flag, text values one-hot into
    ``HASH_BUCKETS`` hashed columns."""
    import pandas as pd
    from scipy import sparse  # type: ignore[import-untyped]

    n = len(frame)
    numeric = [c.name for c in cols if c.type.lower() in NUMERIC]
    parts = []
    for name in numeric:
        x = pd.to_numeric(frame[name], errors="coerce").to_numpy(dtype=np.float64)
        missing = np.isnan(x)
        x = np.where(missing, 0.0, np.sign(x) * np.log1p(np.abs(x)))
        parts.append(sparse.csr_matrix(np.column_stack([x, missing.astype(np.float64)])))
    for c in cols:
        if c.name in numeric:
            continue
        codes, uniques = pd.factorize(frame[c.name].astype("string").fillna(""), sort=False)
        buckets = np.array([_bucket(c.name, str(u)) for u in uniques], dtype=np.int64)
        parts.append(sparse.csr_matrix((np.ones(n), (np.arange(n), buckets[codes])),
                                       shape=(n, HASH_BUCKETS)))
    return sparse.hstack(parts, format="csr")


def _fit_score(x: Any, positives: np.ndarray, negatives: np.ndarray, random_seed: int
               ) -> np.ndarray:
    """Scores of every row of ``x`` by a logistic regression of ``positives`` against
    ``negatives``; a constant score when they cannot be fitted (no refusal that would depend on
    the data)."""
    from sklearn.linear_model import LogisticRegression

    if not positives.any() or not negatives.any():
        return np.zeros(x.shape[0])
    rows = np.flatnonzero(positives | negatives)
    model = LogisticRegression(solver="liblinear", max_iter=500, random_state=random_seed)
    try:
        model.fit(x[rows], positives[rows].astype(np.int8))
    except ValueError:
        return np.zeros(x.shape[0])
    return np.asarray(model.predict_proba(x)[:, 1], dtype=np.float64)


def _sample_rate(n_positive: int, n_rest: int) -> float:
    """Share of non-seed users sampled as negatives, from the counts of the rows at hand."""
    if n_rest == 0:
        return 0.0
    wanted = min(MAX_NEGATIVES, max(NEGATIVES_PER_POSITIVE * n_positive, MIN_NEGATIVES))
    return min(1.0, wanted / n_rest)


def rank(scores: np.ndarray, members: np.ndarray) -> np.ndarray:
    """Positions of users from best to worst score, ties broken by digest (as the store does)."""
    return np.lexsort((members, -scores))


def grid_sizes(population: int) -> list[int]:
    """The top N of each grid point for ``population`` users."""
    return [max(1, math.ceil(population * pct / 100)) for pct in GRID]


def held_recall(scores: np.ndarray, members: np.ndarray, held: np.ndarray) -> np.ndarray:
    """Fraction of the held-out rows within the top p% of these rows, per grid point (0 when
    nothing is held out)."""
    n_held = int(held.sum())
    if n_held == 0:
        return np.zeros(len(GRID))
    order = rank(scores, members)
    position = np.empty(len(order), dtype=np.int64)
    position[order] = np.arange(len(order))
    held_pos = np.sort(position[held])
    return np.array([np.searchsorted(held_pos, n, side="left") for n in grid_sizes(len(members))],
                    dtype=np.float64) / n_held


def train(frame: Any, cols: list[rec.ColumnInfo], random_seed: int, holdout: float,
          blocks: int) -> Trained:
    """The curve by subsample and aggregate over ``blocks`` identity-hash blocks, then the
    scores of every user by one model of the whole seed (see the module's docstring)."""
    from threadpoolctl import threadpool_limits  # type: ignore[import-untyped]

    started = time.perf_counter()
    with threadpool_limits(1):  # many small fits: BLAS threads would only contend
        return _train(frame, cols, random_seed, holdout, blocks, started)


def _train(frame: Any, cols: list[rec.ColumnInfo], random_seed: int, holdout: float,
           blocks: int, started: float) -> Trained:
    x = design(frame, cols)
    members = frame["__member"].to_numpy()
    is_seed = frame["__seed"].to_numpy(dtype=bool)
    hashed = keyed_hash(members, random_seed)
    block = (hashed % np.uint64(blocks)).astype(np.int64)
    # a uniform draw from the hash's high bits: held out (seed) or sampled as negative (rest)
    draw = (hashed >> np.uint64(11)).astype(np.float64) / float(2 ** 53)
    held = is_seed & (draw < holdout)
    order = np.argsort(block, kind="stable")
    bounds = np.searchsorted(block[order], np.arange(blocks + 1))
    recall = np.zeros((blocks, len(GRID)))
    for b in range(blocks):
        rows = order[bounds[b]:bounds[b + 1]]
        seed_b, held_b, draw_b = is_seed[rows], held[rows], draw[rows]
        positives = seed_b & ~held_b
        rate = _sample_rate(int(positives.sum()), int((~seed_b).sum()))
        scores_b = _fit_score(x[rows], positives, ~seed_b & (draw_b < rate), random_seed)
        recall[b] = held_recall(scores_b, members[rows], held_b)
    rate = _sample_rate(int(is_seed.sum()), int((~is_seed).sum()))
    scores = _fit_score(x, is_seed, ~is_seed & (draw < rate), random_seed)
    sums = np.rint(recall * FIXED_POINT).astype(np.int64).sum(axis=0)
    return Trained(members=members, scores=scores, blocks=blocks, block_recall=recall,
                   exact_sums=[int(v) for v in sums],
                   exact_curve=[float(v) for v in recall.mean(axis=0)],
                   population=len(members), seconds=time.perf_counter() - started)


def _curve(sums: list[float], blocks: int, population: int) -> list[dict[str, Any]]:
    """The released curve: mean recall per point, top N from the released number of users."""
    return [{"top_n": n, "percent": float(pct), "recall": round(min(max(v / blocks, 0.0), 1.0), 4),
             "random_recall": round(pct / 100, 4)}
            for pct, n, v in zip(GRID, grid_sizes(population), sums, strict=True)]


def train_lookalike(store: Store, actor: Actor, room_id: str, body: w.LookalikeCreate
                    ) -> w.Cohort:
    """Train a lookalike and release its curve (charged to every data party); pick a size next."""
    room_id = parse_uuid(room_id, "room")
    seed_id = parse_uuid(body.seed_cohort_id, "cohort")
    cohort_id, charge_id = new_id(), new_id()
    eps = epsilon_of(body.epsilon)
    name = body.name.strip()
    random_seed = body.random_seed if body.random_seed is not None else secrets.randbelow(2**32)
    with store.transaction() as cur:
        access = ensure_allowed_in_room(cur, actor, "audience.lookalike.train", room_id=room_id,
                                resource_type="cohort", resource_id=cohort_id,
                                detail={"seed_cohort_id": seed_id, "features": body.features})
        check_active(cur, access.room)
        seed = rec.cohort(cur, room_id, seed_id)
        if seed is None:
            raise NotFound(f"no cohort {seed_id} in this room (a cohort goes when a dataset it "
                           "reads is removed)")
        if seed.kind != "matched" or seed.status != "ready":
            raise InvalidInput("the seed must be a ready matched cohort")
        if not name or rec.name_taken(cur, room_id, name):
            raise Conflict(f"the room already has a cohort named {name!r}; pick another name")
        terms = rec.terms(cur, room_id)
        max_seed = terms.max_seed if terms is not None else 100_000
        # the released (noisy) size: an exact count here would be read for free by refusals
        n_seed = seed.noisy_size or 0
        if n_seed < MIN_SEED:
            raise InvalidInput(f"the seed cohort is too small for a lookalike: at least "
                               f"{MIN_SEED} members are needed; widen the matched cohort")
        if n_seed > max_seed:
            raise InvalidInput(f"the seed cohort is larger than the room's maximum seed "
                               f"({max_seed:,}); narrow it, or the owner raises max_seed")
        dataset = rec.dataset(cur, room_id, seed.member_dataset_id)
        if dataset is None:
            raise NotFound("the seed's dataset was removed from the room")
        cols = check_features(rec.columns(cur, dataset.id), body.features)
        charge(store, cur, access.room, parties_of(cur, room_id, seed.datasets), seed.datasets,
               charge_id, eps, actor.user_id)
    blocks = blocks_for(n_seed)
    with store.reader() as cur:
        frame = rec.feature_frame(cur, dataset.view_name, dataset.identity_column,
                                  [c.name for c in cols], seed_id)
    trained = train(frame, cols, random_seed, body.holdout, blocks)
    # half the budget for the curve (one person moves each point by <= FIXED_POINT units, in one
    # block), half for the number of users scored (the grid's top N come from it)
    half = eps / 2
    sums = release_sums(access.room, trained.exact_sums, half, unit=FIXED_POINT)
    population = release_counts(access.room, [trained.population], half, per_person=1)
    users = max(1, population.values[0])
    scores = pa.table({"member": pa.array(trained.members.astype(str)),
                       "score": pa.array(trained.scores)})
    method = (f"subsample and aggregate: {blocks} identity-hash blocks, one model each; a point "
              f"is the mean over blocks of the held-out recall, so one person moves it by at "
              f"most 1/{blocks}")
    spent = sums.epsilon + population.epsilon
    meta = {"dp": sums.dp, "epsilon_spent": str(spent),
            "features": [c.name for c in cols], "random_seed": random_seed,
            "holdout": body.holdout, "blocks": blocks,
            "curve": _curve(sums.values, blocks, users),
            "curve_ci95": round(sums.ci95 / blocks, 4), "population": users,
            "population_ci95": population.ci95, "train_seconds": round(trained.seconds, 3),
            "manifest": {"seed_cohort_id": seed_id, "seed_version": seed.version,
                         "model": "logistic regression (scikit-learn)", "curve": method,
                         "blocks": blocks, "random_seed": random_seed,
                         "features": [c.name for c in cols], "epsilon": str(spent),
                         "ledger_charge": charge_id, "libraries": library_versions()}}
    with store.transaction() as cur:
        if rec.cohort(cur, room_id, seed_id) is None:
            raise NotFound("the seed cohort was deleted while the lookalike trained")
        rec.insert_cohort(cur, id=cohort_id, room_id=room_id, name=name, kind="modeled",
                          status="trained", question_id=None, question_version=None,
                          parameters={}, seed_cohort_id=seed_id,
                          activation_org_id=seed.activation_org_id,
                          member_dataset_id=seed.member_dataset_id, datasets=seed.datasets,
                          metadata=meta, created_by=actor.user_id)
        rec.store_scores(cur, cohort_id, scores)
        record(cur, actor, "audience.lookalike.trained", room_id=room_id, resource_type="cohort",
               resource_id=cohort_id, reason="model, scores and seed kept inside the service",
               detail={"epsilon": str(spent), "random_seed": random_seed, "blocks": blocks})
        found = rec.cohort(cur, room_id, cohort_id)
        assert found is not None
        return cohort_out(found)


def pick_size(store: Store, actor: Actor, room_id: str, cohort_id: str, body: w.LookalikeSize
              ) -> w.Cohort:
    """Members := the top N scored users (N given, or a percentage): a new cohort version."""
    room_id, cohort_id = parse_uuid(room_id, "room"), parse_uuid(cohort_id, "cohort")
    if (body.top_n is None) == (body.percent is None):
        raise InvalidInput("give either top_n or percent (of the activation party's users)")
    with store.transaction() as cur:
        access = ensure_allowed_in_room(cur, actor, "audience.lookalike.size", room_id=room_id,
                                resource_type="cohort", resource_id=cohort_id,
                                detail={"top_n": body.top_n, "percent": body.percent})
        access = strictest(cur, access)  # a dataset's own k-min floor binds the size too
        found = rec.cohort(cur, room_id, cohort_id)
        if found is None or found.kind != "modeled":
            raise NotFound(f"no modeled cohort {cohort_id} in this room")
        if not access.is_owner and rec.user_org(cur, found.created_by) != actor.org_id:
            raise PermissionDenied("only the room owner or the organisation that trained a "
                                   "lookalike picks its size (it decides who is activated)")
        meta = json.loads(found.metadata)
        population = int(meta["population"])
        top_n = body.top_n if body.top_n is not None else \
            int(np.ceil(population * float(body.percent) / 100))  # type: ignore[arg-type]
        if top_n > population:  # the released number of users, never the exact one
            raise InvalidInput(f"top_n is larger than the activation party's {population:,} "
                               "users (as released with noise); pick a smaller size")
        if top_n < access.room.k_min:
            raise InvalidInput(f"a cohort needs at least the room's k-min ({access.room.k_min}) "
                               "members; pick a larger size")
        rec.members_from_scores(cur, cohort_id, top_n)
        meta["picked"] = {"top_n": top_n, "percent": body.percent}
        rec.update_cohort(cur, cohort_id, status="ready", noisy_size=top_n, size_ci95=0.0,
                          metadata=meta, new_version=True)
        again = rec.cohort(cur, room_id, cohort_id)
        assert again is not None
        return cohort_out(again)

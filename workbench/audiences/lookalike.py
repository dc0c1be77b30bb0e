"""Modeled (lookalike) cohorts, trained inside the service with scikit-learn.

Seed: a matched cohort (at least 25 members, at most the room's maximum). Features: declared
columns of the activation party's dataset, never PII or the identity. A logistic regression
separates the seed (minus a held-out share) from a sample of the other users, with a recorded
random seed so a retrain is identical; it scores every activation-party user. The reach /
relevance curve (how many held-out seed members rank within the top N) is released with DP and
charged to every data party like a run. The runner then picks a size from the curve. The model,
the scores and the seed never leave the service.
"""

from __future__ import annotations

import json
import secrets
import time
from dataclasses import dataclass
from typing import Any

import numpy as np
import pyarrow as pa

from workbench.audiences import _records as rec
from workbench.audiences.cohorts import cohort_out, parties_of
from workbench.audiences.release import (charge, check_active, epsilon_of, library_versions,
                                         release_counts)
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
MAX_NEGATIVES = 500_000
MAX_CATEGORIES = 32
NUMERIC = {"integer", "double", "boolean", "bigint", "float"}


@dataclass(frozen=True, kw_only=True)
class Trained:
    """What training produced (all of it stays in the service)."""

    #: member digests in the frame's order
    members: np.ndarray
    scores: np.ndarray
    #: exact count of held-out seed members within each grid point, then the held-out total
    exact_curve: list[int]
    grid_n: list[int]
    population: int
    seconds: float


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


def _design(frame: Any, cols: list[rec.ColumnInfo]) -> Any:
    """A numeric design matrix: numbers scaled, text one-hot (most frequent categories)."""
    from sklearn.compose import ColumnTransformer
    from sklearn.impute import SimpleImputer
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import OneHotEncoder, StandardScaler

    numeric = [c.name for c in cols if c.type.lower() in NUMERIC]
    text = [c.name for c in cols if c.name not in numeric]
    for name in text:
        frame[name] = frame[name].astype("string").fillna("").astype(object)
    for name in numeric:
        frame[name] = frame[name].astype("float64")
    parts = []
    if numeric:
        parts.append(("num", make_pipeline(SimpleImputer(strategy="median"), StandardScaler()),
                      numeric))
    if text:
        parts.append(("cat", OneHotEncoder(max_categories=MAX_CATEGORIES,
                                           handle_unknown="infrequent_if_exist"), text))
    return ColumnTransformer(parts)


def train(frame: Any, cols: list[rec.ColumnInfo], random_seed: int, holdout: float) -> Trained:
    """Fit on the seed minus the held-out share against sampled non-seed users; score all."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline

    started = time.perf_counter()
    rng = np.random.default_rng(random_seed)
    is_seed = frame["__seed"].to_numpy(dtype=bool)
    seed_idx = np.flatnonzero(is_seed)
    rest_idx = np.flatnonzero(~is_seed)
    shuffled = rng.permutation(seed_idx)
    n_hold = max(1, int(round(len(seed_idx) * holdout)))
    held, positives = shuffled[:n_hold], shuffled[n_hold:]
    n_neg = min(len(rest_idx), MAX_NEGATIVES, max(NEGATIVES_PER_POSITIVE * len(positives), 1000))
    negatives = rng.choice(rest_idx, size=n_neg, replace=False) if n_neg else rest_idx
    rows = np.concatenate([positives, negatives])
    labels = np.concatenate([np.ones(len(positives)), np.zeros(len(negatives))])
    model = make_pipeline(_design(frame, cols),
                          LogisticRegression(max_iter=500, random_state=random_seed))
    features = [c.name for c in cols]
    model.fit(frame.iloc[rows][features], labels)
    scores = model.predict_proba(frame[features])[:, 1]
    members = frame["__member"].to_numpy()
    curve, grid_n = recall_curve(scores, members, held)
    return Trained(members=members, scores=scores, exact_curve=curve + [len(held)],
                   grid_n=grid_n, population=len(members),
                   seconds=time.perf_counter() - started)


def rank(scores: np.ndarray, members: np.ndarray) -> np.ndarray:
    """Positions of users from best to worst score, ties broken by digest (as the store does)."""
    return np.lexsort((members, -scores))


def recall_curve(scores: np.ndarray, members: np.ndarray, held: np.ndarray
                 ) -> tuple[list[int], list[int]]:
    """Exact held-out members within the top N of every grid point, and the N themselves."""
    order = rank(scores, members)
    position = np.empty(len(order), dtype=np.int64)
    position[order] = np.arange(len(order))
    held_pos = np.sort(position[held])
    grid_n = [max(1, int(np.ceil(len(members) * pct / 100))) for pct in GRID]
    return [int(np.searchsorted(held_pos, n, side="left")) for n in grid_n], grid_n


def _curve(trained: Trained, noisy: list[int]) -> list[dict[str, Any]]:
    held = max(noisy[-1], 1)
    return [{"top_n": n, "percent": float(pct), "recall": round(min(c / held, 1.0), 4),
             "random_recall": round(n / trained.population, 4)}
            for pct, n, c in zip(GRID, trained.grid_n, noisy[:-1], strict=True)]


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
        charge(cur, access.room, parties_of(cur, room_id, seed.datasets), seed.datasets,
               charge_id, eps, actor.user_id)
    with store.reader() as cur:
        frame = rec.feature_frame(cur, dataset.view_name, dataset.identity_column,
                                  [c.name for c in cols], seed_id)
    try:
        trained = train(frame, cols, random_seed, body.holdout)
    except ValueError:  # e.g. too few true members to fit: says only that it failed
        raise InvalidInput("training failed after the data was read: nothing was kept and the "
                           "budget stays spent; widen the seed cohort") from None
    counts = release_counts(access.room, trained.exact_curve, eps,
                            per_person=len(trained.exact_curve))
    scores = pa.table({"member": pa.array(trained.members.astype(str)),
                       "score": pa.array(trained.scores)})
    meta = {"dp": counts.dp, "epsilon_spent": str(counts.epsilon),
            "features": [c.name for c in cols], "random_seed": random_seed,
            "holdout": body.holdout, "curve": _curve(trained, counts.values),
            "curve_ci95": counts.ci95, "population": trained.population,
            "train_seconds": round(trained.seconds, 3),
            "manifest": {"seed_cohort_id": seed_id, "seed_version": seed.version,
                         "model": "logistic regression (scikit-learn)",
                         "random_seed": random_seed, "features": [c.name for c in cols],
                         "epsilon": str(counts.epsilon), "ledger_charge": charge_id,
                         "libraries": library_versions()}}
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
               detail={"epsilon": str(counts.epsilon), "random_seed": random_seed})
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
        if top_n > population:
            raise InvalidInput(f"top_n is larger than the activation party's {population:,} "
                               "users; pick a smaller size")
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

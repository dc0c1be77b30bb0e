"""The plan fingerprint and the run manifest: what binds a run to its preview, and what lets
anyone re-plan it and check what it read.

The fingerprint covers everything that decides cost and noise: the question (version, SQL
digest, compiled SQL and bound values), the datasets and their rule versions, the parties charged,
k-min, the mode and the noise plan per vector (mechanism, scale, epsilon share, sensitivity).
Budget figures left are not in it: another party's run does not invalidate a preview.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from functools import cache
from importlib import metadata
from typing import Any

from workbench.questions.compile import Compiled
from workbench.runs import _records as rec
from workbench.runs.release import DPPlan

#: the distributions whose versions every manifest records
LIBRARIES = {"workbench": "clean-room-workbench", "duckdb": "duckdb", "opendp": "opendp",
             "sqlglot": "sqlglot"}

#: bound values drawn afresh for every execution (the per-person sampling salt): not the plan
PER_RUN = frozenset({"__salt"})


def digest(text: str) -> str:
    """SHA-256 of a text, hex."""
    return hashlib.sha256(text.encode()).hexdigest()


def canonical(value: Any) -> str:
    """One JSON text per value (sorted keys, no spaces), so equal plans hash equal."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), default=str)


@cache
def versions() -> dict[str, str]:
    """Installed versions of the libraries a release depends on."""
    out = {}
    for name, dist in LIBRARIES.items():
        try:
            out[name] = metadata.version(dist)
        except metadata.PackageNotFoundError:
            out[name] = "unknown"
    return out


def noise_plan(dp: DPPlan | None) -> list[dict[str, Any]]:
    """Per released vector: mechanism, noise scale, epsilon, sensitivity (empty with DP off)."""
    if dp is None:
        return []
    vectors = [{"vector": part.vector, "aggregate": agg.name, "kind": part.kind,
                "mechanism": "discrete laplace", "sensitivity": part.sensitivity,
                "fixed_point": part.fixed_point, "noise_scale": part.noise_scale,
                "epsilon": str(part.epsilon)}
               for agg in dp.plan.aggregates for part in agg.parts]
    if dp.plan.keys is not None:
        keys = dp.plan.keys
        vectors.append({"vector": "group keys", "aggregate": None, "kind": "threshold",
                        "mechanism": "laplace threshold", "sensitivity": list(keys.d_in),
                        "threshold": keys.threshold, "noise_scale": keys.integer_scale,
                        "epsilon": str(keys.epsilon), "delta": str(keys.delta)})
    return vectors


def dataset_entries(cur: Any, room_id: str, sources: Sequence[rec.DatasetSource]) -> list[dict[str, Any]]:
    """Per dataset read: its party, the version of its rules in force and its connection."""
    return [{"dataset_id": s.dataset_id, "org_id": s.org_id,
             "rule_version": rec.rule_version(cur, s.dataset_id), "connection_id": s.connection_id}
            for s in sources]


def content_digests(cur: Any, sources: Sequence[rec.DatasetSource]) -> dict[str, str]:
    """Each connection's content digest, computed from the stored table once and kept."""
    out: dict[str, str] = {}
    for source in sources:
        found = rec.connection_digest(cur, source.connection_id)
        if found is None:
            found = rec.compute_connection_digest(cur, source.table_name)
            rec.save_connection_digest(cur, source.connection_id, found)
        out[source.connection_id] = found
    return out


def fingerprint(*, question_id: str, question_version: int, sql: str, compiled: Compiled,
                datasets: list[dict[str, Any]], parties: Sequence[str], k_min: int,
                epsilon: str, delta: str, noise: list[dict[str, Any]]) -> str:
    """The hash a run must present to be run exactly as previewed."""
    return digest(canonical({
        "question": [question_id, question_version, digest(sql)],
        "compiled": [compiled.mode, compiled.sql,
                     {k: v for k, v in compiled.params.items() if k not in PER_RUN}],
        "datasets": [[d["dataset_id"], d["rule_version"]] for d in datasets],
        "parties": list(parties), "k_min": k_min, "epsilon": epsilon, "delta": delta,
        "noise": noise,
    }))

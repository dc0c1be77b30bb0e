"""Execute a compiled question on a DuckDB cursor."""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import duckdb

from workbench.errors import InvalidInput
from workbench.questions.compile import IDS, Compiled

log = logging.getLogger("workbench.engine")


@dataclass(frozen=True, kw_only=True)
class ExactResult:
    """Exact aggregated vectors, one entry per group, in one fixed key order."""

    #: group key tuples (strings for public keys, engine types otherwise)
    keys: list[tuple[Any, ...]]
    #: vector name -> one exact value per group (integers in DP mode)
    vectors: dict[str, list[Any]]
    #: distinct privacy units behind each group (after bounding in DP mode)
    units: list[int]
    #: seconds spent in DuckDB
    seconds: float


def execute(cur: Any, compiled: Compiled) -> ExactResult:
    """Run the compiled SQL with its bound parameters and split the rows into vectors."""
    started = time.perf_counter()
    try:
        rows = cur.execute(compiled.sql, compiled.params).fetchall()
    except duckdb.Error as e:
        # engine messages and exception names describe internal views and the engine; the
        # operator's log gets them, the author gets what to act on
        log.warning("compiled question failed in DuckDB: %s: %s", type(e).__name__, e)
        raise InvalidInput(
            "the question could not run on the provisioned data (a type mismatch between a "
            "parameter or clamping bound and a column, for example); check the parameter types "
            "against the columns they are compared with"
        ) from None
    seconds = time.perf_counter() - started
    n_keys = len(compiled.keys)
    names = [v for a in compiled.aggregates for v in a.vectors]
    keys = [tuple(row[:n_keys]) for row in rows]
    vectors: dict[str, list[Any]] = {name: [] for name in names}
    units: list[int] = []
    for row in rows:
        for i, name in enumerate(names):
            vectors[name].append(_plain(row[n_keys + i]))
        units.append(int(row[n_keys + len(names)]))
    if compiled.key_values is not None:
        order = {k: i for i, k in enumerate(compiled.key_values)}
        index = sorted(range(len(keys)), key=lambda i: order[tuple(keys[i])])
        keys = [keys[i] for i in index]
        vectors = {n: [v[i] for i in index] for n, v in vectors.items()}
        units = [units[i] for i in index]
    assert IDS not in vectors
    return ExactResult(keys=keys, vectors=vectors, units=units, seconds=seconds)


def _plain(value: Any) -> Any:
    if isinstance(value, Decimal):
        return float(value)
    return value

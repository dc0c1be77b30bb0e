"""What every engine promises: run a compiled question, return the exact vectors.

An engine never adds noise, never applies k-min and never touches the ledger: those stay in the
service (``workbench.runs`` and ``workbench.privacy``). It only executes the compiled tree, in its
own dialect, with every value bound as a query parameter.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Protocol, runtime_checkable

from workbench.questions.compile import IDS, Compiled


@dataclass(frozen=True, kw_only=True)
class ExactResult:
    """Exact aggregated vectors, one entry per group, in one fixed key order.

    No timings: how long the engine took is logged for the operator, never stored with a run
    (run metadata is shown to analysts, and time can depend on the private data).
    """

    #: group key tuples (strings for public keys, engine types otherwise)
    keys: list[tuple[Any, ...]]
    #: vector name -> one exact value per group (integers in DP mode)
    vectors: dict[str, list[Any]]
    #: distinct privacy units behind each group (after bounding in DP mode)
    units: list[int]
    #: which engine ran it (recorded with the run: where the data was read)
    engine: str = "duckdb"


@runtime_checkable
class Engine(Protocol):
    """Executes compiled questions where the data lives."""

    #: short name shown in logs and ``workbench serve --engine``
    name: str

    def execute(self, compiled: Compiled) -> ExactResult:
        """Run ``compiled`` and return its exact vectors; InvalidInput when it cannot run."""
        ...

    def check_sources(self, cur: Any, connection_ids: list[str]) -> None:
        """Before a run charges anything: InvalidInput when this engine cannot read one of these
        connections, or an external one changed since it was registered (its content digest)."""
        ...

    def close(self) -> None:
        """Release what the engine holds (sessions, JVMs); the store is not the engine's."""
        ...


def split_rows(compiled: Compiled, rows: Sequence[Sequence[Any]], engine: str = "duckdb"
               ) -> ExactResult:
    """Rows of the compiled SELECT (keys, vectors, units) as an ExactResult in a fixed order."""
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
    return ExactResult(keys=keys, vectors=vectors, units=units, engine=engine)


def _plain(value: Any) -> Any:
    if isinstance(value, Decimal):
        return float(value)
    return value

"""The embedded default engine: DuckDB over the store's own connection.

Uploaded datasets are tables inside the encrypted store, and external Parquet connections are
views the store reads through its allow-listed directories (see ``workbench.data.external``), so
one cursor reaches both; question SQL itself can name only provisioned views.
"""

from __future__ import annotations

import logging
import time
from typing import Any

import duckdb

from workbench.data import external
from workbench.engine.base import ExactResult, split_rows
from workbench.engine.dialect import render
from workbench.errors import InvalidInput
from workbench.questions.compile import Compiled
from workbench.runs.limits import interruptible
from workbench.store import Store

log = logging.getLogger("workbench.engine")

#: what the author gets when the engine refuses the compiled SQL (engine text stays in the log)
RUN_FAILED = (
    "the question could not run on the provisioned data (a type mismatch between a parameter or "
    "clamping bound and a column, for example); check the parameter types against the columns "
    "they are compared with"
)


def execute(cur: Any, compiled: Compiled, *, sql: str | None = None) -> ExactResult:
    """Run the compiled SQL (or its ``sql`` rendering) on a DuckDB cursor, split into vectors."""
    started = time.perf_counter()
    try:
        rows = cur.execute(compiled.sql if sql is None else sql, compiled.params).fetchall()
    except duckdb.Error as e:
        # engine messages and exception names describe internal views and the engine; the
        # operator's log gets them, the author gets what to act on
        log.warning("compiled question failed in DuckDB: %s: %s", type(e).__name__, e)
        raise InvalidInput(RUN_FAILED) from None
    log.info("duckdb ran a compiled question in %.3f s (%d groups)",
             time.perf_counter() - started, len(rows))
    return split_rows(compiled, rows)


class DuckDBEngine:
    """Today's engine: the store's DuckDB, on a read cursor per run.

    ``portable=True`` renders the per-person row choice with SHA-256 instead of DuckDB's
    ``hash()``, exactly as Spark does, so both engines keep the same rows (differential tests).
    """

    name = "duckdb"

    def __init__(self, store: Store, *, portable: bool = False) -> None:
        self.store = store
        self.portable = portable

    def execute(self, compiled: Compiled) -> ExactResult:
        """Run on a read cursor of the store."""
        sql = render(compiled, "duckdb") if self.portable else None
        with self.store.reader() as cur, interruptible(cur.interrupt):  # the room's run timeout
            return execute(cur, compiled, sql=sql)

    def check_sources(self, cur: Any, connection_ids: list[str]) -> None:
        """External files unchanged since registration; data only Spark reads is refused."""
        external.verify_unchanged(self.store, cur, connection_ids, None)

    def close(self) -> None:
        """Nothing of its own: the store belongs to the service."""

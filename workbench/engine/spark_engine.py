"""Apache Spark as the engine, for data that has outgrown one machine.

The service keeps everything that protects people: rule checks, compilation, noise, k-min, key
release and the ledger. Spark only executes the compiled tree, rendered in its dialect, over the
external connections' own files; values travel as named parameters (``:name``), never as text.

Data inside the encrypted store (uploads) is not visible to Spark: a question that reads any
uploaded dataset runs on the store's DuckDB, as before (logged), so one service can hold both.

One SparkSession (one JVM) per service process: starting one costs seconds, a query on a warm
session well under one. The session listens on loopback only for local masters, with no UI.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from typing import Any

from sqlglot import exp

from workbench.data import external, identity
from workbench.engine.base import ExactResult, split_rows
from workbench.engine.dialect import render, table_key
from workbench.engine.duckdb_engine import RUN_FAILED, DuckDBEngine
from workbench.errors import InvalidInput
from workbench.questions.compile import Compiled
from workbench.store import Store

log = logging.getLogger("workbench.engine")

#: PySpark 4 logs every SQL error with a full JVM stack (as JSON) on these loggers before raising
_QUERY_LOGGERS = ("SQLQueryContextLogger", "DataFrameQueryContextLogger")


def _quiet_query_loggers() -> None:
    from pyspark.logger import PySparkLogger

    for name in _QUERY_LOGGERS:
        PySparkLogger.getLogger(name).setLevel(logging.CRITICAL)


def build_session(master: str = "local[2]", *, driver_memory: str | None = None,
                  local_dir: str | None = None, extra: dict[str, str] | None = None) -> Any:
    """A SparkSession for the service: no UI, no progress bar, UTC, loopback for local masters."""
    from pyspark.sql import SparkSession

    local = master.startswith("local")
    if local:
        os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")  # read by the launcher
    _quiet_query_loggers()
    builder = (SparkSession.builder.master(master).appName("clean-room-workbench")
               .config("spark.ui.enabled", "false")
               .config("spark.ui.showConsoleProgress", "false")
               .config("spark.sql.session.timeZone", "UTC")
               .config("spark.sql.shuffle.partitions", "4" if local else "200"))
    if local:
        builder = (builder.config("spark.driver.host", "127.0.0.1")
                   .config("spark.driver.bindAddress", "127.0.0.1"))
    if driver_memory:
        builder = builder.config("spark.driver.memory", driver_memory)
    if local_dir:
        builder = builder.config("spark.local.dir", local_dir)
    for key, value in (extra or {}).items():
        builder = builder.config(key, value)
    return builder.getOrCreate()


def stop_session(session: Any) -> None:
    """Stop the session and end its JVM (``stop()`` alone leaves the py4j gateway running)."""
    from pyspark import SparkContext

    session.stop()
    gateway = SparkContext._gateway
    if gateway is not None:
        gateway.shutdown()
        if gateway.proc is not None:
            gateway.proc.stdin.close()  # the gateway JVM exits when its stdin closes
            gateway.proc.wait(timeout=30)
        SparkContext._gateway = None
        SparkContext._jvm = None


def register_functions(session: Any) -> None:
    """DuckDB functions identity SQL uses that Spark lacks, under the same names.

    ``nfc_normalize`` (Unicode NFC before trimming and lowercasing identities hashed at read) is
    a Python UDF here: correct, but it sends every value through a Python worker, so at scale
    register identities pre-hashed (``identity_kind="sha256"``).
    """
    session.udf.register("nfc_normalize", identity.nfc, "string")


def _argument(value: Any) -> Any:
    """A bound parameter as Spark takes it: lists become array columns of literals."""
    if isinstance(value, (list, tuple)):
        from pyspark.sql import functions as F

        return F.array(*[F.lit(v) for v in value])
    return value


def run_sql(session: Any, compiled: Compiled, sql: str) -> ExactResult:
    """Run a Spark rendering of ``compiled`` with its parameters bound; split into vectors."""
    assert compiled.tree is not None
    used = {p.name for p in compiled.tree.find_all(exp.Placeholder)}
    args = {k: _argument(v) for k, v in compiled.params.items() if k in used}
    started = time.perf_counter()
    try:
        rows = [tuple(r) for r in session.sql(sql, args=args).collect()]
    except Exception as e:  # PySpark's errors (AnalysisException, ArithmeticException, ...)
        if not type(e).__module__.startswith(("pyspark", "py4j")):
            raise
        log.warning("compiled question failed in Spark: %s: %s", type(e).__name__,
                    str(e).splitlines()[0] if str(e) else "")
        raise InvalidInput(RUN_FAILED) from None
    log.info("spark ran a compiled question in %.3f s (%d groups)",
             time.perf_counter() - started, len(rows))
    return split_rows(compiled, rows, engine="spark")


class SparkEngine:
    """Runs compiled questions on a SparkSession over external connections' files."""

    name = "spark"

    def __init__(self, store: Store, session: Any, *, owns_session: bool = False) -> None:
        self.store = store
        self.session = session
        self._owns = owns_session
        self._fallback = DuckDBEngine(store)
        self._lock = threading.Lock()
        #: connection id -> (temp view name, files it was registered with)
        self._relations: dict[str, tuple[str, tuple[str, ...]]] = {}
        register_functions(session)

    @classmethod
    def start(cls, store: Store, *, master: str = "local[2]",
              driver_memory: str | None = None) -> "SparkEngine":
        """Start the service's one session (and JVM) against ``master``."""
        started = time.perf_counter()
        session = build_session(master, driver_memory=driver_memory)
        log.info("spark session on %s ready in %.1f s", master, time.perf_counter() - started)
        return cls(store, session, owns_session=True)

    def _relation(self, source: Any) -> exp.Table:
        """The connection's files as a temp view of this session (registered once)."""
        files = tuple(source.files)
        with self._lock:
            known = self._relations.get(source.connection_id)
            if known is None or known[1] != files:
                view = "__x_" + source.connection_id.replace("-", "")
                self.session.read.parquet(*files).createOrReplaceTempView(view)
                self._relations[source.connection_id] = (view, files)
            return exp.Table(this=exp.to_identifier(self._relations[source.connection_id][0]))

    def sql_for(self, compiled: Compiled) -> str | None:
        """The Spark SQL of a compiled question, or None when it reads data only the store has."""
        assert compiled.tree is not None
        views = sorted({table_key(t) for t in compiled.tree.find_all(exp.Table)
                        if t.db == "prov"})
        with self.store.reader() as cur:
            sources = external.view_sources(cur, views)
        if not views or any(v not in sources or sources[v].files is None for v in views):
            return None
        tables = {v: external.provisioned_select(sources[v], self._relation(sources[v]))
                  for v in views}
        return render(compiled, "spark", tables=tables)

    def execute(self, compiled: Compiled) -> ExactResult:
        """Run on Spark when every dataset it reads is external; else on the store's DuckDB."""
        sql = self.sql_for(compiled)
        if sql is None:
            log.info("a question reads datasets inside the store: it runs on DuckDB")
            return self._fallback.execute(compiled)
        return run_sql(self.session, compiled, sql)

    def close(self) -> None:
        """Stop the session (and its JVM) when this engine started it."""
        if self._owns:
            stop_session(self.session)

"""Apache Spark as the engine, for data that has outgrown one machine.

The service keeps everything that protects people: rule checks, compilation, noise, k-min, key
release and the ledger. Spark only executes the compiled tree, rendered in its dialect, over the
external connections' own files; values travel as named parameters (``:name``), never as text.

Data inside the encrypted store (uploads) is not visible to Spark: a question that reads any
uploaded dataset runs on the store's DuckDB, as before (logged), so one service can hold both.
Data only Spark reads (files under a URI prefix, catalog tables) is registered through this
engine (``external.SparkReader``), and a question may not join it with uploads.

One SparkSession (one JVM) per service process: starting one costs seconds, a query on a warm
session well under one. The session listens on loopback only for local masters, with no UI.
"""

from __future__ import annotations

import logging
import os
import sys
import threading
import time
import uuid
from typing import Any

import pyarrow as pa
from sqlglot import exp, parse_one

from workbench.data import external, identity
from workbench.engine.base import ExactResult, split_rows
from workbench.engine.dialect import render, render_tree, table_key
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
        # Python workers (our UDFs) run in this interpreter's environment, not whichever python3
        # comes first on PATH; a cluster's executors bring their own (spark.pyspark.python)
        os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
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


def _reraise_unless_spark(e: Exception) -> None:
    if not type(e).__module__.startswith(("pyspark", "py4j")):
        raise e


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
    def start(cls, store: Store, *, master: str = "local[2]", driver_memory: str | None = None,
              conf: dict[str, str] | None = None) -> "SparkEngine":
        """Start the service's one session (and JVM) against ``master``."""
        started = time.perf_counter()
        session = build_session(master, driver_memory=driver_memory, extra=conf)
        log.info("spark session on %s ready in %.1f s", master, time.perf_counter() - started)
        return cls(store, session, owns_session=True)

    def _relation(self, source: Any) -> exp.Table:
        """The connection's data as a temp view of this session (files: registered once; a
        catalog table: again each run, after its files were checked)."""
        spark = external.spark_source(source)
        files = tuple(source.files)
        with self._lock:
            known = self._relations.get(source.connection_id)
            if known is None or known[1] != files or (spark and spark.kind == "table"):
                view = "__x_" + source.connection_id.replace("-", "")
                frame = self._frame(spark) if spark else self.session.read.parquet(*files)
                frame.createOrReplaceTempView(view)
                self._relations[source.connection_id] = (view, files)
            return exp.Table(this=exp.to_identifier(self._relations[source.connection_id][0]))

    def _frame(self, source: external.SparkSource) -> Any:
        if source.kind == "table":
            return self.session.table(source.name)
        return self.session.read.parquet(*source.files)

    # external.SparkReader: registering (and re-checking) data only Spark reads

    def table_name(self, name: str) -> str:
        """catalog.db.table of a catalog table; views and temporary views are refused."""
        try:
            table = self.session.catalog.getTable(name)
        except Exception as e:
            _reraise_unless_spark(e)
            raise InvalidInput(f"no table {name!r} in the service's Spark catalog") from None
        kind = (table.tableType or "VIEW").upper()
        if table.isTemporary or kind not in ("MANAGED", "EXTERNAL"):
            raise InvalidInput(f"{name!r} is a {'temporary ' if table.isTemporary else ''}"
                               f"{kind.lower()}, not a table: register tables only (a view can "
                               "read any other table)")
        # identifiers are case-insensitive here (spark.sql.caseSensitive is off): one spelling
        parts = [table.catalog or "spark_catalog", *(table.namespace or []), table.name]
        return ".".join(parts).lower()

    def uri_files(self, uri: str) -> list[str]:
        """The Parquet files Spark finds under ``uri`` (its own listing: hidden and _ files out)."""
        return sorted(self._spark(lambda: self.session.read.parquet(uri).inputFiles(), uri))

    def schema(self, source: external.SparkSource) -> pa.Schema:
        """Arrow types of the source's columns (a type Arrow lacks reads as unreadable)."""
        from pyspark.sql.pandas.types import to_arrow_type

        fields = []
        for field in self._spark(lambda: self._frame(source).schema, source.name).fields:
            try:
                arrow = to_arrow_type(field.dataType)
            except Exception:  # intervals, variants...: the column cannot be chosen
                arrow = pa.month_day_nano_interval()
            fields.append(pa.field(field.name, arrow))
        return pa.schema(fields)

    def files(self, source: external.SparkSource, *, content: bool) -> list[external.FileStat]:
        """Sizes, times and (with ``content``) SHA-256 of the data files, computed by Spark."""
        from pyspark.sql import functions as F

        def listing() -> list[Any]:
            if source.kind == "table":
                self.session.catalog.refreshTable(source.name)
                paths = sorted(self.session.table(source.name).inputFiles())
            else:
                paths = list(source.files)
            if not paths:
                return []
            cols = [F.col("path"), F.col("length"), F.unix_micros(F.col("modificationTime"))]
            if content:
                cols.append(F.sha2(F.col("content"), 256))
            frame = self.session.read.format("binaryFile").load(paths)
            return frame.select(*cols).collect()

        return [external.FileStat(path=r[0], size=int(r[1]), mtime=int(r[2]) * 1000,
                                  sha256=r[3] if content else "")
                for r in self._spark(listing, source.name)]

    def rows(self, source: external.SparkSource, sql: str) -> list[tuple[Any, ...]]:
        """A registration's scan (DuckDB SQL over ``__external``) on Spark."""
        view = "__reg_" + uuid.uuid4().hex
        tree = parse_one(sql, read="duckdb")
        for table in list(tree.find_all(exp.Table)):
            if table.name == external.RELATION:
                table.set("this", exp.to_identifier(view))
        text = render_tree(tree, "spark")

        def scan() -> list[tuple[Any, ...]]:
            self._frame(source).createOrReplaceTempView(view)
            try:
                return [tuple(r) for r in self.session.sql(text).collect()]
            finally:
                self.session.catalog.dropTempView(view)

        return self._spark(scan, source.name)

    def _spark(self, action: Any, what: str) -> Any:
        """Run ``action``; Spark's own errors become a clear refusal (details in the log)."""
        try:
            return action()
        except InvalidInput:
            raise
        except Exception as e:
            _reraise_unless_spark(e)
            log.warning("spark could not read %s: %s: %s", what, type(e).__name__,
                        str(e).splitlines()[0] if str(e) else "")
            raise InvalidInput(f"Spark could not read {what!r} (missing, unreadable or not "
                               "Parquet); the service log has Spark's message") from None

    def check_sources(self, cur: Any, connection_ids: list[str]) -> None:
        """External data unchanged since registration, and no join of Spark-only data with
        uploads (which live in the store, where Spark cannot read them)."""
        records = external.verify_unchanged(self.store, cur, connection_ids, self)
        if any(r.reader == "spark" for r in records) and len(records) < len(set(connection_ids)):
            raise InvalidInput("this question joins data only Spark reads (a URI or a catalog "
                               "table) with data uploaded into the store, which Spark cannot "
                               "read; register the other party's data as an external connection")

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

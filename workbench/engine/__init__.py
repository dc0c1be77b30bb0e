"""Engines: where compiled questions run, returning exact aggregated vectors.

``Engine`` is the seam (a Protocol); ``DuckDBEngine`` (the embedded default, over the store) and
``SparkEngine`` (PySpark, for data that has outgrown one machine) implement it. Only this package
(and the store) imports DuckDB, and only this package imports PySpark. An engine never adds
noise and never decides what may be released; it executes what ``workbench.questions.compile``
produced, rendered in its own dialect, with every value bound as a query parameter.
"""

from __future__ import annotations

from workbench.engine.base import Engine, ExactResult
from workbench.engine.duckdb_engine import DuckDBEngine, execute
from workbench.store import Store

#: engine names ``workbench serve --engine`` accepts
ENGINES = ("duckdb", "spark")


def open_engine(name: str, store: Store, *, spark_master: str = "local[2]",
                spark_conf: dict[str, str] | None = None) -> Engine:
    """The engine a service runs questions on; Spark starts its session (and JVM) here, once,
    with the operator's ``spark_conf`` (catalog, object store settings) on top of ours."""
    if name == "duckdb":
        return DuckDBEngine(store)
    if name == "spark":
        from workbench.engine.spark_engine import SparkEngine

        return SparkEngine.start(store, master=spark_master, conf=spark_conf)
    raise ValueError(f"unknown engine {name!r}; pick one of {', '.join(ENGINES)}")


__all__ = ["ENGINES", "DuckDBEngine", "Engine", "ExactResult", "execute", "open_engine"]

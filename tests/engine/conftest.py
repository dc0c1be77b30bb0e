"""Engine tests: one local Spark (one JVM) for the whole test session, and external data roots."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

HERE = Path(__file__).resolve().parent
LOG_CONF = HERE / "log4j2-spark-tests.properties"
#: tiny test data: one shuffle partition, no whole-stage code generation and no adaptive
#: re-planning per query (each costs more than the data it would save on)
TINY_DATA = {"spark.sql.shuffle.partitions": "1", "spark.sql.codegen.wholeStage": "false",
             "spark.sql.adaptive.enabled": "false"}


def spark_available() -> bool:
    """PySpark installed and a java on PATH (CI installs Java 17; see .ci/run)."""
    try:
        import pyspark  # noqa: F401
    except ImportError:
        return False
    return shutil.which("java") is not None


@pytest.fixture(scope="session")
def spark(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    """One local[2] session per test session: loopback only, no UI, quiet, JVM gone afterwards."""
    if not spark_available():
        pytest.skip("PySpark or Java is missing: pip install -e '.[spark]' and install Java 17")
    from workbench.engine.spark_engine import build_session, stop_session

    local_dir = tmp_path_factory.mktemp("spark-local")
    session = build_session("local[2]", driver_memory="2g", local_dir=str(local_dir), extra={
        "spark.sql.warehouse.dir": str(local_dir / "warehouse"),
        **TINY_DATA,
        "spark.driver.extraJavaOptions": f"-Dlog4j2.configurationFile={LOG_CONF.as_uri()}",
    })
    yield session
    stop_session(session)

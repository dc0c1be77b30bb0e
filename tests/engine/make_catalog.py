"""Create a local Spark catalog (Hive metastore in Derby, warehouse in a directory) for tests.

Run as a subprocess before a Spark service starts with the same settings: embedded Derby lets
one JVM at a time open the metastore, so this JVM writes the tables and exits.

    python -m tests.engine.make_catalog SETTINGS_JSON PUBLISHER_DIR ADVERTISER_FILE,...
"""

from __future__ import annotations

import json
import sys

from workbench.engine.spark_engine import build_session, stop_session


def catalog_conf(warehouse: str, metastore: str) -> dict[str, str]:
    """The settings the table writer and the service share: a Hive catalog in a directory."""
    return {"spark.sql.catalogImplementation": "hive",
            "spark.sql.warehouse.dir": warehouse,
            "spark.hadoop.javax.jdo.option.ConnectionURL":
                f"jdbc:derby:;databaseName={metastore};create=true"}


def main() -> None:
    conf, publisher, advertiser = json.loads(sys.argv[1]), sys.argv[2], sys.argv[3]
    session = build_session("local[1]", driver_memory="1g",
                            extra={**conf, "spark.sql.shuffle.partitions": "1"})
    try:
        for db in ("lake", "private"):
            session.sql(f"CREATE DATABASE IF NOT EXISTS {db}")
        session.read.parquet(publisher).write.format("parquet").saveAsTable("lake.publisher_users")
        customers = session.read.parquet(*advertiser.split(","))
        customers.write.format("parquet").saveAsTable("lake.customers")
        customers.write.format("parquet").saveAsTable("lake.changing")
        customers.write.format("parquet").saveAsTable("private.customers")
        session.sql("CREATE VIEW lake.v_customers AS SELECT * FROM private.customers")
    finally:
        stop_session(session)


if __name__ == "__main__":
    main()

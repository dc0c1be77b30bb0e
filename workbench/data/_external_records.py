"""The SQL of external (zero-copy) data connections; everything returns frozen records.

The statements that read the files run on the store's connection, which may read only the
configured external roots (``allowed_directories``); file lists arrive here already checked.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from workbench.store import fetch_all, fetch_one, scalar


@dataclass(frozen=True, slots=True, kw_only=True)
class ExternalRecord:
    """How to read one external connection again."""

    connection_id: str
    format: str
    location: str
    files: list[str]
    select_sql: str
    content_digest: str
    identity_mode: str
    #: local (the store's DuckDB reads the files) | spark (a URI or catalog table)
    reader: str = "local"
    catalog_table: str | None = None
    #: JSON list of [path, size, mtime ns, sha256] per file (None: registered before)
    file_stats: str | None = None
    connection_name: str = ""


@dataclass(frozen=True, slots=True, kw_only=True)
class ViewSource:
    """A provisioned view and, when its connection is external, how to read that connection."""

    view_name: str
    columns: list[str]
    row_filter: str | None
    connection_id: str
    files: list[str] | None
    select_sql: str | None
    reader: str | None = None
    catalog_table: str | None = None
    location: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class ScanCounts:
    rows_read: int
    rows_kept: int


@dataclass(frozen=True, slots=True, kw_only=True)
class ReasonCount:
    reason: str
    rows: int


_EXTERNAL = ("connection_id, format, location, files, select_sql, content_digest, identity_mode,"
             " reader, catalog_table, file_stats")
#: what the store's DuckDB type of each of our column types is
_DUCKDB_TYPES = {"boolean": "BOOLEAN", "integer": "BIGINT", "double": "DOUBLE", "text": "VARCHAR",
                 "date": "DATE", "timestamp": "TIMESTAMP"}


def name_taken(cur: Any, org_id: str, name: str) -> bool:
    """Whether the org already has a connection of that name (names ignore case)."""
    return scalar(cur, "SELECT count(*) FROM data_connections WHERE org_id = ? AND lower(name) = lower(?)",
                  [org_id, name]) > 0


def scan_counts(cur: Any, source: str, keep_if: str) -> ScanCounts:
    """Rows in the files and rows whose identity is usable (``source`` is a checked relation)."""
    found = fetch_one(cur, ScanCounts, f"SELECT count(*) AS rows_read, count(*) FILTER (WHERE"
                      f" coalesce({keep_if}, false)) AS rows_kept FROM {source}")
    assert found is not None
    return found


def refused_reasons(cur: Any, source: str, keep_if: str, reason: str) -> list[ReasonCount]:
    """Why rows were refused, with counts (never values)."""
    return fetch_all(cur, ReasonCount, f"SELECT {reason} AS reason, count(*) AS rows FROM {source}"
                     f" WHERE NOT coalesce({keep_if}, false) GROUP BY 1 ORDER BY 2 DESC, 1")


def create_source_view(cur: Any, table_name: str, select_sql: str) -> None:
    """The connection's relation in schema ds: a view over the files, nothing copied."""
    cur.execute(f"CREATE VIEW ds.{table_name} AS {select_sql}")


def distinct_identities(cur: Any, table_name: str, identity: str) -> int:
    return int(scalar(cur, f"SELECT count(DISTINCT {identity}) FROM ds.{table_name}"))


def insert_connection(cur: Any, *, conn_id: str, org_id: str, name: str, source_format: str,
                      location: str, table_name: str, identity_column: str, identity_kind: str,
                      pii_mode: str, counts: ScanCounts, distinct: int, rejections: list[dict[str, Any]],
                      user_id: str, columns: list[tuple[str, str, bool, bool]]) -> None:
    """The data_connections and data_columns rows, as an upload writes them."""
    cur.execute(
        "INSERT INTO data_connections (id, org_id, name, source_format, file_name, table_name,"
        " identity_column, identity_kind, pii_mode, rows_read, rows_kept, distinct_identities,"
        " rows_rejected, rejections, created_by) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
        [conn_id, org_id, name, source_format, location, table_name, identity_column, identity_kind,
         pii_mode, counts.rows_read, counts.rows_kept, distinct, counts.rows_read - counts.rows_kept,
         json.dumps(rejections), user_id])
    for pos, (col, typ, is_pii, hashed) in enumerate(columns):
        cur.execute("INSERT INTO data_columns (connection_id, position, name, type, pii, is_identity,"
                    " hashed) VALUES (?,?,?,?,?,?,?)",
                    [conn_id, pos, col, typ, is_pii, col == identity_column, hashed])


def create_spark_only_view(cur: Any, table_name: str, columns: list[tuple[str, str]],
                           message: str) -> None:
    """The relation in schema ds of data only Spark reads: its columns, and an error if DuckDB
    ever reads it (a store served later on DuckDB must not see it as empty)."""
    text = message.replace("'", "''")
    # every column is the error itself: a filter or join on a column cannot optimise it away
    cols = ", ".join(f"CAST(error('{text}') AS {_DUCKDB_TYPES[t]}) AS \"{c.replace(chr(34), chr(34) * 2)}\""
                     for c, t in columns)
    cur.execute(f"CREATE VIEW ds.{table_name} AS SELECT {cols} FROM range(1)"
                f" WHERE CAST(error('{text}') AS BOOLEAN)")


def spark_only(cur: Any, conn_id: str) -> bool:
    """Whether only Spark reads this connection (a URI or catalog table): the store's DuckDB
    cannot count or scan it."""
    record = external_of(cur, conn_id)
    return record is not None and record.reader == "spark"


def insert_external(cur: Any, record: ExternalRecord) -> None:
    cur.execute(f"INSERT INTO external_connections ({_EXTERNAL}) VALUES (?,?,?,?,?,?,?,?,?,?)",
                [record.connection_id, record.format, record.location, record.files,
                 record.select_sql, record.content_digest, record.identity_mode, record.reader,
                 record.catalog_table, record.file_stats])


def externals_of(cur: Any, conn_ids: list[str]) -> list[ExternalRecord]:
    """The external records (with connection names) among these connections, by id."""
    if not conn_ids:
        return []
    cols = ", ".join(f"e.{c.strip()}" for c in _EXTERNAL.split(","))
    return fetch_all(cur, ExternalRecord,
                     f"SELECT {cols}, c.name AS connection_name FROM external_connections e"
                     " JOIN data_connections c ON c.id = e.connection_id"
                     " WHERE list_contains(?, e.connection_id) ORDER BY e.connection_id",
                     [sorted(set(conn_ids))])


def external_of(cur: Any, conn_id: str) -> ExternalRecord | None:
    return fetch_one(cur, ExternalRecord,
                     f"SELECT {_EXTERNAL} FROM external_connections WHERE connection_id = ?", [conn_id])


def delete_external(cur: Any, conn_id: str, table_name: str) -> None:
    """Drop the view over the files and forget how to read them (the files stay theirs)."""
    cur.execute(f"DROP VIEW ds.{table_name}")
    cur.execute("DELETE FROM external_connections WHERE connection_id = ?", [conn_id])


def view_sources(cur: Any, view_names: list[str]) -> list[ViewSource]:
    """Provisioned views by name, with the external source of their connection (or NULLs)."""
    if not view_names:
        return []
    return fetch_all(cur, ViewSource,
                     "SELECT p.view_name, p.columns, p.row_filter, p.connection_id, e.files,"
                     " e.select_sql, e.reader, e.catalog_table, e.location"
                     " FROM provisioned_datasets p LEFT JOIN external_connections e"
                     " ON e.connection_id = p.connection_id WHERE list_contains(?, p.view_name)",
                     [view_names])

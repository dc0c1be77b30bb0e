"""The data package's SQL: every statement over data connections, provisioning, rules and
templates lives here and returns frozen records (built by column name, never by position).

Identifiers pasted into SQL here are only the service's own generated table and view names
(``t_<hex>``, ``v_<hex>``, ``upload_<hex>``) and column names from a validated header, quoted;
every value is a bound parameter.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import pyarrow as pa

from workbench.store import fetch_all, fetch_one, scalar



# --- the parties of a room ---------------------------------------------------------------------
def data_parties(cur: Any, room_id: str) -> list[str]:
    """The orgs whose data is provisioned into the room (the parties a run there may read)."""
    rows = cur.execute(
        "SELECT DISTINCT org_id FROM provisioned_datasets WHERE room_id = ? ORDER BY org_id",
        [room_id],
    ).fetchall()
    return [org_id for (org_id,) in rows]


def partner_orgs(cur: Any, room_id: str, statuses: Sequence[str]) -> list[str]:
    """The room's partner orgs whose invitation status is one of ``statuses`` (explicit filter)."""
    return [r.org_id for r in fetch_all(
        cur, _OrgId, "SELECT org_id FROM room_partners WHERE room_id = ? AND list_contains(?, status)"
        " ORDER BY org_id", [room_id, list(statuses)])]


@dataclass(frozen=True, slots=True, kw_only=True)
class _OrgId:
    org_id: str


@dataclass(frozen=True, slots=True, kw_only=True)
class _Name:
    name: str


def org_names(cur: Any) -> dict[str, str]:
    """Every org's display name by id."""
    return {r.id: r.name for r in fetch_all(cur, OrgName, "SELECT id, name FROM orgs")}


@dataclass(frozen=True, slots=True, kw_only=True)
class OrgName:
    id: str
    name: str


def org_name(cur: Any, org_id: str) -> str:
    """One org's display name."""
    return str(scalar(cur, "SELECT name FROM orgs WHERE id = ?", [org_id]))


# --- data connections ----------------------------------------------------------------------------
@dataclass(frozen=True, slots=True, kw_only=True)
class ConnectionRecord:
    """A data connection's row: what was ingested and its report (never values)."""

    id: str
    org_id: str
    name: str
    file_name: str
    source_format: str
    table_name: str
    identity_column: str
    identity_kind: str
    pii_mode: str
    rows_read: int
    rows_kept: int
    rows_rejected: int
    distinct_identities: int
    rejections: str
    identity_warnings: str | None
    created_at: Any


_CONNECTION = (
    "SELECT id, org_id, name, file_name, source_format, table_name, identity_column, identity_kind,"
    " pii_mode, rows_read, rows_kept, rows_rejected, distinct_identities, rejections,"
    " identity_warnings, created_at FROM data_connections"
)


@dataclass(frozen=True, slots=True, kw_only=True)
class ColumnRecord:
    """One stored column of a connection."""

    name: str
    type: str
    pii: bool
    is_identity: bool
    hashed: bool


def connection(cur: Any, org_id: str, conn_id: str) -> ConnectionRecord | None:
    """The org's connection with this id, or None."""
    return fetch_one(cur, ConnectionRecord, _CONNECTION + " WHERE id = ? AND org_id = ?", [conn_id, org_id])


def connections_of(cur: Any, org_id: str) -> list[ConnectionRecord]:
    """The org's connections, newest first."""
    return fetch_all(cur, ConnectionRecord, _CONNECTION + " WHERE org_id = ? ORDER BY created_at DESC, name",
                     [org_id])


def connection_name_taken(cur: Any, org_id: str, name: str) -> bool:
    """Whether the org already has a connection of this name (ignoring case)."""
    return scalar(cur, "SELECT count(*) FROM data_connections WHERE org_id = ? AND lower(name) = lower(?)",
                  [org_id, name]) > 0


def connection_columns(cur: Any, conn_id: str) -> list[ColumnRecord]:
    """A connection's columns in file order."""
    return fetch_all(cur, ColumnRecord, "SELECT name, type, pii, is_identity, hashed FROM data_columns"
                     " WHERE connection_id = ? ORDER BY position", [conn_id])


def rooms_of_connection(cur: Any, conn_id: str) -> list[str]:
    """The rooms a connection is provisioned into."""
    return [r.room_id for r in fetch_all(cur, _RoomId, "SELECT DISTINCT room_id FROM provisioned_datasets"
                                         " WHERE connection_id = ? ORDER BY 1", [conn_id])]


@dataclass(frozen=True, slots=True, kw_only=True)
class _RoomId:
    room_id: str


@dataclass(frozen=True, slots=True, kw_only=True)
class Placement:
    """Where a connection is provisioned: a room and the dataset there."""

    room_id: str
    id: str


def placements_of_connection(cur: Any, conn_id: str) -> list[Placement]:
    """Every provisioned dataset made from the connection."""
    return fetch_all(cur, Placement, "SELECT room_id, id FROM provisioned_datasets WHERE connection_id = ?"
                     " ORDER BY room_id, id", [conn_id])


def insert_connection(cur: Any, *, conn_id: str, org_id: str, name: str, source_format: str,
                      file_name: str, table_name: str, identity_column: str, identity_kind: str,
                      pii_mode: str, rows_read: int, rows_kept: int, distinct: int, rejections: list[Any],
                      warnings: list[Any], created_by: str,
                      columns: Sequence[tuple[str, str, bool, bool, bool]]) -> None:
    """Record a connection and its columns (name, type, pii, identity, hashed)."""
    cur.execute(
        "INSERT INTO data_connections (id, org_id, name, source_format, file_name, table_name,"
        " identity_column, identity_kind, pii_mode, rows_read, rows_kept, distinct_identities,"
        " rows_rejected, rejections, identity_warnings, created_by) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
        [conn_id, org_id, name, source_format, file_name, table_name, identity_column, identity_kind,
         pii_mode, rows_read, rows_kept, distinct, rows_read - rows_kept, json.dumps(rejections),
         json.dumps(warnings), created_by],
    )
    for pos, (col, typ, pii, identity, hashed) in enumerate(columns):
        cur.execute("INSERT INTO data_columns (connection_id, position, name, type, pii, is_identity, hashed)"
                    " VALUES (?,?,?,?,?,?,?)", [conn_id, pos, col, typ, pii, identity, hashed])


def delete_connection(cur: Any, conn: ConnectionRecord) -> None:
    """Drop an uploaded connection's table, columns and row."""
    cur.execute(f"DROP TABLE ds.{_generated(conn.table_name)}")
    delete_connection_records(cur, conn)


def delete_connection_records(cur: Any, conn: ConnectionRecord) -> None:
    """Drop a connection's columns and row (its relation is gone already)."""
    cur.execute("DELETE FROM data_columns WHERE connection_id = ?", [conn.id])
    cur.execute("DELETE FROM data_connections WHERE id = ?", [conn.id])


def _generated(name: str) -> str:
    """A table or view name the service made (prefix + 32 hex digits); anything else is a bug."""
    prefix, _, hexpart = name.partition("_")
    if prefix not in ("t", "x", "v", "upload", "refused") or len(hexpart) != 32 or not all(
            c in "0123456789abcdef" for c in hexpart):
        raise RuntimeError(f"not a generated name: {name!r}")
    return name


# --- ingest: Arrow tables registered in the store's instance (memory only) ---------------------
@contextmanager
def arrow_relation(cur: Any, table: pa.Table, prefix: str = "upload") -> Iterator[str]:
    """Expose ``table`` to SQL under a fresh name for the duration of the block."""
    name = _generated(f"{prefix}_{uuid.uuid4().hex}")
    cur.register(name, table)
    try:
        yield name
    finally:
        cur.unregister(name)


def refused_rows(cur: Any, relation: str, keep_if: str) -> pa.ChunkedArray:
    """The ``__row`` numbers failing ``keep_if`` (one parallel aggregate over every row)."""
    return cur.execute(
        f"SELECT list(__row) FILTER (WHERE NOT ok) AS refused FROM (SELECT __row,"
        f" coalesce({keep_if}, false) AS ok FROM {relation})").fetch_arrow_table().column("refused")


@dataclass(frozen=True, slots=True, kw_only=True)
class RejectionCount:
    """Rows refused for one reason, with the first row numbers."""

    reason: str
    rows: int
    first: list[int]


def rejection_counts(cur: Any, relation: str, reason_sql: str, first: int) -> list[RejectionCount]:
    """Refused rows by reason (most frequent first) with their first ``first`` row numbers."""
    return fetch_all(cur, RejectionCount,
                     f"SELECT reason, count(*) AS rows, list(__row ORDER BY __row)[1:{int(first)}] AS first"
                     f" FROM (SELECT __row, {reason_sql} AS reason FROM {relation})"
                     " GROUP BY reason ORDER BY count(*) DESC, reason")


def column_values(cur: Any, relation: str, expression: str) -> pa.ChunkedArray:
    """One computed column of a registered relation, as Arrow."""
    return cur.execute(f"SELECT {expression} AS v FROM {relation}").fetch_arrow_table().column("v")


def create_data_table(cur: Any, table_name: str, columns_sql: str) -> None:
    """The connection's own table in schema ds."""
    cur.execute(f"CREATE TABLE ds.{_generated(table_name)} ({columns_sql})")


def insert_rows(cur: Any, table_name: str, select: str, relation: str) -> int:
    """Write the selected columns of a registered relation; the number of rows written."""
    return int(scalar(cur, f"INSERT INTO ds.{_generated(table_name)} SELECT {select} FROM {relation}"))


# --- provisioned datasets ------------------------------------------------------------------------
@dataclass(frozen=True, slots=True, kw_only=True)
class DatasetRecord:
    """A provisioned dataset: a view over one connection in one room."""

    id: str
    room_id: str
    org_id: str
    connection_id: str
    name: str
    columns: list[str]
    row_filter: str | None
    partners_may_assign: bool
    view_name: str
    created_at: Any


_DATASET = ("SELECT id, room_id, org_id, connection_id, name, columns, row_filter, partners_may_assign,"
            " view_name, created_at FROM provisioned_datasets")


def dataset(cur: Any, room_id: str, dataset_id: str) -> DatasetRecord | None:
    """The room's provisioned dataset with this id, or None."""
    return fetch_one(cur, DatasetRecord, _DATASET + " WHERE id = ? AND room_id = ?", [dataset_id, room_id])


def datasets_in(cur: Any, room_id: str) -> list[DatasetRecord]:
    """Every dataset provisioned into the room, oldest first."""
    return fetch_all(cur, DatasetRecord, _DATASET + " WHERE room_id = ? ORDER BY created_at, name", [room_id])


def dataset_name_taken(cur: Any, room_id: str, name: str) -> bool:
    """Whether the room already has a dataset of this name (ignoring case)."""
    return scalar(cur, "SELECT count(*) FROM provisioned_datasets WHERE room_id = ? AND lower(name) = lower(?)",
                  [room_id, name]) > 0


def create_view(cur: Any, view: str, select: str, table_name: str, where: str) -> None:
    """The dataset's view over the connection's table (DuckDB binds the filter's columns and
    types here)."""
    cur.execute(f"CREATE VIEW prov.{_generated(view)} AS SELECT {select} FROM ds.{_generated(table_name)}{where}")


def view_rows(cur: Any, view: str) -> int:
    """Rows of a dataset's view."""
    return int(scalar(cur, f"SELECT count(*) FROM prov.{_generated(view)}"))


def insert_dataset(cur: Any, *, dataset_id: str, room_id: str, org_id: str, connection_id: str, name: str,
                   columns: list[str], row_filter: str | None, partners_may_assign: bool, view: str,
                   created_by: str) -> None:
    """Record a provisioned dataset."""
    cur.execute(
        "INSERT INTO provisioned_datasets (id, room_id, org_id, connection_id, name, columns, row_filter,"
        " partners_may_assign, view_name, created_by) VALUES (?,?,?,?,?,?,?,?,?,?)",
        [dataset_id, room_id, org_id, connection_id, name, columns, row_filter, partners_may_assign, view,
         created_by],
    )


@dataclass(frozen=True, slots=True, kw_only=True)
class Unlinked:
    """What removing one dataset's records removed."""

    mappings_removed: int
    rule_versions_removed: int


def remove_dataset(cur: Any, ds: DatasetRecord) -> Unlinked:
    """Drop the dataset's view, mappings, rule versions and row (derived objects go first, elsewhere)."""
    removed = int(scalar(
        cur, "DELETE FROM field_mappings f USING dataset_mappings m WHERE m.room_id = ? AND m.dataset_id = ?"
        " AND f.room_id = m.room_id AND f.dataset_macro = m.dataset_macro AND f.org_id = m.org_id",
        [ds.room_id, ds.id]))
    removed += int(scalar(cur, "DELETE FROM dataset_mappings WHERE room_id = ? AND dataset_id = ?",
                          [ds.room_id, ds.id]))
    versions = int(scalar(cur, "DELETE FROM analysis_rules WHERE dataset_id = ?", [ds.id]))
    cur.execute(f"DROP VIEW prov.{_generated(ds.view_name)}")
    cur.execute("DELETE FROM provisioned_datasets WHERE id = ?", [ds.id])
    return Unlinked(mappings_removed=removed, rule_versions_removed=versions)


# --- analysis rules ------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True, kw_only=True)
class RulesRecord:
    """One stored version of a dataset's analysis rules (JSON text)."""

    dataset_id: str
    version: int
    rules: str
    created_at: Any
    created_by: str


_RULES = "SELECT dataset_id, version, rules, created_at, created_by FROM analysis_rules"


def rules_version(cur: Any, dataset_id: str, version: int | None = None) -> RulesRecord | None:
    """The rules at ``version`` (None: the latest), or None."""
    if version is None:
        return fetch_one(cur, RulesRecord, _RULES + " WHERE dataset_id = ? ORDER BY version DESC LIMIT 1",
                         [dataset_id])
    return fetch_one(cur, RulesRecord, _RULES + " WHERE dataset_id = ? AND version = ?", [dataset_id, int(version)])


def rules_versions(cur: Any, dataset_id: str) -> list[RulesRecord]:
    """Every stored version, oldest first."""
    return fetch_all(cur, RulesRecord, _RULES + " WHERE dataset_id = ? ORDER BY version", [dataset_id])


def insert_rules(cur: Any, dataset_id: str, version: int, rules: dict[str, Any], created_by: str) -> None:
    """Store a new version of a dataset's rules."""
    cur.execute("INSERT INTO analysis_rules (dataset_id, version, rules, created_by) VALUES (?,?,?,?)",
                [dataset_id, version, json.dumps(rules), created_by])


# --- templates and mappings ----------------------------------------------------------------------
@dataclass(frozen=True, slots=True, kw_only=True)
class TemplateDatasetRecord:
    macro: str
    party: str
    description: str


@dataclass(frozen=True, slots=True, kw_only=True)
class TemplateFieldRecord:
    macro: str
    required: bool
    type: str | None
    description: str


@dataclass(frozen=True, slots=True, kw_only=True)
class TermsRecord:
    runs: str
    receives: str


def replace_template(cur: Any, room_id: str, actor_user: str, runs: str, receives: str,
                     datasets: Sequence[tuple[str, str, str, Sequence[tuple[str, bool, str | None, str]]]]) -> None:
    """Replace the room's template; mappings onto macros or fields that no longer exist go with it.

    ``datasets``: (macro, party, description, [(field macro, required, type, description)]).
    """
    cur.execute("DELETE FROM template_fields WHERE room_id = ?", [room_id])
    cur.execute("DELETE FROM template_datasets WHERE room_id = ?", [room_id])
    for pos, (macro, party, desc, fields) in enumerate(datasets):
        cur.execute("INSERT INTO template_datasets (room_id, macro, party, description, position)"
                    " VALUES (?,?,?,?,?)", [room_id, macro, party, desc, pos])
        for fpos, (fm, required, typ, fdesc) in enumerate(fields):
            cur.execute("INSERT INTO template_fields (room_id, dataset_macro, macro, required, type,"
                        " description, position) VALUES (?,?,?,?,?,?,?)",
                        [room_id, macro, fm, required, typ, fdesc, fpos])
    cur.execute("DELETE FROM field_mappings WHERE room_id = ? AND (dataset_macro, field_macro) NOT IN"
                " (SELECT dataset_macro, macro FROM template_fields WHERE room_id = ?)", [room_id, room_id])
    cur.execute("DELETE FROM dataset_mappings WHERE room_id = ? AND dataset_macro NOT IN"
                " (SELECT macro FROM template_datasets WHERE room_id = ?)", [room_id, room_id])
    cur.execute("INSERT OR REPLACE INTO template_terms (room_id, runs, receives, updated_by) VALUES (?,?,?,?)",
                [room_id, runs, receives, actor_user])


def template_datasets(cur: Any, room_id: str) -> list[TemplateDatasetRecord]:
    """The room's template dataset macros in declared order."""
    return fetch_all(cur, TemplateDatasetRecord, "SELECT macro, party, description FROM template_datasets"
                     " WHERE room_id = ? ORDER BY position", [room_id])


def template_dataset(cur: Any, room_id: str, macro: str) -> TemplateDatasetRecord | None:
    """One template dataset macro (matched ignoring case), or None."""
    return fetch_one(cur, TemplateDatasetRecord, "SELECT macro, party, description FROM template_datasets"
                     " WHERE room_id = ? AND lower(macro) = lower(?)", [room_id, macro])


def template_fields(cur: Any, room_id: str, dataset_macro: str) -> list[TemplateFieldRecord]:
    """A template dataset macro's fields in declared order."""
    return fetch_all(cur, TemplateFieldRecord, "SELECT macro, required, type, description FROM template_fields"
                     " WHERE room_id = ? AND dataset_macro = ? ORDER BY position", [room_id, dataset_macro])


def template_terms(cur: Any, room_id: str) -> TermsRecord | None:
    """Who runs and who receives, as declared (None: no template terms yet)."""
    return fetch_one(cur, TermsRecord, "SELECT runs, receives FROM template_terms WHERE room_id = ?", [room_id])


@dataclass(frozen=True, slots=True, kw_only=True)
class MappingRecord:
    """An org's mapping of one of its datasets onto a template dataset macro."""

    dataset_macro: str
    org_id: str
    dataset_id: str
    dataset_name: str


_MAPPING = ("SELECT m.dataset_macro, m.org_id, m.dataset_id, p.name AS dataset_name FROM dataset_mappings m"
            " JOIN provisioned_datasets p ON p.id = m.dataset_id")


def mappings_of_macro(cur: Any, room_id: str, macro: str, org_id: str | None = None) -> list[MappingRecord]:
    """The mappings of a dataset macro (matched ignoring case), optionally of one org."""
    sql = _MAPPING + " WHERE m.room_id = ? AND lower(m.dataset_macro) = lower(?)"
    params: list[Any] = [room_id, macro]
    if org_id is not None:
        sql += " AND m.org_id = ?"
        params.append(org_id)
    return fetch_all(cur, MappingRecord, sql + " ORDER BY m.org_id", params)


def mappings_of_dataset(cur: Any, room_id: str, dataset_id: str) -> list[MappingRecord]:
    """The macros a dataset is mapped to."""
    return fetch_all(cur, MappingRecord, _MAPPING + " WHERE m.room_id = ? AND m.dataset_id = ?"
                     " ORDER BY m.dataset_macro", [room_id, dataset_id])


@dataclass(frozen=True, slots=True, kw_only=True)
class _FieldMapping:
    field_macro: str
    column_name: str


def field_mapping(cur: Any, room_id: str, dataset_macro: str, org_id: str) -> dict[str, str]:
    """field macro -> column of one org's mapping of a dataset macro (matched ignoring case)."""
    return {r.field_macro: r.column_name for r in fetch_all(
        cur, _FieldMapping, "SELECT field_macro, column_name FROM field_mappings WHERE room_id = ?"
        " AND lower(dataset_macro) = lower(?) AND org_id = ? ORDER BY field_macro", [room_id, dataset_macro, org_id])}


def set_mapping(cur: Any, room_id: str, macro: str, org_id: str, dataset_id: str, mapped_by: str,
                fields: Sequence[tuple[str, str]]) -> None:
    """Replace one org's mapping of a dataset macro (fields: (field macro, column))."""
    remove_mapping(cur, room_id, macro, org_id)
    cur.execute("INSERT INTO dataset_mappings (room_id, dataset_macro, org_id, dataset_id, mapped_by)"
                " VALUES (?,?,?,?,?)", [room_id, macro, org_id, dataset_id, mapped_by])
    for name, col in fields:
        cur.execute("INSERT INTO field_mappings (room_id, dataset_macro, org_id, field_macro, column_name)"
                    " VALUES (?,?,?,?,?)", [room_id, macro, org_id, name, col])


def remove_mapping(cur: Any, room_id: str, macro: str, org_id: str) -> None:
    """Drop one org's mapping of a dataset macro and its field mappings."""
    cur.execute("DELETE FROM field_mappings WHERE room_id = ? AND dataset_macro = ? AND org_id = ?",
                [room_id, macro, org_id])
    cur.execute("DELETE FROM dataset_mappings WHERE room_id = ? AND dataset_macro = ? AND org_id = ?",
                [room_id, macro, org_id])


# --- what other packages store about a room, read here for the dataset views ---------------------
@dataclass(frozen=True, slots=True, kw_only=True)
class QuestionSpec:
    name: str
    spec: str


def room_question_specs(cur: Any, room_id: str) -> list[QuestionSpec]:
    """The room's questions (name and stored spec), to show which ones read a dataset."""
    return fetch_all(cur, QuestionSpec, "SELECT name, spec FROM questions WHERE room_id = ? ORDER BY name",
                     [room_id])

"""The twins package's SQL: the twins table, the one read of a provisioned view that a publish
makes, and the twin tables in schema ``twin``.

Identifiers pasted into SQL here are only generated names (``prov.v_<hex>``, ``twin.w_<hex>``)
and column names from the dataset's validated header, quoted; every value is a bound parameter.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import pyarrow as pa

from workbench.data.identity import quote_ident
from workbench.store import fetch_all, fetch_one, scalar
from workbench.twins.model import ColumnModel

_VIEW = re.compile(r"^prov\.v_[0-9a-f]{32}$")
_TABLE = re.compile(r"^w_[0-9a-f]{32}$")


def _view(name: str) -> str:
    if not _VIEW.match(name):
        raise RuntimeError(f"not a provisioned view: {name!r}")
    return name


def _table(name: str) -> str:
    if not _TABLE.match(name):
        raise RuntimeError(f"not a twin table: {name!r}")
    return name


def new_table_name() -> str:
    """A fresh generated name for a twin table."""
    return "w_" + uuid.uuid4().hex


@dataclass(frozen=True, slots=True, kw_only=True)
class TwinRecord:
    """One published (or building) twin."""

    id: str
    room_id: str
    dataset_id: str
    org_id: str
    status: str
    table_name: str | None
    epsilon: str
    delta: str
    charge_id: str
    rows: int | None
    match_rate: float
    match_rate_source: str
    model: str | None
    created_by: str
    created_at: Any


_COLUMNS = ("SELECT id, room_id, dataset_id, org_id, status, table_name, epsilon, delta, charge_id,"
            " rows, match_rate, match_rate_source, model, created_by, created_at FROM twins")


def insert_twin(cur: Any, *, twin_id: str, room_id: str, dataset_id: str, org_id: str,
                epsilon: str, delta: str, charge_id: str, match_rate: float, match_rate_source: str,
                created_by: str) -> None:
    """A twin being built: charged, not yet written."""
    cur.execute("INSERT INTO twins (id, room_id, dataset_id, org_id, status, epsilon, delta,"
                " charge_id, match_rate, match_rate_source, created_by)"
                " VALUES (?, ?, ?, ?, 'building', ?, ?, ?, ?, ?, ?)",
                [twin_id, room_id, dataset_id, org_id, epsilon, delta, charge_id, match_rate,
                 match_rate_source, created_by])


def mark_ready(cur: Any, twin_id: str, table_name: str, rows: int, model: str) -> None:
    """The twin's rows are written."""
    cur.execute("UPDATE twins SET status = 'ready', table_name = ?, rows = ?, model = ? WHERE id = ?",
                [_table(table_name), rows, model, twin_id])


def mark_failed(cur: Any, twin_id: str) -> None:
    """The build stopped after the charge (which stays spent)."""
    cur.execute("UPDATE twins SET status = 'failed' WHERE id = ? AND status = 'building'", [twin_id])


def twin(cur: Any, room_id: str, twin_id: str) -> TwinRecord | None:
    """One twin of the room."""
    return fetch_one(cur, TwinRecord, _COLUMNS + " WHERE id = ? AND room_id = ?", [twin_id, room_id])


def twins_in(cur: Any, room_id: str) -> list[TwinRecord]:
    """Every twin of the room, newest first."""
    return fetch_all(cur, TwinRecord, _COLUMNS + " WHERE room_id = ? ORDER BY created_at DESC, id",
                     [room_id])


def ready_twin_of(cur: Any, room_id: str, dataset_id: str) -> TwinRecord | None:
    """The dataset's newest ready twin."""
    return fetch_one(cur, TwinRecord, _COLUMNS + " WHERE room_id = ? AND dataset_id = ? AND"
                     " status = 'ready' ORDER BY created_at DESC, id LIMIT 1", [room_id, dataset_id])


def twins_of(cur: Any, room_id: str, dataset_id: str) -> list[TwinRecord]:
    """Every twin (any status) of one dataset in one room."""
    return fetch_all(cur, TwinRecord, _COLUMNS + " WHERE room_id = ? AND dataset_id = ?",
                     [room_id, dataset_id])


def drop_twin(cur: Any, record: TwinRecord) -> None:
    """Remove a twin: its table and its row."""
    if record.table_name:
        cur.execute(f"DROP TABLE IF EXISTS twin.{_table(record.table_name)}")
    cur.execute("DELETE FROM twins WHERE id = ?", [record.id])


# --- the publish's one read of the real data --------------------------------------------------------
def _cell_sql(model: ColumnModel, params: list[Any]) -> str:
    """The cell index of a column's value (see :mod:`workbench.twins.model`), as SQL."""
    col = quote_ident(model.name)
    missing = model.cells - 1
    if not model.numeric:
        value = f"lower(CAST({col} AS VARCHAR))" if model.type == "boolean" else f"CAST({col} AS VARCHAR)"
        params.extend([list(model.values), list(model.values)])
        return (f"CASE WHEN coalesce(list_position(?::VARCHAR[], {value}), 0) = 0 THEN {missing}"
                f" ELSE list_position(?::VARCHAR[], {value}) - 1 END")
    x = f"TRY_CAST({col} AS DOUBLE)"
    params.extend([model.lower, model.upper, model.lower, model.upper, model.lower])
    return (f"CASE WHEN {x} IS NULL OR isnan({x}) THEN {missing} ELSE least({model.bins - 1},"
            f" greatest(0, CAST(floor((least(greatest({x}, ?::DOUBLE), ?::DOUBLE) - ?::DOUBLE)"
            f" / nullif(?::DOUBLE - ?::DOUBLE, 0) * {model.bins}) AS BIGINT))) END")


def person_cells(cur: Any, view: str, identity: str, models: Sequence[ColumnModel]
                 ) -> list[tuple[int, ...]]:
    """One row per person (a row picked at random among theirs): the cell index of each model.

    Zero-width bounds (lower == upper) put every present value in bin 0.
    """
    params: list[Any] = []
    cells = [f"coalesce({_cell_sql(m, params)}, 0) AS c{i}" for i, m in enumerate(models)]
    ident = quote_ident(identity)
    sql = (f"SELECT {', '.join(cells) or '0 AS none'} FROM (SELECT * FROM {_view(view)}"
           f" WHERE {ident} IS NOT NULL QUALIFY row_number() OVER (PARTITION BY {ident}"
           f" ORDER BY random()) = 1)")
    rows = cur.execute(sql, params).fetchall()
    return [tuple(int(v) for v in r) for r in rows] if models else [() for _ in rows]


def identity_digests(cur: Any, view: str, identity: str) -> set[str]:
    """Every identity digest of a view (tests and the bench check a twin never holds one)."""
    ident = quote_ident(identity)
    return {r for (r,) in cur.execute(f"SELECT DISTINCT {ident} FROM {_view(view)}"
                                      f" WHERE {ident} IS NOT NULL").fetchall()}


# --- the twin's table ------------------------------------------------------------------------------
def create_twin_table(cur: Any, table: str, view: str, rows: pa.Table) -> int:
    """A table with the view's columns and types, holding ``rows`` (columns by name; a column
    ``rows`` lacks is NULL); the number of rows written."""
    name = f"twin.{_table(table)}"
    cur.execute(f"CREATE TABLE {name} AS SELECT * FROM {_view(view)} LIMIT 0")
    if rows.num_rows == 0:
        return 0
    reg = "twin_rows_" + uuid.uuid4().hex
    cols = ", ".join(quote_ident(c) for c in rows.column_names)
    cur.register(reg, rows)
    try:
        cur.execute(f"INSERT INTO {name} ({cols}) SELECT {cols} FROM {reg}")
    finally:
        cur.unregister(reg)
    return int(scalar(cur, f"SELECT count(*) FROM {name}"))


def twin_rows(cur: Any, table: str, limit: int) -> tuple[list[str], list[tuple[Any, ...]]]:
    """The first ``limit`` rows of a twin table (it holds synthetic rows only)."""
    result = cur.execute(f"SELECT * FROM twin.{_table(table)} LIMIT ?", [limit])
    return [d[0] for d in result.description], result.fetchall()

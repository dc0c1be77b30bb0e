"""Reading rows as frozen records: the one way `_records` modules turn SQL results into values.

Records are built by column name, never by position, so a reordered SELECT cannot silently shift
values between fields.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, TypeVar

T = TypeVar("T")


def _named_rows(cur: Any, sql: str, params: Sequence[Any] | dict[str, Any]) -> tuple[list[str], list[tuple[Any, ...]]]:
    result = cur.execute(sql, params)
    names = [d[0] for d in result.description]
    return names, result.fetchall()


def fetch_all(cur: Any, record: type[T], sql: str,
              params: Sequence[Any] | dict[str, Any] = ()) -> list[T]:
    """Every row of `sql` as a `record` (a frozen dataclass whose fields are the column names)."""
    names, rows = _named_rows(cur, sql, params)
    return [record(**dict(zip(names, row))) for row in rows]


def fetch_one(cur: Any, record: type[T], sql: str,
              params: Sequence[Any] | dict[str, Any] = ()) -> T | None:
    """The first row of `sql` as a `record`, or None when there is none."""
    found = fetch_all(cur, record, sql, params)
    return found[0] if found else None


def scalar(cur: Any, sql: str, params: Sequence[Any] | dict[str, Any] = ()) -> Any:
    """The first column of the first row (None when there is no row)."""
    row = cur.execute(sql, params).fetchone()
    return None if row is None else row[0]

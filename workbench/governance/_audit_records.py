"""The SQL of the audit log: append chained events, read the chain head, read events back."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from workbench.store import fetch_all, fetch_one

COLUMNS = (
    "seq", "occurred_at", "actor_user_id", "actor_org_id", "action", "room_id", "resource_type",
    "resource_id", "resource_org_id", "outcome", "reason", "detail",
)


@dataclass(frozen=True, slots=True, kw_only=True)
class Event:
    """What every event records (before it is chained)."""

    occurred_at: dt.datetime
    actor_user_id: str | None
    actor_org_id: str | None
    action: str
    room_id: str | None
    resource_type: str | None
    resource_id: str | None
    resource_org_id: str | None
    outcome: str
    reason: str
    #: JSON text, hashed as stored
    detail: str | None


@dataclass(frozen=True, slots=True, kw_only=True)
class StoredEvent(Event):
    """One audit row as stored, chain columns included (NULL hashes: written before the chain)."""

    seq: int
    prev_hash: str | None
    entry_hash: str | None


@dataclass(frozen=True, slots=True, kw_only=True)
class Head:
    """The last event: the next one takes seq + 1 and extends its hash."""

    seq: int
    entry_hash: str | None


@dataclass(frozen=True, slots=True, kw_only=True)
class OrgEvent(Event):
    """An event as an org reads it: its seq and the actor's name."""

    seq: int
    actor_name: str | None


def head(cur: Any) -> Head | None:
    """The event with the highest seq (call under the write lock, in the appending transaction)."""
    return fetch_one(cur, Head, "SELECT seq, entry_hash FROM audit_events ORDER BY seq DESC LIMIT 1")


def insert(cur: Any, rows: list[tuple[Any, ...]]) -> None:
    """Append rows of COLUMNS + (prev_hash, entry_hash): bound VALUES for a few, Arrow for many."""
    names = [*COLUMNS, "prev_hash", "entry_hash"]
    if len(rows) < 64:
        marks = "(" + ",".join("?" * len(names)) + ")"
        cur.execute(f"INSERT INTO audit_events ({', '.join(names)}) VALUES " + ",".join([marks] * len(rows)),
                    [value for row in rows for value in row])
        return
    import pyarrow as pa

    batch = pa.Table.from_pylist([dict(zip(names, row)) for row in rows])
    cur.register("_audit_batch", batch)
    try:
        cur.execute(f"INSERT INTO audit_events ({', '.join(names)}) SELECT {', '.join(names)} FROM _audit_batch")
    finally:
        cur.unregister("_audit_batch")


def chained(cur: Any, *, after_seq: int = -1, limit: int = 10_000) -> list[StoredEvent]:
    """Events in chain order, from ``after_seq`` on, with their chain columns."""
    return fetch_all(
        cur, StoredEvent,
        f"SELECT {', '.join(COLUMNS)}, prev_hash, entry_hash FROM audit_events WHERE seq > ?"
        " ORDER BY seq LIMIT ?",
        [after_seq, limit],
    )


#: allowed events of these actions are reads (hidden on request); a refused read is always shown
READ_SUFFIXES = (".read", ".list")
READ_ACTIONS = ("partner.directory", "run.manifest", "question.check", "run.limits.read")


def for_org(cur: Any, org_id: str, *, room_id: str | None, actor_user_id: str | None,
            action: str | None, limit: int, since: dt.datetime | None = None,
            until: dt.datetime | None = None, before_seq: int | None = None,
            reads: bool = True) -> list[OrgEvent]:
    """Events an org may read: its own actions and actions on its resources, newest first.

    ``since``/``until`` bound occurred_at (``until`` excluded); ``before_seq`` pages back from a
    seq (keyset paging: a page never shifts when new events arrive); ``reads=False`` leaves out
    allowed reads, so the actions that changed something are not buried under page views.
    """
    sql = (
        "SELECT e.seq, e.occurred_at, e.actor_user_id, u.name AS actor_name, e.actor_org_id,"
        " e.action, e.room_id, e.resource_type, e.resource_id, e.resource_org_id, e.outcome,"
        " e.reason, e.detail FROM audit_events e LEFT JOIN users u ON u.id = e.actor_user_id"
        " WHERE (e.actor_org_id = ? OR e.resource_org_id = ?)"
    )
    params: list[Any] = [org_id, org_id]
    for column, value in (("room_id", room_id), ("actor_user_id", actor_user_id), ("action", action)):
        if value is not None:
            sql += f" AND e.{column} = ?"
            params.append(value)
    bounds: tuple[tuple[str, Any], ...] = ((" AND e.occurred_at >= ?", since), (" AND e.occurred_at < ?", until),
                                           (" AND e.seq < ?", before_seq))
    for clause, bound in bounds:
        if bound is not None:
            sql += clause
            params.append(bound)
    if not reads:
        likes = " OR ".join("e.action LIKE ?" for _ in READ_SUFFIXES)
        marks = ", ".join("?" for _ in READ_ACTIONS)
        sql += f" AND NOT (e.outcome <> 'denied' AND ({likes} OR e.action IN ({marks})))"
        params += [f"%{suffix}" for suffix in READ_SUFFIXES] + list(READ_ACTIONS)
    sql += " ORDER BY e.seq DESC LIMIT ?"
    params.append(limit)
    return fetch_all(cur, OrgEvent, sql, params)

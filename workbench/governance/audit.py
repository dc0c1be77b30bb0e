"""The append-only audit log, hash-chained in commit order. Nothing in the product updates or deletes an event.

Every event commits to the one before it (``entry_hash = contract.chain.link(prev_hash,
payload)``, the payload being the row's columns as strings), and seq and prev_hash are assigned
under the store's write lock by the transaction that commits the row, so chain order is commit
order.

Where an event is written, and when it is durable:

- inside a write transaction: in that transaction, committed with the write or not at all. A
  refusal is the exception: its event is written again, in a transaction of its own, when the
  write rolls back;
- from a read (a ``Store.reader`` cursor): handed to the store's group commit, which writes the
  events of many concurrent readers in one transaction. The caller waits for that commit before
  answering, except for the allowed reads listed in :data:`METADATA_READS`, whose answers carry
  settings and names only; their events are committed within milliseconds and at shutdown, and a
  crash in between can lose them. Refusals, reads of released results and audit reads always wait.
"""

from __future__ import annotations

import contextvars
import dataclasses
import datetime as dt
import json
import weakref
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any

from workbench.contract.chain import GENESIS, Entry, link, verify
from workbench.governance import _audit_records as rec
from workbench.governance.model import Actor
from workbench.store import Opened, Store, opened

#: allowed reads whose audit rows are group-committed without making the answer wait
METADATA_READS = frozenset({
    "org.read", "room.list", "room.read", "dataset.read", "question.list", "question.read",
    "run.list", "run.read", "budget.read", "dashboard.list", "dashboard.read",
    "data.connection.read",
})


#: one event before it is chained
Event = rec.Event


def record(
    cur: Any,
    actor: Actor | None,
    action: str,
    *,
    room_id: str | None = None,
    resource_type: str | None = None,
    resource_id: str | None = None,
    resource_org_id: str | None = None,
    outcome: str = "ok",
    reason: str = "",
    detail: dict[str, Any] | None = None,
) -> None:
    """Append one event. ``resource_org_id`` is the org whose resource was touched."""
    event = Event(
        occurred_at=dt.datetime.now(dt.timezone.utc),
        actor_user_id=actor.user_id if actor else None,
        actor_org_id=actor.org_id if actor else None,
        action=action, room_id=room_id, resource_type=resource_type, resource_id=resource_id,
        resource_org_id=resource_org_id, outcome=outcome, reason=reason,
        detail=json.dumps(detail, default=str) if detail is not None else None,
    )
    captured = _captured.get()
    if captured is not None:
        captured.append(event)
    where = opened(cur)
    if where is None or where.writing:
        _append(cur, [event])
        if where is not None and outcome == "denied":
            where.store.after_rollback(cur, lambda again: _append(again, [event]))
        return
    wait = not (outcome == "allowed" and action in METADATA_READS)
    where.store.group.submit(_append, event, wait=wait)


#: the events recorded while answering the current request (see :func:`capturing`)
_captured: contextvars.ContextVar[list[Event] | None] = contextvars.ContextVar("audit_captured", default=None)


@contextmanager
def capturing() -> Iterator[list[Event]]:
    """Collect the events recorded in this context (threads the request runs on included)."""
    captured: list[Event] = []
    token = _captured.set(captured)
    try:
        yield captured
    finally:
        _captured.reset(token)


def metadata_only(events: list[Event]) -> bool:
    """True when an answer's only effects were allowed metadata reads (so it may be replayed)."""
    return bool(events) and all(e.outcome == "allowed" and e.action in METADATA_READS for e in events)


def replay(store: Store, events: list[Event]) -> None:
    """Record again, now, the decisions of an answer served from the read cache."""
    now = dt.datetime.now(dt.timezone.utc)
    for event in events:
        store.group.submit(_append, dataclasses.replace(event, occurred_at=now), wait=False)


def _plain(value: Any) -> str | None:
    """A column value as the string the chain commits to (timestamps in UTC)."""
    if value is None:
        return None
    if isinstance(value, dt.datetime):
        return value.astimezone(dt.timezone.utc).isoformat()
    return str(value)


def payload(seq: int, columns: Mapping[str, Any]) -> dict[str, str | None]:
    """What an event's hash commits to: its seq and every column, as strings."""
    body = {name: _plain(columns.get(name)) for name in rec.COLUMNS if name != "seq"}
    body["seq"] = str(seq)
    return body


#: the committed chain head of each open store, and the head inside each open write transaction
_heads: "weakref.WeakKeyDictionary[Store, rec.Head]" = weakref.WeakKeyDictionary()
_pending: dict[int, rec.Head] = {}


def _head(cur: Any, where: Opened | None) -> rec.Head | None:
    """The head to extend: this transaction's own, else the store's committed one, else the table's."""
    if where is None:
        _heads.clear()
        return rec.head(cur)
    return _pending.get(id(cur)) or _heads.get(where.store) or rec.head(cur)


def _append(cur: Any, events: list[Event]) -> None:
    """Chain and insert events after the current head (the caller holds the write lock)."""
    where = opened(cur)
    last = _head(cur, where)
    seq = last.seq if last else 0
    prev = last.entry_hash if last and last.entry_hash else GENESIS
    rows = []
    for event in events:
        seq += 1
        columns = {name: getattr(event, name) for name in rec.COLUMNS if name != "seq"}
        entry_hash = link(prev, payload(seq, columns))
        rows.append((seq, *columns.values(), prev, entry_hash))
        prev = entry_hash
    rec.insert(cur, rows)
    if where is None:
        return
    new_head = rec.Head(seq=seq, entry_hash=prev)
    if id(cur) not in _pending:
        key, store = id(cur), where.store
        where.store.after_commit(cur, lambda: _forget(key), always=True)
        where.store.after_commit(cur, lambda: _committed(store, key))
    _pending[id(cur)] = new_head


def _forget(key: int) -> None:
    _pending.pop(key, None)


def _committed(store: Store, key: int) -> None:
    head = _pending.get(key)
    if head is not None:
        _heads[store] = head


def flush(cur: Any) -> None:
    """Wait until every event queued so far is committed (before reading the log back)."""
    where = opened(cur)
    if where is not None and not where.writing:
        where.store.group.flush()


def chain(cur: Any, *, after_seq: int = -1, limit: int = 10_000) -> list[tuple[int, Entry]]:
    """Chained events in order from ``after_seq`` on, as (seq, chain entry); pre-chain rows skipped."""
    flush(cur)
    out = []
    for row in rec.chained(cur, after_seq=after_seq, limit=limit):
        if row.entry_hash is None or row.prev_hash is None:
            continue
        columns = {name: getattr(row, name) for name in rec.COLUMNS}
        out.append((row.seq, Entry(prev_hash=row.prev_hash, entry_hash=row.entry_hash,
                                   payload=payload(row.seq, columns))))
    return out


def first_broken(cur: Any) -> int | None:
    """The seq of the first event that does not extend its predecessor or whose hash is wrong."""
    entries = chain(cur, limit=10**12)
    bad = verify(entry for _, entry in entries)
    return None if bad is None else entries[bad][0]


ORG_EVENT_FIELDS = ("seq", "actor_user_id", "actor_name", "actor_org_id", "action", "room_id",
                    "resource_type", "resource_id", "resource_org_id", "outcome", "reason")


def events_for_org(
    cur: Any,
    org_id: str,
    *,
    room_id: str | None = None,
    actor_user_id: str | None = None,
    action: str | None = None,
    limit: int = 500,
    since: dt.datetime | None = None,
    until: dt.datetime | None = None,
    before_seq: int | None = None,
    reads: bool = True,
) -> list[dict[str, Any]]:
    """Events an org may read: its own actions and actions on its resources, newest first
    (filters and paging: :func:`workbench.governance._audit_records.for_org`)."""
    flush(cur)
    out = []
    for event in rec.for_org(cur, org_id, room_id=room_id, actor_user_id=actor_user_id,
                             action=action, limit=max(1, min(int(limit), 10_000)), since=since,
                             until=until, before_seq=before_seq, reads=reads):
        item = {name: getattr(event, name) for name in ORG_EVENT_FIELDS}
        item["at"] = event.occurred_at.isoformat()
        item["detail"] = json.loads(event.detail) if event.detail else None
        out.append(item)
    return out

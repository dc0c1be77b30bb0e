"""Tamper evidence on the service side: chain every ledger entry, check every chain at startup,
and show each party the chain with the entries that concern it.

A ledger row is chained in the transaction that writes it. At startup every room's chain must be
intact and must match the ledger row by row: a row deleted with the key leaves its chain entry
behind, an edited row no longer matches its payload, a deleted chain entry breaks the next link.
A store restored from an older copy is internally consistent; only a party that remembers a later
head notices it, which is what ``client.verify`` does.
"""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

from workbench.contract import _records as rec
from workbench.contract.chain import GENESIS, Entry, link, verify
from workbench.errors import TamperDetected
from workbench.governance import audit
from workbench.governance.model import Actor
from workbench.governance.policy import ensure_allowed
from workbench.ids import parse_uuid
from workbench.store import Store
from workbench.wire import contract as w

LEDGER = "ledger"
"""The chain of privacy budget ledger entries, one per room."""


def _plain(value: Any) -> str | None:
    """A column value as the string the chain commits to (timestamps in UTC, so the service's
    time zone cannot change a hash)."""
    if value is None:
        return None
    if isinstance(value, dt.datetime):
        if value.tzinfo is not None:
            value = value.astimezone(dt.timezone.utc)
        return value.isoformat()
    return str(value)


def _payload(row: dict[str, Any]) -> dict[str, str | None]:
    return {column: _plain(value) for column, value in row.items()}


def append(cur: Any, chain: str, room_id: str, *, ref: str, org_id: str | None,
           payload: dict[str, str | None]) -> str:
    """Add one entry to a room's chain inside the caller's write transaction; returns its hash."""
    tail = rec.chain_tail(cur, chain, room_id)
    prev = tail.entry_hash if tail else GENESIS
    entry_hash = link(prev, payload)
    rec.insert_chain(cur, rec.ChainRow(
        chain=chain, room_id=room_id, seq=tail.seq + 1 if tail else 0, ref=ref, org_id=org_id,
        prev_hash=prev, entry_hash=entry_hash, payload=json.dumps(payload, sort_keys=True)))
    return entry_hash


def chain_ledger_entry(cur: Any, ledger_seq: int) -> str:
    """Chain the ledger row just written (call it in the same transaction); returns its hash."""
    row = rec.ledger_row(cur, ledger_seq)
    if row is None:
        raise RuntimeError(f"no ledger row {ledger_seq} to chain")
    return append(cur, LEDGER, str(row["room_id"]), ref=str(ledger_seq),
                  org_id=_plain(row.get("org_id")), payload=_payload(row))


def _broken(room_id: str, seq: int, why: str) -> TamperDetected:
    return TamperDetected(
        f"the ledger chain of room {room_id} is broken at entry {seq}: {why}. The store was "
        "changed outside the service; restore it from a backup you trust (every party will see "
        "the rollback when it verifies)", chain=LEDGER, room_id=room_id, seq=seq)


def check_room(cur: Any, room_id: str) -> None:
    """Raise TamperDetected when a room's ledger chain is broken or disagrees with the ledger."""
    rows = rec.chain_rows(cur, LEDGER, room_id)
    entries = [Entry(prev_hash=r.prev_hash, entry_hash=r.entry_hash, payload=r.decoded())
               for r in rows]
    bad = verify(entries)
    if bad is not None:
        raise _broken(room_id, rows[bad].seq if bad < len(rows) else bad,
                      "the entry does not extend the one before it or its hash is wrong")
    for index, row in enumerate(rows):
        if row.seq != index:
            raise _broken(room_id, index, "an entry is missing")
    ledger = {_plain(r[rec.LEDGER_REF]): r for r in rec.ledger_rows(cur, room_id)}
    chained = set()
    for row in rows:
        stored = ledger.get(row.ref)
        if stored is None:
            raise _broken(room_id, row.seq, f"ledger row {row.ref} was deleted")
        now = _payload(stored)
        if any(now.get(column) != value for column, value in row.decoded().items()):
            raise _broken(room_id, row.seq, f"ledger row {row.ref} was changed")
        chained.add(row.ref)
    for ref in ledger:
        if ref not in chained:
            first = rows[-1].seq + 1 if rows else 0
            raise _broken(room_id, first, f"ledger row {ref} was added outside the service")


def check_store(cur: Any) -> int:
    """Check every room's chain (the service refuses to start otherwise); returns how many."""
    rooms = rec.chained_rooms(cur, LEDGER)
    for room_id in rooms:
        check_room(cur, room_id)
    return len(rooms)


def party_view(cur: Any, room_id: str, org_id: str) -> tuple[str, list[dict[str, Any]]]:
    """(head, entries) of a room's chain as one party may see it: every hash, and the payload
    only of entries that concern that party."""
    rows = rec.chain_rows(cur, LEDGER, room_id)
    out = [{"seq": r.seq, "prev_hash": r.prev_hash, "entry_hash": r.entry_hash,
            "payload": r.decoded() if r.org_id == org_id else None} for r in rows]
    return (rows[-1].entry_hash if rows else GENESIS), out


def chain_view(store: Store, actor: Actor, room_id: str, audit_seq: int | None = None) -> w.Chain:
    """A room's ledger chain for one party (all hashes, its own entries in full, the head), and
    the audit chain's head, the room's events concerning the party, and the hash at ``audit_seq``
    (the head the party verified before)."""
    room_id = parse_uuid(room_id, "room")
    with store.reader() as cur:
        ensure_allowed(cur, actor, "contract.chain.read", room_id=room_id, resource_type="chain",
                       resource_id=room_id)
        audit.flush(cur)
        head, entries = party_view(cur, room_id, actor.org_id)
        top = rec.audit_head(cur)
        mine = [w.ChainEntry(seq=e.seq, prev_hash=e.prev_hash or GENESIS,
                             entry_hash=e.entry_hash or GENESIS,
                             payload=audit.payload(e.seq, {n: getattr(e, n) for n in rec.AUDIT_COLUMNS}))
                for e in rec.audit_rows(cur, room_id, actor.org_id)]
        return w.Chain(room_id=room_id, chain=LEDGER, head=head, length=len(entries),
                       entries=[w.ChainEntry(**e) for e in entries],
                       audit_head_seq=top.seq if top else 0,
                       audit_head=(top.entry_hash if top and top.entry_hash else GENESIS),
                       audit_entries=mine,
                       audit_anchor=rec.audit_hash(cur, audit_seq) if audit_seq else None)


def verify_at_startup(store: Store) -> int:
    """Refuse to serve a store whose chains (every room's ledger, the audit log) are broken;
    TamperDetected says where. Returns how many ledger chains were checked."""
    with store.reader() as cur:
        bad = audit.first_broken(cur)
        if bad is not None:
            raise TamperDetected(
                f"the audit log's hash chain is broken at event {bad}: an event was removed, "
                "changed or added outside the service. Restore the store from a backup you trust",
                chain="audit", seq=bad)
        return check_store(cur)

"""Every SQL statement of the contract package, returning frozen records.

Besides its own tables this reads the rows it chains (the budget ledger) generically, by column
name, so a column another package adds later does not break the chain of older entries.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass
from typing import Any

from workbench.governance._audit_records import COLUMNS as AUDIT_COLUMNS
from workbench.governance._audit_records import Head as AuditHead
from workbench.governance._audit_records import StoredEvent
from workbench.store import fetch_all, fetch_one, scalar

#: the table whose rows the ledger chain commits to, and its row id column
LEDGER_TABLE = "budget_ledger"
LEDGER_REF = "seq"


@dataclass(frozen=True, slots=True, kw_only=True)
class ChainRow:
    """One stored chain entry."""

    chain: str
    room_id: str
    seq: int
    ref: str
    org_id: str | None
    prev_hash: str
    entry_hash: str
    payload: str

    def decoded(self) -> dict[str, Any]:
        """The payload as the dict that was hashed."""
        return json.loads(self.payload)


_CHAIN = "chain, room_id, seq, ref, org_id, prev_hash, entry_hash, payload"


def chain_tail(cur: Any, chain: str, room_id: str) -> ChainRow | None:
    """The last entry of one room's chain."""
    return fetch_one(cur, ChainRow, f"SELECT {_CHAIN} FROM contract_chain WHERE chain = ?"
                     " AND room_id = ? ORDER BY seq DESC LIMIT 1", [chain, room_id])


def chain_rows(cur: Any, chain: str, room_id: str) -> list[ChainRow]:
    """One room's chain, oldest first."""
    return fetch_all(cur, ChainRow, f"SELECT {_CHAIN} FROM contract_chain WHERE chain = ?"
                     " AND room_id = ? ORDER BY seq", [chain, room_id])


def chained_rooms(cur: Any, chain: str) -> list[str]:
    """Rooms that have entries in a chain, or rows that should be chained."""
    rows = cur.execute(
        f"SELECT room_id FROM contract_chain WHERE chain = ? UNION SELECT room_id FROM {LEDGER_TABLE}"
        " ORDER BY room_id", [chain]).fetchall()
    return [room_id for (room_id,) in rows]


def insert_chain(cur: Any, entry: ChainRow) -> None:
    """Append one entry (the caller holds the write transaction, so seq cannot race)."""
    cur.execute(f"INSERT INTO contract_chain ({_CHAIN}) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                [entry.chain, entry.room_id, entry.seq, entry.ref, entry.org_id, entry.prev_hash,
                 entry.entry_hash, entry.payload])


def _named(cur: Any, sql: str, params: list[Any]) -> list[dict[str, Any]]:
    result = cur.execute(sql, params)
    names = [d[0] for d in result.description]
    return [dict(zip(names, row)) for row in result.fetchall()]


def ledger_row(cur: Any, ref: int) -> dict[str, Any] | None:
    """One ledger row by its id, every column by name."""
    found = _named(cur, f"SELECT * FROM {LEDGER_TABLE} WHERE {LEDGER_REF} = ?", [ref])
    return found[0] if found else None


def ledger_rows(cur: Any, room_id: str) -> list[dict[str, Any]]:
    """Every ledger row of a room, every column by name."""
    return _named(cur, f"SELECT * FROM {LEDGER_TABLE} WHERE room_id = ? ORDER BY {LEDGER_REF}",
                  [room_id])


# -- proposals -----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True, kw_only=True)
class ProposalRow:
    """A stored proposal."""

    id: str
    room_id: str
    kind: str
    target_org_id: str | None
    changes: str
    reasons: str
    proposed_by: str
    proposed_by_org: str
    status: str
    created_at: dt.datetime
    decided_at: dt.datetime | None


@dataclass(frozen=True, slots=True, kw_only=True)
class ConsentRow:
    """One affected party's answer to a proposal."""

    proposal_id: str
    org_id: str
    org_name: str
    decision: str
    decided_by: str | None
    decided_at: dt.datetime | None


_PROPOSAL = ("id, room_id, kind, target_org_id, changes, reasons, proposed_by, proposed_by_org,"
             " status, created_at, decided_at")


def insert_proposal(cur: Any, *, id: str, room_id: str, kind: str, target_org_id: str | None,
                    changes: dict[str, Any], reasons: list[str], proposed_by: str,
                    proposed_by_org: str) -> None:
    """A new open proposal."""
    cur.execute(
        "INSERT INTO contract_proposals (id, room_id, kind, target_org_id, changes, reasons,"
        " proposed_by, proposed_by_org, status) VALUES (?, ?, ?, ?, ?, ?, ?, ?, 'open')",
        [id, room_id, kind, target_org_id, json.dumps(changes, sort_keys=True), json.dumps(reasons),
         proposed_by, proposed_by_org])


def insert_consent(cur: Any, proposal_id: str, org_id: str, decision: str,
                   decided_by: str | None) -> None:
    """One affected party's row (pending, or approved by the proposer's own org)."""
    cur.execute(
        "INSERT INTO contract_consents (proposal_id, org_id, decision, decided_by, decided_at)"
        " VALUES (?, ?, ?, ?, CASE WHEN ? = 'pending' THEN NULL ELSE now() END)",
        [proposal_id, org_id, decision, decided_by, decision])


def set_consent(cur: Any, proposal_id: str, org_id: str, decision: str, decided_by: str) -> None:
    """Record an affected party's decision."""
    cur.execute("UPDATE contract_consents SET decision = ?, decided_by = ?, decided_at = now()"
                " WHERE proposal_id = ? AND org_id = ?", [decision, decided_by, proposal_id, org_id])


def set_proposal_status(cur: Any, proposal_id: str, status: str) -> None:
    """Close a proposal: applied or declined."""
    cur.execute("UPDATE contract_proposals SET status = ?, decided_at = now() WHERE id = ?",
                [status, proposal_id])


def proposal(cur: Any, room_id: str, proposal_id: str) -> ProposalRow | None:
    """One proposal of a room."""
    return fetch_one(cur, ProposalRow, f"SELECT {_PROPOSAL} FROM contract_proposals"
                     " WHERE id = ? AND room_id = ?", [proposal_id, room_id])


def proposals(cur: Any, room_id: str, status: str | None = None) -> list[ProposalRow]:
    """A room's proposals, newest first."""
    return fetch_all(cur, ProposalRow, f"SELECT {_PROPOSAL} FROM contract_proposals"
                     " WHERE room_id = ? AND (? IS NULL OR status = ?)"
                     " ORDER BY created_at DESC, id", [room_id, status, status])


def consents(cur: Any, proposal_id: str) -> list[ConsentRow]:
    """Every affected party of a proposal with its decision."""
    return fetch_all(cur, ConsentRow,
                     "SELECT c.proposal_id, c.org_id, coalesce(o.name, c.org_id) AS org_name,"
                     " c.decision, c.decided_by, c.decided_at FROM contract_consents c"
                     " LEFT JOIN orgs o ON o.id = c.org_id WHERE c.proposal_id = ?"
                     " ORDER BY org_name, c.org_id", [proposal_id])


#: room columns a proposal may change once every affected party approved
ROOM_SETTINGS = ("k_min", "dp_enabled", "epsilon_budget", "delta_budget")


def apply_room_settings(cur: Any, room_id: str, values: dict[str, Any]) -> None:
    """Write approved room settings (only the privacy columns listed in ROOM_SETTINGS)."""
    unknown = set(values) - set(ROOM_SETTINGS)
    if unknown:
        raise RuntimeError(f"not a privacy setting of a room: {sorted(unknown)}")
    if values:
        sets = ", ".join(f"{column} = ?" for column in values)
        cur.execute(f"UPDATE rooms SET {sets} WHERE id = ?", [*values.values(), room_id])


# -- dataset floors ------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True, kw_only=True)
class FloorRow:
    """A dataset's own crowd-size floor in a room."""

    dataset_id: str
    org_id: str
    k_min: int


def org_names(cur: Any, org_ids: list[str]) -> list[tuple[str, str]]:
    """(id, name) of each org, in the order given."""
    names = dict(cur.execute("SELECT id, name FROM orgs WHERE list_contains(?, id)",
                             [org_ids]).fetchall())
    return [(org_id, names.get(org_id, org_id)) for org_id in org_ids]


def dataset_owner(cur: Any, room_id: str, dataset_id: str) -> str | None:
    """The org of a provisioned dataset (None when the room has no such dataset)."""
    return scalar(cur, "SELECT org_id FROM provisioned_datasets WHERE id = ? AND room_id = ?",
                  [dataset_id, room_id])


def floors(cur: Any, room_id: str) -> list[FloorRow]:
    """Every dataset floor of a room (of datasets still provisioned)."""
    return fetch_all(cur, FloorRow,
                     "SELECT f.dataset_id, f.org_id, f.k_min FROM contract_dataset_floors f"
                     " JOIN provisioned_datasets d ON d.id = f.dataset_id AND d.room_id = f.room_id"
                     " WHERE f.room_id = ? ORDER BY f.dataset_id", [room_id])


def set_floor(cur: Any, room_id: str, dataset_id: str, org_id: str, k_min: int | None,
              set_by: str) -> None:
    """Replace a dataset's floor (None removes it)."""
    cur.execute("DELETE FROM contract_dataset_floors WHERE room_id = ? AND dataset_id = ?",
                [room_id, dataset_id])
    if k_min is not None:
        cur.execute("INSERT INTO contract_dataset_floors (room_id, dataset_id, org_id, k_min, set_by)"
                    " VALUES (?, ?, ?, ?, ?)", [room_id, dataset_id, org_id, k_min, set_by])


# -- run limits ------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True, kw_only=True)
class LimitsRow:
    """A room's own run limits (None: the service default)."""

    timeout_seconds: float | None
    max_concurrent_per_user: int | None
    max_concurrent_per_room: int | None


def run_limits(cur: Any, room_id: str) -> LimitsRow | None:
    """The latest limits the owner set for a room."""
    return fetch_one(cur, LimitsRow, "SELECT timeout_seconds, max_concurrent_per_user,"
                     " max_concurrent_per_room FROM run_limits WHERE room_id = ?"
                     " ORDER BY set_at DESC LIMIT 1", [room_id])


def insert_run_limits(cur: Any, room_id: str, row: LimitsRow, set_by: str) -> None:
    """Record a room's new limits (the latest row wins; older ones stay as history)."""
    cur.execute("INSERT INTO run_limits (room_id, timeout_seconds, max_concurrent_per_user,"
                " max_concurrent_per_room, set_by, set_at) VALUES (?, ?, ?, ?, ?, now())",
                [room_id, row.timeout_seconds, row.max_concurrent_per_user,
                 row.max_concurrent_per_room, set_by])


# -- the audit chain (written by governance.audit; read here for a party's verification) -----------


def audit_rows(cur: Any, room_id: str, org_id: str) -> list[StoredEvent]:
    """A room's chained audit events that concern one org (its own actions, or on its resources)."""
    return fetch_all(cur, StoredEvent,
                     f"SELECT {', '.join(AUDIT_COLUMNS)}, prev_hash, entry_hash FROM audit_events"
                     " WHERE room_id = ? AND (actor_org_id = ? OR resource_org_id = ?)"
                     " AND entry_hash IS NOT NULL ORDER BY seq", [room_id, org_id, org_id])


def audit_hash(cur: Any, seq: int) -> str | None:
    """The hash of the audit event at ``seq`` (None when there is none)."""
    return scalar(cur, "SELECT entry_hash FROM audit_events WHERE seq = ?", [seq])


def audit_head(cur: Any) -> AuditHead | None:
    """The last chained audit event."""
    return fetch_one(cur, AuditHead, "SELECT seq, entry_hash FROM audit_events"
                     " WHERE entry_hash IS NOT NULL ORDER BY seq DESC LIMIT 1")

"""All SQL of runs and the privacy ledger: runs, results, manifests, idempotent requests, the
per-party ledger, party budgets, connection caps and the room's bounds on epsilon per run.

Every function takes the caller's cursor, so a whole operation stays one transaction. Amounts are
exact Fractions written as strings.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from fractions import Fraction
from typing import Any

from workbench.store import fetch_all, fetch_one, scalar

@dataclass(frozen=True, slots=True, kw_only=True)
class RunRecord:
    """One run as stored (without its result and manifest, which are read on their own)."""

    id: str
    room_id: str
    question_id: str
    question_version: int
    question_name: str
    org_id: str
    user_id: str
    receivers: list[str]
    parameters: str
    mode: str
    epsilon: str
    delta: str
    k_min: int
    status: str
    error: str | None
    metadata: str | None
    created_at: dt.datetime
    finished_at: dt.datetime | None
    parties: list[str] | None
    fingerprint: str | None


RUN_COLUMNS = ("id, room_id, question_id, question_version, question_name, org_id, user_id,"
               " receivers, parameters, mode, epsilon, delta, k_min, status, error, metadata,"
               " created_at, finished_at, parties, fingerprint")


@dataclass(frozen=True, slots=True, kw_only=True)
class Amount:
    """An (epsilon, delta) pair as stored."""

    epsilon: str
    delta: str


@dataclass(frozen=True, slots=True, kw_only=True)
class LedgerRow:
    """One event of one charge."""

    charge_id: str
    state: str
    epsilon: str
    delta: str


@dataclass(frozen=True, slots=True, kw_only=True)
class Cap:
    """A connection's lifetime cap (epsilon None: no cap)."""

    epsilon: str | None
    delta: str | None


@dataclass(frozen=True, slots=True, kw_only=True)
class Bounds:
    """The room's bounds on epsilon per run (max None: the room's budget)."""

    min_epsilon: str
    max_epsilon: str | None


@dataclass(frozen=True, slots=True, kw_only=True)
class DatasetSource:
    """Where a provisioned dataset's rows come from: its party and its connection."""

    dataset_id: str
    org_id: str
    connection_id: str
    connection_name: str
    table_name: str


@dataclass(frozen=True, slots=True, kw_only=True)
class RunRequest:
    """An idempotent run request already seen."""

    request_digest: str
    run_id: str


# -- runs ---------------------------------------------------------------------------------------


def run(cur: Any, room_id: str, run_id: str) -> RunRecord | None:
    """A run of a room."""
    return fetch_one(cur, RunRecord, f"SELECT {RUN_COLUMNS} FROM runs WHERE id = ? AND room_id = ?",
                     [run_id, room_id])


def runs_seen_by(cur: Any, room_id: str, org_id: str, question_id: str | None) -> list[RunRecord]:
    """Runs an org started, receives, or that read its data; newest first."""
    return fetch_all(
        cur, RunRecord,
        f"SELECT {RUN_COLUMNS} FROM runs WHERE room_id = ? AND (org_id = ? OR list_contains(receivers, ?)"
        " OR list_contains(coalesce(parties, []), ?)) AND (? IS NULL OR question_id = ?)"
        " ORDER BY created_at DESC, id",
        [room_id, org_id, org_id, org_id, question_id, question_id])


def insert_run(cur: Any, *, run_id: str, room_id: str, question_id: str, question_version: int,
               question_name: str, org_id: str, user_id: str, receivers: Sequence[str],
               parties: Sequence[str], parameters: str, mode: str, epsilon: Fraction,
               delta: Fraction, k_min: int, fingerprint: str, manifest: dict[str, Any]) -> None:
    """Record a run as running (its charge is written in the same transaction)."""
    cur.execute(
        "INSERT INTO runs (id, room_id, question_id, question_version, question_name, org_id,"
        " user_id, receivers, parties, parameters, mode, epsilon, delta, k_min, status, fingerprint,"
        " manifest, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 'running', ?, ?, now())",
        [run_id, room_id, question_id, question_version, question_name, org_id, user_id,
         list(receivers), list(parties), parameters, mode, str(epsilon), str(delta), k_min,
         fingerprint, json.dumps(manifest, sort_keys=True)])


def run_status(cur: Any, run_id: str) -> str | None:
    """The status of a run, None when it no longer exists (deleted, or dropped by an unlink)."""
    value = scalar(cur, "SELECT status FROM runs WHERE id = ?", [run_id])
    return None if value is None else str(value)


def finish_run(cur: Any, run_id: str, *, result: dict[str, Any], metadata: dict[str, Any],
               manifest: dict[str, Any]) -> None:
    """Store the released table and mark the run succeeded."""
    cur.execute("UPDATE runs SET status = 'succeeded', result = ?, metadata = ?, manifest = ?,"
                " finished_at = now() WHERE id = ?",
                [json.dumps(result, default=str), json.dumps(metadata),
                 json.dumps(manifest, sort_keys=True), run_id])


def fail_run(cur: Any, run_id: str, message: str) -> None:
    """Mark a run failed; whatever it computed is not kept."""
    cur.execute("UPDATE runs SET status = 'failed', error = ?, finished_at = now() WHERE id = ?",
                [message, run_id])


def result_json(cur: Any, run_id: str) -> str | None:
    """The stored released table of a run (JSON)."""
    value = scalar(cur, "SELECT result FROM runs WHERE id = ?", [run_id])
    return None if value is None else str(value)


def manifest_json(cur: Any, run_id: str) -> str | None:
    """The stored manifest of a run (JSON)."""
    value = scalar(cur, "SELECT manifest FROM runs WHERE id = ?", [run_id])
    return None if value is None else str(value)


def delete_run(cur: Any, run_id: str) -> None:
    """Remove a run and its result (its charges stay in the ledger)."""
    cur.execute("DELETE FROM runs WHERE id = ?", [run_id])


def runs_reading(cur: Any, room_id: str, dataset_id: str) -> list[str]:
    """Ids of the runs of a room that read a dataset (running ones included)."""
    rows = cur.execute(
        "SELECT id FROM runs WHERE room_id = ? AND manifest IS NOT NULL AND list_contains("
        "json_extract_string(manifest, '$.datasets[*].dataset_id'), ?)"
        " UNION SELECT id FROM runs WHERE room_id = ? AND metadata IS NOT NULL AND list_contains("
        "CAST(json_extract(metadata, '$.datasets') AS VARCHAR[]), ?)",
        [room_id, dataset_id, room_id, dataset_id]).fetchall()
    return sorted(str(r) for (r,) in rows)


# -- idempotent requests ------------------------------------------------------------------------


def run_request(cur: Any, room_id: str, user_id: str, key: str) -> RunRequest | None:
    """The run a user's earlier request with this key created."""
    return fetch_one(cur, RunRequest, "SELECT request_digest, run_id FROM run_requests"
                     " WHERE room_id = ? AND user_id = ? AND idempotency_key = ?",
                     [room_id, user_id, key])


def insert_run_request(cur: Any, room_id: str, user_id: str, key: str, digest: str,
                       run_id: str) -> None:
    """Remember which run a keyed request created."""
    cur.execute("INSERT INTO run_requests (room_id, user_id, idempotency_key, request_digest, run_id)"
                " VALUES (?, ?, ?, ?, ?)", [room_id, user_id, key, digest, run_id])


# -- datasets a run reads -----------------------------------------------------------------------


def dataset_sources(cur: Any, room_id: str, dataset_ids: Iterable[str]) -> list[DatasetSource]:
    """The party and connection of each provisioned dataset, ordered by dataset id."""
    ids = sorted(set(dataset_ids))
    if not ids:
        return []
    return fetch_all(
        cur, DatasetSource,
        "SELECT p.id AS dataset_id, p.org_id, p.connection_id, c.name AS connection_name,"
        " c.table_name FROM provisioned_datasets p"
        " JOIN data_connections c ON c.id = p.connection_id"
        " WHERE p.room_id = ? AND list_contains(?, p.id) ORDER BY p.id", [room_id, ids])


def room_datasets(cur: Any, room_id: str) -> list[tuple[str, str]]:
    """Every dataset provisioned in a room and its data connection, by dataset id."""
    return [(str(r[0]), str(r[1])) for r in cur.execute(
        "SELECT id, connection_id FROM provisioned_datasets WHERE room_id = ? ORDER BY id",
        [room_id]).fetchall()]


def exact_lattice(cur: Any, room_id: str) -> tuple[str, str] | None:
    """The fingerprint and JSON of the lattice a room's first exact result was released over."""
    row = cur.execute("SELECT fingerprint, lattice FROM exact_lattices WHERE room_id = ?",
                      [room_id]).fetchone()
    return None if row is None else (str(row[0]), str(row[1]))


def pin_exact_lattice(cur: Any, room_id: str, fingerprint: str, lattice: str, run_id: str) -> None:
    """Keep the lattice of a room's first exact run (later ones must match it)."""
    cur.execute("INSERT INTO exact_lattices (room_id, fingerprint, lattice, first_run_id)"
                " VALUES (?, ?, ?, ?) ON CONFLICT (room_id) DO NOTHING",
                [room_id, fingerprint, lattice, run_id])


def rule_version(cur: Any, dataset_id: str) -> int:
    """The version of a dataset's analysis rules in force (0: the defaults)."""
    return int(scalar(cur, "SELECT coalesce(max(version), 0) FROM analysis_rules WHERE dataset_id = ?",
                      [dataset_id]))


_TABLE = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


def connection_digest(cur: Any, connection_id: str) -> str | None:
    """The stored content digest of a connection, if computed."""
    # an external connection's digest is the one taken at registration (and re-checked per run)
    value = scalar(cur, "SELECT coalesce((SELECT content_digest FROM external_connections WHERE"
                   " connection_id = ?), (SELECT digest FROM connection_digests WHERE"
                   " connection_id = ?))", [connection_id, connection_id])
    return None if value is None else str(value)


def compute_connection_digest(cur: Any, table_name: str) -> str:
    """SHA-256 over the sorted SHA-256 of every stored row: independent of storage order."""
    if not _TABLE.fullmatch(table_name):
        raise ValueError(f"unexpected table name {table_name!r}")
    return str(scalar(
        cur, f"SELECT sha256(coalesce(string_agg(h, '' ORDER BY h), '')) FROM"
        f" (SELECT sha256(CAST(t AS VARCHAR)) AS h FROM ds.{table_name} AS t)"))


def save_connection_digest(cur: Any, connection_id: str, digest: str) -> None:
    """Keep a connection's digest (connections do not change after ingest)."""
    cur.execute("INSERT INTO connection_digests (connection_id, digest) VALUES (?, ?)"
                " ON CONFLICT DO NOTHING", [connection_id, digest])


def connection_owner(cur: Any, connection_id: str) -> str | None:
    """The org of a data connection."""
    value = scalar(cur, "SELECT org_id FROM data_connections WHERE id = ?", [connection_id])
    return None if value is None else str(value)


# -- the ledger ---------------------------------------------------------------------------------


def ledger_rows(cur: Any, room_id: str, org_id: str) -> list[LedgerRow]:
    """Every ledger event of one party in one room, oldest first."""
    return fetch_all(cur, LedgerRow, "SELECT charge_id, state, epsilon, delta FROM budget_ledger"
                     " WHERE room_id = ? AND org_id = ? ORDER BY seq", [room_id, org_id])


def append_ledger(cur: Any, *, room_id: str, org_id: str, charge_id: str, state: str,
                  epsilon: Fraction, delta: Fraction, actor_user_id: str | None) -> int:
    """Append one event to a party's ledger; its sequence number."""
    seq = int(scalar(cur, "SELECT nextval('budget_ledger_seq')"))
    cur.execute(
        "INSERT INTO budget_ledger (seq, room_id, org_id, charge_id, state, epsilon, delta,"
        " actor_user_id) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        [seq, room_id, org_id, charge_id, state, str(epsilon), str(delta), actor_user_id])
    return seq


@dataclass(frozen=True, slots=True, kw_only=True)
class LedgerSeq:
    """The sequence number of one ledger row."""

    seq: int


def ledger_seqs(cur: Any, room_id: str) -> list[int]:
    """Sequence numbers of every ledger row of a room, oldest first."""
    found = fetch_all(cur, LedgerSeq, "SELECT seq FROM budget_ledger WHERE room_id = ? ORDER BY seq",
                      [room_id])
    return [r.seq for r in found]


def connection_ledger_rows(cur: Any, connection_id: str) -> list[LedgerRow]:
    """Every draw on one connection, in every room, oldest first."""
    return fetch_all(cur, LedgerRow, "SELECT charge_id, state, epsilon, delta FROM connection_ledger"
                     " WHERE connection_id = ? ORDER BY seq", [connection_id])


def append_connection_ledger(cur: Any, *, connection_id: str, room_id: str, charge_id: str,
                             state: str, epsilon: Fraction, delta: Fraction) -> None:
    """Record what a charge drew from a connection."""
    cur.execute(
        "INSERT INTO connection_ledger (seq, connection_id, room_id, charge_id, state, epsilon, delta)"
        " VALUES (nextval('connection_ledger_seq'), ?, ?, ?, ?, ?, ?)",
        [connection_id, room_id, charge_id, state, str(epsilon), str(delta)])


# -- budgets, caps, bounds ----------------------------------------------------------------------


def party_budget(cur: Any, room_id: str, org_id: str) -> Amount | None:
    """A party's own budget in a room (the latest it set), None when it follows the room default."""
    return fetch_one(cur, Amount, "SELECT epsilon, delta FROM party_budgets WHERE room_id = ?"
                     " AND org_id = ? ORDER BY seq DESC LIMIT 1", [room_id, org_id])


def legacy_raises(cur: Any, room_id: str, org_id: str) -> list[Amount]:
    """Raises of the former per-receiver budget (before party budgets), read as they were."""
    return fetch_all(cur, Amount, "SELECT epsilon, delta FROM budget_raises WHERE room_id = ?"
                     " AND org_id = ?", [room_id, org_id])


def insert_party_budget(cur: Any, room_id: str, org_id: str, epsilon: Fraction, delta: Fraction,
                        set_by: str) -> None:
    """Set a party's budget in a room (append-only; the latest row is in force)."""
    cur.execute("INSERT INTO party_budgets (seq, room_id, org_id, epsilon, delta, set_by)"
                " VALUES (nextval('party_budgets_seq'), ?, ?, ?, ?, ?)",
                [room_id, org_id, str(epsilon), str(delta), set_by])


def connection_cap(cur: Any, connection_id: str) -> Cap | None:
    """A connection's cap in force (None: never set)."""
    return fetch_one(cur, Cap, "SELECT epsilon, delta FROM connection_caps WHERE connection_id = ?"
                     " ORDER BY seq DESC LIMIT 1", [connection_id])


def insert_connection_cap(cur: Any, connection_id: str, epsilon: Fraction | None,
                          delta: Fraction | None, set_by: str) -> None:
    """Set (or, with None, lift) a connection's lifetime cap."""
    cur.execute("INSERT INTO connection_caps (seq, connection_id, epsilon, delta, set_by)"
                " VALUES (nextval('connection_caps_seq'), ?, ?, ?, ?)",
                [connection_id, None if epsilon is None else str(epsilon),
                 None if delta is None else str(delta), set_by])


def epsilon_bounds(cur: Any, room_id: str) -> Bounds | None:
    """The room's bounds on epsilon per run, None when never set."""
    return fetch_one(cur, Bounds, "SELECT min_epsilon, max_epsilon FROM room_epsilon_bounds"
                     " WHERE room_id = ? ORDER BY seq DESC LIMIT 1", [room_id])


def insert_epsilon_bounds(cur: Any, room_id: str, min_epsilon: Fraction,
                          max_epsilon: Fraction | None, set_by: str) -> None:
    """Set the room's bounds on epsilon per run."""
    cur.execute("INSERT INTO room_epsilon_bounds (seq, room_id, min_epsilon, max_epsilon, set_by)"
                " VALUES (nextval('room_epsilon_bounds_seq'), ?, ?, ?, ?)",
                [room_id, str(min_epsilon), None if max_epsilon is None else str(max_epsilon),
                 set_by])

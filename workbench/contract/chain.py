"""Hash chains that make ledger and audit entries tamper evident.

Each entry commits to the one before it: ``entry_hash = sha256(prev_hash + canonical(payload))``.
Removing, editing or reordering an entry, or restoring an older copy of the store, breaks the
chain or makes it stop extending a head a party has already verified. Pure functions only (no SQL,
no OpenDP) so the store, the audit writer, the ledger and the client can all share them.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from fractions import Fraction
from typing import Any
from uuid import UUID

GENESIS = "0" * 64
"""The previous hash of the first entry of every chain."""


@dataclass(frozen=True, slots=True, kw_only=True)
class Entry:
    """One chained entry as stored: its hash, the hash it extends and what it commits to."""

    prev_hash: str
    """Hash of the previous entry (GENESIS for the first)."""
    entry_hash: str
    """``link(prev_hash, payload)`` computed when the entry was written."""
    payload: Mapping[str, Any]
    """The entry's content; ``canonical`` fixes its byte form."""


def _tagged(value: Any) -> Any:
    """Give every value an unambiguous JSON form that keeps its type (1, 1.0, "1" and True differ)."""
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, bool):
        return {"bool": value}
    if isinstance(value, int):
        return {"int": str(value)}
    if isinstance(value, float):
        return {"float": value.hex()}
    if isinstance(value, Fraction):
        return {"fraction": f"{value.numerator}/{value.denominator}"}
    if isinstance(value, Decimal):
        return {"decimal": str(value)}
    if isinstance(value, UUID):
        return {"uuid": str(value)}
    if isinstance(value, datetime):
        return {"datetime": value.isoformat()}
    if isinstance(value, date):
        return {"date": value.isoformat()}
    if isinstance(value, bytes):
        return {"bytes": value.hex()}
    if isinstance(value, Mapping):
        if not all(isinstance(key, str) for key in value):
            raise TypeError("chain payload keys must be strings")
        return {"map": {key: _tagged(item) for key, item in value.items()}}
    if isinstance(value, (list, tuple)):
        return {"list": [_tagged(item) for item in value]}
    raise TypeError(f"cannot chain a value of type {type(value).__name__}; convert it to str first")


def canonical(payload: Mapping[str, Any]) -> bytes:
    """The one byte form of a payload: sorted keys, no whitespace, every value tagged with its type."""
    return json.dumps(
        _tagged(payload), sort_keys=True, separators=(",", ":"), ensure_ascii=True, allow_nan=False
    ).encode("ascii")


def link(prev_hash: str, payload: Mapping[str, Any]) -> str:
    """Hash of an entry that extends ``prev_hash`` with ``payload`` (sha256 hex)."""
    if len(prev_hash) != 64 or any(char not in "0123456789abcdef" for char in prev_hash):
        raise ValueError("prev_hash must be 64 lower-case hex digits (GENESIS for the first entry)")
    return hashlib.sha256(prev_hash.encode("ascii") + canonical(payload)).hexdigest()


def verify(entries: Iterable[Entry], *, start: str = GENESIS) -> int | None:
    """Index of the first entry that does not extend its predecessor or whose hash is wrong, or None.

    ``start`` is the hash the first entry must extend (GENESIS for a whole chain).
    """
    expected = start
    for index, entry in enumerate(entries):
        if entry.prev_hash != expected:
            return index
        try:
            if link(entry.prev_hash, entry.payload) != entry.entry_hash:
                return index
        except (TypeError, ValueError):
            return index
        expected = entry.entry_hash
    return None


def head(entries: Iterable[Entry]) -> str:
    """Hash of the last entry (GENESIS for an empty chain)."""
    last = GENESIS
    for entry in entries:
        last = entry.entry_hash
    return last

"""Client methods of the privacy contract: proposals, consent, protections, and chain verification.

``verify`` checks the room's hash-chained ledger on the caller's machine and remembers the head
it verified in the user's config directory (``WORKBENCH_CONFIG_DIR``, else ``$XDG_CONFIG_HOME``
or ``~/.config``, then ``workbench/``). A later chain that does not extend that head -- a store
restored from a copy, entries removed -- raises TamperDetected naming the first bad entry.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from workbench.contract.chain import GENESIS, Entry, link
from workbench.errors import TamperDetected
from workbench.wire import contract as w

CONFIG_ENV = "WORKBENCH_CONFIG_DIR"
HEADS_FILE = "verified_heads.json"


def config_dir() -> Path:
    """Where the client keeps what it verified (never secrets)."""
    explicit = os.environ.get(CONFIG_ENV)
    if explicit:
        return Path(explicit)
    base = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(base) / "workbench"


def _heads_path() -> Path:
    return config_dir() / HEADS_FILE


def _load_heads() -> dict[str, dict[str, Any]]:
    path = _heads_path()
    if not path.exists():
        return {}
    try:
        data = json.loads(path.read_text())
    except ValueError:
        raise TamperDetected(f"the file of verified chain heads {path} is not valid JSON; "
                             "restore it or delete it to start trusting afresh") from None
    return data if isinstance(data, dict) else {}


def _save_head(key: str, chain: w.Chain) -> None:
    heads = _load_heads()
    heads[key] = {"head": chain.head, "length": chain.length, "audit_seq": chain.audit_head_seq,
                  "audit_hash": chain.audit_head}
    path = _heads_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(heads, indent=1, sort_keys=True))
    tmp.replace(path)


def check_chain(chain: w.Chain, remembered: dict[str, Any] | None) -> int:
    """Verify links, recompute the hashes we can, and check the chain extends what we saw.

    Returns how many entries were recomputed; raises TamperDetected naming the first bad entry.
    """
    expected, recomputed = GENESIS, 0
    for index, entry in enumerate(chain.entries):
        if entry.seq != index or entry.prev_hash != expected:
            raise TamperDetected(
                f"room {chain.room_id}: ledger entry {index} does not extend the entry before it "
                "(an entry was removed or reordered)", room_id=chain.room_id, seq=index)
        if entry.payload is not None:
            if link(entry.prev_hash, entry.payload) != entry.entry_hash:
                raise TamperDetected(
                    f"room {chain.room_id}: ledger entry {index} does not match its hash (it was "
                    "changed)", room_id=chain.room_id, seq=index)
            recomputed += 1
        expected = entry.entry_hash
    if expected != chain.head or chain.length != len(chain.entries):
        raise TamperDetected(f"room {chain.room_id}: the chain head the service reports is not the "
                             "last entry it sent", room_id=chain.room_id, seq=len(chain.entries))
    if remembered:
        seen_len, seen_head = int(remembered["length"]), str(remembered["head"])
        if seen_len > len(chain.entries):
            raise TamperDetected(
                f"room {chain.room_id}: the ledger lost entries since you verified it (you saw "
                f"{seen_len}, it now has {len(chain.entries)}); the first missing entry is "
                f"{len(chain.entries)}. The store was probably restored from an older copy",
                room_id=chain.room_id, seq=len(chain.entries))
        have = chain.entries[seen_len - 1].entry_hash if seen_len else GENESIS
        if have != seen_head:
            raise TamperDetected(
                f"room {chain.room_id}: the ledger no longer extends the head you verified; entry "
                f"{seen_len - 1} differs. The store was rolled back or rewritten",
                room_id=chain.room_id, seq=seen_len - 1)
    return recomputed


def check_audit(chain: w.Chain, remembered: dict[str, Any] | None) -> int:
    """Recompute the room's audit events that concern you and check the audit log still holds
    the head you verified; returns how many events were recomputed (TamperDetected otherwise)."""
    for entry in chain.audit_entries:
        if entry.payload is None or link(entry.prev_hash, entry.payload) != entry.entry_hash:
            raise TamperDetected(f"room {chain.room_id}: audit event {entry.seq} does not match "
                                 "its hash (it was changed)", room_id=chain.room_id, seq=entry.seq)
    seen_seq = int((remembered or {}).get("audit_seq") or 0)
    if seen_seq:
        if seen_seq > chain.audit_head_seq:
            raise TamperDetected(
                f"the audit log lost events since you verified it (you saw {seen_seq}, it now "
                f"ends at {chain.audit_head_seq}); the first missing event is "
                f"{chain.audit_head_seq + 1}. The store was probably restored from an older copy",
                chain="audit", seq=chain.audit_head_seq + 1)
        if chain.audit_anchor != remembered.get("audit_hash"):  # type: ignore[union-attr]
            raise TamperDetected(
                f"the audit log no longer extends the head you verified; event {seen_seq} differs."
                " The store was rolled back or rewritten", chain="audit", seq=seen_seq)
    return len(chain.audit_entries)


class ContractAPI:
    """Proposals and consent, the strictest protections in force, and ledger verification."""

    def _request(self, method: str, path: str, **kwargs: Any) -> Any:  # provided by Client
        raise NotImplementedError

    @property
    def url(self) -> str:  # provided by Client
        raise NotImplementedError

    def propose(self, room_id: str, *, k_min: int | None = None, dp_enabled: bool | None = None,
                epsilon_budget: str | None = None, delta_budget: str | None = None,
                max_epsilon_per_run: str | None = None, note: str = "") -> w.Proposal:
        """Owner: propose weakening the room's protections; it applies when every affected data
        party approves (at once when no other party's data is in the room)."""
        body: dict[str, Any] = {"note": note}
        for name, value in (("k_min", k_min), ("dp_enabled", dp_enabled),
                            ("epsilon_budget", epsilon_budget), ("delta_budget", delta_budget),
                            ("max_epsilon_per_run", max_epsilon_per_run)):
            if value is not None:
                body[name] = value
        return w.Proposal(**self._request("POST", f"/api/v1/rooms/{room_id}/proposals", json=body))

    def propose_party_budget(self, room_id: str, org_id: str, *, epsilon_budget: str | None = None,
                             delta_budget: str | None = None, note: str = "") -> w.Proposal:
        """Owner: propose raising one data party's budget; it applies when that party approves."""
        body: dict[str, Any] = {"org_id": org_id, "note": note}
        if epsilon_budget is not None:
            body["epsilon_budget"] = epsilon_budget
        if delta_budget is not None:
            body["delta_budget"] = delta_budget
        return w.Proposal(**self._request("POST", f"/api/v1/rooms/{room_id}/proposals", json=body))

    def proposals(self, room_id: str, status: str | None = None) -> list[w.Proposal]:
        """Every proposal of the room with each party's decision, newest first."""
        params = {"status": status} if status else None
        return [w.Proposal(**p) for p in
                self._request("GET", f"/api/v1/rooms/{room_id}/proposals", params=params)]

    def approve(self, room_id: str, proposal_id: str) -> w.Proposal:
        """Approve a proposal as an affected data party."""
        return w.Proposal(**self._request(
            "POST", f"/api/v1/rooms/{room_id}/proposals/{proposal_id}/decision",
            json={"approve": True}))

    def decline(self, room_id: str, proposal_id: str) -> w.Proposal:
        """Decline a proposal as an affected data party; it will not apply."""
        return w.Proposal(**self._request(
            "POST", f"/api/v1/rooms/{room_id}/proposals/{proposal_id}/decision",
            json={"approve": False}))

    def protections(self, room_id: str) -> w.Protections:
        """The strictest protections in force: room k-min, dataset floors, effective k-min, DP."""
        return w.Protections(**self._request("GET", f"/api/v1/rooms/{room_id}/protections"))

    def set_k_min_floor(self, room_id: str, dataset_id: str, k_min: int | None) -> w.Protections:
        """Your dataset's own k-min floor in the room (None removes it)."""
        return w.Protections(**self._request(
            "PUT", f"/api/v1/rooms/{room_id}/datasets/{dataset_id}/k-min-floor",
            json={"k_min": k_min}))

    def run_limits(self, room_id: str) -> w.RunLimits:
        """The room's run timeout and concurrent-run limits (runs over them get Busy/TimedOut)."""
        return w.RunLimits(**self._request("GET", f"/api/v1/rooms/{room_id}/run-limits"))

    def set_run_limits(self, room_id: str, *, timeout_seconds: float | None = None,
                       max_concurrent_per_user: int | None = None,
                       max_concurrent_per_room: int | None = None) -> w.RunLimits:
        """Owner: change the room's run limits (left out: unchanged)."""
        body = {k: v for k, v in dict(timeout_seconds=timeout_seconds,
                                      max_concurrent_per_user=max_concurrent_per_user,
                                      max_concurrent_per_room=max_concurrent_per_room).items()
                if v is not None}
        return w.RunLimits(**self._request("PUT", f"/api/v1/rooms/{room_id}/run-limits", json=body))

    def chain(self, room_id: str, audit_seq: int | None = None) -> w.Chain:
        """The room's hash-chained ledger as your org may see it, with the audit chain's head
        and the room's audit events concerning you (``audit_seq``: also that event's hash)."""
        params = {"audit_seq": audit_seq} if audit_seq else None
        return w.Chain(**self._request("GET", f"/api/v1/rooms/{room_id}/chain", params=params))

    def verify(self, room_id: str) -> w.Verification:
        """Verify the room's ledger chain and the audit events concerning you, and that both
        extend the heads verified last time; raises TamperDetected naming the first bad entry."""
        key = f"{self.url.rstrip('/')}|{room_id}"
        remembered = _load_heads().get(key)
        chain = self.chain(room_id, audit_seq=(remembered or {}).get("audit_seq"))
        recomputed = check_chain(chain, remembered)
        audit_recomputed = check_audit(chain, remembered)
        _save_head(key, chain)
        return w.Verification(
            room_id=room_id, service=self.url, head=chain.head, length=chain.length,
            recomputed=recomputed,
            previous_head=remembered["head"] if remembered else None,
            previous_length=int(remembered["length"]) if remembered else None,
            audit_head_seq=chain.audit_head_seq, audit_recomputed=audit_recomputed)

"""Wire models of the privacy contract: hash chains, proposals and consent, dataset floors, run limits."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field, StrictBool, StrictFloat, StrictInt, StrictStr


class In(BaseModel):
    """Requests refuse unknown fields, so a typo is an error rather than a silent default."""

    model_config = ConfigDict(extra="forbid")


class ChainEntry(BaseModel):
    seq: int
    prev_hash: str
    entry_hash: str
    #: the entry's content, only when it concerns the caller's org (else null: the hash still links)
    payload: dict[str, Any] | None


class Chain(BaseModel):
    room_id: str
    chain: str
    head: str
    length: int
    entries: list[ChainEntry]
    #: the audit log's chain (one for the whole service): its head, the room's events that
    #: concern the caller's org in full, and the hash at the seq the caller asked about
    audit_head_seq: int = 0
    audit_head: str = "0" * 64
    audit_entries: list[ChainEntry] = []
    audit_anchor: str | None = None


class Verification(BaseModel):
    """What ``client.verify`` checked and now remembers."""

    room_id: str
    service: str
    head: str
    length: int
    #: entries whose payload the caller could recompute (those that concern its org)
    recomputed: int
    #: the head remembered from the previous verification (None the first time)
    previous_head: str | None
    previous_length: int | None
    #: the audit chain's head now, and how many of the room's events concerning you were recomputed
    audit_head_seq: int = 0
    audit_recomputed: int = 0


class ProposalCreate(In):
    """Weakening room settings, or one party's budget: only the fields given change."""

    k_min: StrictInt | None = Field(default=None, ge=1, le=1_000_000)
    dp_enabled: StrictBool | None = None
    epsilon_budget: StrictStr | None = None
    delta_budget: StrictStr | None = None
    #: the largest epsilon one run may spend (the room's epsilon bounds)
    max_epsilon_per_run: StrictStr | None = None
    #: a party's own budget in the room (with epsilon_budget/delta_budget): the party must approve
    org_id: StrictStr | None = None
    note: StrictStr = Field(default="", max_length=2000)


class ProposalDecision(In):
    approve: StrictBool


class Consent(BaseModel):
    org_id: str
    org_name: str
    decision: str
    decided_by: str | None
    decided_at: str | None


class Proposal(BaseModel):
    id: str
    room_id: str
    kind: str
    target_org_id: str | None
    changes: dict[str, Any]
    #: why each change weakens someone's protection
    reasons: list[str]
    proposed_by: str
    proposed_by_org: str
    status: str
    consents: list[Consent]
    created_at: str
    decided_at: str | None


class FloorSet(In):
    #: None removes the floor
    k_min: StrictInt | None = Field(default=None, ge=1, le=1_000_000)


class PartyBudget(BaseModel):
    """One data party's ledger in the room (exact figures as text)."""

    org_id: str
    org_name: str
    epsilon_total: str
    #: spent: shown to the party itself and the room owner only (None to other parties)
    epsilon_spent: str | None = None
    delta_total: str
    delta_spent: str | None = None


class Protections(BaseModel):
    """The strictest settings in force in a room, and where each comes from."""

    room_id: str
    room_k_min: int
    #: dataset id -> its own floor
    dataset_floors: dict[str, int]
    #: the largest of the room's k-min and every floor
    effective_k_min: int
    dp_enabled: bool
    open_proposals: int
    #: every data party's agreed budget (what protects the others too); its spend only for the
    #: party itself and the room owner
    parties: list[PartyBudget] = []


class RunLimitsSet(In):
    #: seconds (fractions allowed, at least a millisecond)
    timeout_seconds: StrictFloat | StrictInt | None = Field(default=None, ge=0.001, le=86_400)
    max_concurrent_per_user: StrictInt | None = Field(default=None, ge=1, le=1_000)
    max_concurrent_per_room: StrictInt | None = Field(default=None, ge=1, le=10_000)


class RunLimits(BaseModel):
    room_id: str
    timeout_seconds: float
    max_concurrent_per_user: int
    max_concurrent_per_room: int

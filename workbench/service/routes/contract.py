"""Routes of the privacy contract: proposals and consent, protections, dataset floors, the chain."""

from __future__ import annotations

from fastapi import APIRouter, Depends

from workbench.contract import consent, verification
from workbench.governance import Actor
from workbench.runs import limits
from workbench.service.deps import current_actor, get_store
from workbench.store import Store
from workbench.wire import contract as w

router = APIRouter(tags=["contract"])
Who = Depends(current_actor)
Db = Depends(get_store)
R = "/rooms/{room_id}"


@router.post(R + "/proposals", response_model=w.Proposal, status_code=201)
def propose(room_id: str, body: w.ProposalCreate, actor: Actor = Who, store: Store = Db) -> w.Proposal:
    return consent.propose(store, actor, room_id, body)


@router.get(R + "/proposals", response_model=list[w.Proposal])
def list_proposals(room_id: str, status: str | None = None, actor: Actor = Who,
                   store: Store = Db) -> list[w.Proposal]:
    return consent.list_proposals(store, actor, room_id, status)


@router.post(R + "/proposals/{proposal_id}/decision", response_model=w.Proposal)
def decide(room_id: str, proposal_id: str, body: w.ProposalDecision, actor: Actor = Who,
           store: Store = Db) -> w.Proposal:
    return consent.decide(store, actor, room_id, proposal_id, body.approve)


@router.get(R + "/protections", response_model=w.Protections)
def protections(room_id: str, actor: Actor = Who, store: Store = Db) -> w.Protections:
    return consent.protections(store, actor, room_id)


@router.put(R + "/datasets/{dataset_id}/k-min-floor", response_model=w.Protections)
def set_floor(room_id: str, dataset_id: str, body: w.FloorSet, actor: Actor = Who,
              store: Store = Db) -> w.Protections:
    return consent.set_floor(store, actor, room_id, dataset_id, body)


@router.get(R + "/chain", response_model=w.Chain)
def chain(room_id: str, audit_seq: int | None = None, actor: Actor = Who, store: Store = Db
          ) -> w.Chain:
    return verification.chain_view(store, actor, room_id, audit_seq)


@router.get(R + "/run-limits", response_model=w.RunLimits)
def run_limits(room_id: str, actor: Actor = Who, store: Store = Db) -> w.RunLimits:
    return limits.get_limits(store, actor, room_id)


@router.put(R + "/run-limits", response_model=w.RunLimits)
def set_run_limits(room_id: str, body: w.RunLimitsSet, actor: Actor = Who,
                   store: Store = Db) -> w.RunLimits:
    return limits.set_limits(store, actor, room_id, body)

"""Consent: a change that weakens a data party's protection waits until that party approves.

Once another party's data is in a room, switching differential privacy off, lowering k-min or
raising a budget is a proposal. Every affected data party must approve it before it applies; any
of them may decline it. Strengthening changes never wait. Where parties' settings differ the
strictest wins: each dataset may declare its own k-min floor, and a run uses the largest of the
room's k-min and the floors of the datasets it reads.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Iterable
from dataclasses import dataclass
from fractions import Fraction
from typing import Any

from workbench.contract import _records as rec
from workbench.data import data_parties
from workbench.errors import Conflict, InvalidInput, NotFound
from workbench.governance.audit import record
from workbench.governance.model import Actor, Room, RoomAccess
from workbench.ids import new_id, parse_uuid
from workbench.privacy.budget import Budget, display, to_fraction
from workbench.runs import budgets
from workbench.governance.policy import ensure_allowed, ensure_allowed_in_room
from workbench.store import Store
from workbench.wire import contract as w

#: the proposal kinds: the room's settings (every data party decides) or one party's own budget
ROOM = "room_settings"
PARTY_BUDGET = "party_budget"


@dataclass(frozen=True, slots=True, kw_only=True)
class Weakening:
    """The privacy-relevant part of a change: values to write and why each one weakens."""

    values: dict[str, Any]
    reasons: list[str]


def _budget(value: Any, name: str) -> Fraction:
    amount = to_fraction(value, name=name)
    if amount <= 0:
        raise InvalidInput(f"{name} must be above 0")
    return amount


def classify(room: Room, changes: dict[str, Any]) -> tuple[dict[str, Any], Weakening]:
    """Split room setting changes into (strengthening or neutral values, weakening ones)."""
    direct: dict[str, Any] = {}
    weak: dict[str, Any] = {}
    reasons: list[str] = []
    if changes.get("dp_enabled") is not None:
        if room.dp_enabled and changes["dp_enabled"] is False:
            weak["dp_enabled"] = False
            reasons.append("switches differential privacy off: results become exact aggregates")
        else:
            direct["dp_enabled"] = changes["dp_enabled"]
    if changes.get("k_min") is not None:
        (weak if changes["k_min"] < room.k_min else direct)["k_min"] = changes["k_min"]
        if changes["k_min"] < room.k_min:
            reasons.append(f"lowers k-min from {room.k_min} to {changes['k_min']}")
    for name, now in (("epsilon_budget", room.epsilon_budget), ("delta_budget", room.delta_budget)):
        if changes.get(name) is None:
            continue
        new = _budget(changes[name], name)
        if name == "delta_budget" and new >= 1:
            raise InvalidInput("delta_budget must be below 1 (use a tiny value such as 1e-6)")
        if new > now:
            weak[name] = str(new)
            reasons.append(f"raises every party's {name.split('_')[0]} budget from {now} to {new}")
        else:
            direct[name] = str(new)
    return direct, Weakening(values=weak, reasons=reasons)


def affected_parties(cur: Any, room: Room, proposer_org: str) -> list[str]:
    """Data parties other than the proposer: each must approve a weakening of the room."""
    return [org for org in data_parties(cur, room.id) if org != proposer_org]


def _check_default_covers_spent(cur: Any, room: Room, direct: dict[str, Any]) -> None:
    """A lower room default may not fall below what a party following it has already spent."""
    if "epsilon_budget" not in direct and "delta_budget" not in direct:
        return
    new = Budget(epsilon=Fraction(direct.get("epsilon_budget", room.epsilon_budget)),
                 delta=Fraction(direct.get("delta_budget", room.delta_budget)))
    for org_id in data_parties(cur, room.id):
        if budgets.party_budget(cur, room, org_id) != budgets.room_default(room):
            continue  # the party set its own budget; the default does not bind it
        used = budgets.spent(cur, room.id, org_id)
        if not new.covers(used):
            raise InvalidInput(
                f"a room budget below what a party has already spent ({used.describe(up=True)}) "
                "cannot be set; set at least that much", org_id=org_id)


def _max_epsilon_change(cur: Any, room: Room, value: Any) -> Weakening:
    """Raising the largest epsilon one run may spend weakens every data party's protection."""
    _, now = budgets.epsilon_bounds(cur, room)
    new = _budget(value, "max_epsilon_per_run")
    if now is None or new <= now:  # no cap before, or a lower one: stricter
        return Weakening(values={}, reasons=[])
    return Weakening(values={"max_epsilon_per_run": str(new)},
                     reasons=[f"raises the largest epsilon per run from {now} to {new}"])


def guard_epsilon_bounds(cur: Any, actor: Actor, room: Room, high: Fraction | None) -> None:
    """Refuse (changing nothing) a direct raise of the maximum epsilon per run once another
    party's data is in the room; the runs package's set_epsilon_bounds calls this."""
    weak = _max_epsilon_change(cur, room, room.epsilon_budget if high is None else high)
    parties = affected_parties(cur, room, actor.org_id)
    if weak.values and parties:
        raise Conflict(
            f"this change {weak.reasons[0]}, and other parties' data is in the room: it needs "
            f"their consent. Propose it instead (client.propose({room.id!r}, max_epsilon_per_run="
            f"{weak.values['max_epsilon_per_run']!r})); it applies when every affected party "
            "approves", reasons=weak.reasons, parties=parties)


def guard_room_update(cur: Any, actor: Actor, room: Room, changes: dict[str, Any]) -> None:
    """Refuse (changing nothing) a direct room update that weakens another data party's protection.

    governance's update_room calls this before it writes; strengthening changes pass (a budget
    below what a party already spent is refused).
    """
    direct, weak = classify(room, changes)
    _check_default_covers_spent(cur, room, direct)
    if not weak.values:
        return
    parties = affected_parties(cur, room, actor.org_id)
    if not parties:
        return
    fields = ", ".join(f"{k}={v!r}" for k, v in sorted(weak.values.items()))
    raise Conflict(
        f"this change {'; '.join(weak.reasons)}, and other parties' data is in the room: it needs "
        f"their consent. Propose it instead (client.propose({room.id!r}, {fields})); it applies "
        "when every affected party approves", reasons=weak.reasons, parties=parties)


def _audit_parties(cur: Any, actor: Actor, action: str, room_id: str, proposal_id: str,
                   parties: Iterable[str], reason: str, detail: dict[str, Any]) -> None:
    """One audit event per affected party, so each sees the proposal in its own log."""
    for org_id in sorted(set(parties)):
        record(cur, actor, action, room_id=room_id, resource_type="proposal",
               resource_id=proposal_id, resource_org_id=org_id, reason=reason, detail=detail)


def _proposal_out(cur: Any, row: rec.ProposalRow) -> w.Proposal:
    return w.Proposal(
        id=row.id, room_id=row.room_id, kind=row.kind, target_org_id=row.target_org_id,
        changes=json.loads(row.changes), reasons=json.loads(row.reasons),
        proposed_by=row.proposed_by, proposed_by_org=row.proposed_by_org, status=row.status,
        consents=[w.Consent(org_id=c.org_id, org_name=c.org_name, decision=c.decision,
                            decided_by=c.decided_by,
                            decided_at=c.decided_at.isoformat() if c.decided_at else None)
                  for c in rec.consents(cur, row.id)],
        created_at=row.created_at.isoformat(),
        decided_at=row.decided_at.isoformat() if row.decided_at else None)


def _apply(cur: Any, actor: Actor, room: Room, row: rec.ProposalRow) -> None:
    changes = json.loads(row.changes)
    if "max_epsilon_per_run" in changes:
        low, _ = budgets.epsilon_bounds(cur, room)
        budgets.set_epsilon_bounds(cur, room.id, low, Fraction(changes.pop("max_epsilon_per_run")),
                                   actor.user_id)
    if row.kind == PARTY_BUDGET:
        assert row.target_org_id is not None
        budgets.set_party_budget(cur, room.id, row.target_org_id,
                                 Budget(epsilon=Fraction(changes["epsilon_budget"]),
                                        delta=Fraction(changes["delta_budget"])), actor.user_id)
        rec.set_proposal_status(cur, row.id, "applied")
        return
    rec.apply_room_settings(cur, room.id, changes)
    if changes.get("dp_enabled") is False:
        record(cur, actor, "room.dp_disabled", room_id=room.id, resource_type="room",
               resource_id=room.id, resource_org_id=room.owner_org_id,
               reason="every affected data party approved switching differential privacy off",
               detail={"proposal_id": row.id})
    rec.set_proposal_status(cur, row.id, "applied")


def propose(store: Store, actor: Actor, room_id: str, body: w.ProposalCreate) -> w.Proposal:
    """Propose weakening room settings; applies at once when no other data party is affected."""
    room_id = parse_uuid(room_id, "room")
    changes = body.model_dump(exclude_unset=True, exclude={"note", "org_id"})
    if not changes:
        raise InvalidInput("propose at least one of k_min, dp_enabled, epsilon_budget, delta_budget")
    with store.transaction() as cur:
        access = ensure_allowed_in_room(cur, actor, "contract.propose", room_id=room_id,
                                resource_type="proposal", resource_org_id=body.org_id,
                                detail={k: str(v) for k, v in changes.items()})
        room = access.room
        if body.org_id is not None:
            kind, target = PARTY_BUDGET, body.org_id
            weak, parties = _party_budget_change(cur, room, body, changes)
            parties = [org_id for org_id in parties if org_id != actor.org_id]
        else:
            kind, target = ROOM, None
            top = changes.pop("max_epsilon_per_run", None)
            direct, weak = classify(room, changes)
            if top is not None:
                more = _max_epsilon_change(cur, room, top)
                if not more.values:
                    direct["max_epsilon_per_run"] = top
                weak = Weakening(values={**weak.values, **more.values},
                                 reasons=weak.reasons + more.reasons)
            if direct:
                names = ", ".join(sorted(direct))
                raise InvalidInput(f"{names} would not weaken anyone's protection: change it "
                                   "directly with update_room; propose only weakening changes")
            parties = affected_parties(cur, room, actor.org_id)
        proposal_id = new_id()
        rec.insert_proposal(cur, id=proposal_id, room_id=room_id, kind=kind, target_org_id=target,
                            changes=weak.values, reasons=weak.reasons, proposed_by=actor.user_id,
                            proposed_by_org=actor.org_id)
        rec.insert_consent(cur, proposal_id, actor.org_id, "approved", actor.user_id)
        for org_id in parties:
            rec.insert_consent(cur, proposal_id, org_id, "pending", None)
        detail = {"changes": weak.values, "reasons": weak.reasons, "note": body.note}
        _audit_parties(cur, actor, "contract.proposal.created", room_id, proposal_id,
                       [actor.org_id, *parties], "; ".join(weak.reasons), detail)
        row = rec.proposal(cur, room_id, proposal_id)
        assert row is not None
        if not parties:
            _apply(cur, actor, room, row)
            _audit_parties(cur, actor, "contract.proposal.applied", room_id, proposal_id,
                           [actor.org_id], "no other data party is affected", detail)
            row = rec.proposal(cur, room_id, proposal_id)
            assert row is not None
        return _proposal_out(cur, row)


def _party_budget_change(cur: Any, room: Room, body: w.ProposalCreate, changes: dict[str, Any]
                         ) -> tuple[Weakening, list[str]]:
    """A raise of one party's budget: only that party decides (it may lower its own any time)."""
    target = parse_uuid(body.org_id, "organisation")
    if set(changes) - {"epsilon_budget", "delta_budget"}:
        raise InvalidInput("a party budget proposal changes only epsilon_budget and delta_budget; "
                           "propose room settings without org_id")
    if target not in data_parties(cur, room.id):
        raise InvalidInput(f"{target} has no data in this room: only a data party has a budget "
                           "to raise here")
    now = budgets.party_budget(cur, room, target)
    eps = _budget(changes.get("epsilon_budget", now.epsilon), "epsilon_budget")
    delta = to_fraction(changes.get("delta_budget", now.delta), name="delta_budget")
    if delta >= 1:
        raise InvalidInput("delta_budget must be below 1 (use a tiny value such as 1e-6)")
    new = Budget(epsilon=eps, delta=delta)
    if now.covers(new):
        raise InvalidInput("this does not raise the party's budget; a party lowers its own budget "
                           "itself, no proposal needed")
    used = budgets.spent(cur, room.id, target)
    if not new.covers(used):
        raise InvalidInput(f"a budget below what the party already spent ({used.describe(up=True)})"
                           " cannot be set; propose at least that much")
    reasons = [f"raises the party's budget from {now.describe(up=False)} to "
               f"{new.describe(up=False)}"]
    values = {"epsilon_budget": str(eps), "delta_budget": str(delta)}
    return Weakening(values=values, reasons=reasons), [target]


def decide(store: Store, actor: Actor, room_id: str, proposal_id: str, approve: bool) -> w.Proposal:
    """An affected party approves or declines; the last approval applies the change."""
    room_id = parse_uuid(room_id, "room")
    proposal_id = parse_uuid(proposal_id, "proposal")
    verb = "approved" if approve else "declined"
    with store.transaction() as cur:
        access = ensure_allowed_in_room(cur, actor, "contract.decide", room_id=room_id,
                                resource_type="proposal", resource_id=proposal_id,
                                detail={"decision": verb})
        row = rec.proposal(cur, room_id, proposal_id)
        if row is None:
            raise NotFound(f"no proposal {proposal_id} in this room; list them with "
                           "client.proposals(room)")
        if row.status != "open":
            raise Conflict(f"the proposal is already {row.status}; nothing to decide (make a new "
                           "proposal to change the settings again)", status=row.status)
        mine = next(c for c in rec.consents(cur, proposal_id) if c.org_id == actor.org_id)
        if mine.decision != "pending":
            raise Conflict(f"your organisation already {mine.decision} this proposal")
        rec.set_consent(cur, proposal_id, actor.org_id, verb, actor.user_id)
        if row.kind == ROOM:  # a party whose data arrived after the proposal is asked too
            for org_id in affected_parties(cur, access.room, row.proposed_by_org):
                if org_id not in {c.org_id for c in rec.consents(cur, proposal_id)}:
                    rec.insert_consent(cur, proposal_id, org_id, "pending", None)
        everyone = rec.consents(cur, proposal_id)
        parties = [c.org_id for c in everyone]
        detail = {"changes": json.loads(row.changes), "decision": verb}
        _audit_parties(cur, actor, f"contract.proposal.{verb}", room_id, proposal_id, parties,
                       f"{verb} by an affected party", detail)
        if not approve:
            rec.set_proposal_status(cur, proposal_id, "declined")
        elif all(c.decision == "approved" for c in everyone):
            _apply(cur, actor, access.room, row)
            _audit_parties(cur, actor, "contract.proposal.applied", room_id, proposal_id, parties,
                           "every affected party approved", detail)
        updated = rec.proposal(cur, room_id, proposal_id)
        assert updated is not None
        return _proposal_out(cur, updated)


def list_proposals(store: Store, actor: Actor, room_id: str, status: str | None = None
                   ) -> list[w.Proposal]:
    """Every proposal of the room, shown to every party of it."""
    room_id = parse_uuid(room_id, "room")
    if status is not None and status not in ("open", "applied", "declined"):
        raise InvalidInput("status is one of open, applied, declined")
    with store.reader() as cur:
        ensure_allowed(cur, actor, "contract.proposals.list", room_id=room_id,
                       resource_type="proposal")
        return [_proposal_out(cur, r) for r in rec.proposals(cur, room_id, status)]


def may_decide(cur: Any, actor: Actor, access: Any, proposal_id: str | None) -> str | None:
    """Policy check of contract.decide: only an affected party of a proposal of this room."""
    if proposal_id is None:
        return "name the proposal to decide"
    if rec.proposal(cur, access.room.id, proposal_id) is None:
        return None  # decide() answers NotFound, as for any unknown id
    if actor.org_id not in {c.org_id for c in rec.consents(cur, proposal_id)}:
        return ("your organisation is not a party affected by this proposal; only the parties "
                "whose data it concerns decide it")
    return None


# -- the strictest setting wins --------------------------------------------------------------------


def effective_k_min(cur: Any, room: Room, dataset_ids: Iterable[str] | None = None) -> int:
    """The crowd size a run uses: the room's k-min or a read dataset's own floor, whichever is larger."""
    wanted = None if dataset_ids is None else set(dataset_ids)
    floors = [f.k_min for f in rec.floors(cur, room.id) if wanted is None or f.dataset_id in wanted]
    return max([room.k_min, *floors])


def set_floor(store: Store, actor: Actor, room_id: str, dataset_id: str, body: w.FloorSet
              ) -> w.Protections:
    """A data party sets (or removes) its own dataset's k-min floor in a room: its own choice."""
    room_id = parse_uuid(room_id, "room")
    dataset_id = parse_uuid(dataset_id, "dataset")
    with store.transaction() as cur:
        access = ensure_allowed_in_room(cur, actor, "contract.floor.set", room_id=room_id,
                                resource_type="dataset", resource_id=dataset_id,
                                resource_org_id=actor.org_id,
                                detail={"k_min": body.k_min})
        rec.set_floor(cur, room_id, dataset_id, actor.org_id, body.k_min, actor.user_id)
        return _protections(cur, actor, access)


def may_set_floor(cur: Any, actor: Actor, access: Any, dataset_id: str | None) -> str | None:
    """Policy check of contract.floor.set: a party sets floors of its own datasets only."""
    owner = rec.dataset_owner(cur, access.room.id, dataset_id) if dataset_id else None
    if owner is None:
        return "no such dataset in this room"
    if owner != actor.org_id:
        return "only the dataset's own organisation sets its k-min floor"
    return None


def _protections(cur: Any, actor: Actor, access: RoomAccess) -> w.Protections:
    room = access.room
    floors = {f.dataset_id: f.k_min for f in rec.floors(cur, room.id)}
    parties = []
    names = rec.org_names(cur, data_parties(cur, room.id))
    for org_id, org_name in names:
        fig = budgets.figures(cur, room, org_id)
        shown = budgets.sees_figures(actor.org_id, access.is_owner, org_id)
        parties.append(w.PartyBudget(
            org_id=org_id, org_name=org_name,
            epsilon_total=display(fig.total.epsilon, up=False),
            epsilon_spent=display(fig.spent.epsilon, up=True) if shown else None,
            delta_total=display(fig.total.delta, up=False),
            delta_spent=display(fig.spent.delta, up=True) if shown else None))
    return w.Protections(room_id=room.id, room_k_min=room.k_min, dataset_floors=floors,
                         effective_k_min=max([room.k_min, *floors.values()]),
                         dp_enabled=room.dp_enabled,
                         open_proposals=len(rec.proposals(cur, room.id, "open")), parties=parties)


def protections(store: Store, actor: Actor, room_id: str) -> w.Protections:
    """The strictest settings in force and the number of open proposals."""
    room_id = parse_uuid(room_id, "room")
    with store.reader() as cur:
        access = ensure_allowed_in_room(cur, actor, "contract.protections.read", room_id=room_id,
                                resource_type="room", resource_id=room_id)
        return _protections(cur, actor, access)


def strictest(cur: Any, access: RoomAccess) -> RoomAccess:
    """The actor's access with the room's k-min raised to the strictest in force (the room's or
    any dataset floor), for the run path: plans, releases and manifests all use it."""
    k_min = effective_k_min(cur, access.room)
    if k_min == access.room.k_min:
        return access
    return dataclasses.replace(access, room=dataclasses.replace(access.room, k_min=k_min))

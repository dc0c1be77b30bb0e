"""Red team against the privacy contract (issue 9): a suspicious owner trying every endpoint
that could weaken a partner's protection without its consent, and an analyst retrying runs to
spend twice or draw fresh noise. Everything here must be refused and change nothing."""

from __future__ import annotations

import pytest

import workbench as wb
from tests.runs.room import add_q1, build_room


@pytest.fixture
def room(admin, make_org):
    """DP on, k-min 5, budget 10: the partner's data is in."""
    return build_room(admin, make_org, dp=True, k_min=5, epsilon_budget="10")


def _state(room):
    r = next(x for x in room.owner.rooms() if x.id == room.id)
    b = room.partner.budget(room.id)
    return (r.dp_enabled, r.k_min, r.epsilon_budget, r.delta_budget, b.epsilon_total,
            b.delta_total, room.partner.epsilon_bounds(room.id).max_epsilon,
            room.partner.protections(room.id).dataset_floors)


def test_the_owner_cannot_weaken_the_partner_directly_by_any_endpoint(room):
    room.owner.set_epsilon_bounds(room.id, min_epsilon="0.01", max_epsilon="2")  # stricter: ok
    room.partner.set_k_min_floor(room.id, room.advertiser_dataset, 20)
    before = _state(room)
    attempts = {
        "dp off": lambda: room.owner.update_room(room.id, dp_enabled=False),
        "lower k-min": lambda: room.owner.update_room(room.id, k_min=1),
        "raise room budget": lambda: room.owner.update_room(room.id, epsilon_budget="1000"),
        "raise room delta": lambda: room.owner.update_room(room.id, delta_budget="0.5"),
        "set partner budget": lambda: room.owner.set_budget(room.id, room.partner_org,
                                                            epsilon="1000"),
        "raise partner budget": lambda: room.owner.raise_budget(room.id, room.partner_org,
                                                                epsilon="1"),
        "raise partner delta only": lambda: room.owner.set_budget(room.id, room.partner_org,
                                                                  epsilon="10", delta="0.5"),
        "raise max epsilon per run": lambda: room.owner.set_epsilon_bounds(
            room.id, min_epsilon="0.01", max_epsilon="10"),
        "lift max epsilon per run": lambda: room.owner.set_epsilon_bounds(
            room.id, min_epsilon="0.01", max_epsilon=None),
        "remove the partner's floor": lambda: room.owner.set_k_min_floor(
            room.id, room.advertiser_dataset, None),
        "lower the partner's floor": lambda: room.owner.set_k_min_floor(
            room.id, room.advertiser_dataset, 1),
    }
    for name, attempt in attempts.items():
        with pytest.raises(wb.errors.WorkbenchError):
            attempt()
        assert _state(room) == before, name
    # strengthening and neutral changes still go through
    room.owner.update_room(room.id, k_min=6)
    assert _state(room)[1] == 6


def test_only_the_affected_party_decides_and_only_once(room, make_org):
    proposal = room.owner.propose(room.id, k_min=2)
    before = _state(room)
    with pytest.raises(wb.errors.WorkbenchError):  # the proposer's own approval is implied
        room.owner.approve(room.id, proposal.id)
    outsider = make_org("outsider").admin
    with pytest.raises(wb.errors.WorkbenchError):
        outsider.approve(room.id, proposal.id)
    assert _state(room) == before
    raise_partner = room.owner.propose_party_budget(room.id, room.partner_org,
                                                    epsilon_budget="100")
    with pytest.raises(wb.errors.WorkbenchError):
        room.owner.approve(room.id, raise_partner.id)
    assert room.partner.budget(room.id).epsilon_total == "10"
    room.partner.decline(room.id, proposal.id)
    with pytest.raises(wb.errors.Conflict):  # decided: cannot be approved afterwards
        room.partner.approve(room.id, proposal.id)
    assert _state(room) == before


def test_an_idempotent_retry_cannot_change_its_request_or_spend_twice(room):
    qid = add_q1(room)
    first = room.owner.run(room.id, qid, {"min_amount": 0}, epsilon="1", idempotency_key="k")
    spent = room.partner.budget(room.id).epsilon_spent
    for changed in ({"epsilon": "2"}, {"delta": "0.0001"}, {"parameters": {"min_amount": 1}}):
        args = {"parameters": {"min_amount": 0}, "epsilon": "1", **changed}
        with pytest.raises(wb.errors.Conflict):
            room.owner.run(room.id, qid, args["parameters"], epsilon=args["epsilon"],
                           delta=args.get("delta"), idempotency_key="k")
    again = room.owner.run(room.id, qid, {"min_amount": 0}, epsilon="1", idempotency_key="k")
    assert again.id == first.id
    assert room.owner.run_result(room.id, again.id).rows == \
        room.owner.run_result(room.id, first.id).rows  # no fresh noise
    assert room.partner.budget(room.id).epsilon_spent == spent
    # the partner using the same key gets its own run, charged to the same ledgers
    other = room.partner.run(room.id, qid, {"min_amount": 0}, epsilon="1", idempotency_key="k")
    assert other.id != first.id
    assert float(room.partner.budget(room.id).epsilon_spent) == pytest.approx(float(spent) + 1)

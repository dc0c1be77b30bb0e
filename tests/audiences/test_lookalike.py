"""Lookalikes: trained inside the service on declared features, deterministic with a recorded
seed, a DP reach curve charged to every party, a size picked from it; bad seeds and PII or
identity features are refused with nothing written."""

from __future__ import annotations

import pytest

import workbench as wb
from tests.audiences.conftest import add_user_list


@pytest.fixture
def seeded(room):
    qid = add_user_list(room)
    cohort = room.owner.create_cohort(room.id, "buyers", qid, {"min_amount": 0}, epsilon="1")
    return room, cohort


def test_a_lookalike_curve_is_charged_to_every_party_and_a_size_is_picked(seeded):
    room, seed = seeded
    before = {c: float(c.budget(room.id).epsilon_left) for c in (room.owner, room.partner)}
    look = room.owner.train_lookalike(room.id, "buyers lookalike", seed.id,
                                      ["segment", "visits", "region"], random_seed=7,
                                      epsilon="20")
    assert look.kind == "modeled" and look.status == "trained" and look.size is None
    assert look.random_seed == 7 and look.features == ["segment", "visits", "region"]
    # charged like a run, to every data party (the curve and the user count share it)
    for client, left in before.items():
        assert float(client.budget(room.id).epsilon_left) == pytest.approx(left - 20)
    assert look.epsilon_spent == "20"
    # ~200 released seed members: B from the released size, the method stated in the manifest
    blocks = max(1, seed.size // 100)
    assert look.manifest["blocks"] == blocks and f"1/{blocks}" in look.manifest["curve"]
    assert [p.percent for p in look.curve] == [1, 2, 5, 10, 20, 30, 50, 75, 100]
    assert all(0 <= p.recall <= 1 for p in look.curve)
    # the released points' 95% half-width: the noise of a sum over `blocks` fractions, per block
    assert look.curve_ci95 is not None and 0 < look.curve_ci95
    users = look.curve[-1].top_n  # the released number of users
    assert look.curve[-1].random_recall == 1.0
    picked = room.owner.pick_lookalike_size(room.id, look.id, percent=30)
    assert picked.status == "ready" and picked.size == -(-users * 30 // 100)
    assert picked.version == 1
    again = room.owner.pick_lookalike_size(room.id, look.id, top_n=120)
    assert again.size == 120 and again.version == 2


def test_the_size_grid_comes_from_a_noisy_user_count(seeded):
    """The 100% point was the exact number of the activation party's users: now the grid, the
    percentages and the size errors all use the released count."""
    room, seed = seeded
    released = []
    for i in range(5):
        look = room.owner.train_lookalike(room.id, f"grid {i}", seed.id, ["visits"],
                                          random_seed=i, epsilon="0.5")
        n = look.curve[-1].top_n
        assert [p.top_n for p in look.curve] == [max(1, -(-n * p // 100))
                                                for p in (1, 2, 5, 10, 20, 30, 50, 75, 100)]
        released.append(n)
    # 600 users; with epsilon 0.25 on the count, five exact answers in a row have odds ~3e-5
    assert set(released) != {600}
    look_n = released[-1]
    with pytest.raises(wb.errors.InvalidInput, match=f"{look_n:,} users") as refused:
        room.owner.pick_lookalike_size(room.id, look.id, top_n=look_n + 1)
    assert "600" not in str(refused.value) or look_n == 600


def test_training_is_deterministic_with_a_recorded_seed(seeded):
    room, seed = seeded
    a = room.owner.train_lookalike(room.id, "a", seed.id, ["segment", "visits"], random_seed=3,
                                   epsilon="1")
    b = room.owner.train_lookalike(room.id, "b", seed.id, ["segment", "visits"], random_seed=3,
                                   epsilon="1")
    assert a.manifest["random_seed"] == b.manifest["random_seed"] == 3
    drawn = room.owner.train_lookalike(room.id, "c", seed.id, ["visits"], epsilon="1")
    assert isinstance(drawn.random_seed, int)


@pytest.mark.parametrize("features, message", [
    (["email"], "identity"),
    (["phone"], "PII"),
    (["nope"], "not a provisioned column"),
    (["amount"], "not a provisioned column"),
])
def test_identity_pii_and_unknown_features_are_refused(seeded, features, message):
    room, seed = seeded
    left = room.partner.budget(room.id).epsilon_left
    with pytest.raises(wb.errors.InvalidInput, match=message):
        room.owner.train_lookalike(room.id, "bad", seed.id, features, epsilon="1")
    assert [c.kind for c in room.owner.cohorts(room.id)] == ["matched"]
    assert room.partner.budget(room.id).epsilon_left == left


def test_a_seed_too_small_or_above_the_room_maximum_is_refused(seeded):
    room, seed = seeded
    qid = add_user_list(room)
    small = room.owner.create_cohort(room.id, "big spenders", qid, {"min_amount": 280},
                                     epsilon="5")
    with pytest.raises(wb.errors.InvalidInput, match="at least 25"):
        room.owner.train_lookalike(room.id, "too small", small.id, ["visits"], epsilon="1")
    room.owner.set_audience_terms(room.id, max_seed=100)
    with pytest.raises(wb.errors.InvalidInput, match="maximum seed"):
        room.owner.train_lookalike(room.id, "too big", seed.id, ["visits"], epsilon="1")
    assert {c.kind for c in room.owner.cohorts(room.id)} == {"matched"}


def test_sizes_outside_the_population_or_under_k_min_are_refused(seeded):
    room, seed = seeded
    look = room.owner.train_lookalike(room.id, "look", seed.id, ["visits"], epsilon="1")
    with pytest.raises(wb.errors.InvalidInput, match="larger than"):
        room.owner.pick_lookalike_size(room.id, look.id, top_n=10_000)
    with pytest.raises(wb.errors.InvalidInput, match="k-min"):
        room.owner.pick_lookalike_size(room.id, look.id, top_n=2)
    with pytest.raises(wb.errors.InvalidInput, match="either"):
        room.owner.pick_lookalike_size(room.id, look.id)
    assert room.owner.cohort(room.id, look.id).status == "trained"

"""The demo's audience step, over the service: a cohort, a lookalike and one activation."""

from __future__ import annotations

from workbench.audiences.demo import seed_audiences


def test_the_demo_seeds_a_cohort_a_lookalike_and_one_activation(room, activation_root):
    out = seed_audiences(room.owner, room.partner, room.id, features=("segment", "visits"))
    kinds = {c.name: (c.kind, c.status) for c in room.partner.cohorts(room.id)}
    assert kinds == {"Matched buyers": ("matched", "ready"),
                     "Buyers lookalike": ("modeled", "ready")}
    (act,) = room.partner.activations(room.id)
    assert act.id == out["activation_id"] and act.frequency_cap == {"impressions": 3, "per": "day"}
    assert (activation_root / "gam").is_dir()

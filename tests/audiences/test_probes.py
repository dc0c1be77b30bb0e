"""Attack: a party probing a cohort's exact size through refusals.

A cohort under k-min is refused. If the refusal compared the EXACT size with k-min, a party could
build the same definition again and again for free and read, without noise, whether the exact
size reaches k-min (then move k-min or a parameter to binary-search it). The refusal must be
decided on the released (noisy) size and charged before the data is read, so it is an ordinary
DP release: the same exact size is sometimes refused and sometimes kept, and every attempt pays.
(The lookalike's seed-size limits and the picked-size bound are decided on released sizes too:
tests/security/test_redteam_audiences.py and test_lookalike.py.)
"""

from __future__ import annotations

import pytest

import workbench as wb
from tests.audiences.conftest import add_user_list

#: amounts are (7 i) mod 300 for buyer i: exactly 5 buyers spent 290 or more, the room's k-min
AT_K_MIN = 290


def test_the_k_min_refusal_is_decided_on_the_noisy_size_and_charged(room):
    qid = add_user_list(room)
    outcomes = []
    for i in range(12):
        left = float(room.partner.budget(room.id).epsilon_left)
        try:
            kept = room.owner.create_cohort(room.id, f"probe {i}", qid, {"min_amount": AT_K_MIN},
                                            epsilon="0.2")
            assert kept.size >= 5  # kept only when the released size reaches k-min
            outcomes.append("kept")
        except wb.errors.InvalidInput as err:
            assert "k-min" in str(err) and "after noise" in str(err)
            outcomes.append("refused")
        # charged either way, to the party whose data decides it
        assert float(room.partner.budget(room.id).epsilon_left) == pytest.approx(left - 0.2)
    # exactly k-min members: an exact comparison would keep all twelve (odds ~1e-3 with noise)
    assert "refused" in outcomes
    assert {c.name for c in room.owner.cohorts(room.id)} == \
        {f"probe {i}" for i, o in enumerate(outcomes) if o == "kept"}

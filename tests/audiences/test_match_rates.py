"""Match rates per identifier kind: DP-released, charged to every data party, with each party's
own ingest rejections and hints, and nothing of another party's ingest report."""

from __future__ import annotations

import pytest


def test_match_rates_per_kind_are_noisy_charged_and_hinted(room):
    before = {o: float(room.owner.budget(room.id, o).epsilon_left)
              for o in (room.owner_org, room.partner_org)}
    rates = room.owner.match_rates(room.id, epsilon="2")
    assert rates.dp and rates.epsilon_spent == "2" and rates.ci95 > 0
    (email,) = rates.kinds
    assert email.kind == "email"
    sides = {p.org_id: p for p in email.parties}
    pub, adv = sides[room.owner_org], sides[room.partner_org]
    # 600 publisher users; 250 advertiser people, 200 of them publisher users
    assert abs(pub.uploaded - 600) < 30 and abs(adv.uploaded - 250) < 30
    assert abs(pub.matched - 200) < 30 and abs(adv.matched - 200) < 30
    assert pub.rate == pytest.approx(pub.matched / pub.uploaded, abs=1e-3)
    assert adv.rate > pub.rate
    # each side sees only its own ingest report
    assert pub.rows_rejected == 0 and pub.rejections == []
    assert adv.rows_rejected is None and adv.rejections is None
    assert any("normalised" in h for h in rates.hints)
    for org, left in before.items():
        assert float(room.owner.budget(room.id, org).epsilon_left) == pytest.approx(left - 2)


def test_the_partner_sees_its_own_side_only(room):
    rates = room.partner.match_rates(room.id, epsilon="1")
    sides = {p.org_id: p for p in rates.kinds[0].parties}
    assert sides[room.partner_org].rows_rejected == 0
    assert sides[room.owner_org].rejections is None


def test_match_rates_that_do_not_fit_the_budget_are_refused(room):
    import workbench as wb

    with pytest.raises(wb.errors.BudgetExceeded):
        room.owner.match_rates(room.id, epsilon="49.5")
        room.owner.match_rates(room.id, epsilon="49.5")

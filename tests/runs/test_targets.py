"""Accuracy-first planning over a live service: targets are met, at the least epsilon (checked by
brute force), relative targets read the question's public scale, unreachable ones say their cost."""

from __future__ import annotations

from fractions import Fraction
from itertools import product

import pytest

import workbench as wb
from tests.runs.room import Q1_SQL, build_room
from workbench.privacy import Aggregate, plan_release

AVG_SQL = """
SELECT p.region, p.age_band, COUNT(*) AS buyers, SUM(a.amount) AS spend, AVG(a.amount) AS avg_spend
FROM publisher p JOIN advertiser a ON p.email = a.email
GROUP BY p.region, p.age_band
"""
PARAMS = {"min_amount": 0}


@pytest.fixture(scope="module")
def room(live_service):
    owner = live_service.client(live_service.admin_token)
    return build_room(owner, live_service.make_org, epsilon_budget="20")


@pytest.fixture(scope="module")
def q1(room):
    q = room.owner.create_question(
        room.id, "Reach and spend (scaled)", Q1_SQL,
        parameters=[{"name": "min_amount", "type": "number", "default": 0}],
        scales={"reach": 50, "spend": 6000})
    room.owner.add_question(room.id, q.id)
    return q.id


def test_targets_are_met_and_the_plan_shows_cost_and_budget_left(room, q1):
    plan = room.owner.plan(room.id, q1, PARAMS, targets={"reach": "±4", "spend": "±2000"})
    assert plan.targets is not None and plan.targets.reachable and plan.targets.unreachable is None
    cols = {c.name: c for c in plan.columns}
    assert cols["reach"].ci95 <= 4 and cols["spend"].ci95 <= 2000
    asked = {t.name: t for t in plan.targets.targets}
    assert asked["reach"].half_width == 4 and asked["spend"].asked == "±2000"
    assert plan.epsilon == plan.targets.epsilon_needed
    # the budget left after it is shown for every charged party
    left_after = Fraction(plan.budget_after[0].epsilon_left)
    expected = Fraction(plan.budget_before[0].epsilon_left) - Fraction(plan.epsilon)
    assert expected - Fraction(1, 10**4) <= left_after <= expected  # shown to 6 digits, rounded down
    # an even split meeting the same targets costs more (reach needs far less than spend)
    assert Fraction(plan.targets.epsilon_uniform) > Fraction(plan.epsilon)


def test_solution_is_minimal_against_brute_force(room, q1):
    """Every split of a smaller total on a grid misses a target; the solver's total is within
    one grid step of the best grid split."""
    plan = room.owner.plan(room.id, q1, PARAMS, targets={"reach": "±6", "spend": "±3000"})
    cols = {c.name: c for c in plan.columns}
    aggs = [Aggregate(name="reach", kind="count_distinct"),
            Aggregate(name="spend", kind="sum", lower=0.0, upper=250.0,
                      scale=cols["spend"].sensitivity // 250)]
    step = Fraction(1, 50)
    grid = [step * i for i in range(1, 51)]
    best = None
    for e_reach, e_spend in product(grid, grid):
        total = e_reach + e_spend
        if best is not None and total >= best:
            continue
        p = plan_release(aggs, epsilon=total, n_groups=12, keys_public=True,
                         shares={"reach": e_reach, "spend": e_spend})
        if p.aggregate("reach").ci_half_width <= 6 and p.aggregate("spend").ci_half_width <= 3000:
            best = total
    assert best is not None
    solved = Fraction(plan.epsilon)
    assert solved <= best  # nothing on the grid beats it
    assert best - solved <= 2 * step  # and the grid finds nearly as good (each share within a step)
    # one step of the sixth digit less on either vector misses its target
    for name, share in (("reach", Fraction(cols["reach"].epsilon)),
                        ("spend", Fraction(cols["spend"].epsilon))):
        other = "spend" if name == "reach" else "reach"
        less = share - share / 10**5
        p = plan_release(aggs, epsilon=less + Fraction(cols[other].epsilon), n_groups=12,
                         keys_public=True, shares={name: less, other: Fraction(cols[other].epsilon)})
        assert p.aggregate(name).ci_half_width > {"reach": 6, "spend": 3000}[name]


def test_relative_targets_read_the_questions_public_scale(room, q1):
    relative = room.owner.plan(room.id, q1, PARAMS, targets={"reach": "±10%", "spend": "±50%"})
    absolute = room.owner.plan(room.id, q1, PARAMS, targets={"reach": 5, "spend": "±3,000"})
    assert {t.name: t.half_width for t in relative.targets.targets} == {"reach": 5, "spend": 3000}
    assert relative.epsilon == absolute.epsilon and relative.fingerprint == absolute.fingerprint
    assert room.owner.question(room.id, q1).scales == {"reach": 50, "spend": 6000}


def test_relative_target_without_a_scale_and_avg_targets_say_how_to_fix(room):
    q = room.owner.create_question(room.id, "Q1 unscaled", Q1_SQL,
                                   parameters=[{"name": "min_amount", "type": "number", "default": 0}])
    room.owner.add_question(room.id, q.id)
    with pytest.raises(wb.InvalidInput, match=r"declare one in the question \(scales="):
        room.owner.plan(room.id, q.id, PARAMS, targets={"reach": "±2%", "spend": 100})
    with pytest.raises(wb.InvalidInput, match="give a target for every noisy column; missing: spend"):
        room.owner.plan(room.id, q.id, PARAMS, targets={"reach": 5})
    avg = room.owner.create_question(room.id, "avg", AVG_SQL)
    room.owner.add_question(room.id, avg.id)
    with pytest.raises(wb.InvalidInput, match="set targets on those; the average is derived"):
        room.owner.plan(room.id, avg.id, targets={"buyers": 5, "spend": 100, "avg_spend": 1})
    # the average needs no target: it is derived from the targeted sum and count
    plan = room.owner.plan(room.id, avg.id, targets={"buyers": 5, "spend": 2000})
    assert plan.targets.reachable and {t.name for t in plan.targets.targets} == {"buyers", "spend"}


def test_unreachable_targets_say_what_they_would_cost(room, q1):
    plan = room.owner.plan(room.id, q1, PARAMS, targets={"reach": "±0.5", "spend": "±20"})
    assert plan.targets is not None and not plan.targets.reachable
    needed = plan.targets.epsilon_needed
    assert Fraction(needed) > 20
    assert plan.targets.unreachable.startswith(f"these targets need epsilon {needed}:")
    assert "left" in plan.targets.unreachable and "Loosen the targets" in plan.targets.unreachable
    # plans are free and any participant may plan: no party's remaining budget in the reason
    assert "only" not in plan.targets.unreachable and "is left" not in plan.targets.unreachable
    before = room.owner.budget(room.id)
    with pytest.raises(wb.BudgetExceeded):
        room.owner.run(room.id, q1, PARAMS, targets={"reach": "±0.5", "spend": "±20"})
    assert room.owner.budget(room.id) == before


def test_room_maximum_per_run_makes_targets_unreachable(live_service):
    owner = live_service.client(live_service.admin_token)
    room = build_room(owner, live_service.make_org, epsilon_budget="20")
    q = room.owner.create_question(room.id, "Q1 capped", Q1_SQL,
                                   parameters=[{"name": "min_amount", "type": "number", "default": 0}])
    room.owner.add_question(room.id, q.id)
    room.owner.set_epsilon_bounds(room.id, min_epsilon="0.01", max_epsilon="0.5")
    plan = room.owner.plan(room.id, q.id, PARAMS, targets={"reach": "±3", "spend": "±1000"})
    assert not plan.targets.reachable and "maximum per run" in plan.targets.unreachable
    with pytest.raises(wb.InvalidInput, match="maximum per run"):
        room.owner.run(room.id, q.id, PARAMS, targets={"reach": "±3", "spend": "±1000"})


def test_run_by_targets_charges_what_the_plan_said(room, q1):
    targets = {"reach": "±8", "spend": "±4000"}
    plan = room.owner.plan(room.id, q1, PARAMS, targets=targets)
    before = Fraction(room.owner.budget(room.id).epsilon_spent)
    run = room.owner.run(room.id, q1, PARAMS, targets=targets, plan=plan.fingerprint)
    assert run.status == "succeeded" and run.epsilon == plan.epsilon
    assert Fraction(room.owner.budget(room.id).epsilon_spent) == before + Fraction(plan.epsilon)
    manifest = room.owner.manifest(room.id, run.id)
    assert manifest.targets == targets
    shares = {n["vector"]: Fraction(n["epsilon"]) for n in manifest.noise}
    assert shares["reach"] != shares["spend"]  # not an even split
    meta = room.owner.run_result(room.id, run.id).metadata
    assert meta["noise"]["reach"]["ci95"] <= 8 and meta["noise"]["spend"]["ci95"] <= 4000


@pytest.mark.parametrize(("asked", "message"), [
    pytest.param({"reach": "lots", "spend": 100}, "must be a number such as 5000", id="not-a-number"),
    pytest.param({"reach": "±0", "spend": 100}, "must be an error above 0", id="zero"),
    pytest.param({"reach": 5, "spend": 100, "revenue": 5}, r"unknown columns \['revenue'\]", id="unknown-column"),
    pytest.param({}, "give at least one target", id="empty"),
])
def test_bad_targets_are_refused_and_charge_nothing(room, q1, asked, message):
    before = room.owner.budget(room.id)
    with pytest.raises(wb.InvalidInput, match=message):
        room.owner.run(room.id, q1, PARAMS, targets=asked)
    assert room.owner.budget(room.id) == before


def test_the_crowd_count_is_never_starved_by_a_loose_target():
    """The count k-min suppression reads keeps an error of at most k-min: a target on the hidden
    count is refused, one on a visible COUNT(DISTINCT identity) is capped at k-min."""
    from tests.questions.conftest import bindings
    from workbench.questions.compile import compile_question
    from workbench.questions.spec import Question
    from workbench.runs.release import CROWD
    from workbench.runs.targets import plan_targets

    views = Question(name="v", sql="SELECT p.region, SUM(p.pageviews) AS views FROM publisher p "
                                   "GROUP BY p.region")
    compiled = compile_question(views, bindings(), {})
    with pytest.raises(wb.InvalidInput, match="hidden crowd count"):
        plan_targets(compiled, views, 10, {"views": 100, CROWD: 1e9}, Fraction(0))
    dp, _ = plan_targets(compiled, views, 10, {"views": 100}, Fraction(0))
    assert dp.plan.aggregate(CROWD).ci_half_width <= 10

    reach = Question(name="r", sql="SELECT p.region, COUNT(DISTINCT p.email) AS n, "
                                   "SUM(p.pageviews) AS views FROM publisher p GROUP BY p.region")
    dp, _ = plan_targets(compile_question(reach, bindings(), {}), reach, 10,
                         {"n": 1e9, "views": 100}, Fraction(0))
    assert dp.crowd == "n" and dp.plan.aggregate("n").ci_half_width <= 10

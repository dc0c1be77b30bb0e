"""Accuracy-first planning of a run: from error targets per column to the cheapest DP plan.

The solver lives in ``workbench.privacy`` (``solve_targets``); here the targets are read against
the question's public scales, the hidden crowd-size count of the k-min rule gets its default
target (within k-min at 95%), and the plan is checked against what the charged parties have left
and the room's maximum per run, so an unreachable set of targets says what it would cost.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from fractions import Fraction
from typing import Any

from workbench.errors import BudgetExceeded, InvalidInput
from workbench.governance.model import Room
from workbench.privacy import TargetSolution, parse_target, solve_targets
from workbench.privacy.budget import Budget, display
from workbench.questions.compile import Compiled
from workbench.questions.spec import Question
from workbench.runs import budgets
from workbench.runs.release import DPPlan, aggregates_for
from workbench.wire import questions as w


def absolute_targets(spec: Question, asked: Mapping[str, Any]) -> dict[str, float]:
    """Each target as an absolute 95% half-width, relative ones read against the question's
    public scales."""
    if not asked:
        raise InvalidInput("give at least one target, e.g. {'reach': '±2%'}")
    return {name: parse_target(name, value, spec.scales.get(name)) for name, value in asked.items()}


def plan_targets(compiled: Compiled, spec: Question, k_min: int, asked: Mapping[str, Any],
                 delta: Fraction) -> tuple[DPPlan, TargetSolution]:
    """The cheapest DP plan meeting every target (no data read, nothing charged)."""
    aggs, crowd, hidden = aggregates_for(compiled, k_min)
    wanted = absolute_targets(spec, asked)
    if crowd is not None:
        # the crowd count decides suppression: it is never starved of budget by a loose target
        if hidden and crowd in wanted:
            raise InvalidInput(f"{crowd!r} is the room's hidden crowd count, not a column of the "
                               "result; its error follows the room's k-min")
        if hidden or crowd in wanted:
            wanted[crowd] = min(wanted.get(crowd, float(k_min)), float(k_min))
    keys = compiled.key_values
    solved = solve_targets(aggs, wanted, n_groups=len(keys) if keys is not None else 0,
                           keys_public=keys is not None, delta=0 if keys is not None else delta)
    return DPPlan(plan=solved.plan, crowd=crowd, crowd_hidden=hidden), solved


def unreachable(cur: Any, room: Room, parties: Sequence[str], datasets: Sequence[str],
                cost: Budget, names: Mapping[str, str]) -> str | None:
    """Why a charge of ``cost`` cannot be run now (None when it can): the room's bounds per run,
    a party's budget left or a connection cap."""
    needed = f"these targets need epsilon {display(cost.epsilon, up=True)}"
    try:
        budgets.check_epsilon(cur, room, cost.epsilon)
    except InvalidInput as err:  # the room's public bounds per run
        return f"{needed}: {err.message} Loosen the targets."
    try:
        budgets.check_fits(cur, room, parties, budgets.sources_of(cur, room.id, datasets), cost,
                           dict(names))
    except BudgetExceeded:  # never another party's figures: plans are free, so they would leak
        return (f"{needed}: more than a data party's budget or a data connection's cap has left. "
                "Loosen the targets, or ask for more budget.")
    return None


def summary(spec: Question, asked: Mapping[str, Any], dp: DPPlan, solved: TargetSolution,
            problem: str | None) -> w.TargetsPlan:
    """The targets block of a plan."""
    out = []
    for name, half in solved.targets.items():
        agg = dp.plan.aggregate(name)
        out.append(w.TargetPlan(
            name=name, asked=str(asked.get(name, f"±{half:g} (k-min default)")), half_width=half,
            ci95=agg.ci_half_width or 0.0, epsilon=display(agg.epsilon, up=True)))
    return w.TargetsPlan(targets=out, epsilon_needed=display(solved.plan.epsilon, up=True),
                         epsilon_uniform=display(solved.epsilon_uniform, up=True),
                         reachable=problem is None, unreachable=problem)

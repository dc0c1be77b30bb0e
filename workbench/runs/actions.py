"""The actions of runs and privacy budgets, as data; workbench.wiring installs them in the policy.

Resource-level rules (terms, question permissions, who sees a run, whose budget one may change)
are ``check`` functions, so ``ensure_allowed`` stays the one place a decision is made and audited
with its true outcome.
"""

from __future__ import annotations

from typing import Any

from workbench.governance.actions import Action
from workbench.governance.permissions import OrgRight, Permission
from workbench.questions import _records as questions
from workbench.questions import terms
from workbench.questions.permissions import QuestionPermission, allowed
from workbench.runs import _records as rec
from workbench.runs import budgets

P = Permission
QP = QuestionPermission


def _can_run(cur: Any, actor: Any, access: Any, question_id: str | None) -> str | None:
    """The question is in the room, the terms let the org run it, its author allows it."""
    if question_id is None:
        return None
    question = questions.question(cur, access.room.id, question_id)
    if question is None:
        return None  # the operation answers NotFound
    if not question.in_room:
        return "the question has not been added to the room by its owner yet"
    runners = terms.effective_runners(cur, access.room, question.id)
    if runners is not None and actor.org_id not in runners:
        return "the question's terms do not let your organisation run it"
    if not allowed(cur, question.id, actor.org_id, QP.RUN):
        return ("the question's author organisation does not let your organisation run it "
                "(question permission run)")
    return None


def _run(cur: Any, access: Any, run_id: str | None) -> rec.RunRecord | None:
    return None if run_id is None else rec.run(cur, access.room.id, run_id)


def _run_visible(cur: Any, actor: Any, access: Any, run_id: str | None) -> str | None:
    """The org started it, receives it, or it read the org's data."""
    run = _run(cur, access, run_id)
    if run is None:
        return None
    if actor.org_id in (run.org_id, *run.receivers, *(run.parties or ())):
        return None
    return ("the run belongs to another organisation, your organisation does not receive it and "
            "it read none of your organisation's data")


def _result_reader(cur: Any, actor: Any, access: Any, run_id: str | None) -> str | None:
    run = _run(cur, access, run_id)
    if run is None:
        return None
    if actor.org_id not in run.receivers:
        return "your organisation is not a receiver of this question's results (see its terms)"
    if not allowed(cur, run.question_id, actor.org_id, QP.VIEW_OUTPUT):
        return ("the question's author organisation does not let your organisation view its "
                "output (question permission view_output)")
    return None


def _own_run(cur: Any, actor: Any, access: Any, run_id: str | None) -> str | None:
    run = _run(cur, access, run_id)
    if run is None:
        return None
    if actor.org_id != run.org_id:
        return "only the organisation that started a run may delete it"
    return None


def _budget_reader(cur: Any, actor: Any, access: Any, org_id: str | None) -> str | None:
    """One's own party's budget, or any party's for the room owner (budgets.sees_figures)."""
    if org_id is None or budgets.sees_figures(actor.org_id, access.is_owner, org_id):
        return None
    return "only the room owner may read another organisation's budget"


def _raiser(cur: Any, actor: Any, access: Any, org_id: str | None) -> str | None:
    """Only the party itself raises its budget; anyone else proposes it."""
    if org_id is None or org_id == actor.org_id:
        return None
    return ("only that party raises its own budget; the owner proposes a raise and it applies "
            "when the party approves (contract proposals)")


def _lowerer(cur: Any, actor: Any, access: Any, org_id: str | None) -> str | None:
    """A party lowers its own budget at any time; the owner may lower any party's."""
    if org_id is None or org_id == actor.org_id or access.is_owner:
        return None
    return "only that party (or the room owner) lowers a party's budget"


ACTIONS: tuple[Action, ...] = (
    Action(name="run.plan", permission=P.RUNS, writes=True, check=_can_run,
           description="Preview a run's privacy cost and expected error; spends nothing (like "
                       "runs, needs an active room)."),
    Action(name="run.create", permission=P.RUNS, writes=True, check=_can_run,
           description="Run a question: charge every data party's budget, execute, release "
                       "noisy results."),
    Action(name="run.list",
           description="List runs one's organisation started or receives, and runs over its data."),
    Action(name="run.read", permission=P.VIEW_REPORTS, check=_run_visible,
           description="Read a run's status and metadata (View Reports; starter, receivers and "
                       "the parties whose data it read)."),
    Action(name="run.manifest", permission=P.VIEW_REPORTS, check=_run_visible,
           description="Read a run's manifest: question digest, parameters, rule versions, data "
                       "digests, noise plan, engine and library versions."),
    Action(name="run.result", permission=P.VIEW_REPORTS, check=_result_reader,
           description="Read a run's released table (receivers with View Reports)."),
    Action(name="run.delete", permission=P.RUNS, writes=True, check=_own_run,
           description="Delete a run and its stored result (the budget stays spent)."),
    Action(name="budget.read", check=_budget_reader,
           description="Read one's organisation's privacy budget in the room (owner: any "
                       "party's)."),
    Action(name="budget.raise", permission=P.MANAGE_DATASETS, writes=True, check=_raiser,
           description="Raise one's own organisation's privacy budget in the room."),
    Action(name="budget.lower", permission=P.MANAGE_DATASETS, writes=True, check=_lowerer,
           description="Lower a party's privacy budget in the room (the party itself, or the "
                       "owner)."),
    Action(name="budget.bounds", permission=P.PARTNER_MANAGEMENT, owner_only=True, writes=True,
           description="Set the room's minimum and maximum epsilon per run."),
    Action(name="connection.cap", scope="org", org_right=OrgRight.DATA_CONNECTIONS,
           description="Set or lift one's own data connection's lifetime privacy cap across "
                       "rooms."),
)

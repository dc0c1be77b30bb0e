"""The actions of schedules and flows, as data for the one policy.

A schedule fires as its owner: ``schedule.fire`` re-checks at fire time that the owner still holds
the Schedules permission and may still run the question (the same rule as ``run.create``).
"""

from __future__ import annotations

from typing import Any

from workbench.governance import actions as registry
from workbench.governance.actions import Action
from workbench.governance.permissions import Permission
from workbench.schedules import _records as records

P = Permission


def _may_run_question(cur: Any, actor: Any, access: Any, question_id: str | None) -> str | None:
    """The question rules of running (terms, question permissions) apply to scheduling too."""
    check = registry.get("run.create").check
    return None if check is None else check(cur, actor, access, question_id)


def _own_schedule(cur: Any, actor: Any, access: Any, schedule_id: str | None) -> str | None:
    if schedule_id is None:
        return None
    rec = records.get_schedule(cur, access.room.id, schedule_id)
    if rec is None:
        return None  # the operation answers NotFound
    if rec.owner_org_id != actor.org_id:
        return "only the organisation that created a schedule may change or delete it"
    return None


def _own_flow(cur: Any, actor: Any, access: Any, flow_id: str | None) -> str | None:
    if flow_id is None:
        return None
    rec = records.get_flow(cur, access.room.id, flow_id)
    if rec is None:
        return None
    if rec.owner_org_id != actor.org_id:
        return "only the organisation that built a flow may change or delete it"
    return None


ACTIONS: tuple[Action, ...] = (
    Action(name="schedule.create", permission=P.SCHEDULES, writes=True, check=_may_run_question,
           description="Schedule recurring runs of a question (question permission: Set up and "
                       "Schedule Runs)."),
    Action(name="schedule.manage", permission=P.SCHEDULES, writes=True, check=_own_schedule,
           description="Edit, pause, resume and delete one's organisation's schedules."),
    Action(name="schedule.read", description="List a room's schedules, their fires and the "
                                             "budget calendar."),
    Action(name="schedule.fire", permission=P.SCHEDULES, writes=True, check=_may_run_question,
           description="A schedule firing as its owner: the owner's permissions at fire time."),
    Action(name="flow.build", permission=P.FLOW_BUILDER, writes=True, check=_own_flow,
           description="Build, edit and delete flows that chain questions and cohorts."),
    Action(name="flow.run", permission=P.FLOW_RUNS, writes=True,
           description="Start flow runs by hand or on a schedule."),
    Action(name="flow.read", permission=P.VIEW_FLOWS, description="View flows and their runs."),
)

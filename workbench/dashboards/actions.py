"""The dashboard actions, as data; workbench.wiring installs them in the one policy."""

from __future__ import annotations

from typing import Any

from workbench.dashboards import _records as rec
from workbench.governance.actions import Action
from workbench.governance.permissions import Permission
from workbench.questions.permissions import QuestionPermission, allowed


def _charts_readable_run(cur: Any, actor: Any, access: Any, run_id: str | None) -> str | None:
    """A chart may draw only a run whose result the org may read: the runs' result rule (a
    receiver under the terms, and the question's view_output permission, override included)."""
    run = None if run_id is None else rec.charted_run(cur, access.room.id, run_id)
    if run is None:
        return None  # the operation answers NotFound
    if actor.org_id not in run.receivers:
        return "your organisation is not a receiver of this question's results (see its terms)"
    if not allowed(cur, run.question_id, actor.org_id, QuestionPermission.VIEW_OUTPUT):
        return ("the question's author organisation does not let your organisation view its "
                "output (question permission view_output)")
    return None


P = Permission
ACTIONS: tuple[Action, ...] = (
    Action(name="dashboard.list", permission=P.INTELLIGENCE_VIEWER,
           description="List one's organisation's dashboards in the room (Intelligence Viewer)."),
    Action(name="dashboard.read", permission=P.INTELLIGENCE_VIEWER,
           description="Open a dashboard of one's organisation and its charts (Intelligence Viewer)."),
    Action(name="dashboard.create", permission=P.INTELLIGENCE_CREATOR, writes=True,
           description="Create a dashboard for one's organisation in the room (Intelligence Creator)."),
    Action(name="dashboard.delete", permission=P.INTELLIGENCE_CREATOR, writes=True,
           description="Delete one of one's organisation's dashboards and its charts."),
    Action(name="dashboard.chart.add", permission=P.INTELLIGENCE_CREATOR, writes=True,
           check=_charts_readable_run,
           description="Add a chart of a run result one's organisation receives to a dashboard."),
    Action(name="dashboard.chart.remove", permission=P.INTELLIGENCE_CREATOR, writes=True,
           description="Remove a chart from a dashboard."),
)

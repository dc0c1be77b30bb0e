"""The dashboard actions, as data; workbench.wiring installs them in the one policy."""

from __future__ import annotations

from workbench.governance.actions import Action
from workbench.governance.permissions import Permission

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
           description="Add a chart of a run result one's organisation receives to a dashboard."),
    Action(name="dashboard.chart.remove", permission=P.INTELLIGENCE_CREATOR, writes=True,
           description="Remove a chart from a dashboard."),
)

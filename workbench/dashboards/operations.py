"""Dashboard operations: one transaction, one ensure_allowed call, validate, act.

Dashboards belong to one organisation in one room: a partner never sees the owner's dashboards
(and the other way round). Charts reference runs; adding one is decided by the policy with the
runs' own result rule (receivers, and the question's view_output permission), so a run whose
question hides its output cannot be charted, and the refusal is audited as a denial.
"""

from __future__ import annotations

import json
from typing import Any

from workbench.dashboards import _records as rec
from workbench.errors import Conflict, InvalidInput, NotFound
from workbench.governance import Actor
from workbench.governance.policy import ensure_allowed
from workbench.ids import new_id, parse_uuid
from workbench.store import Store
from workbench.wire import dashboards as w


def _chart(c: rec.ChartRecord) -> w.Chart:
    return w.Chart(id=c.id, dashboard_id=c.dashboard_id, position=c.position, title=c.title, kind=c.kind,
                   run_id=c.run_id, measure=c.measure, created_at=c.created_at.isoformat())


def _dashboard(cur: Any, d: rec.DashboardRecord) -> w.Dashboard:
    return w.Dashboard(id=d.id, room_id=d.room_id, org_id=d.org_id, name=d.name, description=d.description,
                       created_by=d.created_by, created_at=d.created_at.isoformat(),
                       charts=[_chart(c) for c in rec.charts(cur, d.id)])


def _own_dashboard(cur: Any, actor: Actor, room_id: str, dashboard_id: str) -> rec.DashboardRecord:
    found = rec.dashboard(cur, room_id, actor.org_id, dashboard_id)
    if found is None:
        raise NotFound(f"no dashboard {dashboard_id} of your organisation in this room")
    return found


def list_dashboards(store: Store, actor: Actor, room_id: str) -> list[w.Dashboard]:
    """The caller's org's dashboards in the room, with their charts."""
    room_id = parse_uuid(room_id, "room")
    with store.reader() as cur:
        ensure_allowed(cur, actor, "dashboard.list", room_id=room_id, resource_type="dashboard")
        return [_dashboard(cur, d) for d in rec.dashboards_of(cur, room_id, actor.org_id)]


def get_dashboard(store: Store, actor: Actor, room_id: str, dashboard_id: str) -> w.Dashboard:
    """One dashboard of the caller's org."""
    room_id, dashboard_id = parse_uuid(room_id, "room"), parse_uuid(dashboard_id, "dashboard")
    with store.reader() as cur:
        ensure_allowed(cur, actor, "dashboard.read", room_id=room_id, resource_type="dashboard",
                       resource_id=dashboard_id, resource_org_id=actor.org_id)
        return _dashboard(cur, _own_dashboard(cur, actor, room_id, dashboard_id))


def create_dashboard(store: Store, actor: Actor, room_id: str, body: w.DashboardCreate) -> w.Dashboard:
    """A new, empty dashboard for the caller's org."""
    room_id = parse_uuid(room_id, "room")
    name = body.name.strip()
    if not name:
        raise InvalidInput("the dashboard name must not be blank")
    with store.transaction() as cur:
        ensure_allowed(cur, actor, "dashboard.create", room_id=room_id, resource_type="dashboard",
                       resource_org_id=actor.org_id, detail={"name": name})
        if rec.name_taken(cur, room_id, actor.org_id, name):
            raise Conflict(f"your organisation already has a dashboard named {name!r} in this room")
        did = new_id()
        rec.insert_dashboard(cur, dashboard_id=did, room_id=room_id, org_id=actor.org_id, name=name,
                             description=body.description, created_by=actor.user_id)
        return _dashboard(cur, _own_dashboard(cur, actor, room_id, did))


def delete_dashboard(store: Store, actor: Actor, room_id: str, dashboard_id: str) -> None:
    """Delete a dashboard of the caller's org with its charts."""
    room_id, dashboard_id = parse_uuid(room_id, "room"), parse_uuid(dashboard_id, "dashboard")
    with store.transaction() as cur:
        ensure_allowed(cur, actor, "dashboard.delete", room_id=room_id, resource_type="dashboard",
                       resource_id=dashboard_id, resource_org_id=actor.org_id)
        rec.delete_dashboard(cur, _own_dashboard(cur, actor, room_id, dashboard_id).id)


def _released_columns(cur: Any, room_id: str, run_id: str) -> list[str]:
    """The columns of the run's released table (the policy has decided the caller may read it)."""
    run = rec.charted_run(cur, room_id, run_id)
    if run is None:
        raise NotFound(f"no run {run_id} in this room")
    if run.status != "succeeded" or run.result is None:
        raise InvalidInput(f"run {run_id} has no released result to chart (status {run.status})")
    return list(json.loads(run.result).get("columns", []))


def add_chart(store: Store, actor: Actor, room_id: str, dashboard_id: str, body: w.ChartCreate) -> w.Dashboard:
    """Add a chart of a released run result to a dashboard of the caller's org."""
    room_id, dashboard_id = parse_uuid(room_id, "room"), parse_uuid(dashboard_id, "dashboard")
    run_id = parse_uuid(body.run_id, "run")
    with store.transaction() as cur:
        ensure_allowed(cur, actor, "dashboard.chart.add", room_id=room_id, resource_type="run",
                       resource_id=run_id, resource_org_id=actor.org_id,
                       detail={"dashboard_id": dashboard_id, "kind": body.kind, "measure": body.measure})
        dash = _own_dashboard(cur, actor, room_id, dashboard_id)
        columns = _released_columns(cur, room_id, run_id)
        if body.kind != "table":
            if body.measure is None:
                raise InvalidInput(f"a {body.kind} chart needs measure=, one of the result's columns {columns}")
            if body.measure not in columns:
                raise InvalidInput(f"the run's result has no column {body.measure!r}; pick one of {columns}")
        title = (body.title or (body.measure if body.kind != "table" else "Result table") or "").strip()
        rec.insert_chart(cur, chart_id=new_id(), dashboard_id=dash.id, room_id=room_id, title=title,
                         kind=body.kind, run_id=run_id, measure=body.measure if body.kind != "table" else None,
                         created_by=actor.user_id)
        return _dashboard(cur, dash)


def remove_chart(store: Store, actor: Actor, room_id: str, dashboard_id: str, chart_id: str) -> w.Dashboard:
    """Remove one chart."""
    room_id, dashboard_id = parse_uuid(room_id, "room"), parse_uuid(dashboard_id, "dashboard")
    chart_id = parse_uuid(chart_id, "chart")
    with store.transaction() as cur:
        ensure_allowed(cur, actor, "dashboard.chart.remove", room_id=room_id, resource_type="dashboard",
                       resource_id=dashboard_id, resource_org_id=actor.org_id, detail={"chart_id": chart_id})
        dash = _own_dashboard(cur, actor, room_id, dashboard_id)
        if not rec.chart_exists(cur, dash.id, chart_id):
            raise NotFound(f"no chart {chart_id} on this dashboard")
        rec.delete_chart(cur, chart_id)
        return _dashboard(cur, dash)


def drop_charts_of_unlinked_data(cur: Any, room_id: str, dataset_id: str) -> int:
    """Charts drawing runs computed from an unlinked dataset (or runs already gone) go too."""
    return rec.delete_charts_of_unlinked(cur, room_id, dataset_id)

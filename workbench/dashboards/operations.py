"""Dashboard operations: one transaction, one ensure_allowed call, validate, act.

Dashboards belong to one organisation in one room: a partner never sees the owner's dashboards
(and the other way round). Charts reference runs; whether a viewer may read a run's numbers is
decided by the runs' own result rule when the chart is drawn.
"""

from __future__ import annotations

import json
import uuid
from typing import Any

from workbench.errors import Conflict, InvalidInput, NotFound
from workbench.governance import Actor
from workbench.governance.policy import ensure_allowed
from workbench.store import Store
from workbench.wire import dashboards as w

DASH_COLUMNS = "id, room_id, org_id, name, description, created_by, created_at"
CHART_COLUMNS = "id, dashboard_id, position, title, kind, run_id, measure, created_at"


def _uuid(value: str, what: str) -> str:
    try:
        return str(uuid.UUID(str(value)))
    except ValueError:
        raise NotFound(f"no {what} {value!r}") from None


def _chart(row: tuple) -> w.Chart:
    cid, did, pos, title, kind, run_id, measure, created = row
    return w.Chart(id=cid, dashboard_id=did, position=pos, title=title, kind=kind, run_id=run_id,
                   measure=measure, created_at=created.isoformat())


def _dashboard(cur: Any, row: tuple, with_charts: bool = True) -> w.Dashboard:
    did, room_id, org_id, name, desc, by, created = row
    charts = []
    if with_charts:
        charts = [_chart(r) for r in cur.execute(
            f"SELECT {CHART_COLUMNS} FROM dashboard_charts WHERE dashboard_id = ? ORDER BY position",
            [did]).fetchall()]
    return w.Dashboard(id=did, room_id=room_id, org_id=org_id, name=name, description=desc,
                       created_by=by, created_at=created.isoformat(), charts=charts)


def _own_dashboard(cur: Any, actor: Actor, room_id: str, dashboard_id: str) -> tuple:
    row = cur.execute(f"SELECT {DASH_COLUMNS} FROM dashboards WHERE id = ? AND room_id = ? AND org_id = ?",
                      [dashboard_id, room_id, actor.org_id]).fetchone()
    if row is None:
        raise NotFound(f"no dashboard {dashboard_id} of your organisation in this room")
    return row


def list_dashboards(store: Store, actor: Actor, room_id: str) -> list[w.Dashboard]:
    """The caller's org's dashboards in the room, with their charts."""
    room_id = _uuid(room_id, "room")
    with store.reader() as cur:
        ensure_allowed(cur, actor, "dashboard.list", room_id=room_id, resource_type="dashboard")
        rows = cur.execute(f"SELECT {DASH_COLUMNS} FROM dashboards WHERE room_id = ? AND org_id = ?"
                           " ORDER BY lower(name)", [room_id, actor.org_id]).fetchall()
        return [_dashboard(cur, r) for r in rows]


def get_dashboard(store: Store, actor: Actor, room_id: str, dashboard_id: str) -> w.Dashboard:
    """One dashboard of the caller's org."""
    room_id, dashboard_id = _uuid(room_id, "room"), _uuid(dashboard_id, "dashboard")
    with store.reader() as cur:
        ensure_allowed(cur, actor, "dashboard.read", room_id=room_id, resource_type="dashboard",
                       resource_id=dashboard_id, resource_org_id=actor.org_id)
        return _dashboard(cur, _own_dashboard(cur, actor, room_id, dashboard_id))


def create_dashboard(store: Store, actor: Actor, room_id: str, body: w.DashboardCreate) -> w.Dashboard:
    """A new, empty dashboard for the caller's org."""
    room_id = _uuid(room_id, "room")
    name = body.name.strip()
    if not name:
        raise InvalidInput("the dashboard name must not be blank")
    with store.transaction() as cur:
        ensure_allowed(cur, actor, "dashboard.create", room_id=room_id, resource_type="dashboard",
                       resource_org_id=actor.org_id, detail={"name": name})
        if cur.execute("SELECT 1 FROM dashboards WHERE room_id = ? AND org_id = ? AND lower(name) = lower(?)",
                       [room_id, actor.org_id, name]).fetchone():
            raise Conflict(f"your organisation already has a dashboard named {name!r} in this room")
        did = str(uuid.uuid4())
        cur.execute("INSERT INTO dashboards (id, room_id, org_id, name, description, created_by)"
                    " VALUES (?, ?, ?, ?, ?, ?)", [did, room_id, actor.org_id, name, body.description,
                                                   actor.user_id])
        return _dashboard(cur, _own_dashboard(cur, actor, room_id, did))


def delete_dashboard(store: Store, actor: Actor, room_id: str, dashboard_id: str) -> None:
    """Delete a dashboard of the caller's org with its charts."""
    room_id, dashboard_id = _uuid(room_id, "room"), _uuid(dashboard_id, "dashboard")
    with store.transaction() as cur:
        ensure_allowed(cur, actor, "dashboard.delete", room_id=room_id, resource_type="dashboard",
                       resource_id=dashboard_id, resource_org_id=actor.org_id)
        _own_dashboard(cur, actor, room_id, dashboard_id)
        cur.execute("DELETE FROM dashboard_charts WHERE dashboard_id = ?", [dashboard_id])
        cur.execute("DELETE FROM dashboards WHERE id = ?", [dashboard_id])


def _released_run(cur: Any, actor: Actor, room_id: str, run_id: str) -> dict[str, Any]:
    """The run's released columns, if the caller's org receives its results; else NotFound."""
    row = cur.execute("SELECT receivers, status, result FROM runs WHERE id = ? AND room_id = ?",
                      [run_id, room_id]).fetchone()
    if row is None or actor.org_id not in list(row[0]):
        raise NotFound(f"no run {run_id} whose results your organisation receives in this room")
    if row[1] != "succeeded" or row[2] is None:
        raise InvalidInput(f"run {run_id} has no released result to chart (status {row[1]})")
    return json.loads(row[2])


def add_chart(store: Store, actor: Actor, room_id: str, dashboard_id: str, body: w.ChartCreate) -> w.Dashboard:
    """Add a chart of a released run result to a dashboard of the caller's org."""
    room_id, dashboard_id = _uuid(room_id, "room"), _uuid(dashboard_id, "dashboard")
    run_id = _uuid(body.run_id, "run")
    with store.transaction() as cur:
        ensure_allowed(cur, actor, "dashboard.chart.add", room_id=room_id, resource_type="dashboard",
                       resource_id=dashboard_id, resource_org_id=actor.org_id,
                       detail={"run_id": run_id, "kind": body.kind, "measure": body.measure})
        _own_dashboard(cur, actor, room_id, dashboard_id)
        result = _released_run(cur, actor, room_id, run_id)
        columns = list(result.get("columns", []))
        if body.kind != "table":
            if body.measure is None:
                raise InvalidInput(f"a {body.kind} chart needs measure=, one of the result's columns {columns}")
            if body.measure not in columns:
                raise InvalidInput(f"the run's result has no column {body.measure!r}; pick one of {columns}")
        title = (body.title or (body.measure if body.kind != "table" else "Result table")).strip()
        position = cur.execute("SELECT coalesce(max(position), 0) + 1 FROM dashboard_charts WHERE dashboard_id = ?",
                               [dashboard_id]).fetchone()[0]
        cur.execute("INSERT INTO dashboard_charts (id, dashboard_id, room_id, position, title, kind, run_id,"
                    " measure, created_by) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    [str(uuid.uuid4()), dashboard_id, room_id, position, title, body.kind, run_id,
                     body.measure if body.kind != "table" else None, actor.user_id])
        return _dashboard(cur, _own_dashboard(cur, actor, room_id, dashboard_id))


def remove_chart(store: Store, actor: Actor, room_id: str, dashboard_id: str, chart_id: str) -> w.Dashboard:
    """Remove one chart."""
    room_id, dashboard_id = _uuid(room_id, "room"), _uuid(dashboard_id, "dashboard")
    chart_id = _uuid(chart_id, "chart")
    with store.transaction() as cur:
        ensure_allowed(cur, actor, "dashboard.chart.remove", room_id=room_id, resource_type="dashboard",
                       resource_id=dashboard_id, resource_org_id=actor.org_id, detail={"chart_id": chart_id})
        _own_dashboard(cur, actor, room_id, dashboard_id)
        if not cur.execute("SELECT 1 FROM dashboard_charts WHERE id = ? AND dashboard_id = ?",
                           [chart_id, dashboard_id]).fetchone():
            raise NotFound(f"no chart {chart_id} on this dashboard")
        cur.execute("DELETE FROM dashboard_charts WHERE id = ?", [chart_id])
        return _dashboard(cur, _own_dashboard(cur, actor, room_id, dashboard_id))


def drop_charts_of_unlinked_data(cur: Any, room_id: str, dataset_id: str) -> int:
    """Charts drawing runs computed from an unlinked dataset (or runs already gone) go too."""
    rows = cur.execute(
        "SELECT c.id FROM dashboard_charts c LEFT JOIN runs r ON r.id = c.run_id WHERE c.room_id = ?"
        " AND (r.id IS NULL OR (r.metadata IS NOT NULL AND list_contains("
        "CAST(json_extract(r.metadata, '$.datasets') AS VARCHAR[]), ?)))",
        [room_id, dataset_id]).fetchall()
    for (chart_id,) in rows:
        cur.execute("DELETE FROM dashboard_charts WHERE id = ?", [chart_id])
    return len(rows)

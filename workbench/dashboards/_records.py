"""The dashboards package's SQL: dashboards and their charts as frozen records."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from workbench.store import fetch_all, fetch_one, scalar


@dataclass(frozen=True, slots=True, kw_only=True)
class DashboardRecord:
    """One organisation's dashboard in one room."""

    id: str
    room_id: str
    org_id: str
    name: str
    description: str
    created_by: str
    created_at: dt.datetime


@dataclass(frozen=True, slots=True, kw_only=True)
class ChartRecord:
    """A chart: which run it draws and how (never numbers)."""

    id: str
    dashboard_id: str
    position: int
    title: str
    kind: str
    run_id: str
    measure: str | None
    created_at: dt.datetime


_DASHBOARD = "SELECT id, room_id, org_id, name, description, created_by, created_at FROM dashboards"
_CHART = "SELECT id, dashboard_id, position, title, kind, run_id, measure, created_at FROM dashboard_charts"


def dashboards_of(cur: Any, room_id: str, org_id: str) -> list[DashboardRecord]:
    """An org's dashboards in a room, by name."""
    return fetch_all(cur, DashboardRecord, _DASHBOARD + " WHERE room_id = ? AND org_id = ? ORDER BY lower(name)",
                     [room_id, org_id])


def dashboard(cur: Any, room_id: str, org_id: str, dashboard_id: str) -> DashboardRecord | None:
    """One of an org's dashboards in a room, or None."""
    return fetch_one(cur, DashboardRecord, _DASHBOARD + " WHERE id = ? AND room_id = ? AND org_id = ?",
                     [dashboard_id, room_id, org_id])


def name_taken(cur: Any, room_id: str, org_id: str, name: str) -> bool:
    """Whether the org already has a dashboard of this name in the room (ignoring case)."""
    return scalar(cur, "SELECT count(*) FROM dashboards WHERE room_id = ? AND org_id = ? AND lower(name) = lower(?)",
                  [room_id, org_id, name]) > 0


def insert_dashboard(cur: Any, *, dashboard_id: str, room_id: str, org_id: str, name: str, description: str,
                     created_by: str) -> None:
    """Record a new, empty dashboard."""
    cur.execute("INSERT INTO dashboards (id, room_id, org_id, name, description, created_by)"
                " VALUES (?, ?, ?, ?, ?, ?)", [dashboard_id, room_id, org_id, name, description, created_by])


def delete_dashboard(cur: Any, dashboard_id: str) -> None:
    """Remove a dashboard and its charts."""
    cur.execute("DELETE FROM dashboard_charts WHERE dashboard_id = ?", [dashboard_id])
    cur.execute("DELETE FROM dashboards WHERE id = ?", [dashboard_id])


def charts(cur: Any, dashboard_id: str) -> list[ChartRecord]:
    """A dashboard's charts in order."""
    return fetch_all(cur, ChartRecord, _CHART + " WHERE dashboard_id = ? ORDER BY position", [dashboard_id])


def chart_exists(cur: Any, dashboard_id: str, chart_id: str) -> bool:
    """Whether the dashboard has this chart."""
    return scalar(cur, "SELECT count(*) FROM dashboard_charts WHERE id = ? AND dashboard_id = ?",
                  [chart_id, dashboard_id]) > 0


def insert_chart(cur: Any, *, chart_id: str, dashboard_id: str, room_id: str, title: str, kind: str, run_id: str,
                 measure: str | None, created_by: str) -> None:
    """Append a chart at the end of the dashboard."""
    position = scalar(cur, "SELECT coalesce(max(position), 0) + 1 FROM dashboard_charts WHERE dashboard_id = ?",
                      [dashboard_id])
    cur.execute("INSERT INTO dashboard_charts (id, dashboard_id, room_id, position, title, kind, run_id,"
                " measure, created_by) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                [chart_id, dashboard_id, room_id, position, title, kind, run_id, measure, created_by])


def delete_chart(cur: Any, chart_id: str) -> None:
    """Remove one chart."""
    cur.execute("DELETE FROM dashboard_charts WHERE id = ?", [chart_id])


@dataclass(frozen=True, slots=True, kw_only=True)
class ChartedRun:
    """What a chart needs of the run it draws (read from the runs table; dashboards sit beside
    runs in the layers, so they read its rows rather than import the package)."""

    question_id: str
    receivers: list[str]
    status: str
    result: str | None


def charted_run(cur: Any, room_id: str, run_id: str) -> ChartedRun | None:
    """The run a chart would draw, or None."""
    return fetch_one(cur, ChartedRun, "SELECT question_id, receivers, status, result FROM runs"
                     " WHERE id = ? AND room_id = ?", [run_id, room_id])


def delete_charts_of_unlinked(cur: Any, room_id: str, dataset_id: str) -> int:
    """Remove the room's charts drawing a run that read ``dataset_id`` or that no longer exists."""
    return int(scalar(
        cur, "DELETE FROM dashboard_charts WHERE room_id = ? AND run_id NOT IN (SELECT id FROM runs"
        " WHERE room_id = ? AND NOT coalesce(list_contains(json_extract_string(manifest,"
        " '$.datasets[*].dataset_id'), ?), false) AND NOT coalesce(list_contains(CAST(json_extract("
        "metadata, '$.datasets') AS VARCHAR[]), ?), false))", [room_id, room_id, dataset_id, dataset_id]))

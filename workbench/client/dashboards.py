"""Client methods for Intelligence dashboards (your organisation's saved charts in a room)."""

from __future__ import annotations

from typing import Any

from workbench.wire import dashboards as w


class DashboardsAPI:
    """Create dashboards, add charts of run results, and open them (Intelligence)."""

    def _request(self, method: str, path: str, **kwargs: Any) -> Any:  # provided by Client
        raise NotImplementedError

    def dashboards(self, room_id: str) -> list[w.Dashboard]:
        """Your organisation's dashboards in the room (Intelligence Viewer)."""
        return [w.Dashboard(**d) for d in self._request("GET", f"/api/v1/rooms/{room_id}/dashboards")]

    def dashboard(self, room_id: str, dashboard_id: str) -> w.Dashboard:
        """One dashboard with its charts."""
        return w.Dashboard(**self._request("GET", f"/api/v1/rooms/{room_id}/dashboards/{dashboard_id}"))

    def create_dashboard(self, room_id: str, name: str, description: str = "") -> w.Dashboard:
        """A new empty dashboard for your organisation (Intelligence Creator)."""
        return w.Dashboard(**self._request("POST", f"/api/v1/rooms/{room_id}/dashboards",
                                           json={"name": name, "description": description}))

    def delete_dashboard(self, room_id: str, dashboard_id: str) -> None:
        """Delete a dashboard and its charts."""
        self._request("DELETE", f"/api/v1/rooms/{room_id}/dashboards/{dashboard_id}")

    def add_chart(self, room_id: str, dashboard_id: str, run_id: str, *, kind: str = "bar",
                  measure: str | None = None, title: str | None = None) -> w.Dashboard:
        """Chart a run result your organisation receives: ``kind`` bar | line (with ``measure``) | table."""
        body = {"run_id": run_id, "kind": kind, "measure": measure, "title": title}
        return w.Dashboard(**self._request("POST", f"/api/v1/rooms/{room_id}/dashboards/{dashboard_id}/charts",
                                           json=body))

    def remove_chart(self, room_id: str, dashboard_id: str, chart_id: str) -> w.Dashboard:
        """Remove one chart from a dashboard."""
        return w.Dashboard(**self._request(
            "DELETE", f"/api/v1/rooms/{room_id}/dashboards/{dashboard_id}/charts/{chart_id}"))

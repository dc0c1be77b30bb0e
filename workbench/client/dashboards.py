"""Client methods for dashboards (Intelligence)."""

from __future__ import annotations


class DashboardsAPI:
    """Operations on dashboards (Intelligence) (added by their domain)."""

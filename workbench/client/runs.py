"""Client methods for plans, runs, results and the budget."""

from __future__ import annotations


class RunsAPI:
    """Operations on plans, runs, results and the budget (added by their domain)."""

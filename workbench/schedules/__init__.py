"""Schedules, flows and the budget calendar.

``start_scheduler(store)`` is what ``workbench serve`` calls: one scheduler per store, ticking on
the service's clock (``WORKBENCH_CLOCK_FILE`` makes it a clock that tests move; the tick is
``WORKBENCH_SCHEDULER_TICK`` seconds, 30 by default).
"""

from __future__ import annotations

from workbench.engine import Engine
from workbench.schedules.clock import from_environment
from workbench.schedules.flows import scheduled_flow_run
from workbench.schedules.scheduler import Scheduler
from workbench.store import Store


def start_scheduler(store: Store, engine: Engine | None = None) -> Scheduler:
    """Start firing the store's due schedules in a background thread, on the service's engine."""
    scheduler = Scheduler(store, from_environment(), run_flow=scheduled_flow_run, engine=engine)
    scheduler.start()
    return scheduler


__all__ = ["Scheduler", "start_scheduler"]

"""A live service on a clock the tests move (WORKBENCH_CLOCK_FILE), ticking every 0.2 s."""

from __future__ import annotations

import datetime as dt
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

import workbench as wb
from tests.conftest import LiveService, serving
from workbench.schedules.clock import FileClock
from workbench.wire.schedules import ScheduleFire

TICK = "0.2"


@dataclass
class Clocked:
    """The service, the clock file it reads, and where its store lives (for restarts)."""

    service: LiveService
    clock: FileClock
    base: Path

    def new_owner(self) -> wb.Client:
        """The admin of a new publisher org (each test's room has its own data connections)."""
        return self.service.make_org(f"Publisher {uuid.uuid4().hex[:8]}").admin

    def env(self) -> dict[str, str]:
        return {"WORKBENCH_CLOCK_FILE": str(self.clock.path), "WORKBENCH_SCHEDULER_TICK": TICK}


@pytest.fixture(scope="module")
def clocked(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Clocked]:
    base = tmp_path_factory.mktemp("clocked")
    clock = FileClock(base / "now.txt")
    clock.set(dt.datetime.now(dt.UTC))
    env = {"WORKBENCH_CLOCK_FILE": str(clock.path), "WORKBENCH_SCHEDULER_TICK": TICK}
    with serving(base, env) as service:
        yield Clocked(service, clock, base)


def wait_for(condition: Callable[[], object], timeout: float = 30.0) -> object:
    """Poll until ``condition()`` is truthy (the scheduler ticks in the service's own thread)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.1)
    raise AssertionError("the scheduler did not act in time")


def fires_of(client: wb.Client, room_id: str, schedule_id: str, n: int = 1
             ) -> list[ScheduleFire] | None:
    fires = client.schedule_fires(room_id, schedule_id)
    return fires if len(fires) >= n else None

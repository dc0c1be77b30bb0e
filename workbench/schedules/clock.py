"""The scheduler's sense of time, injectable so tests fire schedules without waiting.

The service reads the wall clock. An operator (or a test) may point ``WORKBENCH_CLOCK_FILE`` at a
file holding an ISO-8601 instant; the service then takes "now" from that file on every tick. It is
an explicit opt-in at start-up, never something a client can change.
"""

from __future__ import annotations

import datetime as dt
import os
from pathlib import Path
from typing import Protocol

CLOCK_FILE_ENV = "WORKBENCH_CLOCK_FILE"


class Clock(Protocol):
    """Something that tells the time (always timezone-aware, UTC)."""

    def now(self) -> dt.datetime: ...


class SystemClock:
    """The wall clock."""

    def now(self) -> dt.datetime:
        return dt.datetime.now(dt.UTC)


class FileClock:
    """Time read from a file on every call (tests move it forward by rewriting the file)."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)

    def now(self) -> dt.datetime:
        text = self.path.read_text().strip()
        moment = dt.datetime.fromisoformat(text)
        if moment.tzinfo is None:
            raise ValueError(f"{self.path}: the instant must carry a UTC offset, got {text!r}")
        return moment.astimezone(dt.UTC)

    def set(self, moment: dt.datetime) -> None:
        """Move the clock (tests)."""
        self.path.write_text(moment.astimezone(dt.UTC).isoformat())


def from_environment() -> Clock:
    """The clock the service runs on: the file clock when configured, else the wall clock."""
    path = os.environ.get(CLOCK_FILE_ENV)
    return FileClock(Path(path)) if path else SystemClock()

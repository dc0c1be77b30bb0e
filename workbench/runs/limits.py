"""Run limits (issue 10.6): a per-run timeout, concurrent runs per user and per room, and the
engine's memory limit.

A run that outlives its room's timeout is interrupted from a timer and stays charged: the budget
was spent when execution started (issue 10.1). Concurrent runs are counted in the service process;
an extra run gets ``Busy`` at once, before anything is charged, so the caller retries later. The
counters and the timer are plain Python and import no engine, so the engine can arm the timer on
its own cursor without depending on the run operations; a room's own limits are stored through
the contract's records.
"""

from __future__ import annotations

import contextvars
import functools
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from typing import Any, TypeVar

from workbench.contract import _records as rec
from workbench.errors import Busy, TimedOut
from workbench.governance.model import Actor
from workbench.governance.policy import ensure_allowed
from workbench.ids import parse_uuid
from workbench.store import MEMORY_ENV, Store, memory_limit  # noqa: F401  (the store caps its engine)
from workbench.wire import contract as w

DEFAULT_TIMEOUT_SECONDS = 120
DEFAULT_PER_USER = 2
DEFAULT_PER_ROOM = 4
"""DuckDB's memory limit for the service (e.g. ``4GB``); unset, DuckDB's default applies."""


@dataclass(frozen=True, slots=True, kw_only=True)
class Limits:
    """One room's limits, with the service defaults filled in."""

    #: seconds a run's execution may take before it is interrupted (and stays charged)
    timeout_seconds: float = DEFAULT_TIMEOUT_SECONDS
    #: runs one user may have executing at once in the room
    max_per_user: int = DEFAULT_PER_USER
    #: runs the room may have executing at once
    max_per_room: int = DEFAULT_PER_ROOM


class Slots:
    """Counts of executing runs per room and per (room, user), guarded by one lock."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._rooms: Counter[str] = Counter()
        self._users: Counter[tuple[str, str]] = Counter()

    def acquire(self, room_id: str, user_id: str, limits: Limits) -> None:
        """Take a slot for one run, or raise Busy naming the limit."""
        with self._lock:
            if self._users[(room_id, user_id)] >= limits.max_per_user:
                raise Busy(f"you already have {limits.max_per_user} runs executing in this room "
                           "(the room's limit per user); retry when one has finished",
                           limit="per_user", max=limits.max_per_user)
            if self._rooms[room_id] >= limits.max_per_room:
                raise Busy(f"the room already has {limits.max_per_room} runs executing (its "
                           "limit); retry when one has finished", limit="per_room",
                           max=limits.max_per_room)
            self._users[(room_id, user_id)] += 1
            self._rooms[room_id] += 1

    def release(self, room_id: str, user_id: str) -> None:
        """Give a slot back."""
        with self._lock:
            self._users[(room_id, user_id)] -= 1
            self._rooms[room_id] -= 1

    @contextmanager
    def hold(self, room_id: str, user_id: str, limits: Limits) -> Iterator[None]:
        """A slot for the duration of a block (Busy when none is free)."""
        self.acquire(room_id, user_id, limits)
        try:
            yield
        finally:
            self.release(room_id, user_id)

    def executing(self, room_id: str) -> int:
        """How many runs the room has executing now."""
        with self._lock:
            return self._rooms[room_id]


#: the service's one set of counters (one service process owns the store)
SLOTS = Slots()

_deadline: contextvars.ContextVar[float | None] = contextvars.ContextVar("run_deadline",
                                                                        default=None)


@contextmanager
def deadline(seconds: float) -> Iterator[None]:
    """Give the execution inside this block ``seconds`` to finish (the engine arms the timer)."""
    token = _deadline.set(time.monotonic() + seconds)
    try:
        yield
    finally:
        _deadline.reset(token)


@contextmanager
def interruptible(interrupt: Callable[[], None]) -> Iterator[None]:
    """Call ``interrupt`` (e.g. a DuckDB cursor's) when the current deadline passes; then raise
    TimedOut instead of whatever error the interrupted engine raised."""
    ends = _deadline.get()
    if ends is None:
        yield
        return
    if time.monotonic() >= ends:  # the time went before execution began: do not start it
        raise _timed_out()
    fired = threading.Event()

    def fire() -> None:
        fired.set()
        interrupt()

    timer = threading.Timer(max(ends - time.monotonic(), 0.0), fire)
    timer.daemon = True
    timer.start()
    try:
        yield
    except Exception:
        if fired.is_set():
            raise _timed_out() from None
        raise
    finally:
        timer.cancel()
    if fired.is_set():
        raise _timed_out()


def _timed_out() -> TimedOut:
    return TimedOut("the run took longer than the room's timeout and was stopped; its budget "
                    "stays spent. Ask the owner for a longer timeout, or run a smaller question")


def room_limits(cur: Any, room_id: str) -> Limits:
    """A room's limits: what its owner set, the service defaults elsewhere."""
    row = rec.run_limits(cur, room_id)
    if row is None:
        return Limits()
    return Limits(
        timeout_seconds=row.timeout_seconds or DEFAULT_TIMEOUT_SECONDS,
        max_per_user=row.max_concurrent_per_user or DEFAULT_PER_USER,
        max_per_room=row.max_concurrent_per_room or DEFAULT_PER_ROOM)


class _Claim:
    """The slot one run call holds (at most one), released when the call returns."""

    def __init__(self) -> None:
        self.held: tuple[str, str] | None = None


_claim: contextvars.ContextVar[_Claim | None] = contextvars.ContextVar("run_claim", default=None)
F = TypeVar("F", bound=Callable[..., Any])


def bounded(run: F) -> F:
    """Decorate the run operation: the slot :func:`take_slot` takes inside it is freed when it
    returns or raises, and its deadline ends with it."""

    @functools.wraps(run)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        claim = _Claim()
        token = _claim.set(claim)
        deadline_token = _deadline.set(None)
        try:
            return run(*args, **kwargs)
        finally:
            _deadline.reset(deadline_token)
            _claim.reset(token)
            if claim.held is not None:
                SLOTS.release(*claim.held)

    return wrapper  # type: ignore[return-value]


def take_slot(cur: Any, room_id: str, user_id: str) -> Limits:
    """Inside a :func:`bounded` run, after authorisation and before any charge: take a slot or
    raise Busy, and start the room's timeout for the execution that follows."""
    limits = room_limits(cur, room_id)
    claim = _claim.get()
    if claim is not None and claim.held is None:
        SLOTS.acquire(room_id, user_id, limits)
        claim.held = (room_id, user_id)
        _deadline.set(time.monotonic() + limits.timeout_seconds)
    return limits


def _out(room_id: str, limits: Limits) -> w.RunLimits:
    return w.RunLimits(room_id=room_id, timeout_seconds=limits.timeout_seconds,
                       max_concurrent_per_user=limits.max_per_user,
                       max_concurrent_per_room=limits.max_per_room)


def get_limits(store: Store, actor: Actor, room_id: str) -> w.RunLimits:
    """The room's run limits, for every participant (they say when a run will be refused)."""
    room_id = parse_uuid(room_id, "room")
    with store.reader() as cur:
        ensure_allowed(cur, actor, "run.limits.read", room_id=room_id, resource_type="room",
                       resource_id=room_id)
        return _out(room_id, room_limits(cur, room_id))


def set_limits(store: Store, actor: Actor, room_id: str, body: w.RunLimitsSet) -> w.RunLimits:
    """Owner: change the room's run limits (fields left out keep their value)."""
    room_id = parse_uuid(room_id, "room")
    with store.transaction() as cur:
        ensure_allowed(cur, actor, "run.limits.set", room_id=room_id, resource_type="room",
                       resource_id=room_id, detail=body.model_dump(exclude_unset=True))
        now = room_limits(cur, room_id)
        given = body.model_dump(exclude_unset=True)
        new = rec.LimitsRow(
            timeout_seconds=given.get("timeout_seconds") or now.timeout_seconds,
            max_concurrent_per_user=given.get("max_concurrent_per_user") or now.max_per_user,
            max_concurrent_per_room=given.get("max_concurrent_per_room") or now.max_per_room)
        rec.insert_run_limits(cur, room_id, new, actor.user_id)
        return _out(room_id, room_limits(cur, room_id))

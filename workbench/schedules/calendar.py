"""The budget calendar: every party's spend projected from the schedules to the room's end.

Each active schedule fires on its cron times between now and its end; each fire charges its
epsilon/delta to every protected party of the room (conservative: a fire is projected on every
party whose data the room holds, which is exact for the usual question reading both parties' data
and over-warns otherwise). A party is exhausted at the first fire that would not fit in what it has
left: from then on every fire touching it is refused and its schedule pauses.
"""

from __future__ import annotations

import datetime as dt
import heapq
from collections.abc import Iterator
from dataclasses import dataclass
from fractions import Fraction

from workbench.privacy import Budget, display
from workbench.schedules import cron

#: the most fires one projection walks through (every-5-minutes for a year is 105,120)
MAX_EVENTS = 200_000
#: the most points per party sent to a chart
MAX_POINTS = 400


@dataclass(frozen=True, kw_only=True)
class Planned:
    """A schedule as the projection sees it."""

    schedule_id: str
    name: str
    cron: str
    timezone: str
    #: fires strictly after this instant are projected
    after: dt.datetime
    ends_at: dt.datetime
    cost: Budget
    parties: tuple[str, ...]


@dataclass(frozen=True, kw_only=True)
class PartyState:
    """One party's budget and what it has spent so far."""

    org_id: str
    total: Budget
    spent: Budget


@dataclass(kw_only=True)
class PartyProjection:
    org_id: str
    total: Budget
    spent: Budget
    projected: Budget
    exhausted_at: dt.datetime | None
    exhausted_by: str | None
    points: list[tuple[dt.datetime, Budget]]


@dataclass(frozen=True, kw_only=True)
class Projection:
    parties: dict[str, PartyProjection]
    fires: dict[str, int]
    truncated: bool


def _events(plans: list[Planned]) -> Iterator[tuple[dt.datetime, str, Planned]]:
    """Every projected fire of every schedule, in time order (ties by schedule id)."""
    streams = [((moment, p.schedule_id, p) for moment in
                cron.fires(p.cron, p.timezone, p.after, p.ends_at)) for p in plans]
    return heapq.merge(*streams, key=lambda e: (e[0], e[1]))


def project(plans: list[Planned], parties: list[PartyState]) -> Projection:
    """Walk the fires in order, charging each party until its budget runs out."""
    state = {p.org_id: PartyProjection(org_id=p.org_id, total=p.total, spent=p.spent,
                                       projected=p.spent, exhausted_at=None, exhausted_by=None,
                                       points=[]) for p in parties}
    fires = {p.schedule_id: 0 for p in plans}
    truncated = False
    for n, (moment, schedule_id, plan) in enumerate(_events(plans)):
        if n >= MAX_EVENTS:
            truncated = True
            break
        payers = [state[o] for o in plan.parties if o in state]
        if any(s.exhausted_at is not None for s in payers):
            continue  # refused: a party it charges has run out (its schedule pauses)
        short = [s for s in payers if not s.total.covers(s.projected + plan.cost)]
        if short:
            for s in short:
                s.exhausted_at, s.exhausted_by = moment, plan.name
            continue
        fires[schedule_id] += 1
        for s in payers:
            s.projected = s.projected + plan.cost
            s.points.append((moment, s.projected))
    for s in state.values():
        s.points = _thin(s.points)
    return Projection(parties=state, fires=fires, truncated=truncated)


def _thin(points: list[tuple[dt.datetime, Budget]]) -> list[tuple[dt.datetime, Budget]]:
    """At most MAX_POINTS points, always keeping the last (the total at the end)."""
    if len(points) <= MAX_POINTS:
        return points
    step = len(points) / (MAX_POINTS - 1)
    kept = [points[int(i * step)] for i in range(MAX_POINTS - 1)]
    return kept + [points[-1]]


def fraction_text(x: Fraction) -> str:
    """A budget figure for people (rounded up: a projection never understates spend)."""
    return display(x, up=True)

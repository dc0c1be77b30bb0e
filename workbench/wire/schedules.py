"""Wire models of schedules, their fires, flows, flow runs and the budget calendar.

Every instant on the wire is timezone-aware; the service stores and compares them in UTC. A
schedule's cron expression is read in its own IANA time zone.
"""

from __future__ import annotations

import datetime as dt
from typing import Any, Literal

from pydantic import BaseModel, Field, StrictBool, StrictInt, StrictStr

from workbench.wire.questions import In

Amount = StrictStr | float | StrictInt
Name = Field(min_length=1, max_length=200)


class ScheduleCreate(In):
    """A recurring run of a question (or a flow) with fixed parameters and epsilon."""

    name: StrictStr = Name
    question_id: StrictStr | None = None
    flow_id: StrictStr | None = None
    parameters: dict[str, Any] = {}
    #: the epsilon of each fire (exact decimal string or number); ignored for flows (each step
    #: carries its own)
    epsilon: Amount = "1"
    delta: Amount | None = None
    #: five-field cron expression, read in ``timezone``
    cron: StrictStr = Field(min_length=1, max_length=120)
    timezone: StrictStr = "UTC"
    #: first instant a fire may happen (default: now)
    starts_at: dt.datetime | None = None
    #: last instant a fire may happen (default: the end of the room's last day, UTC)
    ends_at: dt.datetime | None = None
    #: accept a schedule that would exhaust a party's budget before its end: it then runs until
    #: the budget lasts and pauses itself
    until_budget_lasts: StrictBool = False


class ScheduleUpdate(In):
    """Edit a schedule; fields left out keep their value. The budget projection is re-checked."""

    name: StrictStr | None = Field(default=None, min_length=1, max_length=200)
    parameters: dict[str, Any] | None = None
    epsilon: Amount | None = None
    delta: Amount | None = None
    cron: StrictStr | None = Field(default=None, min_length=1, max_length=120)
    timezone: StrictStr | None = None
    starts_at: dt.datetime | None = None
    ends_at: dt.datetime | None = None
    until_budget_lasts: StrictBool | None = None


class Schedule(BaseModel):
    id: str
    room_id: str
    name: str
    #: question | flow
    target_kind: str
    target_id: str
    parameters: dict[str, Any]
    epsilon: str
    delta: str | None
    cron: str
    timezone: str
    starts_at: dt.datetime
    ends_at: dt.datetime
    until_budget_lasts: bool
    #: active | paused | finished
    status: str
    #: why the service paused it (a refused fire), or who paused it
    paused_reason: str | None
    next_fire_at: dt.datetime | None
    last_fired_at: dt.datetime | None
    owner_user_id: str
    owner_org_id: str
    created_at: dt.datetime
    updated_at: dt.datetime


class ScheduleFire(BaseModel):
    id: str
    schedule_id: str
    #: the cron instant this fire stands for
    due_at: dt.datetime
    fired_at: dt.datetime
    #: succeeded | failed | refused
    outcome: str
    reason: str | None
    run_id: str | None
    flow_run_id: str | None
    #: earlier fires missed while the service was down, collapsed into this one
    missed: int


class CalendarPoint(BaseModel):
    at: dt.datetime
    #: cumulative spend projected at that instant (exact decimal strings)
    epsilon: str
    delta: str


class PartyCalendar(BaseModel):
    """One protected party's budget, spend so far and projected spend to the room's end."""

    org_id: str
    org_name: str
    epsilon_budget: str
    delta_budget: str
    epsilon_spent: str
    delta_spent: str
    epsilon_projected: str
    delta_projected: str
    #: when scheduled work would exhaust this party's budget (None: it lasts)
    exhausted_at: dt.datetime | None
    points: list[CalendarPoint]


class ScheduleCost(BaseModel):
    schedule_id: str
    name: str
    fires: int
    epsilon_per_fire: str
    delta_per_fire: str
    #: the parties each fire charges
    parties: list[str]


class Calendar(BaseModel):
    room_id: str
    now: dt.datetime
    ends_at: dt.datetime
    parties: list[PartyCalendar]
    schedules: list[ScheduleCost]
    #: the projection stopped at its event limit before the end (very frequent schedules)
    truncated: bool


class CohortInput(In):
    """An analytical step reads an earlier cohort step's members as one of its dataset macros."""

    step: StrictStr
    macro: StrictStr


class FlowStep(In):
    name: StrictStr = Field(min_length=1, max_length=63, pattern=r"^[A-Za-z_][A-Za-z0-9_]*$")
    #: question: an analytical run; cohort: a user-list question built as a cohort
    kind: Literal["question", "cohort"] = "question"
    question_id: StrictStr
    parameters: dict[str, Any] = {}
    epsilon: Amount = "1"
    delta: Amount | None = None
    #: steps that must succeed first
    after: list[StrictStr] = []
    cohort_input: CohortInput | None = None


class FlowCreate(In):
    name: StrictStr = Name
    description: StrictStr = Field(default="", max_length=5000)
    steps: list[FlowStep] = Field(min_length=1, max_length=20)


class FlowUpdate(In):
    name: StrictStr | None = Field(default=None, min_length=1, max_length=200)
    description: StrictStr | None = Field(default=None, max_length=5000)
    steps: list[FlowStep] | None = Field(default=None, min_length=1, max_length=20)


class Flow(BaseModel):
    id: str
    room_id: str
    name: str
    description: str
    steps: list[FlowStep]
    version: int
    owner_user_id: str
    owner_org_id: str
    created_at: dt.datetime
    updated_at: dt.datetime


class FlowStepRun(BaseModel):
    step: str
    kind: str
    #: pending | running | succeeded | failed | skipped
    status: str
    started_at: dt.datetime | None
    finished_at: dt.datetime | None
    run_id: str | None
    cohort_id: str | None
    epsilon: str | None
    delta: str | None
    error: str | None


class FlowRun(BaseModel):
    id: str
    flow_id: str
    room_id: str
    flow_version: int
    #: hand | schedule
    trigger: str
    schedule_id: str | None
    user_id: str
    org_id: str
    #: running | succeeded | failed
    status: str
    started_at: dt.datetime
    finished_at: dt.datetime | None
    steps: list[FlowStepRun]

"""Schedule operations: create, edit, pause, resume, delete, list, fires and the budget calendar.

A schedule is checked when it is made and again at every fire: the cron expression and time zone,
its window inside the room's dates, the question's parameters and cost (through the same plan an
analyst previews), and the budget calendar (a schedule that would exhaust a party's budget before
its end is refused with the date, unless its owner chose to run it until the budget lasts).
"""

from __future__ import annotations

import datetime as dt
from fractions import Fraction
from typing import Any

from workbench.data import data_parties
from workbench.errors import Conflict, InvalidInput, NotFound, PermissionDenied
from workbench.governance import _records as governance_records
from workbench.governance.audit import record
from workbench.governance.model import Actor, Room, RoomAccess
from workbench.governance.policy import ensure_allowed_in_room
from workbench.ids import new_id, parse_uuid
from workbench.privacy import Budget, display
from workbench.runs import budgets
from workbench.runs.operations import plan_run
from workbench.schedules import _records as records
from workbench.schedules import calendar, cron
from workbench.schedules.clock import Clock
from workbench.store import Store
from workbench.wire import questions as wq
from workbench.wire import schedules as w

ONE_MICROSECOND = dt.timedelta(microseconds=1)


def room_end(room: Room) -> dt.datetime | None:
    """The last instant of the room's last day, in UTC (None: open-ended)."""
    if room.end_date is None:
        return None
    return dt.datetime.combine(room.end_date, dt.time.max, tzinfo=dt.UTC)


def _cost(store: Store, actor: Actor, room_id: str, question_id: str,
          parameters: dict[str, Any], epsilon: Any, delta: Any) -> Budget:
    """What one run costs, from the same plan the analyst previews (checks parameters too)."""
    plan = plan_run(store, actor, room_id, question_id,
                    wq.PlanRequest(parameters=parameters, epsilon=epsilon, delta=delta))
    return Budget(epsilon=Fraction(plan.epsilon), delta=Fraction(plan.delta))


def flow_cost(store: Store, actor: Actor, room_id: str, steps: list[dict[str, Any]]) -> Budget:
    """One flow run's cost: the sum of its steps' plans."""
    total = Budget(epsilon=Fraction(0), delta=Fraction(0))
    for step in steps:
        total = total + _cost(store, actor, room_id, step["question_id"],
                              step.get("parameters") or {}, step.get("epsilon", "1"),
                              step.get("delta"))
    return total


def _window(room: Room, now: dt.datetime, starts_at: dt.datetime | None,
            ends_at: dt.datetime | None) -> tuple[dt.datetime, dt.datetime]:
    """The schedule's start and end, checked against each other, now and the room's dates."""
    for value, name in ((starts_at, "starts_at"), (ends_at, "ends_at")):
        if value is not None and value.tzinfo is None:
            raise InvalidInput(f"{name} needs a time zone offset (for example "
                               "2027-01-04T06:00:00+00:00); instants are compared in UTC")
    end_of_room = room_end(room)
    starts = (starts_at or now).astimezone(dt.UTC)
    if ends_at is None:
        if end_of_room is None:
            raise InvalidInput("the room has no end date, so the schedule needs one: give ends_at")
        ends = end_of_room
    else:
        ends = ends_at.astimezone(dt.UTC)
    if end_of_room is not None and ends > end_of_room:
        raise InvalidInput(f"the schedule ends after the room does ({room.end_date}, UTC); end it "
                           "by then, or extend the room first")
    if ends <= now:
        raise InvalidInput("the schedule's end is already past")
    if ends <= starts:
        raise InvalidInput("the schedule must end after it starts")
    return starts, ends


def _first_fire(expression: str, timezone: str, starts: dt.datetime, ends: dt.datetime,
                now: dt.datetime) -> dt.datetime:
    first = cron.next_fire(expression, timezone, max(starts, now) - ONE_MICROSECOND, ends)
    if first is None:
        raise InvalidInput(f"{expression!r} in {timezone} never fires between the schedule's "
                           "start and end")
    return first


def party_states(cur: Any, room: Room) -> list[calendar.PartyState]:
    """Every protected party of the room with its budget and spend so far."""
    states = []
    for org_id in data_parties(cur, room.id):
        figures = budgets.figures(cur, room, org_id)
        states.append(calendar.PartyState(org_id=org_id, total=figures.total,
                                          spent=figures.spent))
    return states


def planned(cur: Any, room: Room, rec: records.ScheduleRecord) -> calendar.Planned:
    """An active schedule as the projection sees it."""
    cost = Budget(epsilon=Fraction(rec.epsilon), delta=Fraction(rec.delta or "0"))
    after = (rec.next_fire_at or rec.ends_at) - ONE_MICROSECOND
    return calendar.Planned(schedule_id=rec.id, name=rec.name, cron=rec.cron,
                            timezone=rec.timezone, after=after, ends_at=rec.ends_at, cost=cost,
                            parties=tuple(data_parties(cur, room.id)))


def _active_plans(cur: Any, room: Room, *, other_than: str | None = None
                  ) -> list[calendar.Planned]:
    return [planned(cur, room, rec) for rec in records.list_schedules(cur, room.id,
                                                                     status="active")
            if rec.id != other_than]


def _check_projection(cur: Any, room: Room, candidate: calendar.Planned,
                      until_budget_lasts: bool) -> None:
    """Refuse a schedule that makes any party run out before its end (unless told to run on)."""
    if until_budget_lasts:
        return
    others = _active_plans(cur, room, other_than=candidate.schedule_id)
    parties = party_states(cur, room)
    before = calendar.project(others, parties).parties
    after = calendar.project([*others, candidate], parties).parties
    names = governance_records.org_names(cur, list(after))
    for org_id, projected in after.items():
        when = projected.exhausted_at
        earlier = before[org_id].exhausted_at
        if when is not None and (earlier is None or when < earlier):
            raise Conflict(
                f"with this schedule, {names.get(org_id, org_id)}'s privacy budget in this room "
                f"runs out on {when:%Y-%m-%d %H:%M} UTC (at a fire of {projected.exhausted_by!r}), "
                f"before the schedule ends on {candidate.ends_at:%Y-%m-%d}; spend less epsilon per "
                "fire, fire less often, end earlier, or set until_budget_lasts to run until the "
                "budget lasts",
                exhausted_at=when.isoformat(), org_id=org_id)


def schedule_out(rec: records.ScheduleRecord) -> w.Schedule:
    return w.Schedule(
        id=rec.id, room_id=rec.room_id, name=rec.name, target_kind=rec.target_kind,
        target_id=rec.target_id, parameters=rec.params,
        epsilon=display(Fraction(rec.epsilon), up=True),
        delta=None if rec.delta is None else display(Fraction(rec.delta), up=True),
        cron=rec.cron, timezone=rec.timezone, starts_at=rec.starts_at, ends_at=rec.ends_at,
        until_budget_lasts=rec.until_budget_lasts, status=rec.status,
        paused_reason=rec.paused_reason, next_fire_at=rec.next_fire_at,
        last_fired_at=rec.last_fired_at, owner_user_id=rec.owner_user_id,
        owner_org_id=rec.owner_org_id, created_at=rec.created_at, updated_at=rec.updated_at)


def _target(body: w.ScheduleCreate) -> tuple[str, str]:
    if (body.question_id is None) == (body.flow_id is None):
        raise InvalidInput("a schedule runs either a question (question_id) or a flow (flow_id)")
    if body.question_id is not None:
        return "question", parse_uuid(body.question_id, "question")
    return "flow", parse_uuid(body.flow_id, "flow")


def _target_cost(store: Store, actor: Actor, room_id: str, kind: str, target_id: str,
                 parameters: dict[str, Any], epsilon: Any, delta: Any) -> Budget:
    if kind == "question":
        return _cost(store, actor, room_id, target_id, parameters, epsilon, delta)
    with store.reader() as cur:
        flow = records.get_flow(cur, room_id, target_id)
    if flow is None:
        raise NotFound(f"no flow {target_id} in this room")
    return flow_cost(store, actor, room_id, flow.step_list)


def create_schedule(store: Store, actor: Actor, room_id: str, body: w.ScheduleCreate,
                    clock: Clock) -> w.Schedule:
    """Schedule a question (or a flow); refused with the date when it would exhaust a budget."""
    room_id = parse_uuid(room_id, "room")
    kind, target_id = _target(body)
    action = "schedule.create" if kind == "question" else "flow.run"
    with store.reader() as cur:
        ensure_allowed_in_room(cur, actor, action, room_id=room_id,
                               resource_type=kind, resource_id=target_id)
    cron.check(body.cron, body.timezone)
    cost = _target_cost(store, actor, room_id, kind, target_id, body.parameters, body.epsilon,
                        body.delta)
    now = clock.now()
    schedule_id = new_id()
    with store.transaction() as cur:
        access = ensure_allowed_in_room(cur, actor, action, room_id=room_id, resource_type=kind,
                              resource_id=target_id, detail={"schedule_id": schedule_id})
        if kind == "flow" and records.get_flow(cur, room_id, target_id) is None:
            raise NotFound(f"no flow {target_id} in this room")
        starts, ends = _window(access.room, now, body.starts_at, body.ends_at)
        first = _first_fire(body.cron, body.timezone, starts, ends, now)
        candidate = calendar.Planned(
            schedule_id=schedule_id, name=body.name, cron=body.cron, timezone=body.timezone,
            after=first - ONE_MICROSECOND, ends_at=ends, cost=cost,
            parties=tuple(data_parties(cur, room_id)))
        _check_projection(cur, access.room, candidate, body.until_budget_lasts)
        records.insert_schedule(cur, {
            "id": schedule_id, "room_id": room_id, "name": body.name, "target_kind": kind,
            "target_id": target_id, "parameters": body.parameters,
            "epsilon": str(cost.epsilon), "delta": str(cost.delta), "cron": body.cron,
            "timezone": body.timezone, "starts_at": starts, "ends_at": ends,
            "until_budget_lasts": body.until_budget_lasts, "status": "active",
            "paused_reason": None, "next_fire_at": first, "owner_user_id": actor.user_id,
            "owner_org_id": actor.org_id})
        record(cur, actor, "schedule.created", room_id=room_id, resource_type="schedule",
               resource_id=schedule_id, detail={"cron": body.cron, "timezone": body.timezone,
                                                "target": kind, "target_id": target_id,
                                                "epsilon": str(cost.epsilon),
                                                "delta": str(cost.delta)})
        return schedule_out(_load(cur, room_id, schedule_id))


def _load(cur: Any, room_id: str, schedule_id: str) -> records.ScheduleRecord:
    rec = records.get_schedule(cur, room_id, schedule_id)
    if rec is None:
        raise NotFound(f"no schedule {schedule_id} in this room")
    return rec


def update_schedule(store: Store, actor: Actor, room_id: str, schedule_id: str,
                    body: w.ScheduleUpdate, clock: Clock) -> w.Schedule:
    """Edit a schedule; its next fire and the budget calendar are worked out again."""
    room_id, schedule_id = parse_uuid(room_id, "room"), parse_uuid(schedule_id, "schedule")
    with store.reader() as cur:
        ensure_allowed_in_room(cur, actor, "schedule.manage", room_id=room_id,
                               resource_type="schedule",
                     resource_id=schedule_id)
        old = _load(cur, room_id, schedule_id)
    expression = body.cron if body.cron is not None else old.cron
    timezone = body.timezone if body.timezone is not None else old.timezone
    cron.check(expression, timezone)
    parameters = body.parameters if body.parameters is not None else old.params
    epsilon = body.epsilon if body.epsilon is not None else old.epsilon
    delta = body.delta if body.delta is not None else old.delta
    cost = _target_cost(store, actor, room_id, old.target_kind, old.target_id, parameters,
                        epsilon, delta)
    now = clock.now()
    with store.transaction() as cur:
        access = ensure_allowed_in_room(cur, actor, "schedule.manage", room_id=room_id,
                                        resource_type="schedule",
                              resource_id=schedule_id)
        old = _load(cur, room_id, schedule_id)
        starts, ends = _window(access.room, now, body.starts_at or old.starts_at,
                               body.ends_at or old.ends_at)
        first = _first_fire(expression, timezone, starts, ends, now)
        lasts = (body.until_budget_lasts if body.until_budget_lasts is not None
                 else old.until_budget_lasts)
        if old.status == "active":
            _check_projection(cur, access.room, calendar.Planned(
                schedule_id=old.id, name=body.name or old.name, cron=expression,
                timezone=timezone, after=first - ONE_MICROSECOND, ends_at=ends, cost=cost,
                parties=tuple(data_parties(cur, room_id))), lasts)
        records.update_schedule(cur, schedule_id, {
            "name": body.name or old.name, "parameters": parameters,
            "epsilon": str(cost.epsilon), "delta": str(cost.delta), "cron": expression,
            "timezone": timezone, "starts_at": starts, "ends_at": ends,
            "until_budget_lasts": lasts, "next_fire_at": first})
        record(cur, actor, "schedule.updated", room_id=room_id, resource_type="schedule",
               resource_id=schedule_id,
               detail={"changed": sorted(body.model_dump(exclude_none=True))})
        return schedule_out(_load(cur, room_id, schedule_id))


def pause_schedule(store: Store, actor: Actor, room_id: str, schedule_id: str) -> w.Schedule:
    """Stop firing until resumed."""
    room_id, schedule_id = parse_uuid(room_id, "room"), parse_uuid(schedule_id, "schedule")
    with store.transaction() as cur:
        ensure_allowed_in_room(cur, actor, "schedule.manage", room_id=room_id,
                               resource_type="schedule",
                     resource_id=schedule_id)
        rec = _load(cur, room_id, schedule_id)
        if rec.status != "active":
            raise Conflict(f"the schedule is {rec.status}, not active")
        records.update_schedule(cur, schedule_id, {
            "status": "paused", "paused_reason": f"paused by {actor.user_name}"})
        record(cur, actor, "schedule.paused", room_id=room_id, resource_type="schedule",
               resource_id=schedule_id, reason="paused by its owner")
        return schedule_out(_load(cur, room_id, schedule_id))


def resume_schedule(store: Store, actor: Actor, room_id: str, schedule_id: str,
                    clock: Clock) -> w.Schedule:
    """Fire again from the next cron time after now (fires missed while paused are skipped);
    the budget calendar is checked again."""
    room_id, schedule_id = parse_uuid(room_id, "room"), parse_uuid(schedule_id, "schedule")
    now = clock.now()
    with store.transaction() as cur:
        access = ensure_allowed_in_room(cur, actor, "schedule.manage", room_id=room_id,
                                        resource_type="schedule",
                              resource_id=schedule_id)
        rec = _load(cur, room_id, schedule_id)
        if rec.status != "paused":
            raise Conflict(f"the schedule is {rec.status}, not paused")
        first = _first_fire(rec.cron, rec.timezone, rec.starts_at, rec.ends_at, now)
        _check_projection(cur, access.room, calendar.Planned(
            schedule_id=rec.id, name=rec.name, cron=rec.cron, timezone=rec.timezone,
            after=first - ONE_MICROSECOND, ends_at=rec.ends_at,
            cost=Budget(epsilon=Fraction(rec.epsilon), delta=Fraction(rec.delta or "0")),
            parties=tuple(data_parties(cur, room_id))), rec.until_budget_lasts)
        records.update_schedule(cur, schedule_id, {"status": "active", "paused_reason": None,
                                                   "next_fire_at": first})
        record(cur, actor, "schedule.resumed", room_id=room_id, resource_type="schedule",
               resource_id=schedule_id)
        return schedule_out(_load(cur, room_id, schedule_id))


def delete_schedule(store: Store, actor: Actor, room_id: str, schedule_id: str) -> None:
    """Remove a schedule and its fire history (runs it made stay, with their charges)."""
    room_id, schedule_id = parse_uuid(room_id, "room"), parse_uuid(schedule_id, "schedule")
    with store.transaction() as cur:
        ensure_allowed_in_room(cur, actor, "schedule.manage", room_id=room_id,
                               resource_type="schedule",
                     resource_id=schedule_id)
        _load(cur, room_id, schedule_id)
        records.delete_schedule(cur, schedule_id)


def list_schedules(store: Store, actor: Actor, room_id: str) -> list[w.Schedule]:
    """Every schedule of the room: each party sees what will spend its budget."""
    room_id = parse_uuid(room_id, "room")
    with store.reader() as cur:
        ensure_allowed_in_room(cur, actor, "schedule.read", room_id=room_id,
                               resource_type="schedule")
        return [schedule_out(r) for r in records.list_schedules(cur, room_id)]


def get_schedule(store: Store, actor: Actor, room_id: str, schedule_id: str) -> w.Schedule:
    room_id, schedule_id = parse_uuid(room_id, "room"), parse_uuid(schedule_id, "schedule")
    with store.reader() as cur:
        ensure_allowed_in_room(cur, actor, "schedule.read", room_id=room_id,
                               resource_type="schedule",
                     resource_id=schedule_id)
        return schedule_out(_load(cur, room_id, schedule_id))


def list_fires(store: Store, actor: Actor, room_id: str, schedule_id: str
               ) -> list[w.ScheduleFire]:
    """The schedule's history, newest first: what ran, what was refused and why."""
    room_id, schedule_id = parse_uuid(room_id, "room"), parse_uuid(schedule_id, "schedule")
    with store.reader() as cur:
        ensure_allowed_in_room(cur, actor, "schedule.read", room_id=room_id,
                               resource_type="schedule",
                     resource_id=schedule_id)
        _load(cur, room_id, schedule_id)
        return [w.ScheduleFire(id=f.id, schedule_id=f.schedule_id, due_at=f.due_at,
                               fired_at=f.fired_at, outcome=f.outcome, reason=f.reason,
                               run_id=f.run_id, flow_run_id=f.flow_run_id, missed=f.missed)
                for f in records.list_fires(cur, schedule_id)]


def budget_calendar(store: Store, actor: Actor, room_id: str, clock: Clock) -> w.Calendar:
    """Projected spend per protected party to the room's end. The owner sees every party; a
    partner sees its own (another org's budget is not a partner's to read)."""
    room_id = parse_uuid(room_id, "room")
    now = clock.now()
    with store.reader() as cur:
        access = ensure_allowed_in_room(cur, actor, "schedule.read", room_id=room_id,
                                        resource_type="calendar")
        room = access.room
        plans = _active_plans(cur, room)
        projection = calendar.project(plans, party_states(cur, room))
        names = governance_records.org_names(cur, list(projection.parties))
    ends = room_end(room) or max((p.ends_at for p in plans), default=now)
    parties = [
        w.PartyCalendar(
            org_id=p.org_id, org_name=names.get(p.org_id, p.org_id),
            epsilon_budget=display(p.total.epsilon, up=False),
            delta_budget=display(p.total.delta, up=False),
            epsilon_spent=display(p.spent.epsilon, up=True),
            delta_spent=display(p.spent.delta, up=True),
            epsilon_projected=display(p.projected.epsilon, up=True),
            delta_projected=display(p.projected.delta, up=True),
            exhausted_at=p.exhausted_at,
            points=[w.CalendarPoint(at=at, epsilon=display(b.epsilon, up=True),
                                    delta=display(b.delta, up=True)) for at, b in p.points])
        for p in projection.parties.values()
        if access.is_owner or p.org_id == actor.org_id]
    costs = [w.ScheduleCost(schedule_id=p.schedule_id, name=p.name,
                            fires=projection.fires[p.schedule_id],
                            epsilon_per_fire=display(p.cost.epsilon, up=True),
                            delta_per_fire=display(p.cost.delta, up=True),
                            parties=list(p.parties)) for p in plans]
    return w.Calendar(room_id=room_id, now=now, ends_at=ends, parties=parties, schedules=costs,
                      truncated=projection.truncated)


def owner_actor(cur: Any, user_id: str) -> Actor:
    """The schedule's owner as an actor at fire time; a deleted or deactivated owner cannot."""
    user = governance_records.user(cur, user_id)
    if user is None or user.deactivated_at is not None:
        raise PermissionDenied("the schedule's owner no longer exists or was deactivated; a "
                               "colleague must create the schedule again")
    return Actor(user_id=user.id, org_id=user.org_id, user_name=user.name,
                 org_roles=frozenset(user.org_roles))

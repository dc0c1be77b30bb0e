"""Cron expressions read in a stated time zone (croniter), and the fire times they produce.

croniter does the calendar arithmetic (day-of-week/month rules, DST): we only validate input into
clear errors and convert every fire time to UTC.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from croniter import CroniterBadCronError, CroniterBadDateError, croniter

from workbench.errors import InvalidInput

#: the shortest period we accept between two fires: a clean room answers questions, it is not a
#: polling loop, and every fire spends privacy budget
MIN_PERIOD = dt.timedelta(minutes=5)


def zone(name: str) -> ZoneInfo:
    """The IANA time zone called ``name``, or a clear error."""
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise InvalidInput(f"unknown time zone {name!r}; use an IANA name such as 'Europe/Paris' "
                           "or 'UTC'") from None


def check(expression: str, timezone: str) -> None:
    """Refuse an invalid cron expression, an unknown zone, or fires closer than MIN_PERIOD."""
    tz = zone(timezone)
    if not isinstance(expression, str) or len(expression.split()) != 5:
        raise InvalidInput(f"invalid cron expression {expression!r}: use five fields "
                           "(minute hour day-of-month month day-of-week), e.g. '0 6 * * 1'")
    try:
        it = croniter(expression, dt.datetime(2026, 1, 1, tzinfo=tz))
        sample = [it.get_next(dt.datetime) for _ in range(50)]
    except (CroniterBadCronError, CroniterBadDateError, ValueError, KeyError) as exc:
        raise InvalidInput(f"invalid cron expression {expression!r}: {exc}") from None
    if min(b - a for a, b in zip(sample, sample[1:])) < MIN_PERIOD:
        raise InvalidInput(f"cron expression {expression!r} fires more often than every "
                           f"{int(MIN_PERIOD.total_seconds() // 60)} minutes; choose a longer period")


def fires(expression: str, timezone: str, after: dt.datetime, until: dt.datetime
          ) -> Iterator[dt.datetime]:
    """Fire instants (UTC) strictly after ``after`` and no later than ``until``."""
    tz = zone(timezone)
    it = croniter(expression, after.astimezone(tz))
    while True:
        moment = it.get_next(dt.datetime).astimezone(dt.UTC)
        if moment > until:
            return
        yield moment


def next_fire(expression: str, timezone: str, after: dt.datetime, until: dt.datetime
              ) -> dt.datetime | None:
    """The first fire after ``after`` (None when there is none before ``until``)."""
    return next(fires(expression, timezone, after, until), None)

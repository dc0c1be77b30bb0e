"""Governance records as frozen dataclasses, read from the store."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from fractions import Fraction

from workbench.governance.permissions import Permission


@dataclass(frozen=True, kw_only=True)
class Actor:
    """Who is asking: the authenticated user and their org, resolved from the token."""

    #: the user's id
    user_id: str
    #: the user's organisation
    org_id: str
    #: the user's name, for audit and messages
    user_name: str
    #: the org roles the user holds (built-in role keys and custom role ids)
    org_roles: frozenset[str] = frozenset()
    #: the org rights those roles bundle (org admins hold every right)
    org_rights: frozenset[str] = frozenset()

    @property
    def is_org_admin(self) -> bool:
        """Org admins hold every org right."""
        return "org_admin" in self.org_rights


@dataclass(frozen=True, kw_only=True)
class Room:
    """A clean room's settings."""

    id: str
    name: str
    description: str
    owner_org_id: str
    #: first day the room is usable
    start_date: dt.date
    #: last day the room is usable; after it the room is read-only (None: open-ended)
    end_date: dt.date | None
    #: crowd size: released rows from fewer units are suppressed
    k_min: int
    #: differential privacy on (the default); off is an audited owner choice
    dp_enabled: bool
    #: privacy budget per receiving party, exact
    epsilon_budget: Fraction
    delta_budget: Fraction
    #: feature toggles
    intelligence: bool
    flows: bool

    def expired(self, today: dt.date | None = None) -> bool:
        """True after the end date (a UTC day): no new runs, datasets or partners."""
        today = today or utc_today()
        return self.end_date is not None and today > self.end_date

    def not_started(self, today: dt.date | None = None) -> bool:
        """True before the start date (a UTC day)."""
        return (today or utc_today()) < self.start_date


def utc_today(now: dt.datetime | None = None) -> dt.date:
    """Today's date in UTC: room dates are UTC days, whatever the server's or caller's zone.

    ``now`` (aware) lets tests and the scheduler inject a time; a naive ``now`` is refused.
    """
    if now is None:
        now = dt.datetime.now(dt.timezone.utc)
    if now.tzinfo is None:
        raise ValueError("utc_today needs an aware datetime (with a time zone)")
    return now.astimezone(dt.timezone.utc).date()


@dataclass(frozen=True, kw_only=True)
class RoomAccess:
    """What one actor may do in one room, as decided by the policy."""

    room: Room
    #: the actor's org owns the room
    is_owner: bool
    #: the actor's org relation: owner | invited | accepted
    org_status: str
    #: permissions the actor holds here (role ∩ available to the org ∩ features)
    permissions: frozenset[Permission]
    #: permissions available to the actor's org in this room
    available: frozenset[Permission]
    #: the room is past its end date
    expired: bool

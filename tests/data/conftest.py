"""Fixtures for dataset tests: CSV bytes, a room with a partner, a ready-made connection."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass

import pytest

import workbench as wb
from workbench.wire import data as w

#: a CSV with two bad identities (line 4: no @, line 5: empty) and a PII name column
USERS_CSV = (
    b"email,region,spend,name\n"
    b"  Ann@Example.COM ,north,10,Ann Smith\n"
    b"bob@example.org,south,20,Bob Jones\n"
    b"not-an-email,north,5,Cy\n"
    b",east,1,Di\n"
    b"ann@example.com,north,7,Ann Smith\n"
)


def emails_csv(n: int, *, region_of: Callable[[int], str] = lambda i: "north south east west".split()[i % 4]) -> bytes:
    """``n`` synthetic users with a region and a spend."""
    lines = ["email,region,spend"] + [f"user{i}@example.com,{region_of(i)},{i % 100}" for i in range(n)]
    return ("\n".join(lines) + "\n").encode()


@dataclass
class Pair:
    """A room owned by Publisher with Advertiser as an accepted partner."""

    owner: wb.Client
    owner_org: str
    partner: wb.Client
    partner_org: str
    room: object


@pytest.fixture
def pair(publisher, make_org) -> Pair:
    adv = make_org("Advertiser")
    room = publisher.admin.create_room("Campaign lift", k_min=3)
    publisher.admin.invite_partner(room.id, adv.id)
    adv.admin.accept_invitation(room.id)
    return Pair(publisher.admin, publisher.id, adv.admin, adv.id, room)


def connect(client: wb.Client, data: bytes = USERS_CSV, name: str = "users", **kw) -> w.Connection:
    """Upload ``data`` as a CSV and make an email-keyed connection."""
    kw.setdefault("identity_column", "email")
    kw.setdefault("identity_kind", "email")
    return client.connect_dataset(data, name, file_name=f"{name}.csv", progress=False, **kw)


@pytest.fixture
def past_room(publisher) -> object:
    """A room that ended yesterday."""
    today = dt.date.today()
    room = publisher.admin.create_room("Old room", start_date=today - dt.timedelta(days=30))
    publisher.admin.update_room(room.id, end_date=today - dt.timedelta(days=1))  # a room cannot start expired
    return room

"""A real two-party room built through the client: publisher (owner) and advertiser (partner),
each uploading, provisioning, setting rules and mapping its dataset. Shared by runs tests."""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass

import pandas as pd

import workbench as wb
from workbench.demo import BANDS, REGIONS
from workbench.demo import REACH_SQL as Q1_SQL  # the demo's first question: the same room, the same data shape


@dataclass
class Room:
    id: str
    owner: wb.Client
    partner: wb.Client
    owner_org: str
    partner_org: str
    publisher_dataset: str
    advertiser_dataset: str
    #: the owner's data connection behind publisher_dataset
    publisher_connection: str = ""


def publisher_frame(n: int = 400) -> pd.DataFrame:
    return pd.DataFrame({
        "email": [f"User{i}@Example.com " for i in range(n)],
        "region": [REGIONS[i % 4] for i in range(n)],
        "age_band": [BANDS[i % 3] for i in range(n)],
    })


def advertiser_frame(n: int = 400) -> pd.DataFrame:
    # every second publisher user bought something; amounts 0..299
    return pd.DataFrame({
        "email": [f"user{2 * i}@example.com" for i in range(n // 2)],
        "amount": [float((7 * i) % 300) for i in range(n // 2)],
    })


def build_room(owner: wb.Client, make_org, *, dp: bool = True, k_min: int = 1,
               epsilon_budget: str = "10", publisher: pd.DataFrame | None = None,
               advertiser: pd.DataFrame | None = None, amount_upper: float = 250.0,
               publisher_connection: str | None = None) -> Room:
    """Everything a question needs, done the way the two parties would do it.

    The owner's data connection is named "users" (then "users 2", ... when the owner already has
    one); ``publisher_connection`` provisions an existing one instead (a second room over the
    same data)."""
    partner_org = make_org(f"Advertiser {uuid.uuid4().hex[:6]}")
    partner = partner_org.admin
    me = owner.whoami()
    room = owner.create_room(f"room {uuid.uuid4().hex[:6]}", k_min=k_min, dp_enabled=dp,
                             epsilon_budget=epsilon_budget,
                             start_date=dt.date.today() - dt.timedelta(days=1))
    owner.invite_partner(room.id, partner_org.id)
    partner.accept_invitation(room.id)
    owner.set_partner_permissions(room.id, partner_org.id, [
        "manage_clean_room_roles", "manage_datasets", "view_reports",
        "create_delete_question_runs", "question_builder"])

    if publisher_connection is None:
        taken = {c.name for c in owner.connections()}
        name = next(n for n in ("users", *(f"users {i}" for i in range(2, 1000))) if n not in taken)
        publisher_connection = owner.connect_dataset(
            publisher if publisher is not None else publisher_frame(), name,
            identity_column="email", identity_kind="email", progress=False).id
    pds = owner.provision_dataset(room.id, publisher_connection, "publisher users")
    owner.set_analysis_rules(room.id, pds.id, [
        {"name": "email", "join": True, "aggregations": ["COUNT_DISTINCT"]},
        {"name": "region", "group_by": True, "public_values": REGIONS},
        {"name": "age_band", "group_by": True, "public_values": BANDS},
    ])
    adv = partner.connect_dataset(advertiser if advertiser is not None else advertiser_frame(),
                                  "sales", identity_column="email", identity_kind="email",
                                  progress=False)
    ads = partner.provision_dataset(room.id, adv.id, "advertiser sales")
    partner.set_analysis_rules(room.id, ads.id, [
        {"name": "email", "join": True},
        {"name": "amount", "aggregations": ["SUM", "AVG"], "lower": 0, "upper": amount_upper},
    ])
    owner.set_template(room.id, [
        {"macro": "publisher", "party": "owner",
         "fields": [{"macro": "email"}, {"macro": "region"}, {"macro": "age_band"}]},
        {"macro": "advertiser", "party": partner_org.id,
         "fields": [{"macro": "email"}, {"macro": "amount"}]},
    ], runs="all", receives="owner")
    owner.map_dataset(room.id, "publisher", pds.id,
                      {"email": "email", "region": "region", "age_band": "age_band"})
    partner.map_dataset(room.id, "advertiser", ads.id, {"email": "email", "amount": "amount"})
    return Room(room.id, owner, partner, me.org.id, partner_org.id, pds.id, ads.id,
                publisher_connection)


def add_q1(room: Room, **kwargs) -> str:
    """Author Q1 as the owner and add it to the room."""
    q = room.owner.create_question(
        room.id, "Reach and spend by region and age band", Q1_SQL,
        parameters=[{"name": "min_amount", "type": "number", "default": 0}], **kwargs)
    room.owner.add_question(room.id, q.id)
    return q.id

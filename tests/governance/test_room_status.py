"""A room's status: draft until every party mapped every required field, then active, then expired."""

from __future__ import annotations

import datetime as dt

from tests.runs.room import build_room


def test_status_follows_mapping_and_dates(admin, make_org) -> None:
    room = build_room(admin, make_org)
    assert admin.room(room.id).status == "active"
    room.partner.unmap_dataset(room.id, "advertiser")
    assert admin.room(room.id).status == "draft"
    assert room.partner.room(room.id).status == "draft"
    room.partner.map_dataset(room.id, "advertiser", room.advertiser_dataset, {"email": "email", "amount": "amount"})
    assert admin.room(room.id).status == "active"
    admin.update_room(room.id, end_date=dt.date.today() - dt.timedelta(days=1))
    assert admin.room(room.id).status == "expired"
    admin.update_room(room.id, end_date=dt.date.today() + dt.timedelta(days=7))
    assert admin.room(room.id).status == "active"
    later = admin.create_room("later", start_date=dt.date.today() + dt.timedelta(days=3))
    assert later.status == "scheduled"

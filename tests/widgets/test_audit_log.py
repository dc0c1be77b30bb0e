"""The audit log app's widget, driven in-process against a real service and store."""

from __future__ import annotations

import base64
import csv
import datetime as dt
import io

import pytest

from workbench.errors import InvalidInput
from widgets.audit import AuditLog, day_bounds, shown_time


@pytest.fixture
def busy(admin, make_org):
    """Publisher's admin: a room, three partners invited, and many reads on top."""
    room = admin.create_room("Audit room")
    for name in ("A", "B", "C"):
        admin.invite_partner(room.id, make_org(f"Partner {name}").id)
    for _ in range(5):
        admin.rooms()
        admin.room(room.id)
    return room


def test_reads_are_hidden_until_asked_for(admin, busy):
    log = AuditLog(admin)
    actions = {e.action for e in log.events}
    assert "partner.invite" in actions and "room.create" in actions
    assert not actions & {"room.list", "room.read", "org.audit.read"}
    log.reads.value = True
    assert {"room.list", "room.read"} <= {e.action for e in log.events}


def test_pages_go_back_and_forth_without_overlap(admin, busy):
    log = AuditLog(admin, page_size=2)  # reads hidden: reading the log adds no event to page 1
    first = [e.seq for e in log.events]
    assert len(first) == 2 and log.newer.disabled and not log.older.disabled
    log.older.click()
    second = [e.seq for e in log.events]
    assert log.page == 2 and max(second) < min(first) and not log.newer.disabled
    assert "page 2: events 3–4" in log.page_label.value
    log.newer.click()
    assert [e.seq for e in log.events] == first and log.page == 1


def test_a_date_range_in_a_time_zone(admin, busy):
    log = AuditLog(admin)
    log.zone.value = "Asia/Tokyo"
    assert "JST" in log.table.value and "times in Asia/Tokyo" in log.page_label.value
    tomorrow = dt.date.today() + dt.timedelta(days=2)
    log.start_day.value = tomorrow
    assert log.events == [] and "no events match" in log.table.value
    log.start_day.value, log.end_day.value = dt.date.today() - dt.timedelta(days=1), dt.date.today() + dt.timedelta(days=1)
    assert log.events
    log.start_day.value, log.end_day.value = tomorrow, dt.date.today()
    assert "date range is empty" in log.status.text and log.events == []


def test_csv_export_has_every_event_of_the_filters_with_zones(admin, busy):
    log = AuditLog(admin, page_size=2)
    log.action.value = "partner.invite"
    log.load.click()
    log.export.click()
    href = log.download.value.split("base64,")[1].split('"')[0]
    rows = list(csv.reader(io.StringIO(base64.b64decode(href).decode())))
    assert rows[0][:3] == ["seq", "at_utc", f"at ({log.zone.value})"]
    assert len(rows) == 1 + 3 and {r[6] for r in rows[1:]} == {"partner.invite"}
    assert all(r[1].endswith(" UTC") for r in rows[1:])
    assert "3 event(s)" in log.status.text


def test_the_service_refuses_naive_times_and_empty_ranges(admin):
    now = dt.datetime.now(dt.timezone.utc)
    with pytest.raises(InvalidInput, match="time zone"):
        admin.audit(since=dt.datetime(2026, 1, 1))
    with pytest.raises(InvalidInput, match="range is empty"):
        admin.audit(since=now, until=now - dt.timedelta(hours=1))


def test_an_org_never_pages_into_another_orgs_events(admin, make_org, busy):
    other = make_org("Stranger")
    other.admin.create_room("Their room")
    theirs = other.admin.audit(limit=10_000, reads=True, before_seq=10**9)
    assert any(e.action == "room.create" for e in theirs)
    assert not any(e.room_id == busy.id for e in theirs)


def test_times_always_say_their_zone():
    assert shown_time("2026-12-01T04:05:06+00:00", "Europe/Paris") == "2026-12-01 05:05:06 CET"
    since, until = day_bounds(dt.date(2026, 12, 1), dt.date(2026, 12, 1), "UTC")
    assert (until - since) == dt.timedelta(days=1) and since.tzinfo is not None


def test_a_rooms_creation_event_names_the_room(admin, busy):
    created = [e for e in admin.audit(action="room.create") if e.outcome == "allowed"]
    assert busy.id in {e.resource_id for e in created}

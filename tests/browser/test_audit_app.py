"""In a real browser: the audit log app pages, narrows to a date range and exports CSV."""

from __future__ import annotations

import csv
import datetime as dt
import io
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from tests.browser.conftest import open_app, screenshot

pytestmark = pytest.mark.browser


def test_audit_app_pages_filters_dates_and_exports(page: Page, voila, live_service):
    admin = live_service.client(live_service.admin_token)
    for i in range(55):  # more than one page (50) of actions that change something
        admin.create_room(f"Audit browser room {i}")

    open_app(page, voila, "audit", live_service.admin_token, ready=".wb-audit-log table.wb-audit")
    log = page.locator(".wb-audit-log")
    table = log.locator("table.wb-audit")
    expect(table).to_contain_text("room.create")
    expect(table).not_to_contain_text("room.list")  # reads are hidden by default
    expect(log.locator(".wb-audit-page")).to_contain_text("page 1: events 1–50")
    expect(table).to_contain_text(" UTC")  # every time says its zone

    log.get_by_role("button", name="Older ▶").click()
    expect(log.locator(".wb-audit-page")).to_contain_text("page 2: events 51–")
    log.get_by_role("button", name="◀ Newer").click()
    expect(log.locator(".wb-audit-page")).to_contain_text("page 1: events 1–50")

    future = (dt.date.today() + dt.timedelta(days=3)).isoformat()
    log.locator("input[type=date]").first.fill(future)
    expect(log.locator("table.wb-audit, .wb-audit-empty").first).to_contain_text("no events match")
    log.locator("input[type=date]").first.fill((dt.date.today() - dt.timedelta(days=1)).isoformat())
    expect(table).to_contain_text("room.create")

    log.get_by_role("button", name="Export CSV").click()
    link = log.locator("a.wb-audit-csv")
    expect(link).to_contain_text("events")
    with page.expect_download() as download:
        link.click()
    text = Path(download.value.path()).read_text(encoding="utf-8")
    rows = list(csv.reader(io.StringIO(text)))
    assert rows[0][:3] == ["seq", "at_utc", "at (UTC)"] and len(rows) > 56
    assert sum(r[6] == "room.create" for r in rows[1:]) >= 55
    expect(page.locator("body")).not_to_contain_text("Traceback")
    screenshot(page, "audit_log")

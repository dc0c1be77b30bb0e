"""In a real browser: the owner invites a partner, the partner accepts, the owner sees it."""

from __future__ import annotations

import pytest
from playwright.sync_api import Browser, Page, expect

from tests.browser.conftest import open_app, screenshot

pytestmark = pytest.mark.browser


def test_owner_invites_partner_and_sees_the_acceptance(page: Page, browser: Browser, voila, live_service):
    admin = live_service.client(live_service.admin_token)
    advertiser = admin.create_org("Advertiser (browser)", "ada")

    open_app(page, voila, "owner_console", live_service.admin_token)
    owner = page.locator(".wb-owner-console")
    owner.get_by_text("Create a clean room").click()
    owner.get_by_placeholder("e.g. Q3 campaign measurement").fill("Browser room")
    owner.get_by_role("button", name="Create room").click()
    expect(owner.locator(".wb-status").first).to_contain_text("room 'Browser room' created")

    owner.get_by_placeholder("the partner organisation's id").fill(advertiser.org.id)
    owner.get_by_role("button", name="Invite partner").click()
    expect(owner.locator("table.wb-partners")).to_contain_text("invited")

    context = browser.new_context(viewport={"width": 1200, "height": 1000})
    try:
        partner_page = context.new_page()
        open_app(partner_page, voila, "partner_console", advertiser.token.secret)
        partner = partner_page.locator(".wb-partner-console")
        expect(partner.locator("table.wb-invitations")).to_contain_text("Browser room")
        partner.get_by_role("button", name="Accept").click()
        expect(partner.locator(".wb-status").first).to_contain_text("Partner Administrator")
        expect(partner.locator(".wb-available")).to_contain_text("Manage Datasets")
        expect(partner_page.locator("body")).not_to_contain_text("Traceback")
        screenshot(partner_page, "partner_console")
    finally:
        context.close()

    owner.get_by_role("button", name="Refresh").click()
    expect(owner.locator("table.wb-partners")).to_contain_text("accepted")
    expect(page.locator("body")).not_to_contain_text("Traceback")
    screenshot(page, "owner_console")

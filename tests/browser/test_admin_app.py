"""In a real browser: the administration app creates a user, issues a token shown once, revokes it
after a confirmation naming it, and shows the service's last-administrator refusal."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

import workbench as wb
from tests.browser.conftest import open_app, screenshot

pytestmark = pytest.mark.browser


def test_admin_creates_a_user_issues_and_revokes_a_token_and_sees_the_last_admin_refusal(
        page: Page, voila, live_service):
    admin = live_service.client(live_service.admin_token)
    rex = admin.create_user("rex", org_roles=["clean_room_admin"])
    live_service.client(admin.issue_token(rex.id).secret).create_room("Rex's room")  # rex: its only Administrator

    open_app(page, voila, "administration", live_service.admin_token, ready=".wb-admin")
    users = page.locator(".wb-org-admin")
    users.get_by_placeholder("name", exact=True).fill("bea")
    users.get_by_role("button", name="Add user").click()
    expect(users.locator(".wb-status").first).to_contain_text("user 'bea' added")
    expect(users.locator("table.wb-users")).to_contain_text("bea")

    page.locator(".lm-TabBar-tab", has_text="API tokens").click()
    tokens = page.locator(".wb-tokens")
    tokens.locator(".wb-token-user select").select_option(label="bea")
    tokens.get_by_placeholder("e.g. laptop, nightly job").fill("browser")
    tokens.get_by_role("button", name="Issue token").click()
    shown = tokens.locator(".wb-secret-value")
    expect(shown).to_be_visible()
    expect(tokens.locator(".wb-secret")).to_contain_text("shown only this once")
    secret = shown.inner_text().strip()
    bea = live_service.client(secret)
    assert bea.whoami().user.name == "bea"
    expect(tokens.locator("table.wb-token-list")).not_to_contain_text(secret)

    token = next(t for t in admin.tokens() if t.label == "browser")
    tokens.locator(".wb-token-pick select").select_option(label=f"bea: browser ({token.created_at[:10]})")
    tokens.get_by_role("button", name="Revoke token").click()
    expect(tokens.locator(".wb-confirm-text")).to_contain_text("Revoke the token bea: browser")
    expect(tokens.locator(".wb-secret")).not_to_contain_text("wbt_")
    assert bea.whoami().user.name == "bea"  # asked, nothing done yet
    tokens.get_by_role("button", name="Revoke", exact=True).click()
    expect(tokens.locator(".wb-status")).to_contain_text("token revoked: bea: browser")
    expect(tokens.locator("table.wb-token-list")).to_contain_text("revoked")
    with pytest.raises(wb.Unauthenticated):
        bea.whoami()

    page.locator(".lm-TabBar-tab", has_text="Users and org roles").click()
    users.locator(".wb-user-pick select").select_option(label="rex")
    users.get_by_role("button", name="Deactivate").first.click()
    expect(users.locator(".wb-confirm-text")).to_contain_text("Deactivate rex?")
    users.locator(".wb-confirm").get_by_role("button", name="Deactivate").click()
    expect(users.locator(".wb-status").first).to_contain_text(
        "rex is the last active Administrator of your organisation in: Rex's room")
    expect(page.locator("body")).not_to_contain_text("Traceback")
    screenshot(page, "administration")

"""In a real browser: the home page, one sign-in shared by every app of the tab, sign-out, the
apps each user may use, a forgotten revoked token, and a page whose kernel died."""

from __future__ import annotations

import json
import os
import signal
import time
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from tests.browser.conftest import open_app, screenshot, sign_in
from widgets.session import STORAGE_KEY
from workbench.demo import seed

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def demo(live_service):
    """The demo's room and people, seeded through HTTP clients (small: nothing here needs noise headroom)."""
    owner = live_service.client(live_service.admin_token)
    info = seed(owner, live_service.client, n_users=3000, n_customers=1500, progress=False)
    users = {u["name"]: u for u in info["users"]}
    users["pat"]["token"] = live_service.admin_token
    return users


def _home(page: Page, voila) -> None:
    start = time.monotonic()
    page.goto(voila.url + "/")  # the apps' root opens the home page
    expect(page).to_have_url(voila.app("home"))
    page.get_by_placeholder("wbt_…").wait_for(state="visible", timeout=90_000)
    voila.timings.setdefault("home: page open to sign-in form", []).append(round(time.monotonic() - start, 2))


def _listed(page: Page) -> list[str]:
    items = page.locator(".wb-apps li.wb-app")
    expect(items.first).to_be_visible()
    return [items.nth(i).get_attribute("data-app") for i in range(items.count())]


def _stored(page: Page) -> str | None:
    return page.evaluate(f"sessionStorage.getItem({json.dumps(STORAGE_KEY)})")


def test_one_sign_in_on_the_home_opens_two_apps_then_sign_out_everywhere(page: Page, voila, demo):
    _home(page, voila)
    sign_in(page, demo["ann"]["token"])  # Enter submits
    expect(page.locator(".wb-signed-in")).to_contain_text("ann")
    listed = _listed(page)
    assert {"analyst_runner", "dashboards"} <= set(listed)
    assert not {"owner_console", "partner_console", "data_and_questions"} & set(listed)
    expect(page.locator(".wb-apps")).to_contain_text("Analysts")
    expect(page.get_by_placeholder("wbt_…")).to_have_count(0)  # the form is gone, the token not kept in it
    screenshot(page, "home_analyst")

    page.locator(".wb-app-link", has_text="Question runner").click()  # same tab: the sign-in follows
    expect(page).to_have_url(voila.app("analyst_runner"))
    expect(page.locator(".wb-runner select").first).to_be_visible(timeout=90_000)
    expect(page.locator(".wb-signed-in")).to_contain_text("signed in as ann")
    expect(page.get_by_placeholder("wbt_…")).to_have_count(0)

    open_app(page, voila, "dashboards", ready=".wb-dashboards select")  # no token typed
    expect(page.locator(".wb-signed-in")).to_contain_text("signed in as ann")
    expect(page.locator(".wb-dashboard-name")).to_have_text("Campaign overview")

    page.get_by_role("button", name="Sign out").click()
    expect(page.get_by_placeholder("wbt_…")).to_be_visible()
    expect(page.locator(".wb-sign-in .wb-status")).to_contain_text("Signed out")
    expect(page.locator(".wb-dashboards")).to_have_count(0)
    assert _stored(page) is None

    page.goto(voila.app("analyst_runner"))  # the other app noticed on its next load
    expect(page.get_by_placeholder("wbt_…")).to_be_visible(timeout=90_000)
    expect(page.locator(".wb-runner")).to_have_count(0)
    page.goto(voila.app("home"))
    expect(page.get_by_placeholder("wbt_…")).to_be_visible(timeout=90_000)
    expect(page.locator(".wb-apps")).to_have_count(0)
    expect(page.locator("body")).not_to_contain_text("Traceback")


def test_the_home_lists_only_the_apps_each_user_can_use(page: Page, voila, demo):
    _home(page, voila)
    sign_in(page, demo["vic"]["token"])
    listed = _listed(page)
    assert "dashboards" in listed
    assert not {"owner_console", "analyst_runner", "data_and_questions", "partner_console"} & set(listed)
    screenshot(page, "home_viewer")

    page.get_by_role("button", name="Sign out").click()
    sign_in(page, demo["pat"]["token"])  # the room owner, also its org's admin
    listed = _listed(page)
    assert {"owner_console", "data_and_questions"} <= set(listed)
    assert "partner_console" not in listed  # pat's org is a partner in no one else's room

    page.get_by_role("button", name="Sign out").click()
    sign_in(page, demo["ada"]["token"])  # the advertiser's admin: a partner in pat's room
    assert "partner_console" in _listed(page)


def test_a_rejected_stored_token_is_forgotten(page: Page, voila, demo):
    page.goto(voila.app("home"))
    page.evaluate(f"sessionStorage.setItem({json.dumps(STORAGE_KEY)}, 'wbt_revoked_or_made_up')")
    page.goto(voila.app("dashboards"))
    expect(page.get_by_placeholder("wbt_…")).to_be_visible(timeout=90_000)
    expect(page.locator(".wb-sign-in .wb-status")).to_contain_text("unknown or revoked")
    expect(page.locator(".wb-dashboards")).to_have_count(0)
    assert _stored(page) is None


def _kernel_pid(kernel_id: str) -> int:
    """The PID of the kernel process whose connection file names ``kernel_id`` (our Voilà's child)."""
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            cmdline = (proc / "cmdline").read_bytes().decode(errors="replace")
        except OSError:
            continue
        if f"kernel-{kernel_id}.json" in cmdline and "ipykernel" in cmdline:
            return int(proc.name)
    raise LookupError(f"no process for kernel {kernel_id}")


def test_a_page_whose_kernel_died_says_so_and_reloads(page: Page, voila, demo):
    _home(page, voila)
    sign_in(page, demo["vic"]["token"])
    open_app(page, voila, "dashboards", ready=".wb-dashboards select")
    kernel_id = json.loads(page.locator("#jupyter-config-data").text_content())["kernelId"]
    os.kill(_kernel_pid(kernel_id), signal.SIGKILL)
    start = time.monotonic()
    dead = page.locator(".wb-kernel-dead")
    expect(dead).to_be_visible(timeout=40_000)
    voila.timings.setdefault("kernel killed to 'this app stopped'", []).append(round(time.monotonic() - start, 2))
    expect(dead).to_contain_text("This app stopped")
    screenshot(page, "kernel_died")
    dead.get_by_role("button", name="Reload").click()
    expect(page.locator(".wb-dashboards select").first).to_be_visible(timeout=90_000)  # still signed in
    expect(page.locator(".wb-kernel-dead")).to_have_count(0)

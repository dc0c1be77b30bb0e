"""In a real browser: the Audiences console over the seeded demo room with its cohorts and one
activation; the publisher trains nothing here, it reads what the demo built and sees the curve."""

from __future__ import annotations

import os

import pytest
from playwright.sync_api import Page, expect

from tests.browser.conftest import open_app, screenshot
from workbench.audiences.demo import seed_audiences
from workbench.audiences.destinations import ROOT_ENV
from workbench.demo import seed

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module", autouse=True)
def activation_root(tmp_path_factory):
    """Set before the module's live service starts (autouse runs first), restored after."""
    old = os.environ.get(ROOT_ENV)
    os.environ[ROOT_ENV] = str(tmp_path_factory.mktemp("exports"))
    yield
    if old is None:
        os.environ.pop(ROOT_ENV, None)
    else:
        os.environ[ROOT_ENV] = old


@pytest.fixture(scope="module")
def demo(live_service):
    """The demo's room, seeded through HTTP clients, with the demo's audiences."""
    owner = live_service.client(live_service.admin_token)
    info = seed(owner, live_service.client, n_users=12000, n_customers=6000, progress=False)
    users = {u["name"]: u for u in info["users"]}
    if not owner.cohorts(info["room_id"]):
        seed_audiences(owner, live_service.client(users["ada"]["token"]), info["room_id"])
    return users


def test_the_publisher_sees_cohorts_curve_and_activation_history(page: Page, voila, demo,
                                                                 live_service):
    open_app(page, voila, "audiences", live_service.admin_token, ready=".wb-audiences select")
    console = page.locator(".wb-audiences")
    expect(console.locator("table.wb-table").first).to_contain_text("Matched buyers")
    expect(console.locator("table.wb-table").first).to_contain_text("Buyers lookalike")
    expect(console.locator(".js-plotly-plot")).to_have_count(1)
    expect(console).to_contain_text("3 per day")
    expect(page.locator("body")).not_to_contain_text("Traceback")
    screenshot(page, "audiences_console")

"""In a real browser over the seeded demo room: the analyst's run and the viewer's dashboard."""

from __future__ import annotations

import time

import pytest
from playwright.sync_api import Page, expect

from tests.browser.conftest import open_app, screenshot
from workbench.demo import seed

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def demo(live_service):
    """The demo's room, seeded through HTTP clients with a smaller population."""
    owner = live_service.client(live_service.admin_token)
    # big enough that every group stays above the crowd size (k-min 20) after noise
    info = seed(owner, live_service.client, n_users=12000, n_customers=6000, progress=False)
    return {u["name"]: u for u in info["users"]}


def test_analyst_previews_runs_and_sees_a_chart_with_error_bars(page: Page, voila, demo):
    open_app(page, voila, "analyst_runner", demo["ann"]["token"], ready=".wb-runner select")
    runner = page.locator(".wb-runner")
    run = runner.get_by_role("button", name="Run", exact=True)
    expect(run).to_be_disabled()  # nothing is spent before the preview
    runner.get_by_role("button", name="Preview cost").click()
    expect(runner.locator(".wb-plan")).to_contain_text("Spends ε 1")
    expect(runner.locator(".wb-budget-text")).to_contain_text("after this run")
    expect(run).to_be_enabled()
    run.click()
    expect(runner.locator(".wb-status").last).to_contain_text("Answered: Reach and spend by region and age band")
    chart = runner.locator(".js-plotly-plot")
    expect(chart).to_have_count(1)
    expect(chart.locator(".barlayer .point")).to_have_count(12)
    expect(chart.locator("g.errorbar")).to_have_count(12)
    expect(runner.locator("table.wb-result-table tbody tr")).to_have_count(12)
    expect(runner.locator("a.wb-csv")).to_have_attribute("download", "reach_and_spend_by_region_and_age_band.csv")
    expect(runner.locator(".wb-result-of")).to_contain_text("Result of: ")
    runner.get_by_text("Run history of this question").click()  # the history loads when opened
    expect(runner.locator("table.wb-runs")).to_contain_text("you (ann)")
    expect(page.locator("body")).not_to_contain_text("Traceback")
    screenshot(page, "analyst_runner")


def test_viewer_opens_a_dashboard_and_has_no_run_button(page: Page, voila, demo):
    open_app(page, voila, "dashboards", demo["vic"]["token"], ready=".wb-dashboards select")
    start = time.monotonic()
    board = page.locator(".wb-dashboards")
    expect(board.locator(".js-plotly-plot .barlayer").nth(1)).to_be_visible()
    voila.timings.setdefault("dashboards: console to both charts drawn", []).append(
        round(time.monotonic() - start, 2))
    expect(board.locator(".wb-dashboard-name")).to_have_text("Campaign overview")
    expect(board.locator(".wb-chart-card")).to_have_count(3)
    expect(board.locator(".js-plotly-plot")).to_have_count(2)
    expect(board.locator(".js-plotly-plot g.errorbar").first).to_be_attached()
    expect(board.locator(".wb-privacy").first).to_contain_text("differential privacy: ε 1")
    expect(page.get_by_role("button", name="Run")).to_have_count(0)
    expect(page.get_by_role("button", name="Add chart")).to_be_hidden()
    expect(page.locator("body")).not_to_contain_text("Traceback")
    screenshot(page, "dashboards_viewer")

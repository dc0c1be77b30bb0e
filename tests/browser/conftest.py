"""Real-browser fixtures: Debian's chromium driven by pytest-playwright, a live service and Voilà.

Both servers run as separate processes on free loopback ports and are stopped by their PIDs.
Without chromium the browser tests skip, except when WORKBENCH_REQUIRE_BROWSER=1 (CI): then
they fail, so a broken CI image cannot pass silently.
"""

from __future__ import annotations

import json
import os
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from tests.conftest import ROOT, LiveService, free_port
from workbench.demo import voila_command, voila_env, wait_http_ok

expect.set_options(timeout=30_000)  # a kernel round-trip on 2 cores needs more than the default 5 s
CHROMIUM = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")
CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update", "--disable-sync"]
ARTIFACTS = ROOT / "test-artifacts"
APPS = ROOT / "notebooks" / "apps"


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args: dict) -> dict:
    """pytest-playwright launches Debian's chromium (Playwright cannot download its own offline)."""
    if not Path(CHROMIUM).exists():
        message = f"{CHROMIUM} is not installed (apt-get install chromium)"
        if os.environ.get("WORKBENCH_REQUIRE_BROWSER") == "1":
            pytest.fail(message + "; WORKBENCH_REQUIRE_BROWSER=1 makes this a failure")
        pytest.skip(message)
    return {**browser_type_launch_args, "executable_path": CHROMIUM, "args": CHROMIUM_FLAGS}


@pytest.fixture(scope="session")
def browser_context_args(browser_context_args: dict) -> dict:
    """A viewport tall enough for a console in one screenshot."""
    return {**browser_context_args, "viewport": {"width": 1200, "height": 1000}}


@dataclass
class Voila:
    """A Voilà server over notebooks/apps, pointed at a live service."""

    url: str
    pid: int
    log: Path
    timings: dict[str, list[float]] = field(default_factory=dict)

    def app(self, name: str) -> str:
        """The URL of one app notebook."""
        return f"{self.url}/voila/render/{name}.ipynb"


@pytest.fixture(scope="module")
def voila(live_service: LiveService, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Voila]:
    """Voilà on a free port, as the demo starts it; apps share the browser's sign-in (no token is
    configured) and talk to ``live_service``."""
    port = free_port()
    log_path = tmp_path_factory.mktemp("voila") / "voila.log"
    env = {k: v for k, v in os.environ.items() if k not in ("WORKBENCH_TOKEN", "WORKBENCH_STORE_KEY")}
    env["WORKBENCH_URL"] = live_service.url
    with open(log_path, "w") as log:  # a file, not a pipe: an unread pipe blocks the server
        proc = subprocess.Popen(  # the demo's own command line, so the tests see what users see
            [*voila_command(APPS, "127.0.0.1", port, cull_idle=60), "--show_tracebacks=True"],
            cwd=APPS, stdout=log, stderr=subprocess.STDOUT, env=voila_env(env),
        )
    server = Voila(f"http://127.0.0.1:{port}", proc.pid, log_path)
    try:
        try:  # poll a static file: every GET of a notebook starts a kernel
            wait_http_ok(f"{server.url}/voila/static/voila.js", proc, timeout=180)  # slow on a loaded machine
            _wait_for_pools(log_path, proc)
        except Exception as exc:
            raise RuntimeError(log_path.read_text()[-3000:]) from exc
        yield server
    finally:
        proc.terminate()  # SIGTERM to this PID; Voilà shuts its kernels down
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        if server.timings:
            ARTIFACTS.mkdir(exist_ok=True)
            path = ARTIFACTS / "timings.json"
            old = json.loads(path.read_text()) if path.exists() else {}
            old.update(server.timings)
            path.write_text(json.dumps(old, indent=2))


def _wait_for_pools(log_path: Path, proc: subprocess.Popen, timeout: float = 120.0) -> None:
    """Wait until every app has its preheated kernel, as a demo user would find the server."""
    apps = sorted(p.name for p in APPS.glob("*.ipynb"))
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        text = log_path.read_text()
        if all(f"Kernel pool of {name} is filled" in text for name in apps):
            return
        if proc.poll() is not None:
            raise RuntimeError("voila exited early")
        time.sleep(0.5)
    raise TimeoutError("the preheated kernel pools were not filled in time")


def open_app(page: Page, voila: Voila, name: str, token: str | None = None, ready: str = ".wb-who") -> None:
    """Open an app and time page open → usable: the sign-in form, or with the tab already signed
    in (``token`` None) the console itself; with ``token``, sign in with Enter and time that too."""
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    start = time.monotonic()
    page.goto(voila.app(name))
    if token is None:
        page.locator(ready).first.wait_for(state="visible", timeout=90_000)
        voila.timings.setdefault(f"{name}: page open to console (signed in)", []).append(
            round(time.monotonic() - start, 2))
        assert not errors, errors
        return
    token_box = page.get_by_placeholder("wbt_…")
    token_box.wait_for(state="visible", timeout=90_000)
    voila.timings.setdefault(f"{name}: page open to sign-in form", []).append(round(time.monotonic() - start, 2))
    start = time.monotonic()
    sign_in(page, token)
    page.locator(ready).first.wait_for(state="visible", timeout=60_000)
    voila.timings.setdefault(f"{name}: sign-in to console", []).append(round(time.monotonic() - start, 2))
    assert not errors, errors


def sign_in(page: Page, token: str) -> None:
    """Type the token into the shared sign-in form and press Enter (the form submits on Enter)."""
    token_box = page.get_by_placeholder("wbt_…")
    token_box.fill(token)
    token_box.press("Enter")
    expect(page.locator(".wb-signed-in")).to_be_visible(timeout=60_000)


def screenshot(page: Page, name: str) -> Path:
    """Save a full-page screenshot under test-artifacts/."""
    ARTIFACTS.mkdir(exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path

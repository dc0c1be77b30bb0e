"""Page open to usable, for every app of a running demo, in headless Chromium (target 3 s).

    workbench demo &                                   # in another shell; wait for its banner
    python bench/apps_open.py --apps http://127.0.0.1:8866 --users demo-store/demo-users.json

For each demo user it signs in once on the home page, then opens every app the home lists for
that user, ``--repeat`` times, in the same tab (as a person would: the sign-in is shared). A page
is usable when the app's controls are on screen and nothing says "Loading …" any more; the
home when its list of apps is. Requests that leave the loopback interface are aborted and
counted (there must be none). Prints one line per app: median and max seconds, and the load.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import time
from pathlib import Path
from urllib.parse import urlparse

from playwright.sync_api import Page, sync_playwright

USABLE = ("() => { const a = document.querySelector('.wb-session + *');"
          " if (!a || !a.querySelector('select, button, input, textarea')) return false;"
          " return !document.body.innerText.includes('Loading …'); }")


def _open(page: Page, url: str, ready: str) -> float:
    start = time.monotonic()
    page.goto(url)
    if ready == "app":
        page.wait_for_function(USABLE, timeout=120_000, polling=50)
    else:
        page.locator(ready).first.wait_for(state="visible", timeout=120_000)
    return time.monotonic() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--apps", default="http://127.0.0.1:8866", help="the demo's apps URL")
    parser.add_argument("--users", type=Path, default=Path("demo-store/demo-users.json"))
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--chromium", default=os.environ.get("CHROMIUM_PATH") or shutil.which("chromium"))
    args = parser.parse_args()
    users = json.loads(args.users.read_text())["users"]
    times: dict[str, list[float]] = {}
    outside: list[str] = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=args.chromium, args=["--headless", "--no-sandbox"])
        for user in users:
            ctx = browser.new_context(viewport={"width": 1200, "height": 1000})
            ctx.route("**/*", lambda route: route.continue_() if urlparse(route.request.url).hostname
                      in ("127.0.0.1", "localhost") else (outside.append(route.request.url), route.abort()))
            page = ctx.new_page()
            home = args.apps.rstrip("/") + "/voila/render/home.ipynb"
            times.setdefault("home (signed out): open to sign-in form", []).append(
                _open(page, home, "input[type=password]"))
            box = page.locator("input[type=password]")
            box.fill(user["token"])
            start = time.monotonic()
            box.press("Enter")
            page.locator(".wb-apps").wait_for(state="visible", timeout=120_000)
            times.setdefault("home: Enter to list of apps", []).append(time.monotonic() - start)
            apps = page.locator(".wb-app").evaluate_all("els => els.map(e => e.dataset.app)")
            for _ in range(args.repeat):
                times.setdefault("home (signed in): open to list of apps", []).append(_open(page, home, ".wb-apps"))
                for app in apps:
                    times.setdefault(f"{app} ({user['name']})", []).append(
                        _open(page, f"{args.apps.rstrip('/')}/voila/render/{app}.ipynb", "app"))
            ctx.close()
        browser.close()
    print(f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores; requests off loopback: {len(outside)}")
    print(f"{'page':<48} {'median s':>9} {'max s':>7}  n")
    for name, values in times.items():
        print(f"{name:<48} {statistics.median(values):>9.2f} {max(values):>7.2f}  {len(values)}")


if __name__ == "__main__":
    main()

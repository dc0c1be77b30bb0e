"""``workbench demo``: a seeded publisher × advertiser clean room, the service and the Voilà apps.

The store folder is created on the first start and reused afterwards. Everything after the
first organisation is made through the client, exactly as the people in the demo would do it.
Both servers listen on loopback only; Ctrl-C stops them.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import Any

from workbench.client import Client, connect

ROOT = Path(__file__).resolve().parents[1]
APPS = ROOT / "notebooks" / "apps"
USERS_FILE = "demo-users.json"
REGIONS = ["north", "south", "east", "west"]
BANDS = ["18-34", "35-54", "55+"]

REACH_SQL = """
SELECT p.region, p.age_band,
       COUNT(DISTINCT p.email) AS reach,
       SUM(a.amount) AS spend
FROM publisher p JOIN advertiser a ON p.email = a.email
WHERE a.amount >= :min_amount
GROUP BY p.region, p.age_band
"""
MATCHED_SQL = """
SELECT p.region, COUNT(DISTINCT p.email) AS matched_users
FROM publisher p JOIN advertiser a ON p.email = a.email
GROUP BY p.region
"""
PAGEVIEWS_SQL = """
SELECT p.age_band, SUM(p.pageviews) AS pageviews, COUNT(DISTINCT p.email) AS buyers
FROM publisher p JOIN advertiser a ON p.email = a.email
WHERE p.region = :region
GROUP BY p.age_band
"""


def publisher_users(n: int, seed: int = 7) -> Any:
    """Synthetic publisher users: email, region, age band, monthly pageviews."""
    import numpy as np
    import pandas as pd

    rng = np.random.default_rng(seed)
    return pd.DataFrame({
        "email": [f"user{i}@example.com" for i in range(n)],
        "region": rng.choice(REGIONS, size=n, p=[0.35, 0.25, 0.25, 0.15]),
        "age_band": rng.choice(BANDS, size=n, p=[0.4, 0.4, 0.2]),
        "pageviews": rng.poisson(18, size=n).astype("int64"),
    })


def advertiser_customers(n: int, n_publisher: int, overlap: float = 0.3, seed: int = 11) -> Any:
    """Synthetic advertiser customers with purchases; ``overlap`` of them are publisher users too."""
    import numpy as np
    import pandas as pd

    rng = np.random.default_rng(seed)
    shared = int(n * overlap)
    known = rng.choice(n_publisher, size=shared, replace=False)
    emails = [f"User{i}@Example.com" for i in known] + [f"shopper{i}@shop.example" for i in range(n - shared)]
    return pd.DataFrame({
        "email": emails,
        "purchases": rng.integers(1, 8, size=n).astype("int64"),
        "amount": np.round(rng.gamma(2.0, 40.0, size=n), 2),
    })


def _shown(secret: str | None) -> str:
    """A token secret the service has just shown (it shows each one once, on creation)."""
    if secret is None:
        raise RuntimeError("the service did not show the new token's secret")
    return secret


def seed(owner: Client, connect_token: Callable[[str], Client], *, n_users: int = 100_000,
         n_customers: int = 50_000, progress: bool = True) -> dict[str, Any]:
    """Seed the demo through the client; ``owner`` is the publisher's org admin. Returns the sign-ins."""
    say = print if progress else (lambda *a, **k: None)
    me = owner.whoami()
    created = owner.create_org("Advertiser", "ada")
    partner = connect_token(_shown(created.token.secret))
    try:
        say("  organisations and users ...")
        users: dict[str, tuple[str, str | None]] = {"pat": (me.user.id, None)}
        # ann builds dashboards: Intelligence Creator in the room also needs the org role
        for name, org_roles in (("ann", ["intelligence_admin"]), ("vic", [])):
            user = owner.create_user(name, org_roles=org_roles)
            users[name] = (user.id, owner.issue_token(user.id, label="demo").secret)
        room = owner.create_room("Publisher × Advertiser campaign", description=(
            "Measure how the advertiser's customers engage with the publisher's audience."),
            start_date=dt.date.today() - dt.timedelta(days=1), end_date=dt.date.today() + dt.timedelta(days=180),
            k_min=20, epsilon_budget="10")
        owner.invite_partner(room.id, created.org.id)
        partner.accept_invitation(room.id)
        say(f"  uploading {n_users:,} publisher users ...")
        pub = owner.connect_dataset(publisher_users(n_users), "publisher users", identity_column="email",
                                    identity_kind="email", progress=progress)
        pds = owner.provision_dataset(room.id, pub.id, "publisher users")
        owner.set_analysis_rules(room.id, pds.id, [
            {"name": "email", "join": True, "aggregations": ["COUNT_DISTINCT"]},
            {"name": "region", "group_by": True, "public_values": REGIONS},
            {"name": "age_band", "group_by": True, "public_values": BANDS},
            {"name": "pageviews", "aggregations": ["SUM", "AVG"], "lower": 0, "upper": 60},
        ])
        say(f"  uploading {n_customers:,} advertiser customers ...")
        adv = partner.connect_dataset(advertiser_customers(n_customers, n_users), "customers",
                                      identity_column="email", identity_kind="email", progress=progress)
        ads = partner.provision_dataset(room.id, adv.id, "advertiser customers")
        partner.set_analysis_rules(room.id, ads.id, [
            {"name": "email", "join": True},
            {"name": "purchases", "aggregations": ["SUM"], "lower": 0, "upper": 10},
            {"name": "amount", "aggregations": ["SUM", "AVG"], "lower": 0, "upper": 250},
        ])
        say("  template, mappings and questions ...")
        owner.set_template(room.id, [
            {"macro": "publisher", "party": "owner", "description": "the publisher's users",
             "fields": [{"macro": "email"}, {"macro": "region"}, {"macro": "age_band"}, {"macro": "pageviews"}]},
            {"macro": "advertiser", "party": created.org.id, "description": "the advertiser's customers",
             "fields": [{"macro": "email"}, {"macro": "amount"}]},
        ], runs="all", receives="owner")
        owner.map_dataset(room.id, "publisher", pds.id, {"email": "email", "region": "region",
                                                          "age_band": "age_band", "pageviews": "pageviews"})
        partner.map_dataset(room.id, "advertiser", ads.id, {"email": "email", "amount": "amount"})
        questions: list[tuple[str, str, list[dict[str, Any]], str]] = [
            ("Reach and spend by region and age band", REACH_SQL,
             [{"name": "min_amount", "type": "number", "default": 0, "minimum": 0,
               "description": "Minimum order amount"}],
             "How many matched people, and how much they spent, per region and age band."),
            ("Matched users by region", MATCHED_SQL, [], "The overlap of both audiences per region."),
            ("Pageviews of buyers by age band", PAGEVIEWS_SQL,
             [{"name": "region", "type": "one_of", "choices": REGIONS, "default": "north",
               "description": "Region"}],
             "Publisher pageviews of the advertiser's customers in one region."),
        ]
        ids = []
        for name, sql, params, about in questions:
            question = owner.create_question(room.id, name, sql, parameters=params, description=about)
            owner.add_question(room.id, question.id)
            ids.append(question.id)
        say("  roles, a first run and a dashboard ...")
        analyst_role = owner.create_role(room.id, "Analyst", [
            "create_delete_question_runs", "view_reports", "intelligence_viewer", "intelligence_creator",
            "manage_question_schedules"])
        viewer_role = next(r for r in owner.roles(room.id) if r.kind == "viewer")
        owner.add_member(room.id, users["ann"][0], analyst_role.id)
        owner.add_member(room.id, users["vic"][0], viewer_role.id)
        analyst = connect_token(_shown(users["ann"][1]))
        try:
            run = analyst.run(room.id, ids[0], {"min_amount": 0}, epsilon="1")
            board = analyst.create_dashboard(room.id, "Campaign overview", "Reach and spend of matched customers.")
            analyst.add_chart(room.id, board.id, run.id, measure="reach", title="Matched reach by region / age band")
            analyst.add_chart(room.id, board.id, run.id, measure="spend", title="Spend by region / age band")
            analyst.add_chart(room.id, board.id, run.id, kind="table", title="Released table")
            say("  a weekly schedule ...")
            analyst.create_schedule(room.id, "Weekly reach and spend", "0 6 * * 1", question_id=ids[0],
                                    parameters={"min_amount": 0}, epsilon="0.1", timezone="Europe/London")
        finally:
            analyst.close()
    finally:
        partner.close()
    return {
        "room_id": room.id,
        "advertiser_org_id": created.org.id,
        "users": [
            {"name": "pat", "org": me.org.name, "role": "org admin, room owner (Administrator)",
             "app": "owner_console"},
            {"name": "ada", "org": "Advertiser", "role": "partner admin (Partner Administrator)",
             "app": "partner_console", "token": created.token.secret},
            {"name": "ann", "org": me.org.name, "role": "analyst (runs questions, builds dashboards)",
             "app": "analyst_runner", "token": users["ann"][1]},
            {"name": "vic", "org": me.org.name, "role": "viewer (dashboards only)", "app": "dashboards",
             "token": users["vic"][1]},
        ],
    }


def wait_http_ok(url: str, proc: subprocess.Popen, timeout: float = 60.0) -> None:
    """Poll ``url`` until it answers 200, failing early if the server process died (the tests use it too)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"a server exited early with code {proc.returncode}")
        try:
            with urllib.request.urlopen(url, timeout=2) as r:
                if r.status == 200:
                    return
        except OSError:
            pass
        time.sleep(0.25)
    raise TimeoutError(f"no answer from {url} after {timeout:.0f} s")


def _stop(proc: subprocess.Popen | None) -> None:
    if proc is None or proc.poll() is not None:
        return
    proc.terminate()  # SIGTERM to this PID: uvicorn closes the store, Voilà shuts its kernels down
    try:
        proc.wait(timeout=20)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


#: the Voilà template of the apps (no CDN links; the root opens the home page), on JUPYTER_PATH
VOILA_SHARE = ROOT / "notebooks" / "share"


def voila_command(apps: Path, host: str, port: int, *, cull_idle: int = 120, preheat: bool = True) -> list[str]:
    """Voilà over the apps folder: one executed kernel kept ready per app, idle kernels culled.

    Voilà does not shut down the kernel of a closed page (its unload beacon is refused), so
    culling is what frees them; ``widgets.serving.PageKernelManager`` never culls the kernel of
    a page that is still loading. Run it with :func:`voila_env` (the template's folder).
    """
    cmd = [sys.executable, "-m", "voila", str(apps), "--no-browser", f"--port={port}", f"--Voila.ip={host}",
           "--Voila.port_retries=0", "--classic-tree", "--template=workbench",
           "--VoilaConfiguration.multi_kernel_manager_class=widgets.serving.PageKernelManager",
           f"--MappingKernelManager.cull_idle_timeout={cull_idle}",
           f"--MappingKernelManager.cull_interval={max(5, cull_idle // 4)}"]
    if preheat:
        cmd += ["--preheat_kernel=True", "--pool_size=1"]
    return cmd


def voila_env(env: dict[str, str]) -> dict[str, str]:
    """``env`` with the apps' Voilà template folder first on JUPYTER_PATH."""
    paths = [str(VOILA_SHARE), *filter(None, env.get("JUPYTER_PATH", "").split(os.pathsep))]
    return {**env, "JUPYTER_PATH": os.pathsep.join(paths)}


def _first_token(store_dir: Path) -> str:
    from workbench.governance.orgs import bootstrap
    from workbench.store import KEY_ENV, Store, create_key_file

    if not os.environ.get(KEY_ENV):
        create_key_file(store_dir)
    store = Store.open(store_dir, create=True)
    try:
        created = bootstrap(store, "Publisher", "pat")
    finally:
        store.close()
    return _shown(created.token.secret)


def run_demo(store_dir: Path, host: str = "127.0.0.1", port: int = 8765, voila_port: int = 8866,
             *, n_users: int = 100_000, n_customers: int = 50_000) -> int:
    """Create or reuse the demo store, start the service and Voilà, print how to sign in; Ctrl-C stops."""
    store_dir = Path(store_dir)
    users_file = store_dir / USERS_FILE
    fresh = not users_file.exists()
    if fresh and (store_dir / "workbench.duckdb").exists():
        print(f"error: {store_dir} holds a store that is not a demo store; pass --store <new folder>",
              file=sys.stderr)
        return 1
    if not APPS.is_dir():
        print(f"error: the Voilà apps folder {APPS} is missing (run the demo from a clone of the repository)",
              file=sys.stderr)
        return 1
    for what, number in (("service", port), ("Voilà", voila_port)):
        if not _port_free(host, number):
            print(f"error: port {number} on {host} is in use (is a demo already running?); "
                  f"pass --{'port' if what == 'service' else 'voila-port'} <another port>", file=sys.stderr)
            return 1
    store_dir.mkdir(parents=True, exist_ok=True)
    admin_token = _first_token(store_dir) if fresh else None
    # `kill <pid>` and Ctrl-C stop the demo the same way, so the servers never outlive it; SIGINT
    # is set explicitly because a launcher that starts us in the background may have ignored it
    stops = (signal.SIGINT, signal.SIGTERM)
    previous = {s: signal.signal(s, _interrupt) for s in stops} \
        if threading.current_thread() is threading.main_thread() else {}
    url = f"http://{host}:{port}"
    service = voila = None
    log_dir = store_dir / "logs"
    log_dir.mkdir(exist_ok=True)
    try:
        with open(log_dir / "service.log", "a") as log:
            exports = store_dir / "exports"  # the activation root: the stand-in for an ad server's bucket
            exports.mkdir(exist_ok=True)
            service = subprocess.Popen([sys.executable, "-m", "workbench.cli", "serve", "--store", str(store_dir),
                                        "--host", host, "--port", str(port)], stdout=log, stderr=subprocess.STDOUT,
                                       env={**os.environ, "WORKBENCH_ACTIVATION_ROOT": str(exports)},
                                       start_new_session=True)
        wait_http_ok(f"{url}/api/v1/health", service)
        if fresh:
            print(f"seeding the demo store in {store_dir} (first start only) ...", flush=True)
            with connect(url, admin_token) as owner:
                info = seed(owner, lambda token: connect(url, token), n_users=n_users, n_customers=n_customers)
                from workbench.audiences.demo import seed_audiences

                ada = next(u["token"] for u in info["users"] if u["name"] == "ada")
                with connect(url, ada) as partner:
                    seed_audiences(owner, partner, info["room_id"], say=print)
            info["users"][0]["token"] = admin_token
            users_file.write_text(json.dumps(info, indent=2))
            users_file.chmod(0o600)
        info = json.loads(users_file.read_text())
        env = {**os.environ, "WORKBENCH_URL": url}
        env.pop("WORKBENCH_TOKEN", None)
        with open(log_dir / "voila.log", "a") as log:
            # own sessions: Ctrl-C reaches only this process, which stops both servers in order
            voila = subprocess.Popen(voila_command(APPS, host, voila_port), stdout=log, stderr=subprocess.STDOUT,
                                     env=voila_env(env), cwd=APPS, start_new_session=True)
        apps = f"http://{host}:{voila_port}"
        wait_http_ok(f"{apps}/voila/static/voila.js", voila)
        print(_banner(url, apps, info, store_dir), flush=True)
        while service.poll() is None and voila.poll() is None:
            time.sleep(0.5)
        print("error: a server stopped; see the logs in " + str(log_dir), file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("\nstopping the apps and the service ...", flush=True)
        return 0
    except Exception as exc:
        print(f"error: {exc}; logs in {log_dir}", file=sys.stderr)
        return 1
    finally:
        _stop(voila)
        _stop(service)
        for number, handler in previous.items():
            signal.signal(number, handler)


def _interrupt(signum: int, frame: Any) -> None:
    raise KeyboardInterrupt


def _port_free(host: str, port: int) -> bool:
    with socket.socket() as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as the servers do: TIME_WAIT is free
        try:
            s.bind((host, port))
        except OSError:
            return False
    return True


def _banner(url: str, apps: str, info: dict[str, Any], store_dir: Path) -> str:
    lines = [
        "",
        "Clean Room Workbench demo is running (loopback only).",
        f"  service API: {url}/api/v1  (OpenAPI docs: {url}/docs)",
        f"  apps:        {apps}/  (the home page: every app the signed-in user can use)",
        "",
        "Open the apps, paste a user's token into 'API token' and press Enter. The sign-in is shared",
        "by every app you open from there in that browser tab, until 'Sign out' or the tab closes:",
    ]
    for user in info["users"]:
        lines.append(f"  {user['name']:<4} {user['org']:<11} {user['role']}")
        lines.append(f"       main app: {apps}/voila/render/{user['app']}.ipynb")
        lines.append(f"       token:    {user['token']}")
    lines += [
        "",
        f"The advertiser's organisation id (to invite it into another room): {info['advertiser_org_id']}",
        f"Tokens are kept in {store_dir / USERS_FILE} (owner-only). Ctrl-C stops both servers.",
    ]
    return "\n".join(lines)


class Sandbox:
    """A private clean room service in this process, over a temporary store (notebooks, tutorials).

    Real use connects to a running service with ``wb.connect(url, token)``; the sandbox serves the
    same application in-process, so every call below is the same call against the same rules.
    """

    def __init__(self, org: str = "Publisher", admin: str = "pat") -> None:
        import secrets
        import tempfile

        from workbench.governance.orgs import bootstrap
        from workbench.store import Store

        self.dir = Path(tempfile.mkdtemp(prefix="workbench-sandbox-")) / "store"
        self.key = secrets.token_hex(16)
        store = Store.open(self.dir, self.key, create=True)
        try:
            created = bootstrap(store, org, admin)
        finally:
            store.close()
        self.admin_token = _shown(created.token.secret)
        self.owner = self.connect(self.admin_token)

    def connect(self, token: str) -> Client:
        """A client of the sandbox for ``token`` (what ``wb.connect(url, token)`` is for a real service)."""
        from workbench.service.local import connect_local

        return connect_local(self.dir, token, key=self.key)

    def seed(self, n_users: int = 6000, n_customers: int = 3000) -> dict[str, Any]:
        """The demo's publisher × advertiser room, smaller; returns who can sign in with which token."""
        info = seed(self.owner, self.connect, n_users=n_users, n_customers=n_customers, progress=False)
        info["users"][0]["token"] = self.admin_token
        return info

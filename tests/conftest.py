"""Shared fixtures: real stores in temporary folders, in-process clients, a live HTTP service."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest

import workbench as wb
from workbench.demo import wait_http_ok
from workbench.governance.orgs import bootstrap
from workbench.service.local import close_local, connect_local
from workbench.store import Store
from workbench.wiring import wire

#: tests that call operations directly (not through the app) need the actions installed too
wire()

ROOT = Path(__file__).resolve().parents[1]
TEST_KEY = "test-key-" + "0123456789abcdef"


@dataclass
class Org:
    """An organisation made for a test: its id, its admin's client and token."""

    id: str
    name: str
    admin: wb.Client
    token: str
    admin_user_id: str


def _new_store(path: Path) -> Org:
    store = Store.open(path, TEST_KEY, create=True)
    created = bootstrap(store, "Publisher", "alice")
    store.close()
    client = connect_local(path, created.token.secret, key=TEST_KEY)
    return Org(created.org.id, "Publisher", client, created.token.secret, created.admin.id)


@pytest.fixture
def store_dir(tmp_path: Path) -> Iterator[Path]:
    """A fresh encrypted store folder with one organisation (Publisher, admin alice)."""
    path = tmp_path / "store"
    yield path
    close_local(path)


@pytest.fixture
def publisher(store_dir: Path) -> Org:
    """The first organisation of the store, with an in-process admin client."""
    return _new_store(store_dir)


@pytest.fixture
def admin(publisher: Org) -> wb.Client:
    """An in-process client of Publisher's org admin."""
    return publisher.admin


@pytest.fixture
def make_org(publisher: Org, store_dir: Path) -> Callable[[str], Org]:
    """Create another organisation (through the API) and return it with its admin client."""

    def make(name: str, admin_name: str = "admin") -> Org:
        created = publisher.admin.create_org(name, admin_name)
        client = connect_local(store_dir, created.token.secret, key=TEST_KEY)
        return Org(created.org.id, name, client, created.token.secret, created.admin.id)

    return make


@pytest.fixture
def user_client(store_dir: Path) -> Callable[..., tuple[wb.Client, str]]:
    """Make a user in an org (via its admin client) and return (client, user_id)."""

    def make(org_admin: wb.Client, name: str, org_roles: list[str] | None = None) -> tuple[wb.Client, str]:
        user = org_admin.create_user(name, org_roles=org_roles or [])
        token = org_admin.issue_token(user.id)
        return connect_local(store_dir, token.secret, key=TEST_KEY), user.id

    return make


def free_port() -> int:
    """A free port on the loopback interface."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class LiveService:
    """A real `workbench serve` on a free loopback port, over its own store."""

    url: str
    pid: int
    admin_token: str
    org_id: str
    log: Path
    clients: list[wb.Client]

    def client(self, token: str) -> wb.Client:
        """An HTTP client of this service, closed when the service fixture ends."""
        client = wb.connect(self.url, token)
        self.clients.append(client)
        return client

    def make_org(self, name: str) -> "LiveOrg":
        """A new organisation (made by the first org's admin) with an HTTP client of its admin."""
        created = self.client(self.admin_token).create_org(name, "admin")
        return LiveOrg(created.org.id, self.client(created.token.secret))


@dataclass
class LiveOrg:
    """An organisation of the live service: its id and its admin's HTTP client."""

    id: str
    admin: wb.Client


@contextmanager
def serving(base: Path, extra_env: dict[str, str] | None = None, *,
            restart: LiveService | None = None) -> Iterator[LiveService]:
    """Run `workbench serve` over a new store in ``base`` as a separate process (with extra
    environment, e.g. a test clock), or over the store of an earlier, stopped ``restart``; stop
    it by its PID afterwards."""
    store = base / "store"
    if restart is None:
        s = Store.open(store, TEST_KEY, create=True)
        created = bootstrap(s, "Publisher", "alice")
        s.close()
        admin_token, org_id = created.token.secret, created.org.id
    else:
        admin_token, org_id = restart.admin_token, restart.org_id
    port = free_port()
    log_path = base / "serve.log"
    env = {**os.environ, "WORKBENCH_STORE_KEY": TEST_KEY, **(extra_env or {})}
    with open(log_path, "w") as log:
        proc = subprocess.Popen(
            [sys.executable, "-m", "workbench.cli", "serve", "--store", str(store), "--host", "127.0.0.1",
             "--port", str(port)],
            stdout=log, stderr=subprocess.STDOUT, env=env, cwd=ROOT,
        )
    url = f"http://127.0.0.1:{port}"
    try:
        try:
            wait_http_ok(f"{url}/api/v1/health", proc, timeout=180.0)  # a loaded CI machine
        except Exception as exc:
            raise RuntimeError(log_path.read_text()[-3000:]) from exc
        service = LiveService(url, proc.pid, admin_token, org_id, log_path, [])
        yield service
    finally:
        for client in service.clients if "service" in locals() else []:
            client.close()
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


@pytest.fixture(scope="module")
def live_service(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveService]:
    """Start `workbench serve` as a separate process; stop it by its PID afterwards."""
    with serving(tmp_path_factory.mktemp("live")) as service:
        yield service

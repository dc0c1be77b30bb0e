"""A `workbench serve` process over a store folder that tests stop, tamper with and restart."""

from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

import workbench as wb
from tests.conftest import ROOT, TEST_KEY, free_port
from workbench.demo import wait_http_ok
from workbench.governance.orgs import bootstrap
from workbench.store import Store


@dataclass
class Served:
    """One store folder and the service currently running over it (if any)."""

    store: Path
    log: Path
    admin_token: str
    proc: subprocess.Popen | None = None
    #: one port for every restart: the client remembers heads per service address
    port: int = field(default_factory=free_port)
    clients: list[wb.Client] = field(default_factory=list)

    def start(self) -> None:
        """Start the service; raise with its log when it refuses to start."""
        port = self.port
        with open(self.log, "a") as log:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "workbench.cli", "serve", "--store", str(self.store),
                 "--host", "127.0.0.1", "--port", str(port)],
                stdout=log, stderr=subprocess.STDOUT, cwd=ROOT,
                env={**os.environ, "WORKBENCH_STORE_KEY": TEST_KEY})
        try:
            wait_http_ok(f"{self.url}/api/v1/health", self.proc)
        except Exception as exc:
            self.stop()
            raise RuntimeError(self.log.read_text()[-2000:]) from exc

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def stop(self) -> None:
        """Stop the service by its PID (it checkpoints and closes the store)."""
        for client in self.clients:
            client.close()
        self.clients.clear()
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc = None

    def client(self, token: str) -> wb.Client:
        client = wb.connect(self.url, token)
        self.clients.append(client)
        return client

    def make_org(self, name: str):
        from tests.conftest import LiveOrg

        created = self.client(self.admin_token).create_org(name, "admin")
        return LiveOrg(created.org.id, self.client(created.token.secret))

    def open_store(self) -> Store:
        """The store itself, opened with the key (the service must be stopped)."""
        return Store.open(self.store, TEST_KEY)


def new_served(base: Path) -> Served:
    store = base / "store"
    s = Store.open(store, TEST_KEY, create=True)
    created = bootstrap(s, "Publisher", "alice")
    s.close()
    return Served(store=store, log=base / "serve.log", admin_token=created.token.secret)

"""The in-process transport: the same ASGI application, called without a socket.

For tests and single-user embedded use. The store is opened once per process and directory;
requests run on one event loop in a background thread, exactly as the HTTP server runs them.
"""

from __future__ import annotations

import contextlib
import threading
from dataclasses import dataclass
from pathlib import Path

import anyio.from_thread
import httpx
from fastapi import FastAPI

from workbench.client import Client
from workbench.client._transport import auth_headers
from workbench.service.app import create_app
from workbench.store import Store


@dataclass
class _Served:
    app: FastAPI
    portal: anyio.from_thread.BlockingPortal
    stack: contextlib.ExitStack


_open: dict[Path, _Served] = {}
_lock = threading.Lock()


class InProcessTransport(httpx.BaseTransport):
    """An httpx transport that hands each request to the ASGI app on the portal's loop."""

    def __init__(self, served: _Served) -> None:
        self._served = served
        self._asgi = httpx.ASGITransport(app=served.app, raise_app_exceptions=False)

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        body = request.read()

        async def send() -> httpx.Response:
            inner = httpx.Request(request.method, request.url, headers=request.headers, content=body)
            response = await self._asgi.handle_async_request(inner)
            content = await response.aread()
            return httpx.Response(response.status_code, headers=response.headers, content=content)

        return self._served.portal.call(send)


def _served(store_dir: Path | str, key: str | None) -> _Served:
    path = Path(store_dir).resolve()
    with _lock:
        if path not in _open:
            stack = contextlib.ExitStack()
            portal = stack.enter_context(anyio.from_thread.start_blocking_portal())
            _open[path] = _Served(create_app(Store.open(path, key)), portal, stack)
        return _open[path]


def local_app(store_dir: Path | str, key: str | None = None) -> FastAPI:
    """The application over ``store_dir``, opening the store on first use."""
    return _served(store_dir, key).app


def connect_local(store_dir: Path | str, token: str, key: str | None = None) -> Client:
    """A client whose requests go straight into the application over ``store_dir``."""
    transport = InProcessTransport(_served(store_dir, key))
    http = httpx.Client(transport=transport, base_url="http://workbench.local",
                        headers=auth_headers(token), timeout=300.0)
    return Client(http)


def close_local(store_dir: Path | str) -> None:
    """Close an in-process application and its store (tests use this to inspect the file)."""
    path = Path(store_dir).resolve()
    with _lock:
        served = _open.pop(path, None)
    if served is not None:
        served.stack.close()
        served.app.state.store.close()

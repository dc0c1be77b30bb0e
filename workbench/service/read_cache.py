"""The read cache: a metadata answer is served again, audited again, until the next write.

Fifty users polling a room's settings and datasets ask the same few questions; computing each
answer costs tens of queries. An answer is kept when it is a 200 to a GET whose only effects were
allowed metadata reads (``audit.metadata_only``), under a key of the path, the query, a digest of
the bearer token and the date. It is served only while the store's generation is the one read
before it was computed, so any committed write (a revoked token, a changed role, a new dataset)
makes every kept answer stale at once. Each answer served from here records the same decisions in
the audit log as computing it did, with the time it was served.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import hashlib
from dataclasses import dataclass
from typing import Any

from workbench.governance import audit
from workbench.store import Store

#: answers and bytes kept at most; the cache starts afresh when either is reached
LIMIT = 20_000
LIMIT_BYTES = 64 * 1024 * 1024


@dataclass(frozen=True, slots=True)
class _Kept:
    generation: int
    start: dict[str, Any]
    body: bytes
    events: list[audit.Event]


class ReadCache:
    """ASGI middleware in front of the application."""

    def __init__(self, app: Any, store: Store) -> None:
        self.app = app
        self.store = store
        self._kept: dict[tuple[Any, ...], _Kept] = {}
        self._computing: dict[tuple[Any, ...], asyncio.Event] = {}
        self._bytes = 0

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http" or scope["method"] != "GET":
            await self.app(scope, receive, send)
            return
        token = next((v for k, v in scope["headers"] if k == b"authorization"), None)
        if not token:
            await self.app(scope, receive, send)
            return
        key = (scope["path"], scope["query_string"], hashlib.sha256(token).digest(), dt.date.today())
        generation = self.store.generation
        computing = self._computing.get(key)
        if computing is not None:
            # the same question is being answered right now: wait for that answer, not a second one
            await computing.wait()
        kept = self._kept.get(key)
        if kept is not None and kept.generation == generation:
            audit.replay(self.store, kept.events)
            await send(kept.start)
            await send({"type": "http.response.body", "body": kept.body})
            return
        done = self._computing.setdefault(key, asyncio.Event())
        try:
            await self._answer(key, generation, scope, receive, send)
        finally:
            if self._computing.get(key) is done:
                del self._computing[key]
            done.set()

    async def _answer(self, key: tuple[Any, ...], generation: int, scope: dict[str, Any], receive: Any,
                      send: Any) -> None:
        start: dict[str, Any] = {}
        body: list[bytes] = []

        async def keep(message: dict[str, Any]) -> None:
            if message["type"] == "http.response.start":
                start.update(message)
            elif message["type"] == "http.response.body":
                body.append(message.get("body", b""))
            await send(message)

        with audit.capturing() as events:
            await self.app(scope, receive, keep)
        if start.get("status") == 200 and audit.metadata_only(events):
            answer = b"".join(body)
            if len(self._kept) >= LIMIT or self._bytes + len(answer) > LIMIT_BYTES:
                self._kept.clear()
                self._bytes = 0
            self._kept[key] = _Kept(generation, start, answer, list(events))
            self._bytes += len(answer)

"""Group commit: one writer thread commits queued small writes together, one transaction a batch.

Fifty readers each writing an audit row in its own transaction would queue behind one another on
the write lock and pay one log flush each. Here they hand the write to a single thread, which
takes whatever has queued while the previous batch committed and writes it in one transaction.
A caller that must not answer before its write is durable waits for the batch that holds it;
the others go on at once. If a batch fails, each write is retried in a transaction of its own,
so one bad write never loses the others.
"""

from __future__ import annotations

import atexit
import logging
import queue
import threading
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from workbench.store._store import Store

log = logging.getLogger("workbench.store")

#: a batch writer: given a cursor inside the batch's transaction (the write lock held) and the
#: items queued for it, in queue order, it writes them all
Write = Callable[[Any, list[Any]], None]

_STOP = object()


def _nothing(cur: Any, items: list[Any]) -> None:
    """The writer of a flush marker: the batch's commit is all it waits for."""


class _Pending:
    """One queued item, the writer that writes it and, for a waiting caller, how it ended."""

    __slots__ = ("write", "item", "done", "error")

    def __init__(self, write: Write, item: Any, wait: bool) -> None:
        self.write = write
        self.item = item
        self.done = threading.Event() if wait else None
        self.error: BaseException | None = None


class GroupCommit:
    """The batching writer of one store."""

    def __init__(self, store: "Store", *, max_batch: int = 1000) -> None:
        self._store = store
        self._max_batch = max_batch
        self._queue: queue.SimpleQueue[Any] = queue.SimpleQueue()
        self._thread: threading.Thread | None = None
        self._start_lock = threading.Lock()
        self._closed = False

    def submit(self, write: Write, item: Any, *, wait: bool) -> None:
        """Queue ``item`` for ``write``; with ``wait``, return once it is committed (or raise)."""
        if self._closed:
            raise RuntimeError("the store is closed")
        if self.in_writer():
            with self._store.transaction(quiet=True) as cur:
                write(cur, [item])
            return
        self._ensure_thread()
        pending = _Pending(write, item, wait)
        self._queue.put(pending)
        if pending.done is not None:
            pending.done.wait()
            if pending.error is not None:
                raise pending.error

    def flush(self) -> None:
        """Return once everything queued before this call is committed."""
        if self._thread is None or self.in_writer() or self._closed:
            return
        self.submit(_nothing, None, wait=True)

    def in_writer(self) -> bool:
        """True on the writer thread itself (or on a thread holding the store's write lock)."""
        return threading.current_thread() is self._thread or self._store.holds_write_lock()

    def close(self) -> None:
        """Commit what is queued and stop the thread."""
        with self._start_lock:
            self._closed = True
            thread = self._thread
        if thread is not None:
            atexit.unregister(self.close)
            self._queue.put(_STOP)
            thread.join()

    def _ensure_thread(self) -> None:
        if self._thread is not None:
            return
        with self._start_lock:
            if self._thread is None:
                self._thread = threading.Thread(target=self._loop, name="workbench-group-commit",
                                                daemon=True)
                self._thread.start()
                # a process that ends without closing its store still commits what is queued
                atexit.register(self.close)

    def _loop(self) -> None:
        while True:
            first = self._queue.get()
            batch: list[_Pending] = []
            stopping = first is _STOP
            if not stopping:
                batch.append(first)
            while len(batch) < self._max_batch:
                try:
                    item = self._queue.get_nowait()
                except queue.Empty:
                    break
                if item is _STOP:
                    stopping = True
                    continue
                batch.append(item)
            if batch:
                self._commit(batch)
            if stopping and self._queue.empty():
                return

    def _commit(self, batch: list[_Pending]) -> None:
        by_writer: dict[Write, list[Any]] = {}
        for pending in batch:
            by_writer.setdefault(pending.write, []).append(pending.item)
        try:
            with self._store.transaction(quiet=True) as cur:
                for write, items in by_writer.items():
                    write(cur, items)
        except Exception:
            log.exception("a group commit of %d writes failed; retrying them one by one", len(batch))
            for pending in batch:
                try:
                    with self._store.transaction(quiet=True) as cur:
                        pending.write(cur, [pending.item])
                except Exception as exc:
                    pending.error = exc
                    if pending.done is None:
                        log.exception("a queued write failed")
        for pending in batch:
            if pending.done is not None:
                pending.done.set()

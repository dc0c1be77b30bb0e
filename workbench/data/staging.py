"""Uploads in flight: chunks held in the service's memory until the connection is created.

Raw files contain raw identities, so they are never written to disk or to the store: the bytes
live in memory only, belong to the user who started the upload, and are dropped when the
connection is made, when the upload is cancelled, or after an hour of inactivity.
"""

from __future__ import annotations

import threading
import time
import uuid
import weakref
from dataclasses import dataclass, field

from workbench.data import files
from workbench.errors import Conflict, InvalidInput, NotFound, PayloadTooLarge

#: the largest chunk the service accepts in one request
CHUNK_BYTES = 8 * 1024 * 1024
#: an upload untouched this long is dropped
TTL_SECONDS = 3600.0


@dataclass
class Staged:
    """One upload in progress."""

    id: str
    org_id: str
    user_id: str
    file_name: str
    format: str
    size: int
    source: str
    buf: bytearray = field(default_factory=bytearray)
    next_index: int = 0
    touched: float = field(default_factory=time.monotonic)
    parsed: files.Parsed | None = None

    @property
    def complete(self) -> bool:
        return self.parsed is not None or len(self.buf) == self.size


class Staging:
    """The uploads of one service, keyed by id; thread-safe."""

    def __init__(self) -> None:
        self._items: dict[str, Staged] = {}
        self._lock = threading.Lock()

    def _purge(self) -> None:
        now = time.monotonic()
        for key in [k for k, v in self._items.items() if now - v.touched > TTL_SECONDS]:
            del self._items[key]

    def start(self, *, org_id: str, user_id: str, file_name: str, fmt: str, size: int,
              source: str) -> Staged:
        """Begin an upload after checking its name and declared size."""
        files.check_file_name(file_name)
        files.check_size(size)
        if size == 0:
            raise InvalidInput(f"the file {file_name!r} is empty; it needs a header line and data rows")
        staged = Staged(id=str(uuid.uuid4()), org_id=org_id, user_id=user_id, file_name=file_name,
                        format=fmt, size=size, source=source)
        with self._lock:
            self._purge()
            self._items[staged.id] = staged
        return staged

    def get(self, upload_id: str, user_id: str) -> Staged:
        """The caller's own upload (anyone else's is NotFound)."""
        with self._lock:
            staged = self._items.get(upload_id)
        if staged is None or staged.user_id != user_id:
            raise NotFound(f"no upload {upload_id!r} (it may have expired after an hour; upload again)")
        staged.touched = time.monotonic()
        return staged

    def append(self, upload_id: str, user_id: str, index: int, chunk: bytes) -> Staged:
        """Add the chunk numbered ``index``; chunks arrive in order, each at most CHUNK_BYTES."""
        staged = self.get(upload_id, user_id)
        if len(chunk) > CHUNK_BYTES:
            raise PayloadTooLarge(f"a chunk may be at most {CHUNK_BYTES:,} bytes; send smaller chunks",
                                  size=len(chunk), limit=CHUNK_BYTES)
        with self._lock:
            if index != staged.next_index:
                raise Conflict(f"expected chunk {staged.next_index}, got chunk {index}; resend from "
                               f"chunk {staged.next_index}", expected=staged.next_index)
            total = len(staged.buf) + len(chunk)
            if total > staged.size:
                files.check_size(total)
                raise InvalidInput(f"the upload sent {total:,} bytes, more than the declared size "
                                   f"{staged.size:,}; start the upload again with the right size")
            staged.buf += chunk
            staged.next_index += 1
        return staged

    def parse(self, upload_id: str, user_id: str) -> Staged:
        """Parse the complete upload once; a bad file is dropped at once with its error."""
        staged = self.get(upload_id, user_id)
        if not staged.complete:
            raise Conflict(f"the upload has {len(staged.buf):,} of {staged.size:,} bytes; send the rest first")
        if staged.parsed is None:
            try:
                staged.parsed = files.parse(staged.buf, staged.format, staged.file_name)
            except Exception:
                self.drop(upload_id)
                raise
            staged.buf = bytearray()
        return staged

    def drop(self, upload_id: str) -> None:
        """Forget an upload and its bytes."""
        with self._lock:
            self._items.pop(upload_id, None)


_BY_STORE: "weakref.WeakKeyDictionary[object, Staging]" = weakref.WeakKeyDictionary()
_BY_STORE_LOCK = threading.Lock()


def staging_for(store: object) -> Staging:
    """The uploads of the service that owns ``store``."""
    with _BY_STORE_LOCK:
        staging = _BY_STORE.get(store)
        if staging is None:
            staging = _BY_STORE[store] = Staging()
        return staging

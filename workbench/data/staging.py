"""Uploads in flight: chunks held in the service's memory until the connection is created.

Raw files contain raw identities, so they are never written to disk or to the store: the bytes
live in memory only, belong to the user who started the upload, and are dropped when the
connection is made, when the upload is cancelled, or after an hour of inactivity.

Memory is bounded three ways: a user may have at most ``WORKBENCH_MAX_UPLOADS_IN_FLIGHT``
uploads open; all open uploads of the service together hold at most ``WORKBENCH_STAGING_BYTES``
(an upload reserves its declared size when it starts, and its decoded size once parsed); and
decoding stops as soon as a file decodes past its own limit or the budget left (see
:mod:`workbench.data.files`).
"""

from __future__ import annotations

import threading
import time
import weakref
from dataclasses import dataclass, field

from workbench.data import files
from workbench.errors import Busy, Conflict, InvalidInput, NotFound, PayloadTooLarge
from workbench.ids import new_id

#: the largest chunk the service accepts in one request
CHUNK_BYTES = 8 * 1024 * 1024
#: an upload untouched this long is dropped
TTL_SECONDS = 3600.0
#: environment variables of the staging limits, read on every upload
MAX_IN_FLIGHT_ENV = "WORKBENCH_MAX_UPLOADS_IN_FLIGHT"
STAGING_BYTES_ENV = "WORKBENCH_STAGING_BYTES"
DEFAULT_IN_FLIGHT = 3
DEFAULT_STAGING_BYTES = 8 * 1024**3


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
    #: declared column types that override inference when the file is parsed
    column_types: dict[str, str] = field(default_factory=dict)

    @property
    def complete(self) -> bool:
        return self.parsed is not None or len(self.buf) == self.size

    @property
    def held(self) -> int:
        """Bytes this upload counts against the staging budget: declared, then decoded size."""
        return self.parsed.table.nbytes if self.parsed is not None else self.size


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
              source: str, column_types: dict[str, str] | None = None) -> Staged:
        """Begin an upload after checking its name, its declared size and the staging limits."""
        files.check_file_name(file_name)
        files.check_size(size)
        if size == 0:
            raise InvalidInput(f"the file {file_name!r} is empty; it needs a header line and data rows")
        in_flight = files.env_limit(MAX_IN_FLIGHT_ENV, DEFAULT_IN_FLIGHT)
        budget = files.env_limit(STAGING_BYTES_ENV, DEFAULT_STAGING_BYTES)
        staged = Staged(id=new_id(), org_id=org_id, user_id=user_id, file_name=file_name,
                        format=fmt, size=size, source=source, column_types=dict(column_types or {}))
        with self._lock:
            self._purge()
            mine = sum(1 for v in self._items.values() if v.user_id == user_id)
            if mine >= in_flight:
                raise Busy(f"you have {mine} uploads in progress, the most one user may have at once; "
                           "finish or cancel one (client.cancel_upload) and start again",
                           in_flight=mine, limit=in_flight)
            held = self._held()
            if held + size > budget:
                raise Busy(f"the service is holding {held:,} bytes of uploads in progress and this one "
                           f"needs {size:,} more, over its staging budget of {budget:,} bytes; retry "
                           f"when other uploads have finished, or ask the operator to raise {STAGING_BYTES_ENV}",
                           held=held, size=size, limit=budget)
            self._items[staged.id] = staged
        return staged

    def _held(self, but: str | None = None) -> int:
        return sum(v.held for k, v in self._items.items() if k != but)

    def peek(self, upload_id: str) -> Staged | None:
        """The upload with this id, whoever started it (for the policy to decide on)."""
        with self._lock:
            return self._items.get(upload_id)

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

    def parse(self, upload_id: str, user_id: str) -> tuple[Staged, files.Parsed]:
        """Parse the complete upload once; a bad file is dropped at once with its error.

        Decoding may use what this upload reserved plus whatever the staging budget has left.
        """
        staged = self.get(upload_id, user_id)
        if staged.parsed is not None:
            return staged, staged.parsed
        if not staged.complete:
            raise Conflict(f"the upload has {len(staged.buf):,} of {staged.size:,} bytes; send the rest first")
        budget = files.env_limit(STAGING_BYTES_ENV, DEFAULT_STAGING_BYTES)
        with self._lock:
            room = max(budget - self._held(but=staged.id), 0)
        try:
            parsed = files.parse(staged.buf, staged.format, staged.file_name, budget=room,
                                 column_types=staged.column_types)
        except Exception:
            self.drop(upload_id)
            raise
        staged.parsed = parsed
        staged.buf = bytearray()
        return staged, parsed

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

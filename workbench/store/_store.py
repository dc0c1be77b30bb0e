"""Open the encrypted DuckDB store, migrate it, and hand out transactions.

DuckDB encrypts database files only with its httpfs extension loaded (it brings OpenSSL). The
extension ships in the ``duckdb-ext-httpfs`` wheel; we load it from there with automatic
installs off, because nothing may be downloaded at run time. After the file is attached the
whole instance loses file access and its configuration is locked, so no SQL that runs later,
question SQL included, can read files, attach databases or undo the lock.
"""

from __future__ import annotations

import os
import re
import secrets
import stat
import threading
import urllib.parse
from collections.abc import Callable, Hashable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any, TypeVar, cast

import duckdb

from workbench.errors import InvalidInput
from workbench.store._group import GroupCommit

T = TypeVar("T")

KEY_ENV = "WORKBENCH_STORE_KEY"
#: the engine's memory cap, e.g. 4GB (unset: DuckDB's default), fixed before the instance locks
MEMORY_ENV = "WORKBENCH_ENGINE_MEMORY"
KEY_FILE = "store.key"
#: where external (zero-copy) data connections may read, separated by os.pathsep: directories
#: (or file:// URIs of them) and URI prefixes such as s3a://bucket/prefix (read only by Spark)
EXTERNAL_ROOTS_ENV = "WORKBENCH_EXTERNAL_ROOTS"
#: Spark catalog databases (``db`` or ``catalog.db``, comma-separated) whose tables may be registered
EXTERNAL_DATABASES_ENV = "WORKBENCH_EXTERNAL_DATABASES"
_SCHEME = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*")
DB_FILE = "workbench.duckdb"


def httpfs_extension() -> str:
    """Where the httpfs extension (DuckDB encryption needs its OpenSSL) is installed."""
    import duckdb_ext  # namespace package installed by duckdb-ext-httpfs

    version = duckdb.__version__
    for base in duckdb_ext.__path__:
        for found in Path(base, "extensions", f"v{version}").glob("*/httpfs.duckdb_extension"):
            return str(found)
    raise RuntimeError(
        f"the httpfs extension for duckdb {version} is not installed; "
        "install the duckdb-ext-httpfs package that matches duckdb"
    )


def _literal(text: str) -> str:
    """A SQL string literal; ATTACH takes no bound parameters, and both values are the operator's."""
    return "'" + text.replace("'", "''") + "'"


def _check_key(key: str) -> str:
    if len(key) < 16 or not re.fullmatch(r"[A-Za-z0-9_+/=.-]+", key):
        raise InvalidInput(
            f"the store key must be at least 16 characters of letters, digits or _+/=.-; "
            f"check {KEY_ENV} or the key file"
        )
    return key


def create_key_file(store_dir: Path) -> Path:
    """Write a new random key readable only by its owner; refuse to overwrite one."""
    store_dir.mkdir(parents=True, exist_ok=True)
    path = store_dir / KEY_FILE
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, stat.S_IRUSR | stat.S_IWUSR)
    with os.fdopen(fd, "w") as f:
        f.write(secrets.token_hex(32))
    return path


def read_key(store_dir: Path) -> str:
    """The store key: the environment variable wins, else the key file beside the store."""
    key = os.environ.get(KEY_ENV)
    if key:
        return key
    path = store_dir / KEY_FILE
    if not path.exists():
        raise InvalidInput(
            f"no store key: set {KEY_ENV} or run `workbench init --store {store_dir}` first"
        )
    if path.stat().st_mode & (stat.S_IRWXG | stat.S_IRWXO):
        raise InvalidInput(
            f"the key file {KEY_FILE} is readable by others; run `chmod 600` on it and retry"
        )
    return path.read_text().strip()


@dataclass(frozen=True, slots=True)
class Opened:
    """Which store handed out a cursor, and whether it is inside a write transaction."""

    store: "Store"
    writing: bool


#: cursors handed out by ``Store.reader`` and ``Store.transaction`` and not yet closed, by id
_OPEN: dict[int, Opened] = {}


def opened(cur: Any) -> Opened | None:
    """The store behind a cursor from ``reader()`` or ``transaction()`` (None for any other)."""
    return _OPEN.get(id(cur))


class Store:
    """The service's only handle on the database.

    Writes go through :meth:`transaction`, one at a time under the write lock. Reads go through
    :meth:`reader` and take no lock. Small writes that need not be in the caller's transaction
    (the audit rows of reads) go to :attr:`group`, which commits them in batches.
    """

    def __init__(self, con: duckdb.DuckDBPyConnection, path: Path) -> None:
        self._con = con
        self.path = path
        #: the only directories external connections may read (set once, before the lock)
        self.external_roots: tuple[Path, ...] = ()
        #: URI prefixes (``scheme://authority/path``, canonical) only the Spark engine reads
        self.external_uris: tuple[str, ...] = ()
        #: Spark catalog databases whose tables may be registered (lower case)
        self.external_databases: tuple[str, ...] = ()
        self._write_lock = threading.RLock()
        self._writer: threading.Thread | None = None
        self._generation = 0
        self._hooks: dict[int, tuple[list[Callable[[], None]], list[Callable[[Any], None]],
                                     list[Callable[[], None]]]] = {}
        self._memo: dict[Hashable, tuple[int, Any]] = {}
        self.group = GroupCommit(self)

    @classmethod
    def open(cls, store_dir: Path, key: str | None = None, *, create: bool = False) -> "Store":
        """Attach the encrypted file, apply pending migrations, then lock the instance down."""
        store_dir = Path(store_dir)
        db_path = store_dir / DB_FILE
        if not create and not db_path.exists():
            raise InvalidInput(
                f"no store in {store_dir}: run `workbench init --store {store_dir}` first"
            )
        store_dir.mkdir(parents=True, exist_ok=True)
        key = _check_key(key if key is not None else read_key(store_dir))
        con = duckdb.connect(
            config={
                "autoinstall_known_extensions": False,
                "autoload_known_extensions": False,
            }
        )
        con.execute(f"LOAD '{httpfs_extension()}'")
        try:
            con.execute(f"ATTACH {_literal(str(db_path))} AS store (ENCRYPTION_KEY {_literal(key)})")
        except duckdb.Error as exc:
            con.close()
            if "lock" in str(exc).lower():
                raise InvalidInput(
                    f"the store in {store_dir} is in use by another process; stop the other "
                    "`workbench serve` (or demo) first"
                ) from None
            raise InvalidInput(
                "cannot open the store: wrong key or damaged file "
                f"({type(exc).__name__}); check {KEY_ENV} or the key file"
            ) from None
        con.execute("USE store")
        store = cls(con, db_path)
        store._migrate()
        store.external_roots = external_roots()
        store.external_uris = external_uri_roots()
        store.external_databases = external_databases()
        if store.external_roots:
            # the one exception to "no file access": these directories, for external connections
            con.execute("SET allowed_directories = ?", [[f"{r}{os.sep}" for r in store.external_roots]])
        if (limit := memory_limit()) is not None:  # issue 10.6: the engine's memory cap
            con.execute("SET memory_limit = ?", [limit])
        con.execute("SET enable_external_access = false")
        con.execute("SET lock_configuration = true")
        return store

    def cursor(self) -> duckdb.DuckDBPyConnection:
        """A new cursor on the store; cursors do not inherit USE, so each one sets it."""
        cur = self._con.cursor()
        cur.execute("USE store")
        return cur

    def _migrate(self) -> None:
        cur = self.cursor()
        cur.execute(
            "CREATE TABLE IF NOT EXISTS schema_migrations ("
            " version INTEGER PRIMARY KEY, name VARCHAR NOT NULL,"
            " applied_at TIMESTAMPTZ NOT NULL DEFAULT now())"
        )
        done = {v for (v,) in cur.execute("SELECT version FROM schema_migrations").fetchall()}
        for version, name, sql in migrations():
            if version in done:
                continue
            cur.execute("BEGIN")
            try:
                cur.execute(sql)
                cur.execute(
                    "INSERT INTO schema_migrations (version, name) VALUES (?, ?)", [version, name]
                )
                cur.execute("COMMIT")
            except Exception:
                cur.execute("ROLLBACK")
                raise

    @contextmanager
    def transaction(self, *, quiet: bool = False) -> Iterator[duckdb.DuckDBPyConnection]:
        """A cursor inside one transaction; writes are serialised so they never conflict.

        Each committed transaction advances :attr:`generation` (caches of stored state compare
        it), except ``quiet`` ones that only append log rows (the group commit's batches).
        """
        with self._write_lock:
            outer = self._writer
            self._writer = threading.current_thread()
            cur = self.cursor()
            _OPEN[id(cur)] = Opened(self, True)
            try:
                cur.execute("BEGIN")
                try:
                    yield cur
                except BaseException:
                    cur.execute("ROLLBACK")
                    self._run_hooks(cur, committed=False)
                    raise
                cur.execute("COMMIT")
                if not quiet:
                    self._generation += 1
                    self._memo.clear()
                self._run_hooks(cur, committed=True)
            finally:
                self._hooks.pop(id(cur), None)
                _OPEN.pop(id(cur), None)
                cur.close()
                self._writer = outer

    def after_commit(self, cur: Any, done: Callable[[], None], *, always: bool = False) -> None:
        """Call ``done`` once ``cur``'s transaction has committed (still under the write lock);
        with ``always``, once it has ended either way."""
        on_commit, _, on_end = self._hooks.setdefault(id(cur), ([], [], []))
        (on_end if always else on_commit).append(done)

    def after_rollback(self, cur: Any, write: Callable[[Any], None]) -> None:
        """Run ``write`` in a transaction of its own if ``cur``'s transaction rolls back.

        For what must outlive the caller's failure: the audit row of a refusal made inside a
        write is written in that write's transaction, and again here when the write is undone.
        """
        self._hooks.setdefault(id(cur), ([], [], []))[1].append(write)

    def _run_hooks(self, cur: Any, *, committed: bool) -> None:
        on_commit, on_rollback, on_end = self._hooks.pop(id(cur), ([], [], []))
        for done in (on_commit + on_end) if committed else on_end:
            done()
        for write in [] if committed else on_rollback:
            again = self.cursor()
            _OPEN[id(again)] = Opened(self, True)
            try:
                again.execute("BEGIN")
                try:
                    write(again)
                except BaseException:
                    again.execute("ROLLBACK")
                    self._run_hooks(again, committed=False)
                    raise
                again.execute("COMMIT")
                self._run_hooks(again, committed=True)
            finally:
                self._hooks.pop(id(again), None)
                _OPEN.pop(id(again), None)
                again.close()

    def holds_write_lock(self) -> bool:
        """True when the calling thread is inside a write transaction of this store."""
        return self._writer is threading.current_thread()

    @property
    def generation(self) -> int:
        """Advances with each committed write; a cache made at an older generation is stale."""
        return self._generation

    def memo(self, key: Hashable, compute: Callable[[], T]) -> T:
        """``compute()``, remembered until the next committed write (for reads outside writes).

        The generation is read before computing, so a value computed while a write commits is
        never served after it: revoking a token or changing a role takes effect at once.
        """
        generation = self._generation
        hit = self._memo.get(key)
        if hit is not None and hit[0] == generation:
            return cast(T, hit[1])
        value = compute()
        if len(self._memo) >= 50_000:
            self._memo.clear()
        self._memo[key] = (generation, value)
        return value

    @contextmanager
    def reader(self) -> Iterator[duckdb.DuckDBPyConnection]:
        """A cursor for reads that need no lock (a snapshot per statement)."""
        cur = self.cursor()
        _OPEN[id(cur)] = Opened(self, False)
        try:
            yield cur
        finally:
            _OPEN.pop(id(cur), None)
            cur.close()

    def checkpoint(self) -> None:
        """Flush the write-ahead log into the (encrypted) database file."""
        with self._write_lock:
            self._con.execute("CHECKPOINT")

    def close(self) -> None:
        """Commit the queued group writes, checkpoint and release the file."""
        self.group.close()
        with self._write_lock:
            try:
                self._con.execute("CHECKPOINT")
            finally:
                self._con.close()


def memory_limit() -> str | None:
    """The engine memory limit from WORKBENCH_ENGINE_MEMORY (None: DuckDB's default)."""
    value = os.environ.get(MEMORY_ENV, "").strip()
    if not value:
        return None
    if not re.fullmatch(r"\d+(\.\d+)?\s*(KB|MB|GB|TB|KiB|MiB|GiB|TiB)", value):
        raise InvalidInput(f"{MEMORY_ENV} must be an amount such as 4GB or 512MiB, got {value!r}")
    return value


def root_entries() -> list[str]:
    """WORKBENCH_EXTERNAL_ROOTS split on os.pathsep, keeping ``scheme://...`` entries whole."""
    parts = [p.strip() for p in os.environ.get(EXTERNAL_ROOTS_ENV, "").split(os.pathsep)]
    entries: list[str] = []
    i = 0
    while i < len(parts):
        part = parts[i]
        if i + 1 < len(parts) and _SCHEME.fullmatch(part) and parts[i + 1].startswith("//"):
            part, i = f"{part}:{parts[i + 1]}", i + 1  # "s3a" ":" "//bucket/prefix"
        if part:
            entries.append(part)
        i += 1
    return entries


def _scheme(entry: str) -> str | None:
    head, sep, _ = entry.partition("://")
    return head.lower() if sep and _SCHEME.fullmatch(head) else None


def external_roots() -> tuple[Path, ...]:
    """The configured local external data roots (resolved, existing directories only)."""
    roots = []
    for part in root_entries():
        scheme = _scheme(part)
        if scheme not in (None, "file"):
            continue  # a URI prefix: external_uri_roots
        path = urllib.parse.unquote(part.split("://", 1)[1]) if scheme == "file" else part
        root = Path(path).resolve()
        if not root.is_dir():
            raise InvalidInput(f"the external data root {part!r} is not a directory; fix "
                               f"{EXTERNAL_ROOTS_ENV}")
        roots.append(root)
    return tuple(roots)


def external_uri_roots() -> tuple[str, ...]:
    """The configured URI prefixes (``s3a://bucket/prefix``), canonical: lower-case scheme,
    no trailing slash; refused at start when they could be read two ways."""
    uris = []
    for part in root_entries():
        scheme = _scheme(part)
        if scheme in (None, "file"):
            continue
        split = urllib.parse.urlsplit(part)
        segments = split.path.split("/")[1:]
        if not split.netloc or "@" in split.netloc or split.query or split.fragment \
                or "%" in part or "\\" in part \
                or any(s in (".", "..") for s in segments) or "" in segments[:-1]:
            raise InvalidInput(f"the external data root {part!r} is not a plain URI prefix "
                               "(scheme://authority/path, no user, query, '..' or escapes); fix "
                               f"{EXTERNAL_ROOTS_ENV}")
        uris.append(f"{scheme}://{split.netloc}{split.path.rstrip('/')}")
    return tuple(uris)


def external_databases() -> tuple[str, ...]:
    """Spark catalog databases whose tables may be registered, from WORKBENCH_EXTERNAL_DATABASES."""
    found = []
    for part in os.environ.get(EXTERNAL_DATABASES_ENV, "").split(","):
        name = part.strip().lower()
        if not name:
            continue
        if not re.fullmatch(r"[a-z_][a-z0-9_]*(\.[a-z_][a-z0-9_]*)?", name):
            raise InvalidInput(f"{part!r} is not a database name (db or catalog.db); fix "
                               f"{EXTERNAL_DATABASES_ENV}")
        found.append(name)
    return tuple(found)



def migrations() -> list[tuple[int, str, str]]:
    """All migration files, ordered by their number prefix."""
    found = []
    for entry in resources.files("workbench.store.migrations").iterdir():
        name = entry.name
        if not name.endswith(".sql"):
            continue
        number, _, rest = name.partition("_")
        found.append((int(number), rest.removesuffix(".sql"), entry.read_text()))
    found.sort()
    numbers = [n for n, _, _ in found]
    if len(numbers) != len(set(numbers)):
        raise RuntimeError(f"two migrations share a number: {numbers}")
    return found

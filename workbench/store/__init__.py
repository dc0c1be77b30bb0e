"""The store: one DuckDB database file, encrypted at rest, opened only by the service."""

from workbench.store._store import (
    KEY_ENV, MEMORY_ENV, Opened, Store, create_key_file, httpfs_extension, memory_limit, opened, read_key,
)
from workbench.store.records import fetch_all, fetch_one, scalar

__all__ = [
    "KEY_ENV", "MEMORY_ENV", "Opened", "Store", "create_key_file", "fetch_all", "fetch_one", "httpfs_extension",
    "memory_limit", "opened", "read_key", "scalar",
]

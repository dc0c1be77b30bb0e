"""The store: one DuckDB database file, encrypted at rest, opened only by the service."""

from workbench.store._store import KEY_ENV, Store, create_key_file, httpfs_extension, read_key

__all__ = ["KEY_ENV", "Store", "create_key_file", "httpfs_extension", "read_key"]

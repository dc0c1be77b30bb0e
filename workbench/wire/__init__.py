"""Request and response models shared by the service and the client (no duckdb, no opendp)."""

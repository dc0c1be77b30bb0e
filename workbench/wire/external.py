"""Wire models of external (zero-copy) data connections: data read where it lives."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field, StrictStr

from workbench.wire.data import Connection, In, Name


class ExternalConnectionCreate(In):
    name: StrictStr = Name
    #: a Parquet file or directory, or a Delta table directory, under one of the service's
    #: external data roots (an absolute path, a path relative to a root, a file:// URI, or a
    #: URI under a configured prefix such as s3a://bucket/prefix); for format "table", a Spark
    #: catalog table (db.table or catalog.db.table)
    location: StrictStr = Field(min_length=1, max_length=1000)
    #: parquet | delta | table (a Spark catalog table; Spark-engine services only)
    format: Literal["parquet", "delta", "table"] = "parquet"
    identity_column: StrictStr
    #: sha256 (pre-hashed 64-hex, read as is) | email | maid | ip (normalised and hashed at read)
    identity_kind: StrictStr
    #: the fields that come in (None: all); the identity column always comes in
    fields: list[StrictStr] | None = None
    #: fields labelled PII besides the identity column
    pii: list[StrictStr] = []
    #: PII fields read hashed, or not at all
    pii_mode: Literal["hash", "drop"] = "hash"


class ExternalConnection(BaseModel):
    """A registered external connection: the usual connection report plus where it reads."""

    connection: Connection
    format: str
    #: the location as resolved by the service (relative to its root, a URI, or catalog.db.table)
    location: str
    #: how many data files it reads
    files: int
    #: sha256 over the files' names and bytes when registered (URIs and catalog tables: over
    #: each file's path, size and SHA-256, computed by Spark); re-checked before every run
    content_digest: str
    #: prehashed | hash_at_read
    identity_mode: str

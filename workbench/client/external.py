"""Client method for external (zero-copy) data connections: data read where it lives."""

from __future__ import annotations

from typing import Any

from workbench.wire import external as w


class ExternalDataAPI:
    """Register Parquet or Delta files, or a Spark catalog table, read in place (nothing is
    uploaded)."""

    def _request(self, method: str, path: str, **kwargs: Any) -> Any:  # provided by Client
        raise NotImplementedError

    def connect_external(self, name: str, location: str, *, identity_column: str,
                         identity_kind: str, format: str = "parquet",
                         fields: list[str] | None = None, pii: list[str] | None = None,
                         pii_mode: str = "hash") -> w.ExternalConnection:
        """Register data under the service's external data roots as a data connection.

        ``location``: a path under a root, a ``file://`` URI, or a URI under a configured prefix
        (``s3a://bucket/prefix/...``; Spark services only); with ``format="table"``, a Spark
        catalog table ``db.table`` in a database the operator allows (Spark services only).

        ``identity_kind`` "sha256" reads pre-hashed identities as they are; "email", "maid" or
        "ip" are normalised and hashed when read. Nothing is copied; the service reports rows,
        identities and a content digest, checked again before every run.
        """
        body = w.ExternalConnectionCreate(
            name=name, location=location, format=format,  # type: ignore[arg-type]
            identity_column=identity_column, identity_kind=identity_kind, fields=fields,
            pii=pii or [], pii_mode=pii_mode)  # type: ignore[arg-type]
        return w.ExternalConnection.model_validate(
            self._request("POST", "/api/v1/connections/external", json=body.model_dump()))

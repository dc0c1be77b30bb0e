"""Client methods for datasets, provisioning, analysis rules and template mapping.

Files stream to the service in chunks (a progress bar shows in notebooks and terminals); a
pandas DataFrame travels as Parquet. Identity hashing happens in the service, never here.
"""

from __future__ import annotations

import io
import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from workbench.errors import InvalidInput
from workbench.wire import data as w

CHUNK_BYTES = 8 * 1024 * 1024
#: ``progress=`` may be a callable ``(bytes_sent, total_bytes)``, called after every chunk (widgets
#: draw their own bar with it); ``True`` shows a tqdm bar, ``False`` nothing
Progress = bool | Callable[[int, int], None]
_DTYPE_HELP = "convert it to text, integer, float, boolean or datetime first (e.g. df[col].astype(str))"


def dataframe_to_parquet(df: Any) -> bytes:
    """Parquet bytes of a DataFrame, after refusing dtypes the clean room cannot store."""
    import pandas as pd
    import pyarrow as pa
    import pyarrow.parquet as pq

    if not isinstance(df, pd.DataFrame):
        raise InvalidInput(f"expected a pandas DataFrame, got {type(df).__name__}")
    if len(df.columns) == 0 or len(df) == 0:
        raise InvalidInput("the DataFrame is empty; it needs columns and rows")
    names = [str(c) for c in df.columns]
    if any(not isinstance(c, str) for c in df.columns):
        raise InvalidInput(f"DataFrame column names must be strings; got {list(df.columns)!r}")
    for name in names:
        col = df[name]
        if isinstance(col, pd.DataFrame):
            raise InvalidInput(f"the DataFrame has the column name {name!r} twice; rename one")
        kind = col.dtype.kind
        if isinstance(col.dtype, pd.CategoricalDtype):
            inner = pd.api.types.infer_dtype(col.cat.categories, skipna=True)
            ok = inner in ("string", "empty")
        elif kind in "biufM":
            ok = True
        elif kind in "OU" or pd.api.types.is_string_dtype(col.dtype):
            ok = pd.api.types.infer_dtype(col, skipna=True) in ("string", "empty")
        else:
            ok = False
        if not ok:
            what = pd.api.types.infer_dtype(col, skipna=True) if kind == "O" else str(col.dtype)
            raise InvalidInput(f"column {name!r} has the unsupported dtype {what}; {_DTYPE_HELP}",
                               column=name, dtype=str(what))
    table = pa.Table.from_pandas(df, preserve_index=False)
    sink = io.BytesIO()
    pq.write_table(table, sink)
    return sink.getvalue()


def _progress(total: int, desc: str, enabled: bool) -> Any:
    if not enabled:
        return None
    from tqdm.auto import tqdm

    return tqdm(total=total, unit="B", unit_scale=True, unit_divisor=1024, desc=desc)


class DatasetsAPI:
    """Datasets: uploads, connections, provisioning, analysis rules, templates and mapping."""

    def _request(self, method: str, path: str, **kwargs: Any) -> Any:  # provided by Client
        raise NotImplementedError

    # uploads
    def upload(self, source: Any, *, file_name: str | None = None, format: str | None = None,
               progress: Progress = True, chunk_bytes: int = CHUNK_BYTES,
               column_types: dict[str, str] | None = None) -> w.UploadSchema:
        """Stream a CSV/Parquet file (path) or a DataFrame to the service; returns the detected schema.

        ``column_types`` declares types that override inference, e.g. ``{"zip": "text"}`` keeps
        "01234" as written (text, integer, double, boolean, date or timestamp).
        """
        types = dict(column_types or {})
        if hasattr(source, "to_parquet") and hasattr(source, "columns"):
            data = dataframe_to_parquet(source)
            name = file_name or "dataframe.parquet"
            return self._send(io.BytesIO(data), len(data), name, "parquet", "dataframe", progress, chunk_bytes,
                              types)
        if isinstance(source, (bytes, bytearray)):
            if not file_name:
                raise InvalidInput("pass file_name= when uploading bytes, e.g. file_name='users.csv'")
            fmt = format or _guess(file_name)
            return self._send(io.BytesIO(bytes(source)), len(source), file_name, fmt, "file", progress,
                              chunk_bytes, types)
        if not isinstance(source, (str, os.PathLike)):
            raise InvalidInput(f"upload a file path, bytes or a pandas DataFrame, not {type(source).__name__}")
        path = Path(source)
        if not path.is_file():
            raise InvalidInput(f"no file at {str(path)!r}")
        name = file_name or path.name
        fmt = format or _guess(name)
        with open(path, "rb") as fh:
            return self._send(fh, path.stat().st_size, name, fmt, "file", progress, chunk_bytes, types)

    def start_upload(self, file_name: str, size: int, *, format: str | None = None,
                     source: str = "file", column_types: dict[str, str] | None = None) -> w.Upload:
        """Open an upload of ``size`` bytes (chunks follow); it counts against your uploads in flight
        and the service's staging budget until it is turned into a connection or cancelled."""
        return w.Upload(**self._request("POST", "/api/v1/uploads", json={
            "file_name": file_name, "format": format or _guess(file_name), "size": size, "source": source,
            "column_types": dict(column_types or {})}))

    def _send(self, fh: Any, size: int, name: str, fmt: str, source: str, progress: Progress,
              chunk_bytes: int, column_types: dict[str, str] | None = None) -> w.UploadSchema:
        up = self.start_upload(name, size, format=fmt, source=source, column_types=column_types)
        try:
            return self._send_chunks(up, fh, size, name, progress, chunk_bytes)
        except BaseException:
            try:  # free the slot and the staged bytes at once rather than after the service's hour
                self.cancel_upload(up.id)
            except Exception:
                pass
            raise

    def _send_chunks(self, up: w.Upload, fh: Any, size: int, name: str, progress: Progress,
                     chunk_bytes: int) -> w.UploadSchema:
        step = max(1, min(chunk_bytes, up.chunk_bytes))
        report = progress if callable(progress) else None
        bar = _progress(size, f"uploading {name}", bool(progress) and report is None)
        sent = 0
        try:
            for index, chunk in enumerate(_chunks(fh, step)):
                self._request("PUT", f"/api/v1/uploads/{up.id}/chunks/{index}", content=chunk,
                              headers={"content-type": "application/octet-stream"})
                sent += len(chunk)
                if bar is not None:
                    bar.update(len(chunk))
                if report is not None:
                    report(sent, size)
        finally:
            if bar is not None:
                bar.close()
        return w.UploadSchema(**self._request("GET", f"/api/v1/uploads/{up.id}/schema"))

    def cancel_upload(self, upload_id: str) -> None:
        """Drop an upload the service holds for you."""
        self._request("DELETE", f"/api/v1/uploads/{upload_id}")

    # connections
    def create_connection(self, upload: w.UploadSchema | str, name: str, *, identity_column: str,
                          identity_kind: str, fields: list[str] | None = None, pii: list[str] | None = None,
                          pii_mode: str = "hash", strict: bool = False) -> w.Connection:
        """Make a data connection from an upload: pick fields, label PII, name the identity column.

        ``identity_kind`` is email, maid, ip or sha256. PII fields are stored hashed
        (``pii_mode="hash"``) or not at all (``"drop"``). Rows whose identity cannot be normalised
        are left out and reported; ``strict=True`` refuses the whole upload instead.
        """
        upload_id = upload if isinstance(upload, str) else upload.upload_id
        body = {"upload_id": upload_id, "name": name, "identity_column": identity_column,
                "identity_kind": identity_kind, "fields": fields, "pii": list(pii or []),
                "pii_mode": pii_mode}
        params = {"strict": "true"} if strict else None
        return w.Connection(**self._request("POST", "/api/v1/connections", json=body, params=params))

    def connect_dataset(self, source: Any, name: str, *, identity_column: str, identity_kind: str,
                        fields: list[str] | None = None, pii: list[str] | None = None,
                        pii_mode: str = "hash", file_name: str | None = None, format: str | None = None,
                        progress: Progress = True, strict: bool = False) -> w.Connection:
        """Upload and create the connection in one call (see :meth:`upload`, :meth:`create_connection`)."""
        schema = self.upload(source, file_name=file_name, format=format, progress=progress)
        try:
            return self.create_connection(schema, name, identity_column=identity_column,
                                          identity_kind=identity_kind, fields=fields, pii=pii,
                                          pii_mode=pii_mode, strict=strict)
        except Exception:
            try:
                self.cancel_upload(schema.upload_id)
            except Exception:  # the service may already have dropped it
                pass
            raise

    def connections(self) -> list[w.Connection]:
        """Your organisation's data connections."""
        return [w.Connection(**c) for c in self._request("GET", "/api/v1/connections")]

    def connection(self, connection_id: str) -> w.Connection:
        """One data connection with its schema and ingest report."""
        return w.Connection(**self._request("GET", f"/api/v1/connections/{connection_id}"))

    def delete_connection(self, connection_id: str) -> w.Deleted:
        """Delete a connection and everything derived from it in every room."""
        return w.Deleted(**self._request("DELETE", f"/api/v1/connections/{connection_id}"))

    # provisioning
    def provision_dataset(self, room_id: str, connection_id: str, name: str, *,
                          columns: list[str] | None = None, row_filter: str | None = None,
                          partners_may_assign: bool = False) -> w.Dataset:
        """Provision a connection into a room as a view (queryable columns, optional row filter)."""
        body = {"connection_id": connection_id, "name": name, "columns": columns,
                "row_filter": row_filter, "partners_may_assign": partners_may_assign}
        return w.Dataset(**self._request("POST", f"/api/v1/rooms/{room_id}/datasets", json=body))

    def datasets(self, room_id: str) -> list[w.Dataset]:
        """The room's datasets: yours in full, partners' as metadata, rules and usage (never rows)."""
        return [w.Dataset(**d) for d in self._request("GET", f"/api/v1/rooms/{room_id}/datasets")]

    def dataset(self, room_id: str, dataset_id: str) -> w.Dataset:
        """One provisioned dataset of the room."""
        return w.Dataset(**self._request("GET", f"/api/v1/rooms/{room_id}/datasets/{dataset_id}"))

    def unprovision_dataset(self, room_id: str, dataset_id: str) -> w.Deleted:
        """Unlink your dataset from the room, with its views, rules, mappings and derived results."""
        return w.Deleted(**self._request("DELETE", f"/api/v1/rooms/{room_id}/datasets/{dataset_id}"))

    # analysis rules
    def set_analysis_rules(self, room_id: str, dataset_id: str, columns: list[dict[str, Any]]) -> w.Rules:
        """Replace the dataset's rules (a new version). Each item: name, join, group_by,
        public_values, aggregations (COUNT, COUNT_DISTINCT, SUM, AVG), lower, upper, input_k_min."""
        return w.Rules(**self._request("PUT", f"/api/v1/rooms/{room_id}/datasets/{dataset_id}/rules",
                                       json={"columns": list(columns)}))

    def analysis_rules(self, room_id: str, dataset_id: str, version: int | None = None) -> w.Rules:
        """The rules in force (or at ``version``)."""
        params = {"version": version} if version is not None else None
        return w.Rules(**self._request("GET", f"/api/v1/rooms/{room_id}/datasets/{dataset_id}/rules",
                                       params=params))

    def analysis_rules_history(self, room_id: str, dataset_id: str) -> list[w.Rules]:
        """Every version of the dataset's rules, oldest first."""
        return [w.Rules(**x) for x in self._request(
            "GET", f"/api/v1/rooms/{room_id}/datasets/{dataset_id}/rules/history")]

    # templates and mapping
    def set_template(self, room_id: str, datasets: list[dict[str, Any]], *, runs: str = "all",
                     receives: str = "all") -> w.Template:
        """Declare the room's dataset macros and fields (owner). Each dataset: macro, party
        (owner | partners | org id), description, fields: [{macro, required, type, description}]."""
        body = {"datasets": list(datasets), "terms": {"runs": runs, "receives": receives}}
        return w.Template(**self._request("PUT", f"/api/v1/rooms/{room_id}/template", json=body))

    def template(self, room_id: str) -> w.Template:
        """The room's template fields and terms."""
        return w.Template(**self._request("GET", f"/api/v1/rooms/{room_id}/template"))

    def map_dataset(self, room_id: str, dataset_macro: str, dataset_id: str, fields: dict[str, str],
                    *, org_id: str | None = None) -> w.Readiness:
        """Map a provisioned dataset's columns to a dataset macro's fields; returns the checklist."""
        body = {"dataset_id": dataset_id, "fields": dict(fields), "org_id": org_id}
        macro = dataset_macro.lstrip("@")
        return w.Readiness(**self._request("PUT", f"/api/v1/rooms/{room_id}/mappings/{macro}", json=body))

    def unmap_dataset(self, room_id: str, dataset_macro: str, *, org_id: str | None = None) -> w.Readiness:
        """Remove a mapping (yours by default)."""
        params = {"org_id": org_id} if org_id else None
        macro = dataset_macro.lstrip("@")
        return w.Readiness(**self._request("DELETE", f"/api/v1/rooms/{room_id}/mappings/{macro}", params=params))

    def readiness(self, room_id: str) -> w.Readiness:
        """The checklist every party sees: what is mapped and what is missing."""
        return w.Readiness(**self._request("GET", f"/api/v1/rooms/{room_id}/readiness"))


def _guess(name: str) -> str:
    lower = name.lower()
    if lower.endswith((".parquet", ".pq")):
        return "parquet"
    if lower.endswith((".csv", ".txt")):
        return "csv"
    raise InvalidInput(f"cannot tell the format of {name!r}; name it .csv or .parquet, or pass format=")


def _chunks(fh: Any, size: int) -> Iterator[bytes]:
    while True:
        chunk = fh.read(size)
        if not chunk:
            return
        yield chunk

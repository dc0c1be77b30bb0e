"""Data connections: an org's uploaded dataset, identity hashed on the way into the store.

The parsed upload is registered in the store's instance as an Arrow table (memory only). One
pass over it checks every identity; the kept rows' distinct identities are counted; then one
INSERT ... SELECT hashes the kept identities (and PII fields, or drops them) as the rows are
written, so raw identities never reach the database file. Rows whose identity cannot be normalised are left out
and reported by reason with their first line numbers. Everything happens in one transaction.

Speed (see bench/README.md): the Arrow table is handed over in batches of one row group, so
DuckDB scans it on every core and writes each row group to the file as it fills instead of at
commit; digests are stored uncompressed (64 random hex digits gain little from compression and
DuckDB's dictionary/FSST analysis of them cost more than hashing).
"""

from __future__ import annotations

import json
import uuid
from typing import Any

import numpy as np
import pyarrow as pa

from workbench.data import identity as ident
from workbench.data.staging import CHUNK_BYTES, staging_for
from workbench.data import files
from workbench.errors import Conflict, InvalidInput, NotFound
from workbench.governance.audit import record
from workbench.governance.model import Actor
from workbench.governance.policy import ensure_allowed
from workbench.store import Store
from workbench.wire import data as w

#: how many line numbers an ingest report keeps per reason
FIRST_LINES = 5
#: rows per Arrow batch handed to the store: DuckDB's row group size. Big batches (pyarrow's CSV
#: reader makes ~500k-row ones) leave cores idle and make DuckDB write the rows at commit instead
BATCH_ROWS = 122_880
_COLUMN_TYPES = {
    "boolean": "BOOLEAN", "integer": "BIGINT", "double": "DOUBLE", "text": "VARCHAR",
    "date": "DATE", "timestamp": "TIMESTAMP",
}


def _q(name: str) -> str:
    return ident.quote_ident(name)


def _column_sql(name: str, typ: str, hashed: bool) -> str:
    """A column definition; digests are random hex, so compressing them only costs time."""
    storage = " USING COMPRESSION uncompressed" if hashed else ""
    return f"{_q(name)} {_COLUMN_TYPES[typ]}{storage}"


# uploads
def start_upload(store: Store, actor: Actor, body: w.UploadCreate) -> w.Upload:
    """Open an upload after checking the name, the format and the declared size."""
    with store.transaction() as cur:
        ensure_allowed(cur, actor, "data.upload", resource_type="upload",
                       detail={"file_name": body.file_name, "size": body.size, "format": body.format})
    staged = staging_for(store).start(org_id=actor.org_id, user_id=actor.user_id,
                                      file_name=body.file_name, fmt=body.format, size=body.size,
                                      source=body.source)
    return _upload_out(staged)


def _upload_out(staged: Any) -> w.Upload:
    return w.Upload(id=staged.id, file_name=staged.file_name, format=staged.format, size=staged.size,
                    received=len(staged.buf) if staged.parsed is None else staged.size,
                    chunk_bytes=CHUNK_BYTES, max_bytes=files.max_upload_bytes())


def put_chunk(store: Store, actor: Actor, upload_id: str, index: int, chunk: bytes) -> w.Upload:
    """Append one chunk to the caller's upload."""
    return _upload_out(staging_for(store).append(upload_id, actor.user_id, index, chunk))


def upload_schema(store: Store, actor: Actor, upload_id: str) -> w.UploadSchema:
    """Parse the finished upload and show its detected schema."""
    staged = staging_for(store).parse(upload_id, actor.user_id)
    parsed = staged.parsed
    return w.UploadSchema(
        upload_id=staged.id, file_name=staged.file_name, format=staged.format,
        rows=parsed.table.num_rows,
        columns=[w.ColumnInfo(name=c.name, type=c.type) for c in parsed.columns],
    )


def cancel_upload(store: Store, actor: Actor, upload_id: str) -> None:
    """Drop the caller's upload and its bytes."""
    staging = staging_for(store)
    staging.get(upload_id, actor.user_id)
    staging.drop(upload_id)


# connections
def _pick(names: list[str], wanted: str, what: str) -> str:
    for name in names:
        if name.lower() == str(wanted).lower():
            return name
    raise InvalidInput(
        f"{what} {wanted!r} is not a column of the file; its columns are: {', '.join(names)}",
        column=wanted,
    )


def create_connection(store: Store, actor: Actor, body: w.ConnectionCreate,
                      *, strict: bool = False) -> w.Connection:
    """Hash the identity, keep the chosen fields, and record the connection, all or nothing."""
    staging = staging_for(store)
    staged = staging.parse(body.upload_id, actor.user_id)
    parsed = staged.parsed
    names = [c.name for c in parsed.columns]
    types = {c.name: c.type for c in parsed.columns}
    kind = ident.parse_kind(body.identity_kind)
    id_col = _pick(names, body.identity_column, "the identity column")
    fields = names if body.fields is None else [_pick(names, f, "the field") for f in body.fields]
    if id_col not in fields:
        fields = [id_col, *fields]
    fields = [n for n in names if n in set(fields)]
    pii = {_pick(names, p, "the PII field") for p in body.pii}
    outside = sorted(pii - set(fields))
    if outside:
        raise InvalidInput(f"PII fields {outside} are not among the chosen fields; add them or drop the label")
    pii.add(id_col)
    name = body.name.strip()
    if not name:
        raise InvalidInput("the connection needs a name")

    conn_id = str(uuid.uuid4())
    table_name = "t_" + uuid.UUID(conn_id).hex
    src = "upload_" + uuid.uuid4().hex
    n = parsed.table.num_rows
    table = parsed.table.append_column("__row", pa.array(np.arange(n, dtype=np.int64)))
    table = table.append_column("__clean", ident.clean_arrow(parsed.table.column(id_col)))
    table = pa.Table.from_batches(table.to_batches(max_chunksize=BATCH_ROWS), schema=table.schema)
    keep_if, keep_value = ident.keep_sql(kind, "__clean")
    kept_columns: list[tuple[str, str, bool, bool]] = []  # name, type, pii, hashed
    select = []
    for col in fields:
        if col == id_col:
            select.append(f"{ident.hash_sql(kind, keep_value)} AS {_q(col)}")
            kept_columns.append((col, "text", True, True))
        elif col in pii and body.pii_mode == "drop":
            continue
        elif col in pii:
            select.append(f"{ident.pii_hash_sql(col)} AS {_q(col)}")
            kept_columns.append((col, "text", True, True))
        else:
            select.append(_q(col))
            kept_columns.append((col, types[col], False, False))
    where = "line" if parsed.first_line is not None else "row"
    with store.transaction() as cur:
        ensure_allowed(cur, actor, "data.connection.create", resource_type="data_connection",
                       resource_id=conn_id, resource_org_id=actor.org_id,
                       detail={"name": name, "identity_kind": kind.value, "fields": len(kept_columns)})
        if cur.execute("SELECT 1 FROM data_connections WHERE org_id = ? AND lower(name) = lower(?)",
                       [actor.org_id, name]).fetchone():
            raise Conflict(f"your organisation already has a data connection named {name!r}; pick another name")
        cur.register(src, table)
        kept_src = src + "_kept"
        try:
            # one pass (an aggregate, so it runs on every core) checks every identity and lists
            # the refused rows; what follows reads only kept rows and checks nothing again
            refused = cur.execute(
                f"SELECT list(__row) FILTER (WHERE NOT ok) FROM (SELECT __row, coalesce({keep_if}, false) AS ok"
                f" FROM {src})").fetch_arrow_table().column(0)
            refused_rows = np.sort(refused.combine_chunks().flatten().to_numpy(zero_copy_only=False))
            kept = n - len(refused_rows)
            rejections = (_rejections(cur, table.take(refused_rows), kind, id_col, parsed.first_line)
                          if kept < n else [])
            if kept == 0 or (strict and rejections):
                text = "; ".join(
                    f"{r.rows:,} × {r.reason} ({where}s {', '.join(map(str, r.lines))})" for r in rejections
                )
                lines = sorted({x for r in rejections for x in r.lines})
                lead = "no row has a usable identity" if kept == 0 else "some identity values cannot be normalised"
                raise InvalidInput(
                    f"{lead} in column {id_col!r} (kind {kind.value}: {ident.KIND_LABELS[kind]}): {text}; "
                    "fix those values, or pick the right identity column and kind",
                    lines=lines, rejections=[r.model_dump() for r in rejections],
                )
            if kept < n:
                keep = np.ones(n, dtype=bool)
                keep[refused_rows] = False
                table = table.filter(pa.array(keep))
            cur.register(kept_src, table)
            # distinct identities: a 64-bit hash of each canonical value (exact in practice, collision
            # odds ~n²/2^65), counted by sorting in numpy, which beats DuckDB's hash aggregate here
            distinct = _count_distinct(
                cur.execute(f"SELECT hash({keep_value}) FROM {kept_src}").fetch_arrow_table().column(0).to_numpy())
            columns_sql = ", ".join(_column_sql(c, t, hashed) for c, t, _, hashed in kept_columns)
            cur.execute(f"CREATE TABLE ds.{table_name} ({columns_sql})")
            written = cur.execute(
                f"INSERT INTO ds.{table_name} SELECT {', '.join(select)} FROM {kept_src}").fetchone()[0]
            if written != kept:
                raise RuntimeError(f"ingest wrote {written} rows, expected {kept}; nothing was kept")
        finally:
            cur.unregister(src)
            cur.unregister(kept_src)
        cur.execute(
            "INSERT INTO data_connections (id, org_id, name, source_format, file_name, table_name,"
            " identity_column, identity_kind, pii_mode, rows_read, rows_kept, distinct_identities,"
            " rows_rejected, rejections, created_by) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
            [conn_id, actor.org_id, name, staged.source if staged.source == "dataframe" else staged.format,
             staged.file_name, table_name, id_col, kind.value, body.pii_mode, n, kept, distinct, n - kept,
             json.dumps([r.model_dump() for r in rejections]), actor.user_id],
        )
        for pos, (col, typ, is_pii, hashed) in enumerate(kept_columns):
            cur.execute(
                "INSERT INTO data_columns (connection_id, position, name, type, pii, is_identity, hashed)"
                " VALUES (?,?,?,?,?,?,?)", [conn_id, pos, col, typ, is_pii, col == id_col, hashed],
            )
        out = _connection(cur, actor.org_id, conn_id)
    staging.drop(staged.id)
    return out


def _count_distinct(values: np.ndarray) -> int:
    """Distinct values of a 1-d array; sorting 10M 64-bit hashes takes numpy ~0.2 s, less than DuckDB's
    hash aggregate over them."""
    if len(values) == 0:
        return 0
    ordered = np.sort(values)
    return int(np.count_nonzero(ordered[1:] != ordered[:-1])) + 1


def _rejections(cur: Any, refused: pa.Table, kind: ident.IdentityKind, column: str,
                first_line: int | None) -> list[w.Rejection]:
    """Why the refused rows (only those) were refused, by reason, with their first line numbers."""
    offset = first_line if first_line is not None else 1
    name = "refused_" + uuid.uuid4().hex
    cur.register(name, refused)
    try:
        rows = cur.execute(
            f"SELECT reason, count(*), list(__row ORDER BY __row)[1:{FIRST_LINES}] FROM ("
            f" SELECT __row, {ident.reason_sql(kind, column)} AS reason FROM {name})"
            " GROUP BY reason ORDER BY count(*) DESC, reason"
        ).fetchall()
    finally:
        cur.unregister(name)
    return [w.Rejection(reason=r, rows=c, lines=[int(x) + offset for x in first]) for r, c, first in rows]


def _connection(cur: Any, org_id: str, conn_id: str) -> w.Connection:
    row = cur.execute(
        "SELECT id, org_id, name, file_name, source_format, identity_column, identity_kind, pii_mode,"
        " rows_read, rows_kept, rows_rejected, distinct_identities, rejections, created_at"
        " FROM data_connections WHERE id = ? AND org_id = ?", [conn_id, org_id],
    ).fetchone()
    if row is None:
        raise NotFound(f"no data connection {conn_id!r} in your organisation")
    cols = cur.execute(
        "SELECT name, type, pii, is_identity, hashed FROM data_columns WHERE connection_id = ?"
        " ORDER BY position", [conn_id],
    ).fetchall()
    rooms = [r for (r,) in cur.execute(
        "SELECT DISTINCT room_id FROM provisioned_datasets WHERE connection_id = ? ORDER BY 1", [conn_id]
    ).fetchall()]
    keys = ["id", "org_id", "name", "file_name", "source_format", "identity_column", "identity_kind",
            "pii_mode", "rows_read", "rows_kept", "rows_rejected", "distinct_identities", "rejections",
            "created_at"]
    data = dict(zip(keys, row))
    data["rejections"] = json.loads(data["rejections"])
    data["columns"] = [w.ConnectionColumn(name=n, type=t, pii=p, identity=i, hashed=h)
                       for n, t, p, i, h in cols]
    data["provisioned_in"] = rooms
    return w.Connection(**data)


def list_connections(store: Store, actor: Actor) -> list[w.Connection]:
    """Your organisation's data connections, newest first."""
    with store.reader() as cur:
        ensure_allowed(cur, actor, "data.connection.read", resource_type="data_connection")
        ids = [i for (i,) in cur.execute(
            "SELECT id FROM data_connections WHERE org_id = ? ORDER BY created_at DESC, name",
            [actor.org_id]).fetchall()]
        return [_connection(cur, actor.org_id, i) for i in ids]


def get_connection(store: Store, actor: Actor, conn_id: str) -> w.Connection:
    """One of your organisation's data connections with its ingest report."""
    with store.reader() as cur:
        ensure_allowed(cur, actor, "data.connection.read", resource_type="data_connection",
                       resource_id=conn_id)
        return _connection(cur, actor.org_id, conn_id)


def delete_connection(store: Store, actor: Actor, conn_id: str) -> w.Deleted:
    """Delete a connection, unlinking it from every room first, then checkpoint."""
    from workbench.data.provisioning import unlink

    with store.transaction() as cur:
        ensure_allowed(cur, actor, "data.connection.delete", resource_type="data_connection",
                       resource_id=conn_id, resource_org_id=actor.org_id)
        row = cur.execute("SELECT table_name, rows_kept FROM data_connections WHERE id = ? AND org_id = ?",
                          [conn_id, actor.org_id]).fetchone()
        if row is None:
            raise NotFound(f"no data connection {conn_id!r} in your organisation")
        table_name, rows = row
        total = w.Deleted(kind="data_connection", id=conn_id, views_dropped=0, datasets_unlinked=0,
                          mappings_removed=0, rule_versions_removed=0, derived_removed=0,
                          rows_deleted=rows)
        for room_id, ds_id in cur.execute(
            "SELECT room_id, id FROM provisioned_datasets WHERE connection_id = ?", [conn_id]
        ).fetchall():
            part = unlink(cur, room_id, ds_id)
            total.views_dropped += part.views_dropped
            total.datasets_unlinked += part.datasets_unlinked
            total.mappings_removed += part.mappings_removed
            total.rule_versions_removed += part.rule_versions_removed
            total.derived_removed += part.derived_removed
        cur.execute(f"DROP TABLE ds.{table_name}")
        cur.execute("DELETE FROM data_columns WHERE connection_id = ?", [conn_id])
        cur.execute("DELETE FROM data_connections WHERE id = ?", [conn_id])
        record(cur, actor, "data.connection.deleted", resource_type="data_connection",
               resource_id=conn_id, resource_org_id=actor.org_id,
               detail={"rows_deleted": rows, "datasets_unlinked": total.datasets_unlinked})
    settle(store)
    return total


def settle(store: Store) -> None:
    """Checkpoint after a delete, so the write-ahead log no longer holds the deleted rows.

    DuckDB does not clear freed blocks, and a newly written block's unused tail may carry stale
    buffer memory; both stay encrypted with the store key. Filling free blocks does not help (the
    filler's own tails can carry the same stale memory), so the residue-free guarantee for the
    raw file rests on encryption; a physical compaction into a fresh file (a store-level step)
    is what would remove even encrypted residue.
    """
    store.checkpoint()

"""Data connections: an org's uploaded dataset, identity hashed on the way into the store.

The parsed upload is registered in the store's instance as an Arrow table (memory only). One
pass over it checks every identity; the kept rows' distinct identities are counted; the kept
identities (and PII fields) are hashed in memory with polars-hash, and one INSERT ... SELECT
writes the digests and the other fields, so raw identities never reach the database file. Rows
whose identity cannot be normalised are left out and reported by reason with their first line
numbers; kept identities with invisible or look-alike characters are reported the same way.
Everything happens in one transaction.

Speed (see bench/README.md): the Arrow table is handed over in batches of one row group, so
DuckDB scans it on every core and writes each row group to the file as it fills instead of at
commit; digests are stored uncompressed (64 random hex digits gain little from compression and
DuckDB's dictionary/FSST analysis of them cost more than hashing); SHA-256 runs in polars-hash,
which uses the CPU's SHA extensions (DuckDB's ``sha256`` does not).
"""

from __future__ import annotations

import json
from typing import Any

import numpy as np
import pyarrow as pa

from workbench.data import _records as rec
from workbench.data import files
from workbench.data import identity as ident
from workbench.data.staging import CHUNK_BYTES, Staged, staging_for
from workbench.errors import Conflict, InvalidInput, NotFound
from workbench.governance.audit import record
from workbench.governance.model import Actor
from workbench.governance.policy import ensure_allowed
from workbench.ids import new_id, parse_uuid
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


# uploads: every step is decided by the policy and audited; another user's upload is not found
def _upload_step(store: Store, actor: Actor, upload_id: str, step: str, **detail: Any) -> Staged:
    """Decide one step of an upload and audit it with its true outcome.

    An upload belongs to the user who started it: anyone else's (or an expired one) is refused
    as not found, and that refusal is the audited decision; one's own is decided by the policy
    (the org right to manage data connections).
    """
    upload_id = parse_uuid(upload_id, "upload")
    staging = staging_for(store)
    staged = staging.peek(upload_id)
    if staged is None or staged.user_id != actor.user_id:
        with store.transaction() as cur:
            record(cur, actor, "data.upload", outcome="denied", resource_type="upload",
                   resource_id=upload_id, resource_org_id=staged.org_id if staged else actor.org_id,
                   reason="not an upload of the caller (or it expired)", detail={"step": step})
        raise NotFound(f"no upload {upload_id!r} (it may have expired after an hour; upload again)")
    with store.transaction() as cur:
        ensure_allowed(cur, actor, "data.upload", resource_type="upload", resource_id=upload_id,
                       resource_org_id=actor.org_id, detail={"step": step, **detail})
    return staging.get(upload_id, actor.user_id)


def start_upload(store: Store, actor: Actor, body: w.UploadCreate) -> w.Upload:
    """Open an upload after checking the name, the format, the declared size and the limits."""
    with store.transaction() as cur:
        ensure_allowed(cur, actor, "data.upload", resource_type="upload", resource_org_id=actor.org_id,
                       detail={"step": "start", "file_name": body.file_name, "size": body.size,
                               "format": body.format, "column_types": body.column_types or None})
    staged = staging_for(store).start(org_id=actor.org_id, user_id=actor.user_id,
                                      file_name=body.file_name, fmt=body.format, size=body.size,
                                      source=body.source, column_types=dict(body.column_types))
    return _upload_out(staged)


def _upload_out(staged: Staged) -> w.Upload:
    return w.Upload(id=staged.id, file_name=staged.file_name, format=staged.format, size=staged.size,
                    received=len(staged.buf) if staged.parsed is None else staged.size,
                    chunk_bytes=CHUNK_BYTES, max_bytes=files.max_upload_bytes())


def put_chunk(store: Store, actor: Actor, upload_id: str, index: int, chunk: bytes) -> w.Upload:
    """Append one chunk to the caller's upload."""
    staged = _upload_step(store, actor, upload_id, "chunk", index=index, bytes=len(chunk))
    return _upload_out(staging_for(store).append(staged.id, actor.user_id, index, chunk))


def upload_schema(store: Store, actor: Actor, upload_id: str) -> w.UploadSchema:
    """Parse the finished upload and show its detected schema."""
    staged = _upload_step(store, actor, upload_id, "parse")
    staged, parsed = staging_for(store).parse(staged.id, actor.user_id)
    return w.UploadSchema(
        upload_id=staged.id, file_name=staged.file_name, format=staged.format,
        rows=parsed.table.num_rows,
        columns=[w.ColumnInfo(name=c.name, type=c.type) for c in parsed.columns],
    )


def cancel_upload(store: Store, actor: Actor, upload_id: str) -> None:
    """Drop the caller's upload and its bytes."""
    staged = _upload_step(store, actor, upload_id, "cancel")
    staging_for(store).drop(staged.id)


# connections
def _pick(names: list[str], wanted: str, what: str) -> str:
    for name in names:
        if name.lower() == str(wanted).lower():
            return name
    raise InvalidInput(
        f"{what} {wanted!r} is not a column of the file; its columns are: {', '.join(names)}",
        column=wanted,
    )


def _fields(parsed: files.Parsed, body: w.ConnectionCreate) -> tuple[str, list[str], set[str]]:
    """(identity column, kept fields in file order, PII fields incl. the identity), checked."""
    names = [c.name for c in parsed.columns]
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
    return id_col, fields, pii


def _reports(rows: list[tuple[str, np.ndarray]], first_line: int | None) -> list[w.Rejection]:
    """(reason, row positions) as report entries: counts and first line numbers, never values."""
    offset = first_line if first_line is not None else 1
    return [w.Rejection(reason=reason, rows=len(found),
                        lines=[int(x) + offset for x in np.sort(found)[:FIRST_LINES]])
            for reason, found in rows]


def create_connection(store: Store, actor: Actor, body: w.ConnectionCreate,
                      *, strict: bool = False) -> w.Connection:
    """Hash the identity, keep the chosen fields, and record the connection, all or nothing."""
    staging = staging_for(store)
    staged, parsed = staging.parse(_upload_step(store, actor, body.upload_id, "connect").id, actor.user_id)
    types = {c.name: c.type for c in parsed.columns}
    kind = ident.parse_kind(body.identity_kind)
    id_col, fields, pii = _fields(parsed, body)
    name = body.name.strip()
    if not name:
        raise InvalidInput("the connection needs a name")

    conn_id = new_id()
    table_name = "t_" + conn_id.replace("-", "")
    n = parsed.table.num_rows
    clean = ident.clean_arrow(parsed.table.column(id_col))
    table = parsed.table.append_column("__row", pa.array(np.arange(n, dtype=np.int64)))
    table = table.append_column("__clean", clean)
    table = pa.Table.from_batches(table.to_batches(max_chunksize=BATCH_ROWS), schema=table.schema)
    keep_if, keep_value = ident.keep_sql(kind, "__clean")
    where = "line" if parsed.first_line is not None else "row"
    with store.transaction() as cur:
        ensure_allowed(cur, actor, "data.connection.create", resource_type="data_connection",
                       resource_id=conn_id, resource_org_id=actor.org_id,
                       detail={"name": name, "identity_kind": kind.value, "fields": len(fields)})
        if rec.connection_name_taken(cur, actor.org_id, name):
            raise Conflict(f"your organisation already has a data connection named {name!r}; pick another name")
        # one pass (an aggregate, so it runs on every core) checks every identity and lists
        # the refused rows; what follows reads only kept rows and checks nothing again
        with rec.arrow_relation(cur, table) as src:
            refused = rec.refused_rows(cur, src, keep_if)
        refused_rows = np.sort(refused.combine_chunks().flatten().to_numpy(zero_copy_only=False))
        kept = n - len(refused_rows)
        rejections = _rejections(cur, table.take(refused_rows), kind, id_col, parsed.first_line) if kept < n else []
        if kept == 0 or (strict and rejections):
            text = "; ".join(f"{r.rows:,} × {r.reason} ({where}s {', '.join(map(str, r.lines))})" for r in rejections)
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
        warnings = _reports([(reason, np.asarray(table.column("__row").take(pa.array(found))))
                             for reason, found in ident.suspicious_rows(table.column("__clean"))],
                            parsed.first_line)
        table, select, kept_columns = _stored_columns(cur, table, kind, id_col, fields, pii, types,
                                                      keep_value, body.pii_mode)
        with rec.arrow_relation(cur, table) as kept_src:
            # distinct identities: a 64-bit hash of each canonical value (exact in practice, collision
            # odds ~n²/2^65), counted by sorting in numpy, which beats DuckDB's hash aggregate here
            distinct = _count_distinct(rec.column_values(cur, kept_src, f"hash({keep_value})").to_numpy())
            rec.create_data_table(cur, table_name, ", ".join(_column_sql(c, t, h) for c, t, _, h in kept_columns))
            written = rec.insert_rows(cur, table_name, ", ".join(select), kept_src)
        if written != kept:
            raise RuntimeError(f"ingest wrote {written} rows, expected {kept}; nothing was kept")
        rec.insert_connection(
            cur, conn_id=conn_id, org_id=actor.org_id, name=name,
            source_format=staged.source if staged.source == "dataframe" else staged.format,
            file_name=staged.file_name, table_name=table_name, identity_column=id_col,
            identity_kind=kind.value, pii_mode=body.pii_mode, rows_read=n, rows_kept=kept,
            distinct=distinct, rejections=[r.model_dump() for r in rejections],
            warnings=[x.model_dump() for x in warnings], created_by=actor.user_id,
            columns=[(c, t, p, c == id_col, h) for c, t, p, h in kept_columns])
        out = _connection(cur, actor.org_id, conn_id)
    staging.drop(staged.id)
    return out


def _stored_columns(cur: Any, table: pa.Table, kind: ident.IdentityKind, id_col: str, fields: list[str],
                    pii: set[str], types: dict[str, str], keep_value: str, pii_mode: str,
                    ) -> tuple[pa.Table, list[str], list[tuple[str, str, bool, bool]]]:
    """The kept rows with digests appended, the SELECT list writing them, and the stored columns.

    Identities and PII fields are hashed here, in memory, before anything is written: the
    INSERT reads digests only. (name, type, pii, hashed) per stored column.
    """
    select: list[str] = []
    kept_columns: list[tuple[str, str, bool, bool]] = []
    for col in fields:
        if col == id_col:
            if kind in (ident.IdentityKind.EMAIL, ident.IdentityKind.SHA256):
                canonical = table.column("__clean")
            else:
                with rec.arrow_relation(cur, table) as src:
                    canonical = rec.column_values(cur, src, keep_value)
            digest = canonical if kind is ident.IdentityKind.SHA256 else ident.sha256_hex(canonical)
        elif col in pii and pii_mode == "drop":
            continue
        elif col in pii and types[col] == "text":
            digest = ident.sha256_hex(ident.clean_arrow(table.column(col)))
        elif col in pii:  # numbers, dates, ...: spelled as DuckDB spells them, as pii_hash_sql does
            with rec.arrow_relation(cur, table) as src:
                digest = ident.sha256_hex(rec.column_values(cur, src, ident.clean_sql(col)))
        else:
            select.append(_q(col))
            kept_columns.append((col, types[col], False, False))
            continue
        hidden = f"__digest{len(kept_columns)}"
        table = table.append_column(hidden, digest)
        select.append(f"{_q(hidden)} AS {_q(col)}")
        kept_columns.append((col, "text", True, True))
    table = pa.Table.from_batches(table.to_batches(max_chunksize=BATCH_ROWS), schema=table.schema)
    return table, select, kept_columns


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
    with rec.arrow_relation(cur, refused, "refused") as name:
        counts = rec.rejection_counts(cur, name, ident.reason_sql(kind, column), FIRST_LINES)
    return [w.Rejection(reason=c.reason, rows=c.rows, lines=[int(x) + offset for x in c.first]) for c in counts]


def _connection(cur: Any, org_id: str, conn_id: str) -> w.Connection:
    conn = rec.connection(cur, org_id, conn_id)
    if conn is None:
        raise NotFound(f"no data connection {conn_id!r} in your organisation")
    return w.Connection(
        id=conn.id, org_id=conn.org_id, name=conn.name, file_name=conn.file_name,
        source_format=conn.source_format, identity_column=conn.identity_column,
        identity_kind=conn.identity_kind, pii_mode=conn.pii_mode, rows_read=conn.rows_read,
        rows_kept=conn.rows_kept, rows_rejected=conn.rows_rejected,
        distinct_identities=conn.distinct_identities, rejections=json.loads(conn.rejections),
        identity_warnings=json.loads(conn.identity_warnings or "[]"), created_at=conn.created_at,
        columns=[w.ConnectionColumn(name=c.name, type=c.type, pii=c.pii, identity=c.is_identity, hashed=c.hashed)
                 for c in rec.connection_columns(cur, conn_id)],
        provisioned_in=rec.rooms_of_connection(cur, conn_id),
    )


def list_connections(store: Store, actor: Actor) -> list[w.Connection]:
    """Your organisation's data connections, newest first."""
    with store.reader() as cur:
        ensure_allowed(cur, actor, "data.connection.read", resource_type="data_connection")
        return [_connection(cur, actor.org_id, c.id) for c in rec.connections_of(cur, actor.org_id)]


def get_connection(store: Store, actor: Actor, conn_id: str) -> w.Connection:
    """One of your organisation's data connections with its ingest report."""
    conn_id = parse_uuid(conn_id, "data connection")
    with store.reader() as cur:
        ensure_allowed(cur, actor, "data.connection.read", resource_type="data_connection",
                       resource_id=conn_id)
        return _connection(cur, actor.org_id, conn_id)


def delete_connection(store: Store, actor: Actor, conn_id: str) -> w.Deleted:
    """Delete a connection, unlinking it from every room first, then checkpoint."""
    from workbench.data.external import drop_if_external
    from workbench.data.provisioning import unlink

    conn_id = parse_uuid(conn_id, "data connection")
    with store.transaction() as cur:
        ensure_allowed(cur, actor, "data.connection.delete", resource_type="data_connection",
                       resource_id=conn_id, resource_org_id=actor.org_id)
        conn = rec.connection(cur, actor.org_id, conn_id)
        if conn is None:
            raise NotFound(f"no data connection {conn_id!r} in your organisation")
        total = w.Deleted(kind="data_connection", id=conn_id, views_dropped=0, datasets_unlinked=0,
                          mappings_removed=0, rule_versions_removed=0, derived_removed=0,
                          rows_deleted=conn.rows_kept)
        for place in rec.placements_of_connection(cur, conn_id):
            part = unlink(cur, place.room_id, place.id)
            total.views_dropped += part.views_dropped
            total.datasets_unlinked += part.datasets_unlinked
            total.mappings_removed += part.mappings_removed
            total.rule_versions_removed += part.rule_versions_removed
            total.derived_removed += part.derived_removed
        if not drop_if_external(cur, conn_id, conn.table_name):
            rec.delete_connection(cur, conn)
        else:
            rec.delete_connection_records(cur, conn)
        record(cur, actor, "data.connection.deleted", resource_type="data_connection",
               resource_id=conn_id, resource_org_id=actor.org_id,
               detail={"rows_deleted": conn.rows_kept, "datasets_unlinked": total.datasets_unlinked})
    checkpoint_after_delete(store)
    return total


def checkpoint_after_delete(store: Store) -> None:
    """Checkpoint after a delete, so the write-ahead log no longer holds the deleted rows.

    DuckDB does not clear freed blocks, and a newly written block's unused tail may carry stale
    buffer memory; both stay encrypted with the store key. Filling free blocks does not help (the
    filler's own tails can carry the same stale memory), so the residue-free guarantee for the
    raw file rests on encryption; a physical compaction into a fresh file (a store-level step)
    is what would remove even encrypted residue.
    """
    store.checkpoint()

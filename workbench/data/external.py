"""External (zero-copy) data connections: Parquet or Delta files read where they live.

Registering one reads the files' schema, checks the identity column (pre-hashed SHA-256, or
normalised and hashed at read time, exactly as an upload would store it), counts rows and
identities, and computes a content digest; it copies nothing. The connection's relation in
schema ``ds`` is a VIEW over the files, so provisioning, analysis rules, mapping and unlink work
unchanged, and DuckDB questions read the files through the store's connection, which may read
only the configured roots (``allowed_directories``, set before the store locks itself).

Path safety: a location must resolve inside one of the operator's roots
(``WORKBENCH_EXTERNAL_ROOTS`` or ``workbench serve --external-root``); ``..`` that leaves the
root, symbolic links anywhere on the way, hidden files and other URI schemes are refused. The
file list is fixed at registration (a Delta table's active files at that version), so a file
dropped into the directory later is never read by surprise.
"""

from __future__ import annotations

import hashlib
import json
import os
import urllib.parse
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
from sqlglot import exp, parse_one

from workbench.data import _external_records as rec
from workbench.data import identity as ident
from workbench.data.connections import get_connection
from workbench.data.files import type_name
from workbench.data.row_filter import check_row_filter
from workbench.errors import Conflict, InvalidInput
from workbench.governance.model import Actor
from workbench.governance.policy import ensure_allowed
from workbench.ids import new_id
from workbench.store import Store
from workbench.wire import data as wd
from workbench.wire import external as w

#: the relation name select_sql reads; each engine swaps in its own reader of the files
RELATION = "__external"
#: more files than this is a sign of a wrong location (or of a table that wants a catalog)
MAX_FILES = 10_000
_CHUNK = 1 << 20


def _refuse(message: str) -> InvalidInput:
    return InvalidInput(message + "; external locations must be inside the service's external "
                        "data roots (ask the operator which ones)")


def resolve_location(roots: tuple[Path, ...], location: str) -> tuple[Path, Path]:
    """(root, resolved location) for a location inside a root, refusing every way out."""
    if not roots:
        raise InvalidInput("this service reads no external data: its operator starts it with "
                           "`workbench serve --external-root DIR` (or WORKBENCH_EXTERNAL_ROOTS)")
    text = location.strip()
    if text.startswith("file://"):
        text = urllib.parse.unquote(text.removeprefix("file://"))
    elif "://" in text:
        raise _refuse(f"the location {location!r} is a URI this service does not read (only local "
                      "paths)")
    if not text or "\x00" in text:
        raise _refuse("the location is empty or malformed")
    candidates = [Path(text)] if os.path.isabs(text) else [root / text for root in roots]
    for candidate in candidates:
        lexical = Path(os.path.abspath(candidate))
        root = next((r for r in roots if lexical.is_relative_to(r)), None)
        if root is None or not lexical.exists():
            continue
        if Path(os.path.realpath(lexical)) != lexical:
            raise _refuse(f"the location {location!r} goes through a symbolic link, which is not "
                          "followed")
        if any(part.startswith(".") for part in lexical.relative_to(root).parts):
            raise _refuse(f"the location {location!r} names a hidden file or directory")
        return root, lexical
    raise _refuse(f"no file or directory {location!r} inside the external data roots")


def _parquet_files(root: Path, location: Path) -> list[Path]:
    """Every visible Parquet file under a location, refusing links and hive-style partitions."""
    if location.is_file():
        return [location]
    found: list[Path] = []
    for dirpath, dirnames, filenames in os.walk(location, followlinks=False):
        here = Path(dirpath)
        for name in list(dirnames):
            if (here / name).is_symlink():
                raise _refuse(f"{(here / name).relative_to(root)} is a symbolic link, which is not "
                              "followed")
            if name.startswith((".", "_")):
                dirnames.remove(name)
            elif "=" in name:
                raise InvalidInput(f"{(here / name).relative_to(root)} looks like a hive-style "
                                   "partition directory; partition columns are not read yet: "
                                   "register a directory of plain Parquet files")
        for name in sorted(filenames):
            path = here / name
            if name.startswith((".", "_")) or not name.endswith(".parquet"):
                continue
            if path.is_symlink():
                raise _refuse(f"{path.relative_to(root)} is a symbolic link, which is not followed")
            found.append(path)
    return sorted(found)


def _delta_files(root: Path, location: Path) -> list[Path]:
    """The active files of a Delta table at its latest version, from its JSON commit log."""
    log_dir = location / "_delta_log"
    if not log_dir.is_dir() or log_dir.is_symlink():
        raise InvalidInput(f"{location.relative_to(root)} is not a Delta table (no _delta_log); "
                           "use format 'parquet' for plain Parquet files")
    commits = sorted(p for p in log_dir.iterdir() if p.name.endswith(".json") and p.stem.isdigit())
    if not commits or int(commits[0].stem) != 0 or \
            [int(p.stem) for p in commits] != list(range(len(commits))):
        raise InvalidInput("the Delta log does not start at version 0 with every commit present "
                           "(checkpointed logs are not read yet); register its Parquet files instead")
    active: dict[str, None] = {}
    for commit in commits:
        for line in commit.read_text().splitlines():
            if not line.strip():
                continue
            action = json.loads(line)
            if "protocol" in action and action["protocol"].get("readerFeatures"):
                raise InvalidInput("the Delta table uses reader features "
                                   f"{action['protocol']['readerFeatures']} that are not read yet")
            if "metaData" in action and action["metaData"].get("partitionColumns"):
                raise InvalidInput("partitioned Delta tables are not read yet; register an "
                                   "unpartitioned table")
            if "add" in action:
                active[urllib.parse.unquote(action["add"]["path"])] = None
            if "remove" in action:
                active.pop(urllib.parse.unquote(action["remove"]["path"]), None)
    files = []
    for relative in active:
        path = Path(os.path.abspath(location / relative))
        if "://" in relative or not path.is_relative_to(location) or path.is_symlink() \
                or Path(os.path.realpath(path)) != path:
            raise _refuse(f"the Delta log names a file outside its table ({relative!r})")
        files.append(path)
    return sorted(files)


def data_files(roots: tuple[Path, ...], location: str, fmt: str) -> tuple[Path, Path, list[Path]]:
    """(root, location, files) of a registration, every file checked to stay inside the root."""
    root, resolved = resolve_location(roots, location)
    files = _delta_files(root, resolved) if fmt == "delta" else _parquet_files(root, resolved)
    if not files:
        raise InvalidInput(f"no Parquet files at {location!r}; point at a .parquet file or a "
                           "directory of them")
    if len(files) > MAX_FILES:
        raise InvalidInput(f"{len(files):,} files at {location!r} (at most {MAX_FILES:,}); point "
                           "at a narrower directory")
    for f in files:
        if not f.is_file() or not f.is_relative_to(root):
            raise _refuse(f"{f.name} is not a readable file inside the root")
    return root, resolved, files


def schema_of(files: list[Path]) -> pa.Schema:
    """The files' common schema; every file must agree on names and types."""
    first = pq.read_schema(files[0])
    for f in files[1:]:
        other = pq.read_schema(f)
        if not other.remove_metadata().equals(first.remove_metadata()):
            raise InvalidInput(f"{f.name} has a different schema from {files[0].name}; register "
                               "files of one schema")
    return first


def content_digest(root: Path, files: list[Path]) -> str:
    """sha256 over each file's name (relative to the root), size and bytes, in name order."""
    digest = hashlib.sha256()
    for f in files:
        digest.update(str(f.relative_to(root)).encode() + b"\x00")
        digest.update(f.stat().st_size.to_bytes(8, "big"))
        with open(f, "rb") as fh:
            while chunk := fh.read(_CHUNK):
                digest.update(chunk)
    return digest.hexdigest()


def _pick(names: list[str], wanted: str, what: str) -> str:
    by_lower = {n.lower(): n for n in names}
    if wanted.lower() not in by_lower:
        raise InvalidInput(f"{what} {wanted!r} is not a column of the files; their columns are: "
                           f"{', '.join(names)}", column=wanted)
    return by_lower[wanted.lower()]


def duckdb_relation(files: list[str]) -> str:
    """DuckDB's reader of exactly these files (each path a quoted literal, no globbing)."""
    paths = ", ".join(exp.Literal.string(f).sql(dialect="duckdb") for f in files)
    return f"read_parquet([{paths}], hive_partitioning = false)"


def register_external(store: Store, actor: Actor, body: w.ExternalConnectionCreate
                      ) -> w.ExternalConnection:
    """Register Parquet/Delta files as a data connection, reading them in place."""
    name = body.name.strip()
    if not name:
        raise InvalidInput("the connection needs a name")
    kind = ident.parse_kind(body.identity_kind)
    conn_id = new_id()
    with store.reader() as cur:
        # authorise before touching the file system, so a refused caller learns nothing of it
        ensure_allowed(cur, actor, "data.connection.create", resource_type="data_connection",
                       resource_id=conn_id, resource_org_id=actor.org_id,
                       detail={"name": name, "external": body.format})
    root, location, files = data_files(store.external_roots, body.location, body.format)
    schema = schema_of(files)
    names = list(schema.names)
    if len({n.lower() for n in names}) != len(names):
        raise InvalidInput("the files have two columns whose names differ only in case; rename one")
    id_col = _pick(names, body.identity_column, "the identity column")
    fields = names if body.fields is None else [_pick(names, f, "the field") for f in body.fields]
    fields = [n for n in names if n in set(fields) | {id_col}]
    pii = {_pick(names, p, "the PII field") for p in body.pii}
    outside = sorted(pii - set(fields))
    if outside:
        raise InvalidInput(f"PII fields {outside} are not among the chosen fields; add them or "
                           "drop the label")
    keep_if, keep_value = ident.keep_sql(kind, id_col)
    select: list[str] = []
    columns: list[tuple[str, str, bool, bool]] = []  # name, type, pii, hashed
    for col in fields:
        ours = type_name(schema.field(col).type)
        if col == id_col:
            select.append(f"{ident.hash_sql(kind, keep_value)} AS {ident.quote_ident(col)}")
            columns.append((col, "text", True, True))
        elif col in pii and body.pii_mode == "drop":
            continue
        elif col in pii:
            select.append(f"{ident.pii_hash_sql(col)} AS {ident.quote_ident(col)}")
            columns.append((col, "text", True, True))
        elif ours is None:
            raise InvalidInput(f"column {col!r} has the type {schema.field(col).type}, which "
                               "cannot be read; leave it out with fields=[...]", column=col)
        else:
            select.append(ident.quote_ident(col))
            columns.append((col, ours, False, False))
    select_sql = f"SELECT {', '.join(select)} FROM {RELATION} WHERE coalesce({keep_if}, false)"
    digest = content_digest(root, files)
    paths = [str(f) for f in files]
    relation = duckdb_relation(paths)
    table_name = "x_" + conn_id.replace("-", "")
    mode = "prehashed" if kind is ident.IdentityKind.SHA256 else "hash_at_read"
    with store.transaction() as cur:
        ensure_allowed(cur, actor, "data.connection.create", resource_type="data_connection",
                       resource_id=conn_id, resource_org_id=actor.org_id,
                       detail={"name": name, "external": body.format, "files": len(files),
                               "content_digest": digest, "identity_mode": mode})
        if rec.name_taken(cur, actor.org_id, name):
            raise Conflict(f"your organisation already has a data connection named {name!r}; "
                           "pick another name")
        source = f"{relation} AS {RELATION}"
        counts = rec.scan_counts(cur, source, keep_if)
        if counts.rows_kept == 0:
            raise InvalidInput(f"no row has a usable identity in column {id_col!r} (kind "
                               f"{kind.value}: {ident.KIND_LABELS[kind]}); pick the right identity "
                               "column and kind")
        reasons = (rec.refused_reasons(cur, source, keep_if, ident.reason_sql(kind, id_col))
                   if counts.rows_kept < counts.rows_read else [])
        rejections = [wd.Rejection(reason=r.reason, rows=r.rows, lines=[]).model_dump()
                      for r in reasons]
        rec.create_source_view(cur, table_name, select_sql.replace(f"FROM {RELATION}",
                                                                   f"FROM {relation}", 1))
        distinct = rec.distinct_identities(cur, table_name, ident.quote_ident(id_col))
        rec.insert_connection(
            cur, conn_id=conn_id, org_id=actor.org_id, name=name,
            source_format=f"external-{body.format}", location=str(location.relative_to(root)),
            table_name=table_name, identity_column=id_col, identity_kind=kind.value,
            pii_mode=body.pii_mode, counts=counts, distinct=distinct, rejections=rejections,
            user_id=actor.user_id, columns=columns)
        record = rec.ExternalRecord(connection_id=conn_id, format=body.format,
                                    location=str(location), files=paths, select_sql=select_sql,
                                    content_digest=digest, identity_mode=mode)
        rec.insert_external(cur, record)
    return w.ExternalConnection(connection=get_connection(store, actor, conn_id),
                                format=body.format, location=str(location.relative_to(root)),
                                files=len(files), content_digest=digest, identity_mode=mode)


def drop_if_external(cur: Any, conn_id: str, table_name: str) -> bool:
    """Delete an external connection's view and record; False when the connection is an upload."""
    if rec.external_of(cur, conn_id) is None:
        return False
    rec.delete_external(cur, conn_id, table_name)
    return True


def view_sources(cur: Any, views: list[str]) -> dict[str, rec.ViewSource]:
    """``prov.<view>`` -> how to read it; the caller checks ``files`` to tell external ones."""
    names = [v.split(".", 1)[1] for v in views if v.startswith("prov.")]
    return {f"prov.{s.view_name}": s for s in rec.view_sources(cur, names)}


def provisioned_select(source: rec.ViewSource, relation: exp.Expression) -> exp.Select:
    """The provisioned view over an external connection, over an engine's own ``relation``.

    The same columns, identity hashing and row filter the store's views apply, as a sqlglot
    tree any engine can render.
    """
    assert source.select_sql is not None
    inner = parse_one(source.select_sql, read="duckdb")
    for table in list(inner.find_all(exp.Table)):
        if table.name == RELATION:
            table.replace(relation.copy())
    cols = [exp.column(ident_name, quoted=True) for ident_name in source.columns]
    outer = exp.Select(expressions=cols).from_(
        exp.Subquery(this=inner, alias=exp.TableAlias(this=exp.to_identifier("__c"))))
    if source.row_filter:
        condition = parse_one(check_row_filter(source.row_filter, list(source.columns)),
                              read="duckdb")
        outer = outer.where(condition)
    return outer

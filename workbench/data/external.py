"""External (zero-copy) data connections: Parquet or Delta files read where they live.

Registering one reads the files' schema, checks the identity column (pre-hashed SHA-256, or
normalised and hashed at read time, exactly as an upload would store it), counts rows and
identities, and computes a content digest; it copies nothing. The connection's relation in
schema ``ds`` is a VIEW over the files, so provisioning, analysis rules, mapping and unlink work
unchanged, and DuckDB questions read the files through the store's connection, which may read
only the configured roots (``allowed_directories``, set before the store locks itself).

Where data may live (``WORKBENCH_EXTERNAL_ROOTS`` / ``workbench serve --external-root``):

- local directories, named by path or ``file://`` URI: the store's DuckDB reads them (both
  engines run on them);
- URI prefixes such as ``s3a://bucket/prefix``: only the Spark engine reads them, with the
  cluster's own credentials; a DuckDB service refuses them;
- Spark catalog tables (``format="table"``, location ``db.table``) in the databases of
  ``WORKBENCH_EXTERNAL_DATABASES``: only the Spark engine reads them.

Path safety: a location must resolve inside one of those roots; ``..`` that leaves the root
(also percent-encoded, in URIs), symbolic links anywhere on the way, hidden files, URI user
info, queries and unknown schemes are refused. The file list is fixed at registration (a Delta
table's active files at that version), so a file dropped into the directory later is never read
by surprise.

Content digest: kept with per-file sizes, modification times and SHA-256. Before a run charges
anything, the files are checked again (:func:`verify_unchanged`): when a size or time differs
the file is hashed again, and a different digest refuses the run before any data is read.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import urllib.parse
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

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


#: characters a file reader may take as a glob pattern
_GLOB = re.compile(r"[*?\[\]{}\\]")
_SCHEME = re.compile(r"([A-Za-z][A-Za-z0-9+.-]*):")
#: catalog identifiers registered as tables: db.table or catalog.db.table
_TABLE_ID = re.compile(r"[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*){1,2}")


def _refuse(message: str) -> InvalidInput:
    return InvalidInput(message + "; external locations must be inside the service's external "
                        "data roots (ask the operator which ones)")


@dataclass(frozen=True, slots=True, kw_only=True)
class FileStat:
    """One data file as registered: what a run compares before it reads anything."""

    path: str
    size: int
    #: modification time in nanoseconds (the file system's, or the object store's)
    mtime: int
    #: SHA-256 of the file's bytes ("" when only listed)
    sha256: str = ""


@dataclass(frozen=True, slots=True, kw_only=True)
class SparkSource:
    """Data only the Spark engine reads: files under a URI prefix, or a catalog table."""

    #: uri | table
    kind: str
    #: the URI as registered (canonical), or the table as catalog.db.table
    name: str
    #: a URI's data files, fixed at registration (empty for a table: its current files)
    files: tuple[str, ...] = ()


@runtime_checkable
class SparkReader(Protocol):
    """What registering and re-checking data only Spark reads asks of the Spark engine."""

    def table_name(self, name: str) -> str:
        """catalog.db.table of a catalog table (not a view, not temporary), or InvalidInput."""
        ...

    def uri_files(self, uri: str) -> list[str]:
        """The Parquet files Spark reads at ``uri`` (hidden files and _SUCCESS left out)."""
        ...

    def schema(self, source: SparkSource) -> pa.Schema:
        """The source's columns, as Arrow types."""
        ...

    def files(self, source: SparkSource, *, content: bool) -> list[FileStat]:
        """The source's data files with sizes and times (and SHA-256 when ``content``)."""
        ...

    def rows(self, source: SparkSource, sql: str) -> list[tuple[Any, ...]]:
        """Run DuckDB-dialect ``sql`` reading ``__external`` over the source, on Spark."""
        ...


@dataclass(frozen=True, slots=True, kw_only=True)
class Located:
    """A registration's location: local files under a root, or a URI under a prefix."""

    #: the root directory or URI prefix it lies under
    root: str
    local: Path | None = None
    uri: str | None = None


def locate(store: Store, location: str) -> Located:
    """Where ``location`` (a path, a ``file://`` URI or a URI) lies, refusing every way out."""
    roots, uris = store.external_roots, store.external_uris
    if not roots and not uris:
        raise InvalidInput("this service reads no external data: its operator starts it with "
                           "`workbench serve --external-root DIR` (or WORKBENCH_EXTERNAL_ROOTS)")
    text = location.strip()
    if not text or "\x00" in text:
        raise _refuse("the location is empty or malformed")
    scheme = _SCHEME.match(text)
    if scheme is None or os.path.isabs(text):
        return _local(roots, location, text)
    name = scheme.group(1).lower()
    split = urllib.parse.urlsplit(text)
    if name == "file":
        if split.netloc not in ("", "localhost") or split.query or split.fragment:
            raise _refuse(f"the file URI {location!r} names a host, a query or a fragment")
        path = urllib.parse.unquote(split.path)
        if not path.startswith("/") or "\x00" in path:
            raise _refuse(f"the file URI {location!r} is not an absolute path")
        return _local(roots, location, path)
    if not text[scheme.end():].startswith("//"):
        raise _refuse(f"{location!r} is neither a path nor a scheme://authority/path URI")
    return Located(root=_uri_root(uris, location, name, split), uri=_canonical(name, split))


def _canonical(scheme: str, split: urllib.parse.SplitResult) -> str:
    return f"{scheme}://{split.netloc.lower()}{split.path.rstrip('/')}"


def _uri_root(uris: tuple[str, ...], location: str, scheme: str,
              split: urllib.parse.SplitResult) -> str:
    """The configured prefix a URI lies under; anything that could be read two ways is refused."""
    segments = split.path.split("/")[1:]
    if not split.netloc or "@" in split.netloc or split.query or split.fragment \
            or "%" in location or "\\" in location or _GLOB.search(split.path) \
            or any(s in (".", "..") for s in segments) or "" in segments[:-1]:
        raise _refuse(f"the URI {location!r} is not a plain scheme://authority/path (no user, "
                      "query, fragment, percent-escape, glob, '.' or '..' segment)")
    canonical = _canonical(scheme, split)
    for root in uris:
        prefix = _canonical(scheme, urllib.parse.urlsplit(root)) if root.lower().startswith(
            f"{scheme}://") else None
        if prefix is not None and (canonical == prefix or canonical.startswith(prefix + "/")):
            return root
    raise _refuse(f"the URI {location!r} is not under a configured URI prefix")


def _local(roots: tuple[Path, ...], location: str, text: str) -> Located:
    root, resolved = resolve_location(roots, location, text)
    return Located(root=str(root), local=resolved)


def resolve_location(roots: tuple[Path, ...], location: str,
                     text: str | None = None) -> tuple[Path, Path]:
    """(root, resolved location) for a local path inside a root, refusing every way out."""
    if not roots:
        raise _refuse(f"the location {location!r} is local, and this service has no local "
                      "external data root")
    text = location.strip() if text is None else text
    if not text or "\x00" in text or "://" in text:
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


def data_files(roots: tuple[Path, ...], location: str, fmt: str, *,
               at: tuple[Path, Path] | None = None) -> tuple[Path, Path, list[Path]]:
    """(root, location, files) of a registration, every file checked to stay inside the root."""
    root, resolved = at or resolve_location(roots, location)
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
        if _GLOB.search(str(f)):
            raise InvalidInput(f"{f.relative_to(root)} has a character a reader takes for a "
                               "pattern (* ? [ ] { } \\); rename it")
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
    return _hash_local(root, files)[0]


def _hash_local(root: Path, files: list[Path]) -> tuple[str, list[FileStat]]:
    """The content digest and each file's size, time and SHA-256, in one pass over the bytes."""
    digest = hashlib.sha256()
    stats = []
    for f in files:
        st = f.stat()
        digest.update(str(f.relative_to(root)).encode() + b"\x00")
        digest.update(st.st_size.to_bytes(8, "big"))
        own = hashlib.sha256()
        with open(f, "rb") as fh:
            while chunk := fh.read(_CHUNK):
                digest.update(chunk)
                own.update(chunk)
        stats.append(FileStat(path=str(f), size=st.st_size, mtime=st.st_mtime_ns,
                              sha256=own.hexdigest()))
    return digest.hexdigest(), stats


def _sha_file(path: str) -> str:
    own = hashlib.sha256()
    with open(path, "rb") as fh:
        while chunk := fh.read(_CHUNK):
            own.update(chunk)
    return own.hexdigest()


def spark_digest(stats: list[FileStat]) -> str:
    """sha256 over each file's path, size and SHA-256 (computed where the data lives), in order."""
    digest = hashlib.sha256()
    for f in sorted(stats, key=lambda f: f.path):
        digest.update(f.path.encode() + b"\x00" + f.size.to_bytes(8, "big") + f.sha256.encode())
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


#: why a DuckDB service refuses data only Spark reads
SPARK_ONLY = ("this service runs questions on DuckDB, which reads only local files (paths or "
              "file:// URIs) under its roots; {what} is read by a service started with "
              "`workbench serve --engine spark`")


@dataclass(frozen=True, slots=True, kw_only=True)
class _Found:
    """What registration found at a location, before anything is written."""

    shown: str  # the location as the owner sees it
    stored: str  # the location as the record keeps it
    files: list[str]
    stats: list[FileStat]
    digest: str
    schema: pa.Schema
    root: Path | None = None  # local files: their root
    spark: SparkSource | None = None  # data only Spark reads


def _find(store: Store, body: w.ExternalConnectionCreate, spark: SparkReader | None) -> _Found:
    """Locate, list and hash the data of a registration (nothing written yet)."""
    if body.format == "table":
        if spark is None:
            raise InvalidInput(SPARK_ONLY.format(what="a Spark catalog table"))
        table = _catalog_table(store, spark, body.location)
        return _spark_found(spark, SparkSource(kind="table", name=table), table)
    at = locate(store, body.location)
    if at.uri is not None:
        if spark is None:
            raise InvalidInput(SPARK_ONLY.format(what=f"a {at.uri.split(':', 1)[0]}:// URI"))
        if body.format == "delta":
            raise InvalidInput("a Delta table at a URI is read as a Spark catalog table: register "
                               "it with format 'table' (db.table)")
        files = spark.uri_files(at.uri)
        if not files:
            raise InvalidInput(f"no Parquet files at {body.location!r}")
        if len(files) > MAX_FILES:
            raise InvalidInput(f"{len(files):,} files at {body.location!r} (at most "
                               f"{MAX_FILES:,}); point at a narrower prefix")
        for f in files:
            if not (f == at.uri or f.startswith(at.uri + "/")) or _GLOB.search(f):
                raise _refuse(f"Spark listed a file outside {at.uri} or with a pattern character "
                              f"({f!r})")
        return _spark_found(spark, SparkSource(kind="uri", name=at.uri, files=tuple(files)), at.uri)
    assert at.local is not None
    root, location, paths = data_files(store.external_roots, body.location, body.format,
                                       at=(Path(at.root), at.local))
    digest, stats = _hash_local(root, paths)
    return _Found(shown=str(location.relative_to(root)), stored=str(location),
                  files=[str(f) for f in paths], stats=stats, digest=digest,
                  schema=schema_of(paths), root=root)


def _spark_found(spark: SparkReader, source: SparkSource, shown: str) -> _Found:
    stats = spark.files(source, content=True)
    if not stats:
        raise InvalidInput(f"Spark reads no data files for {shown!r}; register a table or "
                           "directory of Parquet files")
    return _Found(shown=shown, stored=shown, files=[f.path for f in stats], stats=stats,
                  digest=spark_digest(stats), schema=spark.schema(source), spark=source)


def _catalog_table(store: Store, spark: SparkReader, location: str) -> str:
    """catalog.db.table of a registrable catalog table: in an allowed database, a real table."""
    text = location.strip()
    if not _TABLE_ID.fullmatch(text):
        raise InvalidInput(f"{location!r} is not a catalog table name: write db.table or "
                           "catalog.db.table (letters, digits and _)")
    parts = text.lower().split(".")
    db = ".".join(parts[:-1])
    allowed = set(store.external_databases)
    if not (db in allowed or (len(parts) == 2 and f"spark_catalog.{db}" in allowed)
            or (len(parts) == 3 and parts[0] == "spark_catalog" and parts[1] in allowed)):
        raise InvalidInput(f"the database of {location!r} is not one this service may read; its "
                           "operator lists them with `workbench serve --external-database DB` (or "
                           "WORKBENCH_EXTERNAL_DATABASES)")
    return spark.table_name(text)


def _scan_sql(keep_if: str, reason: str, select_sql: str, identity: str) -> tuple[str, str, str]:
    """(counts, refusal reasons, distinct identities) over RELATION, in DuckDB's dialect."""
    return (f"SELECT count(*) AS rows_read, sum(CASE WHEN coalesce({keep_if}, false) THEN 1 "
            f"ELSE 0 END) AS rows_kept FROM {RELATION}",
            f"SELECT {reason} AS reason, count(*) AS n FROM {RELATION} WHERE NOT "
            f"coalesce({keep_if}, false) GROUP BY 1 ORDER BY 2 DESC, 1",
            f"SELECT count(DISTINCT {identity}) AS n FROM ({select_sql}) AS __s")


def register_external(store: Store, actor: Actor, body: w.ExternalConnectionCreate,
                      spark: SparkReader | None = None) -> w.ExternalConnection:
    """Register data where it lives as a data connection: files under a root, files under a
    URI prefix, or a Spark catalog table (the last two only on a Spark service)."""
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
    found = _find(store, body, spark)
    schema = found.schema
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
    reason = ident.reason_sql(kind, id_col)
    table_name = "x_" + conn_id.replace("-", "")
    mode = "prehashed" if kind is ident.IdentityKind.SHA256 else "hash_at_read"
    counts, reasons, distinct = (None, [], 0)
    if found.spark is not None:  # Spark reads it, outside the store's write lock
        assert spark is not None
        count_sql, reasons_sql, distinct_sql = _scan_sql(keep_if, reason, select_sql,
                                                         ident.quote_ident(id_col))
        read, kept = spark.rows(found.spark, count_sql)[0]
        counts = rec.ScanCounts(rows_read=int(read), rows_kept=int(kept or 0))
        if 0 < counts.rows_kept < counts.rows_read:
            reasons = [rec.ReasonCount(reason=str(r), rows=int(n))
                       for r, n in spark.rows(found.spark, reasons_sql)]
        if counts.rows_kept:
            distinct = int(spark.rows(found.spark, distinct_sql)[0][0])
    with store.transaction() as cur:
        ensure_allowed(cur, actor, "data.connection.create", resource_type="data_connection",
                       resource_id=conn_id, resource_org_id=actor.org_id,
                       detail={"name": name, "external": body.format, "files": len(found.files),
                               "content_digest": found.digest, "identity_mode": mode})
        if rec.name_taken(cur, actor.org_id, name):
            raise Conflict(f"your organisation already has a data connection named {name!r}; "
                           "pick another name")
        relation = duckdb_relation(found.files)
        source = f"{relation} AS {RELATION}"
        if counts is None:
            counts = rec.scan_counts(cur, source, keep_if)
        if counts.rows_kept == 0:
            raise InvalidInput(f"no row has a usable identity in column {id_col!r} (kind "
                               f"{kind.value}: {ident.KIND_LABELS[kind]}); pick the right identity "
                               "column and kind")
        if found.spark is None:
            reasons = (rec.refused_reasons(cur, source, keep_if, reason)
                       if counts.rows_kept < counts.rows_read else [])
            rec.create_source_view(cur, table_name, select_sql.replace(f"FROM {RELATION}",
                                                                       f"FROM {relation}", 1))
            distinct = rec.distinct_identities(cur, table_name, ident.quote_ident(id_col))
        else:
            rec.create_spark_only_view(cur, table_name, [(c, t) for c, t, _, _ in columns],
                                       SPARK_ONLY.format(what="this connection"))
        rejections = [wd.Rejection(reason=r.reason, rows=r.rows, lines=[]).model_dump()
                      for r in reasons]
        rec.insert_connection(
            cur, conn_id=conn_id, org_id=actor.org_id, name=name,
            source_format=f"external-{body.format}", location=found.shown,
            table_name=table_name, identity_column=id_col, identity_kind=kind.value,
            pii_mode=body.pii_mode, counts=counts, distinct=distinct, rejections=rejections,
            user_id=actor.user_id, columns=columns)
        record = rec.ExternalRecord(
            connection_id=conn_id, format=body.format, location=found.stored, files=found.files,
            select_sql=select_sql, content_digest=found.digest, identity_mode=mode,
            reader="local" if found.spark is None else "spark",
            catalog_table=found.spark.name if found.spark and found.spark.kind == "table" else None,
            file_stats=json.dumps([[f.path, f.size, f.mtime, f.sha256] for f in found.stats]))
        rec.insert_external(cur, record)
    return w.ExternalConnection(connection=get_connection(store, actor, conn_id),
                                format=body.format, location=found.shown, files=len(found.files),
                                content_digest=found.digest, identity_mode=mode)


def spark_source(record: rec.ExternalRecord | rec.ViewSource) -> SparkSource | None:
    """How Spark reads a connection only it reads (None: local files)."""
    if record.reader != "spark":
        return None
    if record.catalog_table:
        return SparkSource(kind="table", name=record.catalog_table)
    assert record.location is not None and record.files is not None
    return SparkSource(kind="uri", name=record.location, files=tuple(record.files))


def verify_unchanged(store: Store, cur: Any, connection_ids: list[str],
                     spark: SparkReader | None) -> list[rec.ExternalRecord]:
    """Refuse (before anything is read or charged) when external data changed since registration.

    Files whose size and modification time are as registered are taken as unchanged; any other
    is hashed again and compared with its registered SHA-256. Returns the external records.
    """
    records = rec.externals_of(cur, connection_ids)
    for record in records:
        if record.reader != "spark":
            changed = _local_changed(store, record)
        elif spark is None:
            raise InvalidInput(SPARK_ONLY.format(what=f"connection {record.connection_name!r}"))
        else:
            changed = _spark_changed(record, spark)
        if changed:
            raise InvalidInput(
                f"the data of connection {record.connection_name!r} changed since it was "
                f"registered ({changed}; registered content digest {record.content_digest[:16]}); "
                "the run was refused before reading any data and charged nothing. Its data owner "
                "registers the data again (a new connection) and provisions it in place of this "
                "one", connection_id=record.connection_id)
    return records


def _local_changed(store: Store, record: rec.ExternalRecord) -> str:
    if record.file_stats is None:  # registered before per-file stats were kept
        root = next((r for r in store.external_roots if Path(record.location).is_relative_to(r)),
                    None)
        try:
            same = root is not None and content_digest(root, [Path(f) for f in record.files]) \
                == record.content_digest
        except OSError:
            same = False
        return "" if same else "the content digest differs"
    differ = 0
    stats = json.loads(record.file_stats)
    for path, size, mtime, sha in stats:
        try:
            st = os.stat(path)
            if (st.st_size, st.st_mtime_ns) == (size, mtime) or _sha_file(path) == sha:
                continue
        except OSError:
            pass
        differ += 1
    return f"{differ} of {len(stats)} files differ" if differ else ""


def _spark_changed(record: rec.ExternalRecord, spark: SparkReader) -> str:
    source = spark_source(record)
    assert source is not None and record.file_stats is not None
    registered = {p: (size, mtime, sha) for p, size, mtime, sha in json.loads(record.file_stats)}
    now = {f.path: f for f in spark.files(source, content=False)}
    if set(now) != set(registered):
        return (f"{len(set(now) - set(registered))} files added, "
                f"{len(set(registered) - set(now))} removed")
    moved = tuple(p for p, f in now.items() if (f.size, f.mtime) != registered[p][:2])
    if not moved:
        return ""
    hashed = spark.files(SparkSource(kind="uri", name=source.name, files=moved), content=True)
    differ = sum(1 for f in hashed if f.sha256 != registered[f.path][2])
    return f"{differ} of {len(registered)} files differ" if differ else ""


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

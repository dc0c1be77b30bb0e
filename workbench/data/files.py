"""Turn uploaded bytes (CSV or Parquet) into an Arrow table with a checked schema.

Parsing never happens in the store's DuckDB instance (it has no file access); pyarrow reads the
bytes held in memory. Every refusal names the problem and, where the file has lines, the line
numbers, so the uploader can fix the file and try again. Nothing here touches the store.
"""

from __future__ import annotations

import csv
import io
import os
import re
from dataclasses import dataclass
from typing import Any

import pyarrow as pa
import pyarrow.csv as pcsv
import pyarrow.parquet as pq

from workbench.errors import InvalidInput, PayloadTooLarge

#: environment variable with the upload size limit in bytes
MAX_BYTES_ENV = "WORKBENCH_MAX_UPLOAD_BYTES"
DEFAULT_MAX_BYTES = 4 * 1024**3
#: decoded-size limits, checked batch by batch while a file decodes (environment overrides)
MAX_CELLS_ENV = "WORKBENCH_MAX_DECODED_CELLS"
DEFAULT_MAX_CELLS = 1_000_000_000
#: decoded bytes per file byte: Parquet compresses real data a few times, a bomb thousands
EXPANSION_ENV = "WORKBENCH_MAX_EXPANSION"
DEFAULT_EXPANSION = 50
#: any file may decode to this much, whatever its expansion ratio
DECODED_FLOOR_ENV = "WORKBENCH_DECODED_FLOOR_BYTES"
DEFAULT_DECODED_FLOOR = 256 * 1024**2
#: rows per decoded batch (Parquet) and bytes per block (CSV) between two checks
BATCH_ROWS = 65_536
CSV_BLOCK = 16 << 20
FORMATS = ("csv", "parquet")
MAX_COLUMNS = 500
_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_]{0,62}$")
_FILE_NAME = re.compile(r"^[^/\\\x00-\x1f]{1,255}$")
#: a quoted field closed and then followed by something other than a delimiter or line end
_STRAY_QUOTE = re.compile(rb'(?:^|,)"(?:[^"]|"")*"[^,\r\n"]', re.M)


def env_limit(name: str, default: int) -> int:
    """A positive whole-number limit from the environment (read on every use), or its default."""
    raw = os.environ.get(name)
    if not raw:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise InvalidInput(f"{name} must be a whole number, not {raw!r}") from None
    return max(1, value)


def max_upload_bytes() -> int:
    """The configured size limit (``WORKBENCH_MAX_UPLOAD_BYTES``), read on every upload."""
    return env_limit(MAX_BYTES_ENV, DEFAULT_MAX_BYTES)


@dataclass(frozen=True, slots=True, kw_only=True)
class DecodeLimit:
    """How far one file may decode: cells (rows x columns) and bytes held in memory."""

    #: the file's own size in bytes
    size: int
    #: most rows x columns
    cells: int
    #: most decoded bytes: the expansion limit, or the staging budget left when that is smaller
    bytes: int
    where: str

    @classmethod
    def for_file(cls, size: int, where: str, budget: int | None = None) -> "DecodeLimit":
        """The configured limits for a file of ``size`` bytes (``budget``: staging bytes left)."""
        by_ratio = max(env_limit(EXPANSION_ENV, DEFAULT_EXPANSION) * size,
                       env_limit(DECODED_FLOOR_ENV, DEFAULT_DECODED_FLOOR))
        return cls(size=size, cells=env_limit(MAX_CELLS_ENV, DEFAULT_MAX_CELLS),
                   bytes=by_ratio if budget is None else min(by_ratio, budget), where=where)

    def check(self, rows: int, columns: int, decoded: int) -> None:
        """Refuse as soon as what has been decoded so far (or a file's own claim) is over a limit."""
        if rows * columns > self.cells:
            raise PayloadTooLarge(
                f"{self.where} decodes to more than {self.cells:,} cells (rows x columns; {columns} "
                f"columns, over {rows:,} rows so far); split the file or keep fewer columns",
                cells=rows * columns, limit=self.cells)
        if decoded > self.bytes:
            raise PayloadTooLarge(
                f"{self.where} decodes to more than {self.bytes:,} bytes in memory from a "
                f"{self.size:,}-byte file (expansion over {decoded / max(self.size, 1):,.0f}x, or "
                "the service's staging budget is used up); a file that expands this much is refused: "
                "split it, or retry when other uploads have finished",
                decoded=decoded, limit=self.bytes)


def _decode(batches: Any, schema: pa.Schema, limit: DecodeLimit, where: str) -> Parsed:
    """Decode batch by batch into our stored types, checking the limits after each batch.

    Each batch is converted as it arrives (dictionary-encoded columns expanded, narrow integers
    widened), so what is counted is what memory will hold; the next batch is never decoded
    once the limits are passed.
    """
    parts: list[pa.Table] = []
    rows = decoded = 0
    for batch in batches:
        part = _normalise_types(pa.Table.from_batches([batch]), where)
        rows += part.table.num_rows
        decoded += part.table.nbytes
        limit.check(rows, len(schema), decoded)
        parts.append(part.table)
    if not parts:
        return _normalise_types(schema.empty_table(), where)
    first = _normalise_types(parts[0].slice(0, 0), where)
    return Parsed(pa.concat_tables(parts), first.columns, None)


def check_size(size: int) -> None:
    """Refuse an upload over the limit before any byte of it is kept."""
    limit = max_upload_bytes()
    if size > limit:
        raise PayloadTooLarge(
            f"the upload is {size:,} bytes, over the limit of {limit:,} bytes; split the file "
            f"or ask the operator to raise {MAX_BYTES_ENV}",
            size=size, limit=limit,
        )


def check_file_name(name: str) -> str:
    """A bare file name: no folders, no '..', no control characters."""
    if not isinstance(name, str) or not name.strip():
        raise InvalidInput("the file needs a name, e.g. customers.csv")
    if "/" in name or "\\" in name or name in (".", "..") or not _FILE_NAME.match(name):
        raise InvalidInput(
            f"the file name {name!r} has path parts or control characters; "
            "send the bare name only, e.g. customers.csv"
        )
    return name


def guess_format(file_name: str) -> str:
    """csv or parquet, from the file name's extension."""
    lower = file_name.lower()
    if lower.endswith((".parquet", ".pq")):
        return "parquet"
    if lower.endswith((".csv", ".txt")):
        return "csv"
    raise InvalidInput(
        f"cannot tell the format of {file_name!r}; name it .csv or .parquet, or pass format="
    )


@dataclass(frozen=True)
class Column:
    """One detected column: its name and our type name for it."""

    name: str
    type: str


@dataclass(frozen=True)
class Parsed:
    """A parsed upload: the table and how its rows map to file lines."""

    table: pa.Table
    columns: tuple[Column, ...]
    #: file line of data row 0 (CSV: 2, after the header); None when the format has no lines
    first_line: int | None


def check_column_names(names: list[str], where: str) -> None:
    """Names must be plain identifiers, unique without regard to case."""
    if not names:
        raise InvalidInput(f"{where} has no columns")
    if len(names) > MAX_COLUMNS:
        raise InvalidInput(f"{where} has {len(names)} columns; at most {MAX_COLUMNS} are supported")
    for i, name in enumerate(names, 1):
        if not isinstance(name, str) or not _NAME.match(name):
            raise InvalidInput(
                f"column {i} of {where} is named {name!r}; names must start with a letter and "
                "use only letters, digits and _ (at most 63); rename it and upload again",
                column=i,
            )
    seen: dict[str, str] = {}
    for name in names:
        key = name.lower()
        if key in seen:
            raise InvalidInput(
                f"{where} has the column name {name!r} twice (names are compared ignoring case: "
                f"{seen[key]!r}); rename one and upload again",
                column=name,
            )
        seen[key] = name


def type_name(t: pa.DataType) -> str | None:
    """Our name for an Arrow type, or None when it cannot be stored."""
    if pa.types.is_boolean(t):
        return "boolean"
    if pa.types.is_integer(t):
        return "integer"
    if pa.types.is_floating(t) or pa.types.is_decimal(t):
        return "double"
    if pa.types.is_string(t) or pa.types.is_large_string(t) or pa.types.is_null(t):
        return "text"
    if pa.types.is_date(t):
        return "date"
    if pa.types.is_timestamp(t):
        return "timestamp"
    if pa.types.is_dictionary(t):
        return type_name(t.value_type)
    return None


#: our type name -> the Arrow type stored
ARROW_TYPES: dict[str, pa.DataType] = {
    "boolean": pa.bool_(),
    "integer": pa.int64(),
    "double": pa.float64(),
    "text": pa.string(),
    "date": pa.date32(),
    "timestamp": pa.timestamp("us"),  # UTC wall time (zones are converted on upload)
}


def _normalise_types(table: pa.Table, where: str) -> Parsed:
    columns = []
    arrays = []
    for name, col in zip(table.column_names, table.columns):
        t = col.type
        ours = type_name(t)
        if ours is None:
            raise InvalidInput(
                f"column {name!r} of {where} has the type {t}, which cannot be stored; use "
                "text, integer, double, boolean, date or timestamp columns",
                column=name,
            )
        # timestamps are stored as UTC without a zone: an instant with a zone becomes its UTC
        # wall time here, in Arrow, so the store's session time zone never shifts it
        target = pa.timestamp("us") if ours == "timestamp" else ARROW_TYPES[ours]
        if col.type != target:
            col = col.cast(target)
        columns.append(Column(name, ours))
        arrays.append(col)
    return Parsed(pa.table(arrays, names=table.column_names), tuple(columns), None)


def _line_of(data: bytes | bytearray, offset: int) -> int:
    return data.count(b"\n", 0, offset) + 1


def _check_utf8(data: bytes | bytearray) -> None:
    buf = pa.py_buffer(data)
    arr = pa.LargeStringArray.from_buffers(1, pa.array([0, len(data)], pa.int64()).buffers()[1], buf)
    try:
        arr.validate(full=True)
        return
    except pa.ArrowInvalid:
        pass
    try:
        data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = _line_of(data, exc.start)
        raise InvalidInput(
            f"the file is not valid UTF-8: line {line} has an invalid byte (0x{data[exc.start]:02x}); "
            "save it as UTF-8 and upload again",
            lines=[line],
        ) from None


def _header(data: bytes | bytearray) -> list[str]:
    end = data.find(b"\n")
    first = data[: end if end >= 0 else len(data)].decode("utf-8").rstrip("\r")
    if first.startswith("\ufeff"):
        first = first[1:]
    try:
        names = next(csv.reader(io.StringIO(first)))
    except (csv.Error, StopIteration):
        raise InvalidInput("the first line of the file is not a CSV header") from None
    return [n.strip() for n in names]


def parse_csv(data: bytes | bytearray, file_name: str = "the file", budget: int | None = None,
              column_types: dict[str, str] | None = None) -> Parsed:
    """Parse RFC 4180 CSV (comma, double quotes, a header line, UTF-8) into Arrow.

    Decoding streams block by block and stops at the first block past the decoded-size limits.
    """
    where = f"the file {file_name!r}" if file_name != "the file" else "the file"
    if not data or data.isspace():
        raise InvalidInput(f"{where} is empty; it needs a header line and at least one data row")
    _check_utf8(data)
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    names = _header(data)
    if any(n == "" for n in names):
        i = names.index("") + 1
        raise InvalidInput(f"column {i} of {where} has no name in the header line; name it", column=i)
    check_column_names(names, where)
    declared = dict(column_types or {})
    _missing_columns(declared, names, where)
    problems: list[tuple[int | None, int, int]] = []

    def on_invalid(row: pcsv.InvalidRow) -> str:
        problems.append((row.number, row.expected_columns, row.actual_columns))
        return "skip" if len(problems) < 5 else "error"

    limit = DecodeLimit.for_file(len(data), where, budget)
    read = pcsv.ReadOptions(use_threads=True, block_size=CSV_BLOCK, column_names=names, skip_rows=1)
    parse = pcsv.ParseOptions(newlines_in_values=False, ignore_empty_lines=False)
    convert = pcsv.ConvertOptions(null_values=[""], strings_can_be_null=True,
                                  quoted_strings_can_be_null=False,
                                  column_types={n: ARROW_TYPES[t] for n, t in declared.items()})
    try:
        reader = pcsv.open_csv(pa.BufferReader(data), read_options=read, parse_options=parse,
                               convert_options=convert)
        decoded = _decode(reader, reader.schema, limit, where)
    except pa.ArrowInvalid as exc:
        if "conversion error" in str(exc):
            raise InvalidInput(f"{where} has a value that does not fit its column's type "
                               f"({_arrow_message(exc)}); fix the value, or declare the column as text") from None
        if "columns" not in str(exc):
            raise InvalidInput(f"{where} is not valid CSV: {_arrow_message(exc)}") from None
        slow = pcsv.ReadOptions(use_threads=False, column_names=names, skip_rows=1)
        parse_slow = pcsv.ParseOptions(newlines_in_values=False, ignore_empty_lines=False,
                                       invalid_row_handler=on_invalid)
        try:
            pcsv.read_csv(pa.BufferReader(data), read_options=slow, parse_options=parse_slow,
                          convert_options=convert)
        except pa.ArrowInvalid:
            pass
        if not problems:
            raise InvalidInput(f"{where} is not valid CSV: {_arrow_message(exc)}") from None
        lines = [n for n, _, _ in problems if n is not None]
        text = "; ".join(f"line {n}: {got} fields, expected {want}" for n, want, got in problems)
        raise InvalidInput(
            f"{where} has rows with the wrong number of fields ({text}); every row needs "
            f"{len(names)} fields like the header. Quote values that contain commas",
            lines=lines,
        ) from None
    if decoded.table.num_rows == 0:
        raise InvalidInput(f"{where} has a header line but no data rows")
    _check_quoting(decoded.table, data, where)
    return Parsed(decoded.table, decoded.columns, first_line=2)


def _arrow_message(exc: Exception) -> str:
    text = str(exc).split("\n")[0]
    return text.replace("CSV parse error: ", "")


def _check_quoting(table: pa.Table, data: bytes | bytearray, where: str) -> None:
    """Refuse unclosed quotes (a value swallowing line breaks) and text after a closing quote."""
    if b'"' not in data:
        return
    import pyarrow.compute as pc

    for name, col in zip(table.column_names, table.columns):
        if not (pa.types.is_string(col.type) or pa.types.is_large_string(col.type)):
            continue
        hits = pc.match_substring_regex(col, "[\r\n]")
        if pc.any(hits).as_py():
            row = pc.index(hits, True).as_py()
            line = row + 2
            raise InvalidInput(
                f"{where} has a quote that is never closed: the value of {name!r} that starts on "
                f"line {line} runs over a line break; close the quote (or double quotes inside "
                "quoted values: \"\")",
                lines=[line],
            )
    found = _STRAY_QUOTE.search(data)
    if found:
        line = _line_of(data, found.start())
        raise InvalidInput(
            f"{where} has text after a closing quote on line {line}; quote the whole value and "
            "double any quote inside it (\"\")",
            lines=[line],
        )


def parse_parquet(data: bytes | bytearray, file_name: str = "the file", budget: int | None = None) -> Parsed:
    """Read a Parquet file held in memory; anything else is refused as not Parquet.

    The footer's claims (rows x columns, uncompressed size) are checked first, then the real
    decoded size batch by batch, so a small file that expands hugely stops before memory grows.
    """
    where = f"the file {file_name!r}" if file_name != "the file" else "the file"
    if not data:
        raise InvalidInput(f"{where} is empty")
    if len(data) < 12 or data[:4] != b"PAR1" or data[-4:] != b"PAR1":
        raise InvalidInput(
            f"{where} is not a Parquet file (it lacks Parquet's PAR1 markers); upload a real "
            "Parquet file, or name CSV files .csv"
        )
    limit = DecodeLimit.for_file(len(data), where, budget)
    try:
        source = pq.ParquetFile(pa.BufferReader(data))
        meta = source.metadata
        check_column_names(source.schema_arrow.names, where)
        limit.check(meta.num_rows, len(source.schema_arrow),
                    sum(meta.row_group(i).total_byte_size for i in range(meta.num_row_groups)))
        decoded = _decode(source.iter_batches(batch_size=BATCH_ROWS), source.schema_arrow, limit, where)
    except (pa.ArrowException, OSError) as exc:
        raise InvalidInput(f"{where} is a damaged Parquet file: {_arrow_message(exc)}") from None
    if decoded.table.num_rows == 0:
        raise InvalidInput(f"{where} has columns but no rows")
    return decoded


def parse(data: bytes | bytearray, fmt: str, file_name: str = "the file", budget: int | None = None,
          column_types: dict[str, str] | None = None) -> Parsed:
    """Parse ``data`` in the given format (csv | parquet); ``budget``: staging bytes left;
    ``column_types``: declared types that override inference (CSV: read as declared, so a text
    column keeps "01234"; Parquet: cast after reading)."""
    declared = dict(column_types or {})
    unknown = sorted(set(declared.values()) - set(ARROW_TYPES))
    if unknown:
        raise InvalidInput(f"unknown column type(s) {unknown}; use one of {sorted(ARROW_TYPES)}")
    if fmt == "csv":
        return parse_csv(data, file_name, budget, declared)
    if fmt == "parquet":
        return _declare(parse_parquet(data, file_name, budget), declared, file_name)
    raise InvalidInput(f"unknown format {fmt!r}; use one of {FORMATS}")


def _missing_columns(declared: dict[str, str], names: list[str] | tuple[str, ...], where: str) -> None:
    missing = sorted(set(declared) - set(names))
    if missing:
        raise InvalidInput(f"{where} has no column(s) {missing} to declare a type for; its columns are "
                           f"{list(names)}", columns=missing)


def _declare(parsed: Parsed, declared: dict[str, str], file_name: str) -> Parsed:
    """Cast declared columns of a parsed file (values that do not convert are refused, naming the column)."""
    if not declared:
        return parsed
    where = f"the file {file_name!r}"
    _missing_columns(declared, parsed.table.column_names, where)
    arrays, columns = [], []
    for name, col, info in zip(parsed.table.column_names, parsed.table.columns, parsed.columns):
        want = declared.get(name)
        if want is not None and want != info.type:
            try:
                col = col.cast(ARROW_TYPES[want])
            except (pa.ArrowInvalid, pa.ArrowNotImplementedError) as exc:
                raise InvalidInput(f"column {name!r} of {where} cannot be read as {want}: "
                                   f"{_arrow_message(exc)}", column=name) from None
            info = Column(name, want)
        arrays.append(col)
        columns.append(info)
    return Parsed(pa.table(arrays, names=parsed.table.column_names), tuple(columns), parsed.first_line)

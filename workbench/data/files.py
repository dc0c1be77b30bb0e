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

import pyarrow as pa
import pyarrow.csv as pcsv
import pyarrow.parquet as pq

from workbench.errors import InvalidInput, PayloadTooLarge

#: environment variable with the upload size limit in bytes
MAX_BYTES_ENV = "WORKBENCH_MAX_UPLOAD_BYTES"
DEFAULT_MAX_BYTES = 4 * 1024**3
FORMATS = ("csv", "parquet")
MAX_COLUMNS = 500
_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_]{0,62}$")
_FILE_NAME = re.compile(r"^[^/\\\x00-\x1f]{1,255}$")
#: a quoted field closed and then followed by something other than a delimiter or line end
_STRAY_QUOTE = re.compile(rb'(?:^|,)"(?:[^"]|"")*"[^,\r\n"]', re.M)


def max_upload_bytes() -> int:
    """The configured size limit (``WORKBENCH_MAX_UPLOAD_BYTES``), read on every upload."""
    raw = os.environ.get(MAX_BYTES_ENV)
    if not raw:
        return DEFAULT_MAX_BYTES
    try:
        value = int(raw)
    except ValueError:
        raise InvalidInput(f"{MAX_BYTES_ENV} must be a whole number of bytes, not {raw!r}") from None
    return max(1, value)


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
    "timestamp": pa.timestamp("us", tz="UTC"),
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
        target = ARROW_TYPES[ours]
        if ours == "timestamp" and t.tz is None:
            target = pa.timestamp("us")
            ours = "timestamp"
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


def parse_csv(data: bytes | bytearray, file_name: str = "the file") -> Parsed:
    """Parse RFC 4180 CSV (comma, double quotes, a header line, UTF-8) into Arrow."""
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
    problems: list[tuple[int | None, int, int]] = []

    def on_invalid(row: pcsv.InvalidRow) -> str:
        problems.append((row.number, row.expected_columns, row.actual_columns))
        return "skip" if len(problems) < 5 else "error"

    read = pcsv.ReadOptions(use_threads=True, block_size=16 << 20, column_names=names, skip_rows=1)
    parse = pcsv.ParseOptions(newlines_in_values=False, ignore_empty_lines=False)
    convert = pcsv.ConvertOptions(null_values=[""], strings_can_be_null=True,
                                  quoted_strings_can_be_null=False)
    try:
        table = pcsv.read_csv(pa.BufferReader(data), read_options=read, parse_options=parse,
                              convert_options=convert)
    except pa.ArrowInvalid as exc:
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
    if table.num_rows == 0:
        raise InvalidInput(f"{where} has a header line but no data rows")
    _check_quoting(table, data, where)
    parsed = _normalise_types(table, where)
    return Parsed(parsed.table, parsed.columns, first_line=2)


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


def parse_parquet(data: bytes | bytearray, file_name: str = "the file") -> Parsed:
    """Read a Parquet file held in memory; anything else is refused as not Parquet."""
    where = f"the file {file_name!r}" if file_name != "the file" else "the file"
    if not data:
        raise InvalidInput(f"{where} is empty")
    if len(data) < 12 or data[:4] != b"PAR1" or data[-4:] != b"PAR1":
        raise InvalidInput(
            f"{where} is not a Parquet file (it lacks Parquet's PAR1 markers); upload a real "
            "Parquet file, or name CSV files .csv"
        )
    try:
        table = pq.read_table(pa.BufferReader(data))
    except (pa.ArrowException, OSError) as exc:
        raise InvalidInput(f"{where} is a damaged Parquet file: {_arrow_message(exc)}") from None
    check_column_names(table.column_names, where)
    if table.num_rows == 0:
        raise InvalidInput(f"{where} has columns but no rows")
    return _normalise_types(table, where)


def parse(data: bytes | bytearray, fmt: str, file_name: str = "the file") -> Parsed:
    """Parse ``data`` in the given format (csv | parquet)."""
    if fmt == "csv":
        return parse_csv(data, file_name)
    if fmt == "parquet":
        return parse_parquet(data, file_name)
    raise InvalidInput(f"unknown format {fmt!r}; use one of {FORMATS}")

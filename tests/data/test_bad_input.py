"""Every bad upload of the issue, through the client: a clear error, and nothing persists."""

from __future__ import annotations

import datetime as dt
import io

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from workbench.data.files import MAX_BYTES_ENV
from workbench.errors import InvalidInput, PayloadTooLarge
from workbench.service.local import local_app

from .conftest import USERS_CSV, connect


def assert_nothing_persisted(store_dir, client) -> None:
    assert client.connections() == []
    store = local_app(store_dir).state.store
    with store.reader() as cur:
        tables = cur.execute(
            "SELECT count(*) FROM duckdb_tables() WHERE database_name = 'store' AND schema_name = 'ds'"
        ).fetchone()[0]
    assert tables == 0


CASES = [
    ("ragged-short", b"email,region\na@x.com,north\nb@x.com\nc@x.com,south\n",
     r"wrong number of fields \(line 3: 1 fields, expected 2\)"),
    ("ragged-long", b"email,region\na@x.com,north\nb@x.com,south,extra\n",
     r"line 3: 3 fields, expected 2"),
    ("unclosed-quote", b"email,region\na@x.com,\"north\nb@x.com,south\n",
     r"quote that is never closed.*line 2"),
    ("text-after-quote", b"email,region\na@x.com,\"north\"x\n",
     r"text after a closing quote on line 2"),
    ("invalid-utf8", b"email,region\na@x.com,north\nb@x.com,s\xffuth\n",
     r"not valid UTF-8: line 3"),
    ("header-only", b"email,region\n", r"header line but no data rows"),
    ("duplicate-columns", b"email,Email\na@x.com,b@x.com\n", r"column name 'Email' twice"),
    ("blank-column-name", b"email,,spend\na@x.com,1,2\n", r"column 2 .* has no name"),
    ("bad-column-name", b"e-mail\na@x.com\n", r"named 'e-mail'.*letters, digits and _"),
]


@pytest.mark.parametrize("data, message", [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_malformed_csv_is_refused_with_line_numbers(admin, store_dir, data, message):
    with pytest.raises(InvalidInput, match=message):
        connect(admin, data)
    assert_nothing_persisted(store_dir, admin)


def test_error_details_carry_the_line_numbers(admin):
    with pytest.raises(InvalidInput) as info:
        connect(admin, b"email,region\na@x.com,north\nb@x.com\nc@x.com\n")
    assert info.value.details["lines"] == [3, 4]


def test_empty_file_is_refused(admin, store_dir, tmp_path):
    path = tmp_path / "empty.csv"
    path.write_bytes(b"")
    with pytest.raises(InvalidInput, match="empty"):
        admin.connect_dataset(path, "x", identity_column="email", identity_kind="email", progress=False)
    with pytest.raises(InvalidInput, match="empty"):
        connect(admin, b"\n\n  \n")
    assert_nothing_persisted(store_dir, admin)


def test_identity_column_that_does_not_exist(admin, store_dir):
    with pytest.raises(InvalidInput, match=r"identity column 'mail' is not a column.*email, region"):
        connect(admin, b"email,region\na@x.com,north\n", identity_column="mail")
    assert_nothing_persisted(store_dir, admin)


def test_identity_values_that_cannot_be_normalised(admin, store_dir):
    data = b"email,region\nnope,north\n  ,south\nstill nope,east\n"
    with pytest.raises(InvalidInput, match=r"no row has a usable identity in column 'email'.*"
                                           r"2 × not an email address \(no @\) \(lines 2, 4\).*1 × empty value \(lines 3\)"):
        connect(admin, data)
    assert_nothing_persisted(store_dir, admin)


def test_strict_mode_refuses_any_bad_identity(admin, store_dir):
    with pytest.raises(InvalidInput, match=r"some identity values cannot be normalised.*lines 4"):
        connect(admin, USERS_CSV, strict=True)
    assert_nothing_persisted(store_dir, admin)


def test_wrong_identity_kind_for_the_values(admin, store_dir):
    with pytest.raises(InvalidInput, match=r"kind maid.*not a mobile advertising id"):
        connect(admin, b"email\na@x.com\nb@x.com\n", identity_kind="maid")
    with pytest.raises(InvalidInput, match="unknown identity kind 'phone'"):
        connect(admin, b"email\na@x.com\n", identity_kind="phone")
    assert_nothing_persisted(store_dir, admin)


@pytest.mark.parametrize("name", ["../etc/passwd.csv", "dir/users.csv", "C:\\data\\users.csv", "..", "a\x00.csv"])
def test_file_names_with_path_parts_are_refused(admin, store_dir, name):
    with pytest.raises(InvalidInput, match="path parts|control characters"):
        admin.upload(b"email\na@x.com\n", file_name=name, format="csv", progress=False)
    assert_nothing_persisted(store_dir, admin)


def test_files_over_the_size_limit(admin, store_dir, monkeypatch):
    monkeypatch.setenv(MAX_BYTES_ENV, "100")
    with pytest.raises(PayloadTooLarge, match=r"over the limit of 100 bytes.*WORKBENCH_MAX_UPLOAD_BYTES"):
        connect(admin, USERS_CSV + b"x@y.com,north,1,X\n" * 5)
    assert_nothing_persisted(store_dir, admin)


def test_a_client_cannot_send_more_than_it_declared(admin):
    up = admin._request("POST", "/api/v1/uploads", json={"file_name": "a.csv", "format": "csv", "size": 10})
    with pytest.raises(InvalidInput, match="more than the declared size"):
        admin._request("PUT", f"/api/v1/uploads/{up['id']}/chunks/0", content=b"x" * 11)


def test_parquet_that_is_not_parquet(admin, store_dir):
    with pytest.raises(InvalidInput, match="is not a Parquet file"):
        admin.connect_dataset(USERS_CSV, "x", file_name="users.parquet", identity_column="email",
                              identity_kind="email", progress=False)
    truncated = _parquet(pd.DataFrame({"email": ["a@x.com"] * 10}))
    with pytest.raises(InvalidInput, match="not a Parquet file|damaged Parquet"):
        admin.connect_dataset(truncated[:8] + truncated[-8:], "x", file_name="users.parquet",
                              identity_column="email", identity_kind="email", progress=False)
    assert_nothing_persisted(store_dir, admin)


def _parquet(df: pd.DataFrame) -> bytes:
    sink = io.BytesIO()
    pq.write_table(pa.Table.from_pandas(df, preserve_index=False), sink)
    return sink.getvalue()


@pytest.mark.parametrize("column, values, dtype", [
    ("c", [1 + 2j, 3 + 4j], "complex128"),
    ("c", [dt.timedelta(1), dt.timedelta(2)], "timedelta64"),
    ("c", [{"a": 1}, {"b": 2}], "mixed"),
    ("c", [b"x", b"y"], "bytes"),
    ("c", ["a", 1], "mixed-integer"),
], ids=["complex", "timedelta", "dicts", "bytes", "mixed"])
def test_dataframe_with_unsupported_dtypes(admin, store_dir, column, values, dtype):
    df = pd.DataFrame({"email": ["a@x.com", "b@x.com"], column: values})
    with pytest.raises(InvalidInput, match=rf"column 'c' has the unsupported dtype {dtype}.*convert it"):
        admin.connect_dataset(df, "x", identity_column="email", identity_kind="email", progress=False)
    assert_nothing_persisted(store_dir, admin)


def test_parquet_with_nested_types_is_refused(admin, store_dir):
    table = pa.table({"email": ["a@x.com"], "tags": pa.array([["a", "b"]])})
    sink = io.BytesIO()
    pq.write_table(table, sink)
    with pytest.raises(InvalidInput, match=r"column 'tags' .* has the type list<.*cannot be stored"):
        admin.connect_dataset(sink.getvalue(), "x", file_name="t.parquet", identity_column="email",
                              identity_kind="email", progress=False)
    assert_nothing_persisted(store_dir, admin)


def test_pii_label_on_a_field_not_brought_in(admin, store_dir):
    with pytest.raises(InvalidInput, match=r"PII fields \['name'\] are not among the chosen fields"):
        connect(admin, USERS_CSV, fields=["email", "region"], pii=["name"])
    assert_nothing_persisted(store_dir, admin)


def test_duplicate_connection_name_conflicts_and_keeps_the_first(admin):
    from workbench.errors import Conflict

    connect(admin, USERS_CSV, name="users")
    with pytest.raises(Conflict, match="already has a data connection named 'users'"):
        connect(admin, USERS_CSV, name="users")
    assert [c.name for c in admin.connections()] == ["users"]


def test_a_failure_after_the_rows_are_written_leaves_nothing(admin, store_dir, monkeypatch):
    # the row table is written (several row groups, flushed to the file before commit) before the
    # connection is recorded; a failure at that last step must roll all of it back
    from workbench.data import connections
    from workbench.errors import WorkbenchError

    from .conftest import emails_csv

    def fail(*args, **kwargs):
        raise RuntimeError("the service died while recording the connection")

    monkeypatch.setattr(connections, "_connection", fail)
    with pytest.raises(WorkbenchError, match="internal error"):
        connect(admin, emails_csv(300_000), name="doomed")
    monkeypatch.undo()
    assert_nothing_persisted(store_dir, admin)
    assert connect(admin, emails_csv(10), name="doomed").rows_kept == 10

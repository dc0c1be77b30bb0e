"""Upload: sample rows of the uploader's own file, and declared column types (leading zeros kept).

Widget flows run in-process against the real service and store; the parse is checked directly too.
"""

from __future__ import annotations

import pytest

from workbench.data.files import parse
from workbench.errors import InvalidInput
from widgets import DatasetManager

ZIPS = (b"email,zip,spend\n"
        + b"".join(f"u{i}@ex.com,0{1000 + i},{i}\n".encode() for i in range(12)))


def test_the_uploader_sees_its_own_rows_then_declares_a_text_column(admin):
    manager = DatasetManager(admin)
    manager.upload(ZIPS, file_name="zips.csv")
    assert "Your file's first rows" in manager.sample.value and "01000" in manager.sample.value
    assert manager.sample.value.count("<tr>") == 1 + 5  # header + five rows
    assert [c.type for c in manager.schema.columns] == ["text", "integer", "integer"]
    assert manager.type_picks["zip"].label == "default (integer)"  # an empty choice reads "default"
    manager.type_picks["zip"].value = "text"
    manager.reread.click()
    assert manager.schema is not None and {c.name: c.type for c in manager.schema.columns}["zip"] == "text"
    assert manager.type_picks["zip"].value == "text" and manager.declared_types() == {"zip": "text"}
    manager.identity.value, manager.conn_name.value = "email", "zips"
    conn = manager.create_connection()
    assert conn is not None and {c.name: c.type for c in conn.columns}["zip"] == "text"


def test_a_declared_type_that_does_not_fit_is_refused_with_the_fix(admin):
    manager = DatasetManager(admin)
    manager.upload(ZIPS, file_name="zips.csv", column_types={"email": "integer"})
    assert manager.schema is None and "declare the column as text" in manager.status.text
    manager.upload(ZIPS, file_name="zips.csv", column_types={"nope": "text"})
    assert manager.schema is None and "no column(s) ['nope']" in manager.status.text


def test_parse_keeps_leading_zeros_only_when_declared_text():
    inferred = parse(ZIPS, "csv", "zips.csv")
    assert inferred.table.column("zip")[0].as_py() == 1000
    declared = parse(ZIPS, "csv", "zips.csv", column_types={"zip": "text"})
    assert declared.table.column("zip")[0].as_py() == "01000"
    assert [c.type for c in declared.columns] == ["text", "text", "integer"]
    with pytest.raises(InvalidInput, match="unknown column type"):
        parse(ZIPS, "csv", "zips.csv", column_types={"zip": "varchar"})


def test_the_service_refuses_unknown_types_at_the_start(admin):
    with pytest.raises(InvalidInput):
        admin.upload(ZIPS, file_name="zips.csv", column_types={"zip": "varchar"}, progress=False)

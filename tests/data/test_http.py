"""The dataset flow over real HTTP: chunked upload to a live service, provisioning, the error envelope."""

from __future__ import annotations

import pytest

from workbench.errors import InvalidInput

from .conftest import emails_csv


def test_chunked_upload_and_provisioning_over_http(live_service, tmp_path):
    client = live_service.client(live_service.admin_token)
    path = tmp_path / "users.csv"
    path.write_bytes(emails_csv(5_000))
    schema = client.upload(path, progress=False, chunk_bytes=16 * 1024)
    assert schema.rows == 5_000 and [c.name for c in schema.columns] == ["email", "region", "spend"]
    conn = client.create_connection(schema, "http-users", identity_column="email", identity_kind="email")
    assert conn.rows_kept == conn.distinct_identities == 5_000
    room = client.create_room("HTTP room", k_min=10)
    ds = client.provision_dataset(room.id, conn.id, "users", row_filter="spend < 50")
    assert ds.row_count == 2_500
    assert client.delete_connection(conn.id).rows_deleted == 5_000


def test_bad_input_comes_back_as_the_same_error_over_http(live_service):
    client = live_service.client(live_service.admin_token)
    with pytest.raises(InvalidInput, match="line 3: 1 fields, expected 2") as info:
        client.connect_dataset(b"email,region\na@x.com,n\nb@x.com\n", "bad", file_name="bad.csv",
                               identity_column="email", identity_kind="email", progress=False)
    assert info.value.details["lines"] == [3]

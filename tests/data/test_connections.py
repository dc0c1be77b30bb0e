"""Data connections through the client: schema shown, fields picked, PII labelled, identity hashed."""

from __future__ import annotations

import hashlib

import pandas as pd
import pytest

from workbench.errors import NotFound, PermissionDenied
from workbench.service.local import local_app

from .conftest import USERS_CSV, connect, emails_csv


def sha(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def rows_of(store_dir, connection_id: str) -> list[tuple]:
    store = local_app(store_dir).state.store
    with store.reader() as cur:
        table = cur.execute("SELECT table_name FROM data_connections WHERE id = ?", [connection_id]).fetchone()[0]
        return cur.execute(f"SELECT * FROM ds.{table} ORDER BY ALL").fetchall()


def test_upload_shows_the_detected_schema(admin):
    schema = admin.upload(USERS_CSV, file_name="users.csv", progress=False)
    assert schema.rows == 5
    assert [(c.name, c.type) for c in schema.columns] == [
        ("email", "text"), ("region", "text"), ("spend", "integer"), ("name", "text")]


def test_ingest_report_counts_rows_identities_and_rejections(admin):
    conn = connect(admin, pii=["name"])
    assert (conn.rows_read, conn.rows_kept, conn.rows_rejected, conn.distinct_identities) == (5, 3, 2, 2)
    assert [(r.reason, r.rows, r.lines) for r in conn.rejections] == [
        ("empty value", 1, [5]), ("not an email address (no @)", 1, [4])]
    assert [(c.name, c.pii, c.identity, c.hashed) for c in conn.columns] == [
        ("email", True, True, True), ("region", False, False, False), ("spend", False, False, False),
        ("name", True, False, True)]


def test_identity_and_pii_are_stored_hashed_never_raw(admin, store_dir):
    conn = connect(admin, pii=["name"])
    rows = rows_of(store_dir, conn.id)
    assert sorted(r[0] for r in rows) == sorted([sha("ann@example.com"), sha("bob@example.org"), sha("ann@example.com")])
    assert {r[3] for r in rows} == {sha("ann smith"), sha("bob jones")}
    store = local_app(store_dir).state.store
    with store.reader() as cur:
        for schema, table in cur.execute(
            "SELECT schema_name, table_name FROM duckdb_tables() WHERE database_name = 'store'").fetchall():
            text = str(cur.execute(f'SELECT * FROM "{schema}"."{table}"').fetchall())
            for raw in ("Ann@Example.COM", "ann@example.com", "bob@example.org", "Ann Smith", "Bob Jones"):
                assert raw not in text, (schema, table, raw)


def test_non_text_pii_is_hashed_as_duckdb_spells_it(admin, store_dir):
    """A numeric PII field hashes the same text whether ingested from an upload (hashed in
    memory) or read from external files (hashed in SQL): DuckDB's spelling of the value."""
    conn = connect(admin, b"email,score\na@x.com,1.5\nb@x.com,2\n", name="scored", pii=["score"])
    assert sorted(r[1] for r in rows_of(store_dir, conn.id)) == sorted([sha("1.5"), sha("2.0")])


def test_pii_fields_can_be_dropped_and_fields_picked(admin, store_dir):
    conn = connect(admin, fields=["email", "spend", "name"], pii=["name"], pii_mode="drop")
    assert [c.name for c in conn.columns] == ["email", "spend"]
    assert all(len(r) == 2 for r in rows_of(store_dir, conn.id))


def test_maid_ip_and_prehashed_identities(admin, store_dir):
    maid = connect(admin, b"device\n6BA7B810-9DAD-11D1-80B4-00C04FD430C8\n", name="maids",
                   identity_column="device", identity_kind="maid")
    assert rows_of(store_dir, maid.id) == [(sha("6ba7b810-9dad-11d1-80b4-00c04fd430c8"),)]
    ip = connect(admin, b"ip\n2001:DB8:0:0:1:0:0:1\n::ffff:1.2.3.4\n", name="ips",
                 identity_column="ip", identity_kind="ip")
    assert sorted(rows_of(store_dir, ip.id)) == sorted([(sha("2001:db8::1:0:0:1"),), (sha("1.2.3.4"),)])
    digest = sha("someone@example.com")
    pre = connect(admin, f"h\n{digest.upper()}\n".encode(), name="hashed", identity_column="h",
                  identity_kind="sha256")
    assert rows_of(store_dir, pre.id) == [(digest,)]


def test_dataframe_upload_keeps_types(admin, store_dir):
    df = pd.DataFrame({"email": ["a@x.com", "b@x.com"], "spend": [1.5, 2.0], "n": [1, 2],
                       "ok": [True, False], "day": pd.to_datetime(["2024-01-01", "2024-01-02"]),
                       "seg": pd.Categorical(["a", "b"])})
    conn = admin.connect_dataset(df, "frame", identity_column="email", identity_kind="email", progress=False)
    assert conn.source_format == "dataframe"
    assert [(c.name, c.type) for c in conn.columns] == [
        ("email", "text"), ("spend", "double"), ("n", "integer"), ("ok", "boolean"),
        ("day", "timestamp"), ("seg", "text")]


def test_parquet_file_from_disk(admin, tmp_path):
    path = tmp_path / "users.parquet"
    pd.DataFrame({"email": ["a@x.com", "b@x.com", "a@x.com"]}).to_parquet(path)
    conn = admin.connect_dataset(path, "pq", identity_column="email", identity_kind="email", progress=False)
    assert (conn.source_format, conn.rows_kept, conn.distinct_identities) == ("parquet", 3, 2)


def test_large_upload_streams_in_chunks_with_a_progress_bar(admin, tmp_path, capsys):
    path = tmp_path / "many.csv"
    path.write_bytes(emails_csv(20_000))
    conn = admin.connect_dataset(path, "many", identity_column="email", identity_kind="email",
                                 progress=True)
    err = capsys.readouterr().err
    assert "uploading many.csv" in err and "100%" in err
    assert conn.rows_kept == conn.distinct_identities == 20_000


def test_chunks_must_arrive_in_order(admin):
    from workbench.errors import Conflict

    up = admin._request("POST", "/api/v1/uploads", json={"file_name": "a.csv", "format": "csv", "size": 20})
    with pytest.raises(Conflict, match="expected chunk 0, got chunk 1"):
        admin._request("PUT", f"/api/v1/uploads/{up['id']}/chunks/1", content=b"x")


def test_uploads_belong_to_their_uploader(publisher, make_org, user_client):
    schema = publisher.admin.upload(USERS_CSV, file_name="u.csv", progress=False)
    other, _ = user_client(publisher.admin, "carol", ["data_connections"])
    with pytest.raises(NotFound):
        other.create_connection(schema, "stolen", identity_column="email", identity_kind="email")


def test_data_connections_need_the_org_right(publisher, user_client):
    plain, _ = user_client(publisher.admin, "dave")
    with pytest.raises(PermissionDenied, match="data_connections"):
        connect(plain)
    with pytest.raises(PermissionDenied):
        plain.connections()
    allowed, _ = user_client(publisher.admin, "erin", ["data_connections"])
    assert connect(allowed).rows_kept == 3


def test_connections_are_private_to_their_org(publisher, make_org):
    conn = connect(publisher.admin)
    other = make_org("Advertiser")
    assert other.admin.connections() == []
    with pytest.raises(NotFound):
        other.admin.connection(conn.id)
    with pytest.raises(NotFound):
        other.admin.delete_connection(conn.id)
    assert publisher.admin.connection(conn.id).name == "users"


def test_refused_rows_across_many_batches_keep_their_line_numbers(admin, store_dir):
    # more rows than one Arrow batch handed to the store, with bad values early, late and at a
    # batch boundary: the report, the kept rows and the digests must all line up
    from workbench.data.connections import BATCH_ROWS

    n = 2 * BATCH_ROWS + 1000
    bad = {0: "", BATCH_ROWS - 1: "not-an-email", BATCH_ROWS: "x@y", n - 1: "a b@c.com"}
    lines = ["email,spend"] + [f"{bad.get(i, f'User{i % 50_000}@Example.com ')},{i}" for i in range(n)]
    conn = connect(admin, ("\n".join(lines) + "\n").encode(), name="big")
    assert (conn.rows_read, conn.rows_kept, conn.rows_rejected) == (n, n - 4, 4)
    assert conn.distinct_identities == 50_000
    assert sorted((r.reason, r.lines) for r in conn.rejections) == [
        ("empty value", [2]), ("not an email address", [BATCH_ROWS + 2, n + 1]),
        ("not an email address (no @)", [BATCH_ROWS + 1])]
    rows = rows_of(store_dir, conn.id)
    assert len(rows) == n - 4
    assert {spend for _, spend in rows} == set(range(n)) - set(bad)
    assert {digest for digest, spend in rows if spend in (1, n - 2)} == {sha("user1@example.com"), sha(f"user{(n - 2) % 50_000}@example.com")}

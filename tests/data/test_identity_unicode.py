"""E-mail identities and Unicode (issue 10.10), over a live service: NFC before trim, lowercase
and hash, so every spelling of one address matches; invisible and look-alike characters are
reported by count and first lines, never by value."""

from __future__ import annotations

import hashlib
import unicodedata
import uuid

import duckdb
import pyarrow as pa
import pytest

from workbench.data import identity

COMPOSED = "jos\u00e9@example.com"  # é as one code point (NFC)
DECOMPOSED = "jose\u0301@example.com"  # e + combining acute (NFD)
CYRILLIC = "p\u0430ypal@example.com"  # Cyrillic а in a Latin word
ZERO_WIDTH = "ann\u200b@example.com"  # a zero-width space no reader sees


def _csv(values: list[str]) -> bytes:
    return ("email,spend\n" + "".join(f"{v},{i}\n" for i, v in enumerate(values))).encode()


@pytest.fixture(scope="module")
def client(live_service):
    return live_service.client(live_service.admin_token)


def _connect(client, values):
    return client.connect_dataset(_csv(values), f"u {uuid.uuid4().hex[:8]}", file_name="u.csv",
                                  identity_column="email", identity_kind="email", progress=False)


def test_every_spelling_of_one_address_is_one_identity(client):
    conn = _connect(client, [COMPOSED, DECOMPOSED, f"  {DECOMPOSED.upper()} ", "JOS\u00c9@EXAMPLE.COM"])
    assert conn.rows_kept == 4 and conn.distinct_identities == 1
    assert conn.identity_warnings == []  # accented Latin is not a look-alike


def test_invisible_and_look_alike_identifiers_are_reported_without_values(client):
    values = ["a@example.com", CYRILLIC, ZERO_WIDTH, "b@example.com", CYRILLIC.replace("yp", "yyp")]
    conn = _connect(client, values)
    report = {w.reason: (w.rows, w.lines) for w in conn.identity_warnings}
    invisible = next(k for k in report if k.startswith("invisible"))
    lookalike = next(k for k in report if k.startswith("look-alike"))
    assert report[invisible] == (1, [4]) and report[lookalike] == (2, [3, 6])
    text = conn.model_dump_json()
    assert "paypal" not in text and "\u0430" not in text and "ann" not in text
    assert client.connection(conn.id).identity_warnings == conn.identity_warnings  # stored


def test_the_stored_digest_is_the_sha256_of_the_nfc_form():
    """The in-memory path (Arrow + polars-hash) and the SQL path (external data, hashed at read)
    give the digest of the NFC, trimmed, lowercased text."""
    raw = pa.chunked_array([pa.array([f" {DECOMPOSED.upper()}", COMPOSED, None])])
    expected = hashlib.sha256(unicodedata.normalize("NFC", COMPOSED).encode()).hexdigest()
    by_arrow = identity.sha256_hex(identity.clean_arrow(raw)).to_pylist()
    keep_if, value = identity.keep_sql(identity.IdentityKind.EMAIL, "email")
    con = duckdb.connect()
    con.register("t", pa.table({"email": raw}))
    by_sql = [r[0] for r in con.execute(
        f"SELECT CASE WHEN {keep_if} THEN {identity.hash_sql(identity.IdentityKind.EMAIL, value)} END FROM t"
    ).fetchall()]
    assert by_arrow == by_sql == [expected, expected, None]

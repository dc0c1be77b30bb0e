"""Identity normalisation and hashing: DuckDB SQL agrees with Python's own parsers and hashlib."""

from __future__ import annotations

import hashlib
import ipaddress
import uuid

import duckdb
import pytest
from hypothesis import given, settings, strategies as st

from workbench.data.identity import IdentityKind as K
from workbench.data.identity import hash_sql, normalise_sql, parse_kind, reason_sql
from workbench.errors import InvalidInput


def run(kind: K, values: list[str | None]) -> list[tuple[str | None, str | None, str | None]]:
    con = duckdb.connect()
    con.execute("CREATE TABLE t (i INTEGER, x VARCHAR)")
    con.executemany("INSERT INTO t VALUES (?, ?)", list(enumerate(values)))
    rows = con.execute(
        f"SELECT {normalise_sql(kind, 'x')} AS n, {hash_sql(kind, normalise_sql(kind, 'x'))},"
        f" CASE WHEN n IS NULL THEN {reason_sql(kind, 'x')} END FROM t ORDER BY i").fetchall()
    con.close()
    return rows


@pytest.mark.parametrize("raw, canonical", [
    ("  Ann@Example.COM ", "ann@example.com"),
    ("\tbob@x.org\n", "bob@x.org"),
    ("a.b+tag@sub.example.co.uk", "a.b+tag@sub.example.co.uk"),
], ids=["trim-lower", "tabs-newlines", "plus-subdomain"])
def test_email_is_trimmed_lowercased_and_hashed(raw, canonical):
    [(norm, digest, reason)] = run(K.EMAIL, [raw])
    assert norm == canonical
    assert digest == hashlib.sha256(canonical.encode()).hexdigest()
    assert reason is None


@pytest.mark.parametrize("raw, reason", [
    (None, "empty value"), ("   ", "empty value"), ("no-at-sign", "not an email address (no @)"),
    ("a@b", "not an email address"), ("a b@c.com", "not an email address"), ("a@@b.com", "not an email address"),
    ("@b.com", "not an email address"), ("a@b..com", "not an email address"),
], ids=["null", "blank", "no-at", "no-dot", "space", "two-at", "no-local", "empty-label"])
def test_bad_emails_are_refused_with_a_reason(raw, reason):
    [(norm, digest, why)] = run(K.EMAIL, [raw])
    assert norm is None and digest is None
    assert why == reason


@pytest.mark.parametrize("raw, canonical", [
    ("6BA7B810-9DAD-11D1-80B4-00C04FD430C8", "6ba7b810-9dad-11d1-80b4-00c04fd430c8"),
    ("6ba7b8109dad11d180b400c04fd430c8", "6ba7b810-9dad-11d1-80b4-00c04fd430c8"),
    ("{6ba7b810-9dad-11d1-80b4-00c04fd430c8}", "6ba7b810-9dad-11d1-80b4-00c04fd430c8"),
], ids=["upper", "no-hyphens", "braces"])
def test_maid_becomes_lowercase_canonical_uuid(raw, canonical):
    [(norm, digest, _)] = run(K.MAID, [raw])
    assert norm == canonical == str(uuid.UUID(raw))
    assert digest == hashlib.sha256(canonical.encode()).hexdigest()


def test_maid_refusals_say_why():
    rows = run(K.MAID, ["00000000-0000-0000-0000-000000000000", "6ba7b810-9dad-11d1-80b4", "zzzz", ""])
    assert [r[2] for r in rows] == [
        "all-zero MAID (the device limits ad tracking)", "not a mobile advertising id (UUID)",
        "not a mobile advertising id (UUID)", "empty value"]


def test_prehashed_sha256_is_kept_lowercased():
    digest = hashlib.sha256(b"x").hexdigest()
    rows = run(K.SHA256, [digest.upper(), digest[:-1], "g" * 64])
    assert rows[0][:2] == (digest, digest)
    assert rows[1][2] == rows[2][2] == "not a 64-digit hex SHA-256"


def expected_ip(raw: str) -> str | None:
    """Python's canonical text, with IPv4-mapped IPv6 shown as the IPv4 address (our rule)."""
    try:
        addr = ipaddress.ip_address(raw.strip())
    except ValueError:
        return None
    if "%" in raw:
        return None
    mapped = getattr(addr, "ipv4_mapped", None)
    return str(mapped or addr)


@pytest.mark.parametrize("raw", [
    "1.2.3.4", " 10.0.0.1 ", "0.0.0.0", "255.255.255.255", "01.2.3.4", "256.1.1.1", "1.2.3",
    "::", "::1", "1::", "2001:DB8:0:0:1:0:0:1", "2001:db8::", "1:0:0:2:0:0:0:3", "::ffff:1.2.3.4",
    "::ffff:102:304", "::1.2.3.4", "1:2:3:4:5:6:1.2.3.4", "1:2:3:4:5:6:7::", "1::2::3",
    "1:2:3:4:5:6:7:8:9", ":1:2:3:4:5:6:7", "1:2:3::4:5:6:7:8", "12345::", "fe80::1%eth0", "abcd",
])
def test_ip_canonical_form_matches_python(raw):
    [(norm, _, reason)] = run(K.IP, [raw])
    assert norm == expected_ip(raw)
    assert (reason is None) == (norm is not None)


@settings(max_examples=150, deadline=None)
@given(st.lists(st.one_of(st.ip_addresses(v=4), st.ip_addresses(v=6)), min_size=1, max_size=30),
       st.booleans())
def test_ip_normalisation_agrees_with_ipaddress_on_random_addresses(addrs, exploded):
    texts = [a.exploded.upper() if exploded else str(a) for a in addrs]
    got = [r[0] for r in run(K.IP, texts)]
    assert got == [expected_ip(t) for t in texts]


@settings(max_examples=60, deadline=None)
@given(st.lists(st.uuids(), min_size=1, max_size=20), st.sampled_from(["str", "hex", "upper", "braces"]))
def test_maid_normalisation_agrees_with_uuid(ids, form):
    ids = [u for u in ids if u.int != 0]
    texts = [{"str": str(u), "hex": u.hex, "upper": str(u).upper(), "braces": "{%s}" % u}[form] for u in ids]
    assert [r[0] for r in run(K.MAID, texts)] == [str(u) for u in ids]


def test_unknown_kind_lists_the_kinds():
    with pytest.raises(InvalidInput, match="email, maid, ip, sha256"):
        parse_kind("phone")

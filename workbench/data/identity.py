"""Identity values: normalise and SHA-256 them inside DuckDB, one vectorised pass, no row loop.

Each kind has two SQL expressions over one column: the canonical text (NULL when the value
cannot be normalised) and, for those rows only, the reason it was refused. The expressions are
built from fixed templates and a quoted identifier taken from the parsed file's header, never
from values, so they are safe to run in the store's own (locked) instance over a registered
Arrow table: the raw values stay in memory and only digests are written.

Canonical forms:

- every kind: Unicode NFC first, then surrounding whitespace trimmed and lowercased;
- email: one ``@`` with a dotted domain;
- maid: lowercase ``8-4-4-4-12`` UUID (hyphens and braces optional on input); the all-zero id
  (tracking limited) is refused;
- ip: IPv4 dotted quad without leading zeros; IPv6 compressed as RFC 5952 (Python's
  ``ipaddress`` agrees); IPv4-mapped IPv6 (``::ffff:a.b.c.d``) becomes the plain IPv4 address, so
  both spellings of one address match;
- sha256: 64 hex digits, lowercased, accepted as already hashed.
"""

from __future__ import annotations

import unicodedata
from enum import StrEnum
from typing import Any

from workbench.errors import InvalidInput

#: whitespace trimmed around every identity value
_WS = "' \t\r\n\x0b\x0c'"


class IdentityKind(StrEnum):
    """How the identity column's values are normalised before hashing."""

    EMAIL = "email"
    MAID = "maid"
    IP = "ip"
    SHA256 = "sha256"


KIND_LABELS: dict[IdentityKind, str] = {
    IdentityKind.EMAIL: "email address",
    IdentityKind.MAID: "mobile advertising id (MAID)",
    IdentityKind.IP: "IP address",
    IdentityKind.SHA256: "pre-hashed SHA-256 (64 hex digits)",
}


def parse_kind(value: str) -> IdentityKind:
    """The kind named ``value``, or InvalidInput listing the kinds."""
    try:
        return IdentityKind(str(value).lower())
    except ValueError:
        known = ", ".join(k.value for k in IdentityKind)
        raise InvalidInput(f"unknown identity kind {value!r}; use one of: {known}") from None


def quote_ident(name: str) -> str:
    """A double-quoted SQL identifier (names come from validated headers, quoted anyway)."""
    return '"' + name.replace('"', '""') + '"'


#: characters trimmed around identity values (SQL and Arrow agree on them)
TRIM_CHARS = " \t\r\n\x0b\x0c"


def _clean(col: str) -> str:
    if col.startswith('"__clean'):
        return col
    return f"lower(trim(nfc_normalize(CAST({col} AS VARCHAR)), {_WS}))"


def _text(values: Any) -> Any:
    import pyarrow as pa
    import pyarrow.compute as pc

    if not (pa.types.is_string(values.type) or pa.types.is_large_string(values.type)):
        values = pc.cast(values, pa.string())
    return values


def nfc(value: str | None) -> str | None:
    """Unicode NFC of one value (None stays None): what SQL engines without ``nfc_normalize``
    (Spark) register under that name, so identity SQL means the same on every engine."""
    return None if value is None else unicodedata.normalize("NFC", value)


def clean_arrow(values: Any) -> Any:
    """NFC-normalised, trimmed, lowercased text of an Arrow column: the SQL cleaning, computed once.

    NFC comes first, so a composed and a decomposed spelling of one address (``é`` and
    ``e`` + combining acute) hash alike. An all-ASCII column (the usual case) is already NFC,
    so the normalisation pass is skipped for it. Give the result the column name ``__clean`` and
    pass that name to the SQL builders: they then skip their own cleaning.
    """
    import pyarrow.compute as pc

    values = _text(values)
    if not pc.all(pc.string_is_ascii(values)).as_py():
        values = pc.utf8_normalize(values, "NFC")
    return pc.utf8_lower(pc.utf8_trim(values, characters=TRIM_CHARS))


def sha256_hex(values: Any) -> Any:
    """Lowercase hex SHA-256 of each UTF-8 text value (NULL stays NULL), as an Arrow array.

    polars-hash computes it in Rust with the CPU's SHA extensions, several times faster than
    DuckDB's ``sha256``; the digests are byte for byte the same (tests compare them).
    """
    import polars as pl
    import polars_hash as plh

    series = pl.from_arrow(_text(values))
    return pl.DataFrame({"v": series}).select(plh.col("v").chash.sha2_256()).to_series().to_arrow()


#: characters no reader sees: format controls (zero-width space and joiners, bidi marks, BOM,
#: soft hyphen, ...), the combining grapheme joiner, Hangul fillers and variation selectors
INVISIBLE = r"[\p{Cf}\x{034F}\x{115F}\x{1160}\x{3164}\x{FFA0}\x{FE00}-\x{FE0F}]"
#: Latin look-alikes (Cyrillic, Greek, Armenian, Cherokee letters, fullwidth forms) next to ASCII
#: letters: ``pаypal`` with a Cyrillic ``а``. Accented Latin (``josé``) is not flagged.
_LOOKALIKE = r"[\p{Cyrillic}\p{Greek}\p{Armenian}\p{Cherokee}\x{FF01}-\x{FF5E}]"
CONFUSABLE = rf"[A-Za-z].*{_LOOKALIKE}|{_LOOKALIKE}.*[A-Za-z]"

WARNINGS: tuple[tuple[str, str], ...] = (
    ("invisible characters (zero-width, bidirectional or format controls)", INVISIBLE),
    ("look-alike letters of another script next to ASCII letters (e.g. a Cyrillic a in a Latin word)", CONFUSABLE),
)


def suspicious_rows(clean: Any) -> list[tuple[str, Any]]:
    """(reason, row positions) of identifiers with invisible or confusable characters.

    Only non-ASCII values can have either, so an all-ASCII column costs one cheap pass.
    """
    import numpy as np
    import pyarrow as pa
    import pyarrow.compute as pc

    odd = pc.invert(pc.fill_null(pc.string_is_ascii(clean), True))
    if not pc.any(odd).as_py():
        return []
    positions = pc.indices_nonzero(odd if isinstance(odd, pa.Array) else odd.combine_chunks())
    candidates = pc.take(clean, positions)
    out = []
    for reason, pattern in WARNINGS:
        hits = pc.fill_null(pc.match_substring_regex(candidates, pattern), False)
        found = np.asarray(pc.filter(positions, hits))
        if len(found):
            out.append((reason, found))
    return out


def _email_ok(s: str) -> str:
    return f"(length({s}) <= 254 AND regexp_full_match({s}, '[^@\\s]+@[^@\\s.]+(\\.[^@\\s.]+)+'))"


def _email(col: str) -> str:
    s = _clean(col)
    return f"CASE WHEN {_email_ok(s)} THEN {s} END"


def _maid(col: str) -> str:
    s = _clean(col)
    pattern = "\\{?[0-9a-f]{8}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{12}\\}?"
    h = f"replace(trim({s}, '{{}}'), '-', '')"
    canonical = (
        f"substr({h}, 1, 8) || '-' || substr({h}, 9, 4) || '-' || substr({h}, 13, 4) || '-'"
        f" || substr({h}, 17, 4) || '-' || substr({h}, 21, 12)"
    )
    return (
        f"CASE WHEN regexp_full_match({s}, '{pattern}') AND NOT ({h} = repeat('0', 32))"
        f" THEN {canonical} END"
    )


_V4 = "(0|[1-9][0-9]{0,2})(\\.(0|[1-9][0-9]{0,2})){3}"


def _let(value: str, var: str, body: str) -> str:
    """Bind ``value`` to the lambda variable ``var`` inside ``body`` (DuckDB has no LET)."""
    return f"list_transform([{value}], {var} -> {body})[1]"


def _v4_ok(s: str) -> str:
    return (
        f"(regexp_full_match({s}, '{_V4}')"
        f" AND list_max(list_transform(string_split({s}, '.'), o -> TRY_CAST(o AS INTEGER))) <= 255)"
    )


def _split(text: str) -> str:
    return f"CASE WHEN {text} = '' THEN []::VARCHAR[] ELSE string_split({text}, ':') END"


def _ip(col: str) -> str:
    tail = "regexp_extract(v, '[0-9.]+$')"
    octet = [f"TRY_CAST(string_split({tail}, '.')[{i}] AS INTEGER)" for i in range(1, 5)]
    tail_hex = f"printf('%x:%x', {octet[0]} * 256 + {octet[1]}, {octet[2]} * 256 + {octet[3]})"
    # t: the IPv6 text, an embedded IPv4 tail turned into two hex groups (NULL when that tail is bad)
    t = (
        "CASE WHEN strpos(v, '.') = 0 THEN v"
        f" WHEN regexp_full_match(v, '[0-9a-f:]*:[0-9.]+') AND {_v4_ok(tail)}"
        f" THEN regexp_replace(v, '[0-9.]+$', '') || {tail_hex} END"
    )
    # p: the groups left and right of '::' (all groups in l when there is none)
    left = _split("split_part(t, '::', 1)")
    right = _split("split_part(t, '::', 2)")
    p = (
        "{'dc': strpos(t, '::') > 0,"
        " 'l': CASE WHEN strpos(t, '::') = 0 THEN string_split(t, ':')"
        f" ELSE {left} END,"
        f" 'r': CASE WHEN strpos(t, '::') = 0 THEN []::VARCHAR[] ELSE {right} END}}"
    )
    p_ok = (
        "(CASE WHEN p.dc THEN len(p.l) + len(p.r) <= 7 ELSE len(p.l) = 8 END"
        " AND list_bool_and(list_transform(list_concat(p.l, p.r),"
        " x -> regexp_full_match(x, '[0-9a-f]{1,4}'))))"
    )
    g = (
        "list_transform(CASE WHEN p.dc THEN list_concat(list_concat(p.l,"
        " list_transform(range(8 - len(p.l) - len(p.r)), i -> '0')), p.r) ELSE p.l END,"
        " x -> coalesce(nullif(ltrim(x, '0'), ''), '0'))"
    )
    hexval = "TRY_CAST(('0x' || g[{i}]) AS INTEGER)"
    mapped_v4 = " || '.' || ".join(
        f"CAST({hexval.format(i=i)} {op} AS VARCHAR)" for i, op in ((7, "// 256"), (7, "% 256"), (8, "// 256"), (8, "% 256"))
    )
    z = "array_to_string(list_transform(g, x -> CASE WHEN x = '0' THEN '1' ELSE '0' END), '')"
    k = "CASE " + " ".join(f"WHEN strpos(z, '{'1' * n}') > 0 THEN {n}" for n in range(8, 1, -1)) + " ELSE 0 END"
    start = "strpos(z, repeat('1', k))"
    compressed = (
        f"CASE WHEN k = 0 THEN array_to_string(g, ':') ELSE coalesce(array_to_string(g[1:{start} - 1], ':'), '')"
        f" || '::' || coalesce(array_to_string(g[{start} + k:], ':'), '') END"
    )
    v6 = _let(t, "t", (
        "CASE WHEN t IS NULL OR NOT regexp_full_match(t, '[0-9a-f:]+') OR strpos(t, ':::') > 0"
        " OR length(t) - length(replace(t, '::', '')) > 2 THEN NULL ELSE "
        + _let(p, "p", (
            f"CASE WHEN NOT {p_ok} THEN NULL ELSE "
            + _let(g, "g", (
                f"CASE WHEN g[1:5] = ['0', '0', '0', '0', '0'] AND g[6] = 'ffff' THEN {mapped_v4} ELSE "
                + _let(z, "z", _let(k, "k", compressed))
                + " END"
            ))
            + " END"
        ))
        + " END"
    ))
    body = (
        f"CASE WHEN v IS NULL THEN NULL WHEN {_v4_ok('v')} THEN v"
        f" WHEN strpos(v, ':') > 0 AND regexp_full_match(v, '[0-9a-f:.]+') THEN {v6} END"
    )
    return _let(_clean(col), "v", body)


def _sha256_ok(s: str) -> str:
    return f"regexp_full_match({s}, '[0-9a-f]{{64}}')"


def _sha256(col: str) -> str:
    s = _clean(col)
    return f"CASE WHEN {_sha256_ok(s)} THEN {s} END"


def keep_sql(kind: IdentityKind, column: str) -> tuple[str, str]:
    """(condition, canonical value) for rows to keep, each computing as little as possible.

    For email and SHA-256 the canonical text is the cleaned text itself, so the condition is a
    cheap check and the value a plain column; the other kinds use the full normalisation.
    """
    kind = IdentityKind(kind)
    col = quote_ident(column)
    s = _clean(col)
    if kind is IdentityKind.EMAIL:
        return _email_ok(s), s
    if kind is IdentityKind.SHA256:
        return _sha256_ok(s), s
    norm = normalise_sql(kind, column)
    return f"({norm}) IS NOT NULL", norm


_NORMALISE = {
    IdentityKind.EMAIL: _email,
    IdentityKind.MAID: _maid,
    IdentityKind.IP: _ip,
    IdentityKind.SHA256: _sha256,
}

_INVALID = {
    IdentityKind.EMAIL: "not an email address",
    IdentityKind.MAID: "not a mobile advertising id (UUID)",
    IdentityKind.IP: "not an IP address",
    IdentityKind.SHA256: "not a 64-digit hex SHA-256",
}


def normalise_sql(kind: IdentityKind, column: str) -> str:
    """SQL for the canonical text of ``column`` (an unquoted name), NULL when it cannot be normalised."""
    return _NORMALISE[IdentityKind(kind)](quote_ident(column))


def reason_sql(kind: IdentityKind, column: str) -> str:
    """SQL for why a value was refused; only meaningful where :func:`normalise_sql` is NULL."""
    kind = IdentityKind(kind)
    col = quote_ident(column)
    s = _clean(col)
    extra = ""
    if kind is IdentityKind.MAID:
        extra = (
            f" WHEN replace(trim({s}, '{{}}'), '-', '') = repeat('0', 32)"
            " THEN 'all-zero MAID (the device limits ad tracking)'"
        )
    elif kind is IdentityKind.EMAIL:
        extra = f" WHEN strpos({s}, '@') = 0 THEN 'not an email address (no @)'"
    return (
        f"CASE WHEN {col} IS NULL OR {s} = '' THEN 'empty value'{extra}"
        f" ELSE '{_INVALID[kind]}' END"
    )


def hash_sql(kind: IdentityKind, normalised: str) -> str:
    """SQL for the stored identity: SHA-256 hex of the canonical text (pre-hashed kept as is)."""
    if IdentityKind(kind) is IdentityKind.SHA256:
        return normalised
    return f"sha256({normalised})"


def clean_sql(column: str) -> str:
    """SQL for the NFC, trimmed, lowercased text of ``column`` (an unquoted name): how a non-text
    PII field becomes the text that is hashed (DuckDB's own spelling of numbers and dates)."""
    return _clean(quote_ident(column))


def pii_hash_sql(column: str) -> str:
    """SQL for a PII field kept hashed: SHA-256 of its NFC, trimmed, lowercased text (NULL stays NULL)."""
    return f"sha256({clean_sql(column)})"

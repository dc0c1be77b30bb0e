"""A partner or analyst trying to get rows, identities or PII out through question SQL.

Each attack is authored through the client; the service must refuse it (RuleViolation or
InvalidInput) before anything runs. Where a question does run, the released table must not let
one person be singled out.
"""

from __future__ import annotations

import pytest

import workbench as wb
from tests.security.conftest import add, hashed

#: ways to project the identity (p.email) or its derivatives
PROJECT_IDENTITY = {
    "group by identity": "SELECT p.email, COUNT(*) AS n FROM publisher p GROUP BY p.email",
    "group by ordinal": "SELECT p.email, COUNT(*) AS n FROM publisher p GROUP BY 1",
    "group by all": "SELECT p.email, COUNT(*) AS n FROM publisher p GROUP BY ALL",
    "md5": "SELECT md5(p.email) AS h, COUNT(*) AS n FROM publisher p GROUP BY md5(p.email)",
    "substring": "SELECT substr(p.email, 1, 3) AS h, COUNT(*) AS n FROM publisher p "
                 "GROUP BY substr(p.email, 1, 3)",
    "concat": "SELECT concat(p.region, p.email) AS h, COUNT(*) AS n FROM publisher p "
              "GROUP BY concat(p.region, p.email)",
    "pipe concat": "SELECT p.region || p.email AS h, COUNT(*) AS n FROM publisher p "
                   "GROUP BY p.region || p.email",
    "case": "SELECT CASE WHEN p.email > 'a' THEN p.region ELSE 'x' END AS h, COUNT(*) AS n "
            "FROM publisher p GROUP BY CASE WHEN p.email > 'a' THEN p.region ELSE 'x' END",
    "cast": "SELECT CAST(p.email AS VARCHAR) AS e, COUNT(*) AS n FROM publisher p "
            "GROUP BY CAST(p.email AS VARCHAR)",
    "struct": "SELECT {'e': p.email} AS s, COUNT(*) AS n FROM publisher p GROUP BY {'e': p.email}",
    "list literal": "SELECT [p.email] AS s, COUNT(*) AS n FROM publisher p GROUP BY [p.email]",
    "cte alias as a group column": "WITH t AS (SELECT p.email AS region FROM publisher p) "
                                   "SELECT t.region, COUNT(*) AS n FROM t GROUP BY t.region",
    "derived table alias": "SELECT t.x, COUNT(*) AS n FROM (SELECT p.email AS x FROM publisher p) t "
                           "GROUP BY t.x",
    "cte shadowing a macro": "WITH publisher AS (SELECT a.email AS region, a.email FROM advertiser a) "
                             "SELECT publisher.region, COUNT(*) AS n FROM publisher "
                             "GROUP BY publisher.region",
    "regexp": "SELECT regexp_matches(p.email, '^a') AS x, COUNT(*) AS n FROM publisher p "
              "GROUP BY regexp_matches(p.email, '^a')",
    "min": "SELECT p.region, MIN(p.email) AS m FROM publisher p GROUP BY p.region",
    "max": "SELECT p.region, MAX(p.email) AS m FROM publisher p GROUP BY p.region",
    "string_agg": "SELECT p.region, string_agg(p.email, ',') AS m FROM publisher p GROUP BY p.region",
    "list": "SELECT p.region, list(p.email) AS m FROM publisher p GROUP BY p.region",
    "array_agg": "SELECT p.region, array_agg(p.email) AS m FROM publisher p GROUP BY p.region",
    "first": "SELECT p.region, first(p.email) AS m FROM publisher p GROUP BY p.region",
    "any_value": "SELECT p.region, any_value(p.email) AS m FROM publisher p GROUP BY p.region",
    "arg_max": "SELECT p.region, arg_max(p.email, p.region) AS m FROM publisher p GROUP BY p.region",
    "sum of length": "SELECT p.region, SUM(length(p.email)) AS m FROM publisher p GROUP BY p.region",
    "count_if": "SELECT p.region, COUNT_IF(p.email = 'x') AS n FROM publisher p GROUP BY p.region",
    "aggregate filter": "SELECT p.region, COUNT(*) FILTER (WHERE p.email = 'x') AS n "
                        "FROM publisher p GROUP BY p.region",
    "window": "SELECT p.region, COUNT(*) OVER (PARTITION BY p.email) AS n FROM publisher p",
    "union": "SELECT p.region, COUNT(*) AS n FROM publisher p GROUP BY p.region UNION ALL "
             "SELECT a.email, COUNT(*) FROM advertiser a GROUP BY a.email",
    "subquery in select": "SELECT p.region, (SELECT MAX(a.email) FROM advertiser a) AS m, "
                          "COUNT(*) AS n FROM publisher p GROUP BY p.region",
    "subquery in where": "SELECT p.region, COUNT(*) AS n FROM publisher p WHERE p.email IN "
                         "(SELECT a.email FROM advertiser a) GROUP BY p.region",
    "lateral": "SELECT p.region, COUNT(*) AS n FROM publisher p, LATERAL (SELECT p.email) t "
               "GROUP BY p.region",
    "unnest": "SELECT u.x, COUNT(*) AS n FROM publisher p, unnest([p.email]) u(x) GROUP BY u.x",
    "distinct rows": "SELECT DISTINCT p.email FROM publisher p",
    "plain rows": "SELECT p.region, p.age_band FROM publisher p",
    "aggregate in cte, then project": "WITH per AS (SELECT a.email, SUM(a.amount) AS total "
                                      "FROM advertiser a GROUP BY a.email) SELECT per.total, "
                                      "COUNT(*) AS n FROM per GROUP BY per.total",
    "group by a non-group column": "SELECT a.amount, COUNT(*) AS n FROM advertiser a "
                                   "GROUP BY a.amount",
    "order by exact count, limit": "SELECT p.region, COUNT(*) AS n FROM publisher p "
                                   "GROUP BY p.region ORDER BY n DESC LIMIT 1",
    "having": "SELECT p.region, COUNT(*) AS n FROM publisher p GROUP BY p.region "
              "HAVING COUNT(*) = 1",
    "qualify": "SELECT p.region, COUNT(*) AS n FROM publisher p GROUP BY p.region "
               "QUALIFY row_number() OVER () = 1",
    "offset": "SELECT p.region, COUNT(*) AS n FROM publisher p GROUP BY p.region OFFSET 1",
    "cross join": "SELECT p.region, COUNT(*) AS n FROM publisher p, advertiser a GROUP BY p.region",
    "natural join": "SELECT p.region, COUNT(*) AS n FROM publisher p NATURAL JOIN advertiser a "
                    "GROUP BY p.region",
    "positional join": "SELECT p.region, COUNT(*) AS n FROM publisher p POSITIONAL JOIN advertiser a "
                       "GROUP BY p.region",
    "join on non-join column": "SELECT p.region, COUNT(*) AS n FROM publisher p JOIN advertiser a "
                               "ON p.email = a.email AND p.region = a.email GROUP BY p.region",
    "join with OR TRUE": "SELECT p.region, COUNT(*) AS n FROM publisher p JOIN advertiser a "
                         "ON p.email = a.email OR TRUE GROUP BY p.region",
    "count distinct of a non-countable column": "SELECT p.age_band, COUNT(DISTINCT p.region) AS n "
                                                "FROM publisher p GROUP BY p.age_band",
    "sum of scaled amount": "SELECT p.region, SUM(a.amount * 1000) AS m FROM publisher p "
                            "JOIN advertiser a ON p.email = a.email GROUP BY p.region",
    # the identity transformed inside a WITH clause and counted: a per-person indicator
    "identity indicator counted through a cte": (
        "WITH t AS (SELECT p.email, p.region, CASE WHEN p.email = 'x' THEN p.email END AS hit "
        "FROM publisher p) SELECT t.region, COUNT(DISTINCT t.hit) AS m FROM t GROUP BY t.region"),
    "identity nullif counted through a cte": (
        "WITH t AS (SELECT p.email, p.region, nullif(p.email, 'x') AS e FROM publisher p) "
        "SELECT t.region, COUNT(DISTINCT t.e) AS m FROM t GROUP BY t.region"),
    "identity indicator in a joined derived table": (
        "SELECT p.region, COUNT(DISTINCT t.hit) AS m FROM publisher p JOIN (SELECT a.email, "
        "CASE WHEN a.email = 'x' THEN a.email END AS hit FROM advertiser a) t ON p.email = t.email "
        "GROUP BY p.region"),
    # the identity compared with a value: singles one person out (differencing)
    "identity equal to a value": "SELECT p.region, COUNT(*) AS n FROM publisher p "
                                 "WHERE p.email = 'x' GROUP BY p.region",
    "identity not equal to a value": "SELECT p.region, COUNT(*) AS n FROM publisher p "
                                     "WHERE p.email <> 'x' GROUP BY p.region",
    "identity LIKE": "SELECT p.region, COUNT(*) AS n FROM publisher p WHERE p.email LIKE 'a%' "
                     "GROUP BY p.region",
    "identity IN list": "SELECT p.region, COUNT(*) AS n FROM publisher p "
                        "WHERE p.email IN ('x', 'y') GROUP BY p.region",
    "identity compared through a cte": (
        "WITH t AS (SELECT p.email AS who, p.region FROM publisher p) "
        "SELECT t.region, COUNT(*) AS n FROM t WHERE t.who <> 'x' GROUP BY t.region"),
}

#: ways to reach files, settings, the catalog or other statements
OUTSIDE_THE_DATASETS = {
    "read_csv": "SELECT t.a, COUNT(*) AS n FROM read_csv('/etc/passwd') t GROUP BY t.a",
    "read_parquet": "SELECT COUNT(*) AS n FROM read_parquet('x.parquet')",
    "read_json_auto": "SELECT COUNT(*) AS n FROM read_json_auto('x.json')",
    "quoted path as a table": "SELECT COUNT(*) AS n FROM '/etc/passwd'",
    "glob": "SELECT COUNT(*) AS n FROM glob('/*')",
    "duckdb_tables()": "SELECT COUNT(*) AS n FROM duckdb_tables()",
    "duckdb_settings()": "SELECT COUNT(*) AS n FROM duckdb_settings()",
    "information_schema": "SELECT COUNT(*) AS n FROM information_schema.tables",
    "store catalog": "SELECT COUNT(*) AS n FROM store.main.rooms",
    "schema-qualified table": "SELECT COUNT(*) AS n FROM main.tokens",
    "getenv": "SELECT p.region, COUNT(*) AS n FROM publisher p WHERE getenv('HOME') = 'x' "
              "GROUP BY p.region",
    "current_setting": "SELECT p.region, COUNT(*) AS n FROM publisher p "
                       "WHERE current_setting('threads') = '1' GROUP BY p.region",
    "current_database": "SELECT p.region, COUNT(*) AS n FROM publisher p "
                        "WHERE current_database() = 'x' GROUP BY p.region",
    "pragma": "PRAGMA database_list",
    "attach": "ATTACH 'x.db' AS x",
    "copy": "COPY (SELECT 1) TO 'x.csv'",
    "set": "SET threads = 1",
    "install": "INSTALL httpfs",
    "load": "LOAD httpfs",
    "create table as": "CREATE TABLE x AS SELECT 1",
    "second statement": "SELECT p.region, COUNT(*) AS n FROM publisher p GROUP BY p.region; "
                        "DROP TABLE rooms",
    "values": "SELECT v.x, COUNT(*) AS n FROM (VALUES (1)) v(x) GROUP BY v.x",
    "range()": "SELECT COUNT(*) AS n FROM range(10)",
    "pivot": "PIVOT publisher ON region USING count(*)",
    "describe": "DESCRIBE publisher",
    "tablesample": "SELECT p.region, COUNT(*) AS n FROM publisher p TABLESAMPLE 1 ROWS "
                   "GROUP BY p.region",
    "using sample": "SELECT p.region, COUNT(*) AS n FROM publisher p USING SAMPLE 1 "
                    "GROUP BY p.region",
}


def _accepted(room, attacks: dict[str, str]) -> list[str]:
    """The attacks the service saved as questions (each should have been refused)."""
    accepted = []
    for name, sql in attacks.items():
        try:
            room.owner.create_question(room.id, name[:200], sql)
        except (wb.errors.RuleViolation, wb.errors.InvalidInput):
            continue
        accepted.append(name)
    return accepted


def test_identity_cannot_be_projected_transformed_or_compared(dp_room):
    assert _accepted(dp_room, PROJECT_IDENTITY) == []


def test_questions_read_only_their_datasets(dp_room):
    assert _accepted(dp_room, OUTSIDE_THE_DATASETS) == []


def test_a_store_table_name_is_only_an_unmapped_macro(dp_room):
    """A draft may name a macro the room has not mapped yet; running it is refused and never
    reads the store's table of that name."""
    room = dp_room
    qid = add(room, "SELECT COUNT(*) AS n FROM tokens")
    with pytest.raises(wb.errors.RuleViolation, match="not mapped"):
        room.owner.run(room.id, qid)
    with pytest.raises(wb.errors.RuleViolation, match="not mapped"):
        room.owner.plan(room.id, qid)


def test_partner_authoring_is_checked_the_same_way(dp_room):
    """The partner holds Question Builder: its attacks meet the same rules."""
    refused = 0
    for sql in (PROJECT_IDENTITY["cte alias as a group column"], OUTSIDE_THE_DATASETS["read_csv"],
                PROJECT_IDENTITY["identity not equal to a value"]):
        with pytest.raises(wb.errors.RuleViolation):
            dp_room.partner.create_question(dp_room.id, "attack", sql)
        refused += 1
    assert refused == 3


def test_check_endpoint_names_the_identity_rule(dp_room):
    report = dp_room.owner.check_question(
        dp_room.id, "attack", PROJECT_IDENTITY["identity indicator counted through a cte"])
    assert not report.ok
    assert ("publisher", "email") in {(v.dataset, v.column) for v in report.violations
                                      if v.rule == "no_pii"}


def test_exact_room_crowd_size_cannot_be_bypassed_by_a_counted_indicator(exact_room):
    """DP off, k-min 5: an indicator of one person, counted per region, would release 1 and 0s
    in groups of ~100 people (so k-min keeps them) and tell the target's region."""
    sql = ("WITH t AS (SELECT p.email, p.region, CASE WHEN p.email = :who THEN p.email END AS hit "
           "FROM publisher p) SELECT t.region, COUNT(DISTINCT t.hit) AS m FROM t GROUP BY t.region")
    with pytest.raises(wb.errors.RuleViolation, match="no_pii"):
        add(exact_room, sql, [{"name": "who", "type": "text", "pattern": "[0-9a-f]{64}"}])


def test_exact_room_identity_differencing_is_refused(exact_room):
    """DP off: counts with and without one identity would differ by exactly that person."""
    sql = ("SELECT p.region, COUNT(*) AS n FROM publisher p WHERE p.email <> :who "
           "GROUP BY p.region")
    with pytest.raises(wb.errors.RuleViolation, match="no_pii"):
        add(exact_room, sql, [{"name": "who", "type": "text", "pattern": "[0-9a-f]{64}"}])


def test_exact_room_tiny_groups_are_suppressed(exact_room):
    """Every amount belongs to one buyer: a filter to one amount would leave groups of 1. An
    exact room refuses tests on metric columns outright (exact_rooms, issue 10.4); the groups it
    does release are whole."""
    room = exact_room
    with pytest.raises(wb.errors.RuleViolation, match="exact_rooms"):
        add(room, "SELECT p.region, COUNT(*) AS n, SUM(a.amount) AS spend FROM publisher p "
                  "JOIN advertiser a ON p.email = a.email WHERE a.amount = :x GROUP BY p.region",
            [{"name": "x", "type": "number"}])
    qid = add(room, "SELECT p.region, COUNT(*) AS n FROM publisher p GROUP BY p.region")
    rows = room.owner.run_result(room.id, room.owner.run(room.id, qid).id).rows
    assert sorted(r[1] for r in rows) == [100, 100, 100, 100]


def test_counting_matched_identities_still_works(exact_room, dp_room):
    """The rule that refuses identity expressions leaves joins and counts alone (and an exact
    room, which takes no WITH clause, counts the same join written flat)."""
    room = exact_room
    qid = add(room, "SELECT p.region, COUNT(DISTINCT p.email) AS reach FROM publisher p "
                    "JOIN advertiser a ON p.email = a.email GROUP BY p.region")
    rows = room.owner.run_result(room.id, room.owner.run(room.id, qid).id).rows
    assert {r[0]: r[1] for r in rows} == {"north": 100, "east": 100}
    report = dp_room.owner.check_question(
        dp_room.id, "q", "WITH m AS (SELECT p.email, p.region FROM publisher p JOIN advertiser a "
                         "ON p.email = a.email WHERE p.email IS NOT NULL) "
                         "SELECT m.region, COUNT(DISTINCT m.email) AS reach FROM m GROUP BY m.region")
    assert report.ok, report.violations


def test_user_list_questions_are_not_runnable_as_aggregates(dp_room):
    room = dp_room
    q = room.owner.create_question(room.id, "audience", "SELECT p.email FROM publisher p JOIN "
                                   "advertiser a ON p.email = a.email", kind="user_list")
    room.owner.add_question(room.id, q.id)
    with pytest.raises(wb.errors.InvalidInput):
        room.owner.run(room.id, q.id)
    assert room.owner.runs(room.id) == [] or all(r.status != "succeeded"
                                                 for r in room.owner.runs(room.id))


def test_a_known_target_cannot_be_located_in_a_dp_room(dp_room):
    """Even the allowed filters leave one person's presence under noise: with DP on, a target
    hashed by the attacker cannot be used in the SQL at all."""
    room = dp_room
    with pytest.raises(wb.errors.RuleViolation):
        add(room, "SELECT p.region, COUNT(*) AS n FROM publisher p WHERE p.email = :who "
                  "GROUP BY p.region", [{"name": "who", "type": "one_of",
                                         "choices": [hashed("user0@example.com")]}])

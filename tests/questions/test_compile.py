"""The compile step and the engine on real DuckDB tables: bounding, clamping, keys, parameters."""

from __future__ import annotations

import duckdb
import pytest

from tests.questions.conftest import bindings
from workbench.engine import execute
from workbench.errors import InvalidInput, RuleViolation
from workbench.privacy import l1_sensitivity
from workbench.questions import Parameter, Question
from workbench.questions.compile import compile_question

Q = """
SELECT p.region, p.age_band, COUNT(DISTINCT p.email) AS reach, COUNT(*) AS rows_,
       SUM(a.amount) AS spend
FROM publisher p JOIN advertiser a ON p.email = a.email
GROUP BY p.region, p.age_band
"""


def _db(extra_identity_rows: int = 0) -> duckdb.DuckDBPyConnection:
    """100 users, one row each side; optionally one heavy identity 'x' on both sides."""
    con = duckdb.connect()
    con.execute("""CREATE TABLE pub AS SELECT 'u' || i AS email_sha, NULL AS phone,
        CASE WHEN i % 2 = 0 THEN 'north' ELSE 'south' END AS region,
        CASE WHEN i % 3 = 0 THEN '35+' ELSE '18-34' END AS age, 'c' AS city, 1 AS income
        FROM range(100) t(i)""")
    con.execute("""CREATE TABLE adv AS SELECT 'u' || i AS em, (i % 50) * 1.0 AS amt,
        'k' AS sku, i AS day FROM range(100) t(i)""")
    if extra_identity_rows:
        con.execute("""INSERT INTO pub SELECT 'x', NULL,
            CASE WHEN i % 2 = 0 THEN 'north' ELSE 'south' END,
            CASE WHEN i % 3 = 0 THEN '35+' ELSE '18-34' END, 'c', 1 FROM range(?) t(i)""",
                    [extra_identity_rows])
        con.execute("INSERT INTO adv SELECT 'x', 1000.0, 'k', i FROM range(?) t(i)",
                    [extra_identity_rows])
    return con


def _vectors(con: duckdb.DuckDBPyConnection, q: Question) -> dict[str, list[int]]:
    return execute(con, compile_question(q, bindings(), {})).vectors


@pytest.mark.parametrize(("max_rows", "max_groups"), [(1, 1), (3, 1), (2, 4), (5, 3)])
def test_one_heavy_identity_moves_each_vector_by_at_most_its_sensitivity(max_rows, max_groups):
    q = Question(name="q", sql=Q, max_rows=max_rows, max_groups=max_groups)
    base = _vectors(_db(), q)
    heavy = _vectors(_db(extra_identity_rows=40), q)
    compiled = compile_question(q, bindings(), {})
    for agg in compiled.aggregates:
        moved = sum(abs(a - b) for a, b in zip(base[agg.name], heavy[agg.name], strict=True))
        kind = "count" if agg.kind == "count" else agg.kind
        bound = l1_sensitivity(kind, max_rows=max_rows, max_groups=max_groups,
                               **({"lower": agg.lower, "upper": agg.upper, "scale": agg.scale}
                                  if agg.kind == "sum" else {}))
        assert 0 < moved <= bound, (agg.name, moved, bound)


def test_sum_is_clamped_and_in_fixed_point():
    q = Question(name="q", sql="""SELECT p.region, SUM(a.amount) AS spend
        FROM publisher p JOIN advertiser a ON p.email = a.email GROUP BY p.region""")
    compiled = compile_question(q, bindings(), {})
    (spend,) = compiled.aggregates
    assert (spend.lower, spend.upper, spend.scale) == (0.0, 100.0, 100)
    con = _db(extra_identity_rows=1)
    exact = execute(con, compiled)
    plain = dict(con.execute("""SELECT p.region, SUM(LEAST(GREATEST(a.amt, 0), 100)) * 100
        FROM pub p JOIN adv a ON p.email_sha = a.em GROUP BY 1""").fetchall())
    assert dict(zip([k[0] for k in exact.keys], exact.vectors["spend"], strict=True)) == \
        {k: int(v) for k, v in plain.items()}


def test_public_keys_release_empty_groups_in_key_order():
    q = Question(name="q", sql="""SELECT p.region, p.age_band, COUNT(*) AS n FROM publisher p
        WHERE p.region = 'north' GROUP BY p.region, p.age_band""")
    compiled = compile_question(q, bindings(), {})
    assert compiled.key_values == (("north", "18-34"), ("north", "35+"), ("south", "18-34"),
                                   ("south", "35+"))
    exact = execute(_db(), compiled)
    assert exact.keys == list(compiled.key_values)
    assert exact.vectors["n"][2:] == [0, 0]


def test_data_dependent_keys_are_returned_with_unit_counts_for_a_threshold():
    q = Question(name="q", sql="SELECT p.city, COUNT(*) AS n FROM publisher p GROUP BY p.city")
    compiled = compile_question(q, bindings(), {})
    assert compiled.key_values is None
    exact = execute(_db(), compiled)
    assert exact.keys == [("c",)] and exact.units == [100]


def test_dp_joins_must_match_identities():
    q = Question(name="q", sql="""WITH x AS (SELECT a.email AS e, a.amount FROM advertiser a)
        SELECT p.region, SUM(x.amount) AS s FROM publisher p JOIN x ON p.email = x.e
        GROUP BY p.region""")
    compile_question(q, bindings(), {})  # identity through a CTE is fine
    b = bindings()
    b["advertiser"].rules.columns["sku"] = type(b["advertiser"].rules.columns["em"])(
        name="sku", join=True)
    q2 = Question(name="q", sql="""SELECT p.region, SUM(a.amount) AS s FROM publisher p
        JOIN advertiser a ON p.email = a.sku GROUP BY p.region""")
    with pytest.raises(RuleViolation, match="join on the identity"):
        compile_question(q2, b, {})


def test_exact_mode_reports_distinct_units_for_k_min():
    compiled = compile_question(Question(name="q", sql=Q), bindings(), {}, mode="exact")
    exact = execute(_db(extra_identity_rows=5), compiled)
    # 100 one-group users plus the heavy identity in all four groups
    assert sum(exact.units) == 104


@pytest.mark.parametrize("hostile", [
    "north' OR '1'='1", "'; DROP TABLE pub; --", "north\"; SELECT * FROM adv; --",
    "$p_region", ":region", "north') UNION SELECT 1 --",
])
def test_hostile_parameter_values_are_inert(hostile):
    q = Question(name="q", sql="""SELECT p.region, COUNT(*) AS n FROM publisher p
        WHERE p.region = :region GROUP BY p.region""",
                 parameters=(Parameter(name="region", type="text", pattern=r"[^\n]{1,100}"),))
    con = _db()
    compiled = compile_question(q, bindings(), {"region": hostile})
    benign = compile_question(q, bindings(), {"region": "north"})
    assert compiled.sql == benign.sql and compiled.params["p_region"] == hostile
    exact = execute(con, compiled)
    assert exact.vectors["n"] == [0, 0]
    assert con.execute("SELECT count(*) FROM pub").fetchone() == (100,)


def test_parameter_types_are_checked_before_anything_runs():
    q = Question(name="q", sql="""SELECT p.region, COUNT(*) AS n FROM publisher p JOIN advertiser a
        ON p.email = a.email WHERE a.day BETWEEN :days_start AND :days_end AND p.region = :r
        GROUP BY p.region""", parameters=(
        Parameter(name="days", type="date_range"),
        Parameter(name="r", type="one_of", choices=("north", "south"))))
    with pytest.raises(InvalidInput, match="not one of"):
        compile_question(q, bindings(), {"days": ["2024-01-01", "2024-02-01"], "r": "east"})
    with pytest.raises(InvalidInput, match="start .* is after end"):
        compile_question(q, bindings(), {"days": ["2024-03-01", "2024-02-01"], "r": "north"})
    with pytest.raises(InvalidInput, match="unknown parameters"):
        compile_question(q, bindings(), {"days": ["2024-01-01", "2024-02-01"], "r": "north",
                                         "x": 1})


def test_ungrouped_count_counts_each_person_once_by_default():
    q = Question(name="q", sql="""SELECT COUNT(*) AS n FROM publisher p
        JOIN advertiser a ON p.email = a.email""")
    exact = execute(_db(extra_identity_rows=7), compile_question(q, bindings(), {}))
    assert exact.keys == [()] and exact.vectors["n"] == [101]

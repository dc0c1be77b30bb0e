"""One verdict (issue 10.3) and total queries (10.1): a question that passes Check compiles and
runs, on empty tables and on adversarial data, in both release modes.

Questions are drawn by Hypothesis from a grammar of the supported shapes (joins, a WITH clause,
group keys, aggregates, filters that divide by zero, cast text to numbers, compare text with
numbers, overflow integers, take logarithms of negatives...). Whatever the checks accept must
never fail on a data value: success may not depend on the private data.
"""

from __future__ import annotations

from typing import Any

import duckdb
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.questions.test_neighbours import database, typed_bindings
from workbench.engine import execute
from workbench.questions import Parameter, Question
from workbench.questions.checks import violations
from workbench.questions.compile import compile_question

KEYS = ["p.region", "p.age_band", "p.city"]
AGGREGATES = ["COUNT(*)", "COUNT(DISTINCT p.email)", "SUM(x.amount)", "AVG(x.amount)",
              "COUNT(x.sku)", "SUM(p.pageviews)", "AVG(p.pageviews)"]
FILTERS = [
    "p.region = 'north'", "p.region IN ('north', 'south')", "p.city = 3", "p.city IN (1, 2)",
    "x.amount / x.day > 1", "x.day // 0 = 1", "x.day % 0 = 1", "CAST(p.city AS INTEGER) > 2",
    "CAST(x.amount AS BIGINT) > 2", "x.amount * 1e308 * 1e308 > 1", "x.day * 2147483647 > 1",
    "-x.day < 5", "abs(x.day - 2147483647) > 0", "round(x.amount, 2) > 1",
    "lower(p.city) LIKE 'c%'", "p.income = 'abc'", "COALESCE(x.amount, 0) > 1",
    "CASE WHEN x.day = 0 THEN 1 / x.day ELSE 0 END > 0", "x.amount >= :lo", "x.day = '1'",
    "NOT (p.region = 'south')", "x.sku LIKE 3", "ln(x.amount) > 0", "sqrt(x.amount) > 1",
    "make_date(2024, x.day, 1) > DATE '2024-01-01'", "p.city IS NOT NULL",
    "length(p.city) > 1", "greatest(x.amount, x.day) > 1", "x.amount BETWEEN 'a' AND 'b'",
]
SOURCES = [
    "advertiser x",
    "(SELECT a.email, a.amount, a.day, a.sku FROM advertiser a) x",
]


@st.composite
def questions(draw: Any) -> tuple[Question, str, dict[str, Any]]:
    keys = draw(st.lists(st.sampled_from(KEYS), max_size=2, unique=True))
    aggs = draw(st.lists(st.sampled_from(AGGREGATES), min_size=1, max_size=3, unique=True))
    filters = draw(st.lists(st.sampled_from(FILTERS), max_size=3, unique=True))
    source = draw(st.sampled_from(SOURCES))
    join = draw(st.sampled_from(["JOIN", "LEFT JOIN"]))
    outputs = keys + [f"{a} AS v{i}" for i, a in enumerate(aggs)]
    sql = f"SELECT {', '.join(outputs)} FROM publisher p {join} {source} ON p.email = x.email"
    if filters:
        sql += " WHERE " + " AND ".join(filters)
    if keys:
        sql += " GROUP BY " + ", ".join(keys)
    params = (Parameter(name="lo", type="number"),) if ":lo" in sql else ()
    question = Question(name="drawn", sql=sql, parameters=params,
                        max_rows=draw(st.integers(1, 4)), max_groups=draw(st.integers(1, 3)))
    mode = draw(st.sampled_from(["dp", "exact"]))
    values = {"lo": draw(st.sampled_from([0, -1e308, 1e308]))} if params else {}
    return question, mode, values


def _empty() -> duckdb.DuckDBPyConnection:
    con = database(heavy=False)
    for table in ("pub", "adv", "srv"):
        con.execute(f"DELETE FROM {table}")
    return con


def _adversarial() -> duckdb.DuckDBPyConnection:
    con = database(heavy=True)
    con.execute("""INSERT INTO adv VALUES ('u1', 'inf'::DOUBLE, 'k1', 2147483647, 'nan'::DOUBLE),
        ('u2', '-inf'::DOUBLE, NULL, -2147483648, NULL), ('u3', 0, 'k2', 0, 0)""")
    con.execute("""INSERT INTO pub VALUES ('u1', NULL, 'north', '35+', 'abc', 'nan'::DOUBLE,
        NULL, 2147483647), ('u2', NULL, NULL, NULL, NULL, NULL, NULL, -2147483648)""")
    return con


@pytest.fixture(scope="module")
def engines() -> dict[str, duckdb.DuckDBPyConnection]:
    return {"empty": _empty(), "adversarial": _adversarial()}


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(drawn=questions())
def test_a_question_that_passes_check_runs_on_any_data(
        drawn: tuple[Question, str, dict[str, Any]],
        engines: dict[str, duckdb.DuckDBPyConnection]) -> None:
    question, mode, values = drawn
    found = violations(question, typed_bindings(), strict=True, mode=mode)  # type: ignore[arg-type]
    if found:
        return  # refused before any data is read: nothing to run
    compiled = compile_question(question, typed_bindings(), values, mode=mode)  # type: ignore[arg-type]
    for name, con in engines.items():
        result = execute(con.cursor(), compiled)
        assert len(result.units) == len(result.keys), name


def test_the_grammar_reaches_both_verdicts() -> None:
    """Guard against a vacuous property: both accepted and refused shapes occur."""
    accepted = refused = 0
    for filters in FILTERS:
        q = Question(name="q", sql=f"""SELECT p.region, COUNT(*) AS n FROM publisher p
            JOIN advertiser x ON p.email = x.email WHERE {filters} GROUP BY p.region""",
                     parameters=(Parameter(name="lo", type="number"),) if ":lo" in filters
                     else ())
        if violations(q, typed_bindings(), strict=True, mode="dp"):
            refused += 1
        else:
            accepted += 1
    assert accepted >= 15 and refused >= 3, (accepted, refused)

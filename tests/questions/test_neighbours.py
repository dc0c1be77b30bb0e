"""The neighbouring-dataset harness (issue 10.2): adding one person moves every released vector by
at most the plan's sensitivity, for every SQL shape the checks accept.

Each passing shape of the check fixtures (and each demo question) is compiled in DP mode and run
on real DuckDB tables twice: without and with one heavy person, who has many rows in both
parties' data, in every group, with extreme, negative, NaN and NULL values. The exact vectors
before noise (each aggregate, and the per-group count of people the crowd-size rule reads) may
move by at most their L1 sensitivity, summed over all released groups.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import duckdb
import pytest
import yaml

from tests.questions.conftest import bindings
from workbench import demo
from workbench.engine import execute
from workbench.privacy import l1_sensitivity
from workbench.questions import DatasetBinding, Parameter, Question
from workbench.questions.checks import violations
from workbench.questions.compile import compile_question

FIXTURES = Path(__file__).parent / "fixtures"
TYPES = {
    "pub": {"email_sha": "VARCHAR", "phone": "VARCHAR", "region": "VARCHAR", "age": "VARCHAR",
            "city": "VARCHAR", "income": "DOUBLE", "zip": "VARCHAR", "pageviews": "INTEGER"},
    "adv": {"em": "VARCHAR", "amt": "DOUBLE", "sku": "VARCHAR", "day": "INTEGER",
            "big": "DOUBLE"},
    "srv": {"answer": "VARCHAR"},
}
BOUNDS = [(1, 1), (3, 2)]


def typed_bindings() -> dict[str, DatasetBinding]:
    """The fixture bindings with the column types a room's provisioned views report."""
    return {m: dataclasses.replace(b, types=TYPES[b.view]) for m, b in bindings().items()}


def database(heavy: bool) -> duckdb.DuckDBPyConnection:
    """300 people with uneven rows and NULLs; optionally one heavy person 'x' on both sides."""
    con = duckdb.connect()
    con.execute("""CREATE TABLE pub AS SELECT
        CASE WHEN i % 97 = 0 THEN NULL ELSE 'u' || (i % 300) END AS email_sha,
        'p' || i AS phone,
        CASE i % 3 WHEN 0 THEN 'north' WHEN 1 THEN 'south' ELSE NULL END AS region,
        CASE WHEN i % 4 = 0 THEN '35+' ELSE '18-34' END AS age,
        'c' || (i % 5) AS city, CAST((i % 7) * 1.5 AS DOUBLE) AS income, 'z' || (i % 2) AS zip,
        CAST(i % 70 AS INTEGER) AS pageviews
        FROM range(450) t(i)""")
    con.execute("""CREATE TABLE adv AS SELECT 'u' || (i % 200) AS em,
        CAST(CASE WHEN i % 11 = 0 THEN NULL WHEN i % 13 = 0 THEN -5 ELSE i % 150 END AS DOUBLE)
            AS amt, 'k' || (i % 3) AS sku, CAST(i % 9 AS INTEGER) AS day, CAST(i AS DOUBLE) AS big
        FROM range(350) t(i)""")
    con.execute("CREATE TABLE srv AS SELECT 'yes' AS answer")
    if heavy:
        con.execute("""INSERT INTO pub SELECT 'x', 'px',
            CASE i % 2 WHEN 0 THEN 'north' ELSE 'south' END,
            CASE WHEN i % 2 = 0 THEN '35+' ELSE '18-34' END, 'c' || (i % 7), 1e12::DOUBLE,
            'z' || (i % 3), CAST(100000 AS INTEGER) FROM range(60) t(i)""")
        con.execute("""INSERT INTO adv SELECT 'x',
            CASE i % 4 WHEN 0 THEN 1e300::DOUBLE WHEN 1 THEN -1e300::DOUBLE
                 WHEN 2 THEN 'nan'::DOUBLE ELSE NULL END,
            'k' || (i % 3), CAST(i AS INTEGER), 1e300::DOUBLE FROM range(80) t(i)""")
    return con


def _shapes() -> list[Any]:
    cases = []
    for path in sorted(FIXTURES.glob("*.yaml")):
        for case in yaml.safe_load(path.read_text()):
            if case["expect"] or case.get("kind", "analytical") != "analytical" \
                    or case.get("mode") == "exact":
                continue
            cases.append(pytest.param(case["sql"], case.get("parameters", []),
                                      case.get("values", {}), id=f"{path.stem}-{case['id']}"))
    cases += [
        pytest.param(demo.REACH_SQL, [{"name": "min_amount", "type": "number"}],
                     {"min_amount": 5}, id="demo-reach-and-spend"),
        pytest.param(demo.MATCHED_SQL, [], {}, id="demo-matched"),
        pytest.param(demo.PAGEVIEWS_SQL, [{"name": "region", "type": "one_of",
                                           "choices": ["north", "south"]}],
                     {"region": "north"}, id="demo-pageviews"),
    ]
    return cases


def _table(result: Any, names: list[str]) -> dict[tuple[Any, ...], list[int]]:
    return {tuple(key): [int(result.vectors[n][i]) for n in names] + [int(result.units[i])]
            for i, key in enumerate(result.keys)}


@pytest.mark.parametrize(("max_rows", "max_groups"), BOUNDS, ids=[f"rows{r}-groups{g}"
                                                                   for r, g in BOUNDS])
@pytest.mark.parametrize(("sql", "parameters", "values"), _shapes())
def test_one_person_moves_each_vector_by_at_most_its_sensitivity(
        sql: str, parameters: list[dict[str, Any]], values: dict[str, Any], max_rows: int,
        max_groups: int) -> None:
    question = Question(name="shape", sql=sql, max_rows=max_rows, max_groups=max_groups,
                        parameters=tuple(Parameter(**p) for p in parameters))
    assert violations(question, typed_bindings(), strict=True, mode="dp") == []
    compiled = compile_question(question, typed_bindings(), values, mode="dp")
    names, moved = _moved(compiled)
    bounds = [b for agg in compiled.aggregates for b in _sensitivities(agg, max_rows, max_groups)]
    bounds.append(l1_sensitivity("count_distinct", max_rows=max_rows, max_groups=max_groups))
    report = dict(zip(names + ["people"], zip(moved, bounds, strict=True), strict=True))
    assert all(m <= b for m, b in zip(moved, bounds, strict=True)), report


def _moved(compiled: Any) -> tuple[list[str], list[int]]:
    """Each vector's L1 distance (and the people count's) between the two databases."""
    names = [v for a in compiled.aggregates for v in a.vectors]
    without = _table(execute(database(heavy=False), compiled), names)
    with_x = _table(execute(database(heavy=True), compiled), names)
    zero = [0] * (len(names) + 1)
    keys = set(without) | set(with_x)
    return names, [sum(abs(with_x.get(k, zero)[j] - without.get(k, zero)[j]) for k in keys)
                   for j in range(len(names) + 1)]


@pytest.mark.parametrize("sql", [demo.MATCHED_SQL, """SELECT p.city, COUNT(*) AS n,
    SUM(p.pageviews) AS s FROM publisher p JOIN advertiser a ON p.email = a.email GROUP BY p.city"""])
def test_the_heavy_person_is_seen_and_bounded_exactly(sql: str) -> None:
    """Not a vacuous harness: the heavy person moves these vectors, by exactly one person's
    bounded share where that is known (one matched person counted once)."""
    compiled = compile_question(Question(name="q", sql=sql), typed_bindings(), {}, mode="dp")
    _, moved = _moved(compiled)
    assert all(m > 0 for m in moved), moved
    if sql == demo.MATCHED_SQL:
        assert moved == [1, 1]


def _sensitivities(agg: Any, max_rows: int, max_groups: int) -> list[int]:
    """One bound per vector: an average is released as a clamped sum and a count (those of its
    own: one the question releases anyway, SUM of the column or COUNT(*), is reused)."""
    if agg.kind in ("sum", "avg"):
        total = l1_sensitivity("sum", max_rows=max_rows, max_groups=max_groups, lower=agg.lower,
                               upper=agg.upper, scale=agg.scale)
        count = l1_sensitivity("count", max_rows=max_rows, max_groups=max_groups)
        own = {"sum": total, "count": count}
        return [total] if agg.kind == "sum" else [own[v.rsplit("__", 1)[1]] for v in agg.vectors]
    return [l1_sensitivity(agg.kind, max_rows=max_rows, max_groups=max_groups)]

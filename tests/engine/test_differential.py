"""DuckDB and Spark return the same exact vectors for the same compiled question.

Every check fixture that compiles, and the demo questions, run on both engines over the same
Parquet files (written by DuckDB), in DP mode and in exact mode; the vectors must be equal.

The data makes every protection bite: persons with rows in several groups (the group bound
chooses), several rows per group (the row bound chooses), values below and above the clamping
bounds, NULL amounts, empty public-key groups and an input k-min filter. The per-person choice
is made by the portable rendering on both sides (SHA-256 of unit, keys and salt), so the same
salt keeps the same groups; rows of one person within one group are copies, because the order
among them is not fixed on either engine. Fixed-point sums and counts must be identical; exact
mode AVG over DOUBLE may differ in the last bits (summation order), hence a 1e-9 relative
tolerance for floats only.
"""

from __future__ import annotations

import math
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import duckdb
import pytest
import yaml

from tests.questions.conftest import ADVERTISER, PUBLISHER
from workbench import demo
from workbench.data.rules import AnalysisRules, ColumnRule
from workbench.engine import ExactResult, execute
from workbench.engine.dialect import render
from workbench.engine.spark_engine import run_sql
from workbench.errors import InvalidInput, RuleViolation
from workbench.questions import DatasetBinding, Parameter, Question
from workbench.questions.compile import compile_question

FIXTURES = Path(__file__).resolve().parents[1] / "questions" / "fixtures"
PUB_ROWS = """
SELECT sha256('u' || (i // 3)) AS email_sha, NULL::VARCHAR AS phone,
       ['north', 'south', 'east'][1 + (i % 3)] AS region,
       CASE WHEN (i // 3) % 3 = 0 THEN '35+' ELSE '18-34' END AS age,
       'c' || ((i // 3) % 4) AS city, (i // 3) % 7 AS income,
       ['18-34', '35-54', '55+'][1 + ((i // 3) % 3)] AS age_band,
       ((i // 3) % 50)::BIGINT AS pageviews
FROM range(600) t(i) WHERE i % 3 < 1 + (i // 3) % 3
"""
ADV_ROWS = """
SELECT sha256('u' || u) AS em,
       CASE WHEN u % 17 = 0 THEN NULL ELSE ((u % 23) * 7.5 - 20)::DECIMAL(12, 2) END AS amt,
       'k' || (u % 3) AS sku, u % 5 AS day
FROM range(260) t(u), range(3) c(copy) WHERE copy < 1 + u % 3
"""


@pytest.fixture(scope="module")
def parquet(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    base = tmp_path_factory.mktemp("differential")
    con = duckdb.connect()
    out = {}
    for name, sql in (("pub", PUB_ROWS), ("adv", ADV_ROWS)):
        path = str(base / f"{name}.parquet")
        con.execute(f"COPY ({sql}) TO '{path}' (FORMAT parquet)")
        out[name] = path
    con.close()
    return out


@pytest.fixture(scope="module")
def duck(parquet: dict[str, str]) -> duckdb.DuckDBPyConnection:
    con = duckdb.connect()
    for name, path in parquet.items():
        con.execute(f"CREATE VIEW {name} AS SELECT * FROM read_parquet('{path}')")
    return con


@pytest.fixture(scope="module")
def spark_views(spark: Any, parquet: dict[str, str]) -> Any:
    for name, path in parquet.items():
        spark.read.parquet(path).createOrReplaceTempView(name)
    return spark


def bindings() -> dict[str, DatasetBinding]:
    """The check fixtures' bindings, plus demo field names and an input k-min on city."""
    pub_cols = dict(PUBLISHER.columns)
    pub_cols["city"] = ColumnRule(name="city", group_by=True, input_k_min=30)
    pub_cols["age_band"] = ColumnRule(name="age_band", group_by=True,
                                      public_values=tuple(demo.BANDS))
    pub_cols["pageviews"] = ColumnRule(name="pageviews", aggregations=frozenset({"SUM", "AVG"}),
                                       lower=0, upper=40)
    pub_cols["region"] = ColumnRule(name="region", group_by=True,
                                    public_values=("north", "south", "east", "west"))
    publisher = AnalysisRules(dataset_id="pub", identity="email_sha", pii=PUBLISHER.pii,
                              columns=pub_cols)
    return {
        "publisher": DatasetBinding(
            macro="publisher", view="pub", rules=publisher,
            fields={"email": "email_sha", "phone": "phone", "region": "region", "age_band": "age",
                    "city": "city", "income": "income", "pageviews": "pageviews"}),
        "advertiser": DatasetBinding(
            macro="advertiser", view="adv", rules=ADVERTISER,
            fields={"email": "em", "amount": "amt", "sku": "sku", "day": "day"}),
    }


def _fixture_questions() -> list[Any]:
    cases = []
    for path in sorted(FIXTURES.glob("*.yaml")):
        for case in yaml.safe_load(path.read_text()):
            if case.get("expect") or case.get("kind", "analytical") != "analytical":
                continue
            params = [Parameter(**p) for p in case.get("parameters", [])]
            question = Question(name=case["id"], sql=case["sql"], parameters=tuple(params),
                                max_rows=case.get("max_rows", 2), max_groups=case.get("max_groups", 2))
            cases.append(pytest.param(question, case.get("values", {}),
                                      id=f"{path.stem}-{case['id']}"))
    return cases


def _demo_questions() -> list[Any]:
    reach = Question(name="reach", sql=demo.REACH_SQL, parameters=(
        Parameter(name="min_amount", type="number", default=0),), max_rows=2, max_groups=2)
    return [
        pytest.param(reach, {"min_amount": 5}, id="demo-reach-and-spend"),
        pytest.param(Question(name="matched", sql=demo.MATCHED_SQL), {}, id="demo-matched"),
        pytest.param(Question(name="pageviews", sql=demo.PAGEVIEWS_SQL.replace(
            "p.region = :region", "p.region = 'north'")), {}, id="demo-pageviews"),
        pytest.param(Question(name="one-row", sql=demo.MATCHED_SQL, max_rows=1, max_groups=1),
                     {}, id="one-row-per-person"),
        pytest.param(Question(name="bounded", sql="""SELECT p.city, COUNT(*) AS n,
            SUM(a.amount) AS spend, AVG(a.amount) AS mean FROM publisher p
            JOIN advertiser a ON p.email = a.email GROUP BY p.city""", max_rows=1, max_groups=1),
                     {}, id="input-k-min-data-keys"),
    ]


def _same(a: ExactResult, b: ExactResult, public_keys: bool) -> None:
    def table(r: ExactResult) -> dict[tuple[Any, ...], tuple[Any, ...]]:
        rows = {}
        for i, key in enumerate(r.keys):
            rows[tuple(str(k) for k in key)] = tuple(v[i] for v in r.vectors.values()) + (r.units[i],)
        return rows

    left, right = table(a), table(b)
    assert left.keys() == right.keys()
    assert list(a.vectors) == list(b.vectors)
    for key in left:
        for x, y in zip(left[key], right[key], strict=True):
            if isinstance(x, float) or isinstance(y, float):
                assert x is not None and y is not None and math.isclose(x, y, rel_tol=1e-9), key
            else:
                assert x == y, (key, left[key], right[key])
    if public_keys:
        assert a.keys == b.keys  # public keys come back in key-list order on both


CASES = [(p, mode) for p in _fixture_questions() + _demo_questions() for mode in ("dp", "exact")]


@pytest.fixture(scope="module")
def spark_results(spark_views: Any) -> dict[tuple[str, str], tuple[Any, Any]]:
    """Every case's Spark result, computed concurrently (Spark plans each query on the driver,
    so a few at once keep both cores busy); an exception is kept and raised by its test."""
    jobs = {}
    for param, mode in CASES:
        question, values = param.values
        try:
            compiled = compile_question(question, bindings(), values, mode=mode)
        except (InvalidInput, RuleViolation):
            continue
        jobs[(param.id, mode)] = compiled

    def run(compiled: Any) -> Any:
        try:
            return run_sql(spark_views, compiled, render(compiled, "spark"))
        except Exception as e:  # handed to the test that owns the case
            return e

    with ThreadPoolExecutor(max_workers=4) as pool:
        # the compiled question travels with its result: its salt fixes the per-person choice
        return dict(zip(jobs, zip(jobs.values(), pool.map(run, jobs.values()), strict=True)))


@pytest.mark.parametrize(("case", "mode"), [pytest.param(p, m, id=f"{p.id}-{m}") for p, m in CASES])
def test_both_engines_return_the_same_exact_vectors(case: Any, mode: str, duck: Any,
                                                    spark_results: dict[tuple[str, str], tuple[Any, Any]]) -> None:
    if (case.id, mode) not in spark_results:
        question, values = case.values
        with pytest.raises((InvalidInput, RuleViolation)) as refused:
            compile_question(question, bindings(), values, mode=mode)  # type: ignore[arg-type]
        pytest.skip(f"does not compile in {mode} mode: {refused.value}")
    compiled, on_spark = spark_results[(case.id, mode)]
    on_duckdb = execute(duck, compiled, sql=render(compiled, "duckdb"))
    if isinstance(on_spark, Exception):
        raise on_spark
    assert on_duckdb.keys, "the data should give every question some groups"
    _same(on_duckdb, on_spark, compiled.key_values is not None)


def test_portable_choice_bounds_contributions_like_the_default() -> None:
    """DuckDB's default rendering is untouched; the portable one differs only in the hash."""
    compiled = compile_question(_demo_questions()[0].values[0], bindings(), {"min_amount": 5})
    assert "HASH(" in compiled.sql and "SHA256(" not in compiled.sql
    portable = render(compiled, "duckdb")
    assert "SHA256(" in portable and "HASH(" not in portable
    assert portable.replace(" ", "") != compiled.sql.replace(" ", "")

"""Question shapes an adversarial analyst would try, over the live service: each one is refused by
a named check before any data is read (or does not parse), and what the checks accept runs on
hostile data without failing (issues 10.1-10.3).
"""

from __future__ import annotations

import pandas as pd
import pytest

import workbench as wb
from tests.runs.room import build_room, publisher_frame
from tests.security.conftest import add

#: shape -> (SQL, the rule that must name it; None when the SQL does not even parse)
SHAPES = {
    "uncorrelated EXISTS": ("SELECT p.region, COUNT(*) AS n FROM publisher p WHERE EXISTS "
                            "(SELECT 1 FROM advertiser a WHERE a.amount > 249) GROUP BY p.region",
                            "bounded_references"),
    "correlated NOT EXISTS": ("SELECT p.region, COUNT(*) AS n FROM publisher p WHERE NOT EXISTS "
                              "(SELECT 1 FROM advertiser a WHERE a.email = p.email) "
                              "GROUP BY p.region", "bounded_references"),
    "IN subquery": ("SELECT p.region, COUNT(*) AS n FROM publisher p WHERE p.email IN "
                    "(SELECT a.email FROM advertiser a) GROUP BY p.region", "bounded_references"),
    "ANY subquery": ("SELECT p.region, COUNT(*) AS n FROM publisher p WHERE p.email = ANY "
                     "(SELECT a.email FROM advertiser a) GROUP BY p.region", "bounded_references"),
    "scalar subquery": ("SELECT p.region, COUNT(*) AS n FROM publisher p WHERE "
                        "(SELECT SUM(a.amount) FROM advertiser a) > 100 GROUP BY p.region",
                        "bounded_references"),
    "recursive CTE": ("WITH RECURSIVE t AS (SELECT p.region, p.email FROM publisher p) "
                      "SELECT t.region, COUNT(*) AS n FROM t GROUP BY t.region",
                      "bounded_references"),
    "GROUP BY in a CTE": ("WITH t AS (SELECT p.region, p.email FROM publisher p "
                          "GROUP BY p.region, p.email) SELECT t.region, COUNT(*) AS n FROM t "
                          "GROUP BY t.region", "bounded_references"),
    "DISTINCT ON in a derived table": ("SELECT t.region, COUNT(*) AS n FROM (SELECT DISTINCT ON "
                                       "(p.region) p.region, p.email FROM publisher p) t "
                                       "GROUP BY t.region", "bounded_references"),
    "ROLLUP": ("SELECT p.region, COUNT(*) AS n FROM publisher p GROUP BY ROLLUP (p.region)",
               "plain_grouping"),
    "CUBE": ("SELECT p.region, COUNT(*) AS n FROM publisher p GROUP BY CUBE (p.region)",
             "plain_grouping"),
    "GROUPING SETS": ("SELECT p.region, COUNT(*) AS n FROM publisher p "
                      "GROUP BY GROUPING SETS ((p.region), ())", "plain_grouping"),
    "GROUP BY ALL": ("SELECT p.region, COUNT(*) AS n FROM publisher p GROUP BY ALL",
                     "plain_grouping"),
    "window": ("SELECT p.region, COUNT(*) OVER (PARTITION BY p.region) AS n FROM publisher p",
               "no_exact_ordering"),
    "QUALIFY": ("SELECT p.region, COUNT(*) AS n FROM publisher p GROUP BY p.region "
                "QUALIFY row_number() OVER (ORDER BY COUNT(*)) = 1", "no_exact_ordering"),
    "ORDER BY exact count": ("SELECT p.region, COUNT(*) AS n FROM publisher p GROUP BY p.region "
                             "ORDER BY COUNT(*) DESC", "no_exact_ordering"),
    "LIMIT": ("SELECT p.region, COUNT(*) AS n FROM publisher p GROUP BY p.region LIMIT 1",
              "no_exact_ordering"),
    "random()": ("SELECT p.region, COUNT(*) AS n FROM publisher p WHERE random() < 0.5 "
                 "GROUP BY p.region", "total_expressions"),
    "now()": ("SELECT p.region, COUNT(*) AS n FROM publisher p WHERE now() > "
              "TIMESTAMP '2020-01-01' GROUP BY p.region", "no_table_functions"),
    "current_date": ("SELECT p.region, COUNT(*) AS n FROM publisher p WHERE current_date > "
                     "DATE '2020-01-01' GROUP BY p.region", "total_expressions"),
    "generate_series as a table": ("SELECT COUNT(*) AS n FROM generate_series(1, 10)",
                                   "no_table_functions"),
    "range() inside an expression": ("SELECT p.region, COUNT(*) AS n FROM publisher p JOIN "
                                     "advertiser a ON p.email = a.email WHERE "
                                     "len(range(0, CAST(a.amount AS BIGINT))) > 1 "
                                     "GROUP BY p.region", "total_expressions"),
    "logarithm": ("SELECT p.region, COUNT(*) AS n FROM publisher p JOIN advertiser a ON "
                  "p.email = a.email WHERE ln(a.amount) > 1 GROUP BY p.region",
                  "total_expressions"),
    "square root": ("SELECT p.region, COUNT(*) AS n FROM publisher p JOIN advertiser a ON "
                    "p.email = a.email WHERE sqrt(a.amount - 100) > 1 GROUP BY p.region",
                    "total_expressions"),
    "regexp pattern from data": ("SELECT p.region, COUNT(*) AS n FROM publisher p "
                                 "WHERE regexp_matches(p.region, p.age_band) GROUP BY p.region",
                                 "total_expressions"),
    "repeat() grows with data": ("SELECT p.region, COUNT(*) AS n FROM publisher p JOIN "
                                 "advertiser a ON p.email = a.email WHERE repeat('x', "
                                 "CAST(a.amount AS BIGINT)) = 'x' GROUP BY p.region",
                                 "total_expressions"),
    "homoglyph macro (Cyrillic p)": ("SELECT p.region, COUNT(*) AS n FROM \u0440ublisher p "
                                     "GROUP BY p.region", "no_table_functions"),
    "quoted macro with a space": ('SELECT p.region, COUNT(*) AS n FROM "publisher " p '
                                  "GROUP BY p.region", "no_table_functions"),
    "schema-qualified macro": ("SELECT p.region, COUNT(*) AS n FROM main.publisher p "
                               "GROUP BY p.region", "no_table_functions"),
    "parameter as a group key": ("SELECT p.region, COUNT(*) AS n FROM publisher p "
                                 "GROUP BY p.region, :k", "allowed_outputs"),
    "parameter as ORDER BY": ("SELECT p.region, COUNT(*) AS n FROM publisher p "
                              "GROUP BY p.region ORDER BY :k", "no_exact_ordering"),
    "LATERAL": ("SELECT p.region, COUNT(*) AS n FROM publisher p, LATERAL (SELECT p.email) t "
                "GROUP BY p.region", "no_table_functions"),
    "PIVOT": ("PIVOT publisher ON region USING COUNT(*)", "single_select"),
}


@pytest.mark.parametrize(("sql", "rule"), SHAPES.values(), ids=SHAPES.keys())
def test_each_shape_is_refused_by_a_named_check(dp_room, sql, rule):
    params = [{"name": "k", "type": "text", "pattern": "[a-z]+"}] if ":k" in sql else []
    try:
        report = dp_room.owner.check_question(dp_room.id, "attack", sql, parameters=params)
    except wb.errors.InvalidInput:
        assert rule is None, "expected a named check, not a parse error"
        return
    assert not report.ok
    assert rule in {v.rule for v in report.violations}, report.violations
    with pytest.raises((wb.errors.RuleViolation, wb.errors.InvalidInput)):
        dp_room.owner.create_question(dp_room.id, "attack", sql, parameters=params)


TOTAL = {
    "division by zero": "x.amount / (x.amount - x.amount) > 1",
    "integer division and modulo by zero": "x.amount // 0 = 1 OR x.amount % 0 = 1",
    "text compared with a number": "p.region = 3",
    "text cast to a number": "CAST(p.age_band AS INTEGER) > 2",
    "overflowing arithmetic": "x.amount * 1e308 * 1e308 > 1",
    "number compared with text": "x.amount = 'abc'",
    "LIKE on a number": "x.amount LIKE 3",
}


@pytest.mark.parametrize("condition", TOTAL.values(), ids=TOTAL.keys())
def test_accepted_questions_never_fail_on_hostile_data(admin, make_org, condition):
    """Amounts of 1e300, -1e300 and 0 in the partner's data, a region that is not a number: the
    question passes the checks, so it must run (charged, released) whatever the values."""
    advertiser = pd.DataFrame({
        "email": [f"user{2 * i}@example.com" for i in range(60)],
        "amount": [[1e300, -1e300, 0.0, 12.5][i % 4] for i in range(60)],
    })
    room = build_room(admin, make_org, dp=True, k_min=1, publisher=publisher_frame(120),
                      advertiser=advertiser, epsilon_budget="100")
    qid = add(room, "SELECT p.region, COUNT(*) AS n, SUM(x.amount) AS s FROM publisher p "
                    f"JOIN advertiser x ON p.email = x.email WHERE {condition} GROUP BY p.region")
    run = room.owner.run(room.id, qid, epsilon="1")
    assert run.status == "succeeded", run
    assert room.owner.run_result(room.id, run.id).rows

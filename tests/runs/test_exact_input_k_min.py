"""An exact run's input k-min counts only the people the run may read: whether a group shows
must not depend on a person whose profile keeps them out of every exact result."""

from __future__ import annotations

import duckdb

from workbench.data.rules import AnalysisRules, ColumnRule
from workbench.questions import DatasetBinding
from workbench.questions.compile import compile_question
from workbench.questions.spec import Question
from workbench.runs.exact import Profile, restrict

RULES = AnalysisRules(dataset_id="pub", identity="email_sha", pii=frozenset({"email_sha"}), columns={
    "email_sha": ColumnRule(name="email_sha", join=True, aggregations=frozenset({"COUNT_DISTINCT"})),
    "region": ColumnRule(name="region", group_by=True, public_values=("north", "south"), input_k_min=10),
    "pageviews": ColumnRule(name="pageviews", aggregations=frozenset({"SUM", "AVG"}), lower=0, upper=60)})
BINDINGS = {"publisher": DatasetBinding(macro="publisher", view="pub", rules=RULES,
                                        fields={"email": "email_sha", "region": "region",
                                                "pageviews": "pageviews"})}
PROFILES = [Profile(dataset_id="pub", connection_id="c", view="pub", identity="email_sha",
                    values=("region",), presence=("pageviews",))]


def _released(target_region: str) -> list[tuple]:
    question = Question(name="x", sql="SELECT p.region, COUNT(*) AS n FROM publisher p GROUP BY p.region")
    compiled = restrict(compile_question(question, BINDINGS, {}, mode="exact"), PROFILES, 5)
    con = duckdb.connect()
    con.execute("CREATE TABLE pub (email_sha VARCHAR, region VARCHAR, pageviews INT)")
    rows = [(f"n{i}", "north", 1) for i in range(9)] + [(f"s{i}", "south", 1) for i in range(20)]
    rows.append(("TARGET", target_region, None))  # a profile of one: left out of every result
    con.executemany("INSERT INTO pub VALUES (?, ?, ?)", rows)
    return sorted(con.execute(compiled.sql, compiled.params).fetchall())


def test_a_left_out_person_does_not_decide_which_groups_show():
    assert _released("north") == _released("south") == [("south", 20, 20)]  # region, n, ids

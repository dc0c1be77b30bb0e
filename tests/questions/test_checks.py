"""Golden fixtures: one YAML file per rule, SQL in, expected violations out (rule, dataset, column)."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from tests.questions.conftest import bindings
from workbench.errors import RuleViolation
from workbench.questions import Parameter, Question
from workbench.questions.checks import CHECKS, check, violations

FIXTURES = Path(__file__).parent / "fixtures"
CASES = [
    (path.stem, case)
    for path in sorted(FIXTURES.glob("*.yaml"))
    for case in yaml.safe_load(path.read_text())
]


def fixture_question(case: dict) -> Question:
    """The question a fixture case describes (parameters and bounds optional)."""
    return Question(name=case["id"], sql=case["sql"], kind=case.get("kind", "analytical"),
                    parameters=tuple(Parameter(**p) for p in case.get("parameters", [])),
                    max_rows=case.get("max_rows", 1), max_groups=case.get("max_groups", 1))


def _key(v: dict) -> tuple:
    return (v["rule"], v.get("dataset") or "", v.get("column") or "")


@pytest.mark.parametrize(("rule", "case"), CASES, ids=[f"{r}:{c['id']}" for r, c in CASES])
def test_fixture(rule: str, case: dict) -> None:
    q = fixture_question(case)
    found = violations(q, bindings(), strict=True, mode=case.get("mode"))
    got = sorted(_key(v.to_dict()) for v in found)
    want = sorted(_key({"dataset": None, "column": None, **e}) for e in case["expect"])
    assert got == want, [v.message for v in found]
    for v in found:
        assert v.message and v.rule in {c.__name__ for c in CHECKS}


def test_every_rule_has_a_fixture_file() -> None:
    assert {c.__name__ for c in CHECKS} == {p.stem for p in FIXTURES.glob("*.yaml")}


def test_all_violations_reported_at_once_with_rule_dataset_and_column() -> None:
    q = Question(name="bad", sql="""
        SELECT p.phone, MAX(a.amount) AS top FROM publisher p JOIN advertiser a ON p.city = a.email
        GROUP BY p.phone HAVING COUNT(*) > 1 LIMIT 3""")
    with pytest.raises(RuleViolation, match=r"breaks \d+ analysis rule") as info:
        check(q, bindings(), strict=True)
    rules = {v["rule"] for v in info.value.violations}
    assert rules == {"join_columns", "identity_joins", "allowed_outputs", "no_pii",
                     "no_exact_ordering"}
    pii = next(v for v in info.value.violations if v["rule"] == "no_pii")
    assert (pii["dataset"], pii["column"]) == ("publisher", "phone")
    assert "never output" in pii["message"]


def test_save_time_check_skips_unmapped_macros_but_run_time_does_not() -> None:
    q = Question(name="q", sql="SELECT c.region, COUNT(*) AS n FROM crm c GROUP BY c.region")
    assert violations(q, bindings(), strict=False) == []
    assert [v.rule for v in violations(q, bindings(), strict=True)] == ["known_columns"]


def test_exact_rooms_refuse_extra_join_terms_even_on_joinable_columns() -> None:
    """Two joinable columns besides the identities: a DP room may join on them too, an exact room
    may not (the extra term keeps part of a crowd, and two results then differ by one person)."""
    import dataclasses

    from workbench.data.rules import ColumnRule

    both = bindings()
    for macro, column in (("publisher", "city"), ("advertiser", "day")):
        rules = both[macro].rules
        joinable = {**rules.columns, column: ColumnRule(name=column, join=True, group_by=True)}
        both[macro] = dataclasses.replace(both[macro], rules=dataclasses.replace(rules, columns=joinable))
    q = Question(name="on", sql="""
        SELECT p.region, COUNT(*) AS n FROM publisher p
        JOIN advertiser a ON p.email = a.email AND p.city = a.day GROUP BY p.region""")
    assert violations(q, both, strict=True, mode="dp") == []
    exact = violations(q, both, strict=True, mode="exact")
    assert [v.rule for v in exact] == ["exact_rooms"] and "p.city = a.day" in exact[0].message

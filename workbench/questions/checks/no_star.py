"""no_star: every output is named; ``SELECT *`` and ``t.*`` would project columns nobody chose."""

from __future__ import annotations

from sqlglot import exp

from workbench.questions.checks._base import CheckInput, Violation

RULE = "no_star"


def no_star(q: CheckInput) -> list[Violation]:
    """No star projections anywhere (COUNT(*) is fine)."""
    tree = q.parsed.tree or q.parsed.statements[0]
    out: list[Violation] = []
    for star in tree.find_all(exp.Star):
        parent = star.parent
        if isinstance(parent, exp.Count):
            continue
        if isinstance(parent, exp.Column):
            dataset = parent.table or None
            out.append(Violation(rule=RULE, dataset=dataset, message=(
                f"{parent.sql()} projects every column; name the columns you need")))
        else:
            out.append(Violation(rule=RULE, message=(
                "SELECT * projects every column; name the columns you need")))
    return out

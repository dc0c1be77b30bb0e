"""plain_grouping: GROUP BY lists its keys; ROLLUP, CUBE and GROUPING SETS put one person in
several released groups (a subtotal and its parts), which the per-person group bound does not
count, and GROUP BY ALL groups by whatever the outputs happen to be."""

from __future__ import annotations

from sqlglot import exp

from workbench.questions.checks._base import CheckInput, Violation

RULE = "plain_grouping"


def plain_grouping(q: CheckInput) -> list[Violation]:
    """No ROLLUP / CUBE / GROUPING SETS / GROUP BY ALL anywhere."""
    tree = q.parsed.tree or q.parsed.statements[0]
    out: list[Violation] = []
    for group in tree.find_all(exp.Group):
        if group.args.get("all"):
            out.append(Violation(rule=RULE, message=(
                "GROUP BY ALL is not allowed; list the group keys (GROUP BY p.region)")))
        for node in group.find_all(exp.Rollup, exp.Cube, exp.GroupingSets):
            name = {"groupingsets": "GROUPING SETS"}.get(node.key, node.key.upper())
            out.append(Violation(rule=RULE, message=(
                f"GROUP BY {name} releases subtotals that count each person in several groups; "
                "group by plain keys and add the subtotals up from the released table")))
    return out

"""no_exact_ordering: nothing chooses or orders rows by exact values before noise is added: no
HAVING, QUALIFY, LIMIT/OFFSET, window functions, and ORDER BY only on group keys."""

from __future__ import annotations

from sqlglot import exp

from workbench.questions.checks._base import CheckInput, Violation, group_keys, outer_select

RULE = "no_exact_ordering"


def no_exact_ordering(q: CheckInput) -> list[Violation]:
    """Filtering, ranking and limiting happen on released values, not inside the query."""
    tree = q.parsed.tree or q.parsed.statements[0]
    root = outer_select(q.parsed)
    out: list[Violation] = []
    for node in tree.walk():
        if isinstance(node, exp.Having):
            out.append(Violation(rule=RULE, message=(
                "HAVING filters on exact aggregates; remove it (k-min suppression applies, and "
                "you can filter the released table)")))
        elif isinstance(node, exp.Qualify):
            out.append(Violation(rule=RULE, message="QUALIFY filters on exact values; remove it"))
        elif isinstance(node, (exp.Limit, exp.Offset, exp.Fetch)):
            out.append(Violation(rule=RULE, message=(
                f"{node.key.upper()} keeps rows by exact order; remove it and take the top rows "
                "of the released table instead")))
        elif isinstance(node, exp.Window):
            out.append(Violation(rule=RULE, message=(
                f"the window function {node.this.sql(dialect='duckdb')} ranks or accumulates "
                "exact values; remove it")))
        elif isinstance(node, exp.Order):
            owner = node.parent
            if owner is not root:
                if isinstance(owner, exp.Select):
                    out.append(Violation(rule=RULE, message=(
                        "ORDER BY inside a WITH clause or subquery has no effect on the result; "
                        "remove it")))
                continue
            keys = group_keys(root) if root is not None else []
            for ordered in node.expressions:
                expr = ordered.this
                if expr.find(exp.AggFunc) or not _is_key(expr, keys, root):
                    out.append(Violation(rule=RULE, message=(
                        f"ORDER BY {expr.sql(dialect='duckdb')} orders by exact values; order "
                        "only by group keys (sort the released table by its noisy values)")))
    return out


def _is_key(expr: exp.Expr, keys: list[exp.Expr], root: exp.Select | None) -> bool:
    if any(expr == key for key in keys):
        return True
    if isinstance(expr, exp.Column) and not expr.table and root is not None:
        for projection in root.expressions:
            if projection.alias_or_name == expr.name:
                return any(projection.unalias() == key for key in keys)
    return False

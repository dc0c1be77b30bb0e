"""bounded_references: every reference to a private dataset passes through the per-person
bounding, so the declared sensitivity holds.

The compiler tags each row read in a FROM or JOIN (of the outer query, a WITH clause or a derived
table) with its person and bounds each person's rows after the joins. A dataset read anywhere else
escapes that: a subquery in an expression (EXISTS, IN, ANY/ALL, a scalar subquery) lets one
person's rows decide whether everybody else's rows count; a correlated or recursive subquery,
PIVOT, or a GROUP BY or DISTINCT before the outer aggregate merges people before they are
bounded. With noise on, a column's input k-min is such a filter too: one person can lift a value
over the threshold and bring in every other row with that value.
"""

from __future__ import annotations

from sqlglot import exp

from workbench.questions.checks._base import CheckInput, Violation

RULE = "bounded_references"


def bounded_references(q: CheckInput) -> list[Violation]:
    """Datasets are read only in FROM/JOIN, uncorrelated, not merged before the outer query."""
    tree = q.parsed.tree or q.parsed.statements[0]
    out: list[Violation] = []
    for node in tree.walk():
        if isinstance(node, exp.Exists):
            out.append(_violation("EXISTS (subquery)"))
        elif isinstance(node, (exp.Any, exp.All)):
            out.append(_violation(f"{node.key.upper()} (subquery)"))
        elif isinstance(node, exp.In) and node.args.get("query") is not None:
            out.append(_violation("IN (subquery)"))
        elif isinstance(node, exp.Subquery) and not isinstance(node.parent, (exp.From, exp.Join,
                                                                            exp.In, exp.Exists,
                                                                            exp.Any, exp.All)):
            out.append(_violation("a scalar subquery"))
        elif isinstance(node, exp.Pivot):
            out.append(Violation(rule=RULE, message=(
                "PIVOT/UNPIVOT regroups rows before each person's rows are bounded; GROUP BY the "
                "column in the outer SELECT instead")))
        elif isinstance(node, exp.With) and node.args.get("recursive"):
            out.append(Violation(rule=RULE, message=(
                "WITH RECURSIVE is not allowed; a recursive query can multiply one person's rows "
                "without bound")))
    out += _inner_scopes(q)
    out += _input_k_min(q)
    return out


def _violation(what: str) -> Violation:
    return Violation(rule=RULE, message=(
        f"{what} reads a dataset outside the per-person bounding (one person's rows could decide "
        "whether everyone else's count); join the dataset on the identity instead, or put the "
        "query in a WITH clause and join it"))


def _inner_scopes(q: CheckInput) -> list[Violation]:
    out: list[Violation] = []
    for scope in q.parsed.scopes[:-1]:
        select = scope.expression
        if not isinstance(select, exp.Select) or not (scope.is_cte or scope.is_derived_table):
            continue
        if scope.external_columns:
            names = ", ".join(sorted({c.sql(dialect="duckdb") for c in scope.external_columns}))
            out.append(Violation(rule=RULE, message=(
                f"a WITH clause or derived table refers to {names} of the query around it (a "
                "correlated subquery); write it as a join on the identity")))
        if select.args.get("group") and not select.find(exp.AggFunc):  # else allowed_outputs
            out.append(Violation(rule=RULE, message=(
                "GROUP BY inside a WITH clause or derived table merges several people's rows "
                "before each person is bounded; group only in the outer SELECT")))
        if select.args.get("distinct"):
            out.append(Violation(rule=RULE, message=(
                "DISTINCT inside a WITH clause or derived table merges several people's rows "
                "before each person is bounded; remove it (COUNT(DISTINCT ...) in the outer "
                "SELECT counts distinct values)")))
    return out


def _input_k_min(q: CheckInput) -> list[Violation]:
    if q.mode != "dp":
        return []
    out: list[Violation] = []
    for dataset, fields in sorted(q.parsed.macros().items()):
        binding = q.bindings.get(dataset)
        if binding is None:
            continue
        for name in sorted(fields):
            rule = binding.rule(name)
            if rule is not None and rule.input_k_min is not None and rule.input_k_min > 1:
                out.append(Violation(rule=RULE, dataset=dataset, column=name, message=(
                    f"{dataset}.{name} has an input k-min of {rule.input_k_min}, a filter one "
                    "person can tip (adding them lets in every other row with their value), so "
                    "the noise would be too small; with differential privacy on, ask the data "
                    "manager to drop input_k_min from this column (the noise protects small "
                    "groups)")))
    return out

"""join_columns: joins only by equality between columns whose rules allow joining."""

from __future__ import annotations

from sqlglot import exp

from workbench.questions.checks._base import CheckInput, Violation

RULE = "join_columns"


def join_columns(q: CheckInput) -> list[Violation]:
    """Every JOIN has an ON made of ``a.col = b.col`` terms over join columns."""
    out: list[Violation] = []
    parsed = q.parsed
    for scope in parsed.scopes:
        select = scope.expression
        if not isinstance(select, exp.Select):
            continue
        for join in select.args.get("joins") or []:
            target = join.this.name if isinstance(join.this, exp.Table) else \
                join.this.alias_or_name
            if join.args.get("using"):
                out.append(Violation(rule=RULE, dataset=target, message=(
                    f"JOIN {target} USING (...) is not allowed; write ON a.col = b.col with join "
                    "columns")))
                continue
            on = join.args.get("on")
            if on is None:
                out.append(Violation(rule=RULE, dataset=target, message=(
                    f"{target} is joined without a condition (a cross join); join ON a join "
                    "column by equality, for example ON p.email = a.email")))
                continue
            for term in on.flatten() if isinstance(on, exp.And) else [on]:
                if not (isinstance(term, exp.EQ) and isinstance(term.left, exp.Column)
                        and isinstance(term.right, exp.Column)):
                    out.append(Violation(rule=RULE, dataset=target, message=(
                        f"the join condition {term.sql(dialect='duckdb')} is not an equality "
                        "between two columns; joins are only by equality on join columns (move "
                        "other conditions to WHERE)")))
                    continue
                for col in (term.left, term.right):
                    for ref in parsed.sources_of(col):
                        binding = q.binding(ref)
                        rule = binding.rule(ref.field) if binding else None
                        if binding is None or rule is None:
                            continue
                        if not rule.join:
                            out.append(Violation(
                                rule=RULE, dataset=ref.dataset, column=ref.field, message=(
                                    f"{ref.dataset}.{ref.field} is not a join column; join on a "
                                    "column its analysis rule marks as joinable")))
    return out

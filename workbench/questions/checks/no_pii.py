"""no_pii: PII columns (and, for analytical questions, the identity) are never projected, not
even through expressions, CTEs or derived tables; nor are they compared with values or put into
expressions anywhere (WHERE, CASE, functions), since a per-person condition singles people out
(differencing, or an indicator counted inside groups the crowd-size rule lets through)."""

from __future__ import annotations

from sqlglot import exp

from workbench.questions.checks._base import CheckInput, Violation, outer_select

RULE = "no_pii"


def no_pii(q: CheckInput) -> list[Violation]:
    """No output expression outside an aggregate reads a PII or identity field."""
    select = outer_select(q.parsed)
    if select is None:
        return []
    out: list[Violation] = []
    seen: set[tuple[str, str]] = set()
    for projection in select.expressions:
        expr = projection.unalias()
        if q.kind == "analytical" and isinstance(expr, exp.AggFunc):
            continue
        for col in expr.find_all(exp.Column):
            if col.find_ancestor(exp.AggFunc) is not None:
                continue
            for ref in q.parsed.sources_of(col):
                binding = q.binding(ref)
                if binding is None or (ref.dataset, ref.field) in seen:
                    continue
                identity = binding.is_identity(ref.field)
                if q.kind == "user_list" and identity:
                    continue
                if binding.is_pii(ref.field) or identity:
                    seen.add((ref.dataset, ref.field))
                    what = "the identity (privacy unit)" if identity else "labelled PII"
                    via = "" if isinstance(expr, exp.Column) and expr.table and \
                        q.parsed.root is not None and isinstance(
                            q.parsed.root.sources.get(expr.table), exp.Table) else \
                        " (through an expression or a WITH clause)"
                    out.append(Violation(rule=RULE, dataset=ref.dataset, column=ref.field,
                                         message=(
                        f"the output {projection.alias_or_name} reveals {ref.dataset}.{ref.field}"
                        f"{via}, which is {what}; it may be used in joins and counted, never "
                        "output")))
    return out + _used_in_expressions(q, seen)


def _plain_use(col: exp.Column) -> bool:
    """Whether ``col`` is used as it is: passed through, joined, counted, grouped, sorted or
    tested for NULL (join_columns governs joins, single_select subqueries, other rules grouping,
    sorting and aggregates)."""
    parent = col.parent
    if _in_join_condition(col):
        return True
    if isinstance(parent, exp.In) and parent.args.get("query") is not None:
        return True
    if isinstance(parent, exp.Alias):
        select = parent.parent
        return isinstance(select, exp.Select) and any(e is parent for e in select.expressions)
    if isinstance(parent, exp.Select):
        return any(e is col for e in parent.expressions)
    if isinstance(parent, exp.Distinct):
        return isinstance(parent.parent, exp.AggFunc)
    if isinstance(parent, (exp.AggFunc, exp.Group, exp.Ordered)):
        return True
    if isinstance(parent, exp.Is):
        return isinstance(parent.expression, exp.Null)
    if isinstance(parent, exp.EQ):
        return isinstance(parent.left, exp.Column) and isinstance(parent.right, exp.Column)
    return False


def _in_join_condition(col: exp.Column) -> bool:
    node: exp.Expr = col
    while node.parent is not None and not isinstance(node.parent, (exp.Select, exp.Subquery)):
        if isinstance(node.parent, exp.Join) and node.arg_key == "on":
            return True
        node = node.parent
    return False


def _used_in_expressions(q: CheckInput, seen: set[tuple[str, str]]) -> list[Violation]:
    out: list[Violation] = []
    for scope in q.parsed.scopes:
        for col in scope.columns:
            if _plain_use(col):
                continue
            for ref in sorted(q.parsed.sources_of(col), key=lambda r: (r.dataset, r.field)):
                binding = q.binding(ref)
                if binding is None or (ref.dataset, ref.field) in seen:
                    continue
                identity = binding.is_identity(ref.field)
                if not (identity or binding.is_pii(ref.field)):
                    continue
                seen.add((ref.dataset, ref.field))
                what = "the identity (privacy unit)" if identity else "labelled PII"
                out.append(Violation(rule=RULE, dataset=ref.dataset, column=ref.field, message=(
                    f"{col.sql(dialect='duckdb')} uses {ref.dataset}.{ref.field}, which is "
                    f"{what}, inside {(col.parent or col).sql(dialect='duckdb')[:80]}; it may be joined on "
                    "(a.col = b.col), counted, tested with IS [NOT] NULL or passed through a WITH "
                    "clause as it is, never compared with values or put into expressions (that "
                    "singles people out)")))
    return out

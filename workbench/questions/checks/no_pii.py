"""no_pii: PII columns (and, for analytical questions, the identity) are never projected, not
even through expressions, CTEs or derived tables."""

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
    return out

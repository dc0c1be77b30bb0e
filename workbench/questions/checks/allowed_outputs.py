"""allowed_outputs: an analytical question outputs only group keys the rules let it project and
aggregates the rules allow; a user-list question outputs one identity column."""

from __future__ import annotations

from dataclasses import dataclass

from sqlglot import exp

from workbench.questions.checks._base import CheckInput, Violation, group_keys, outer_select
from workbench.questions.template import FieldRef

RULE = "allowed_outputs"
ALLOWED_FORMS = "COUNT(*), COUNT(col), COUNT(DISTINCT col), SUM(col) or AVG(col)"


@dataclass(frozen=True)
class AggregateForm:
    """An output aggregate recognised in the outer SELECT."""

    #: count | count_distinct | sum | avg
    kind: str
    #: the column aggregated (None for COUNT(*))
    column: exp.Column | None


def aggregate_form(node: exp.Expr) -> AggregateForm | None:
    """Recognise one of the allowed aggregate shapes, or None."""
    if isinstance(node, exp.Count):
        arg = node.this
        if isinstance(arg, exp.Star):
            return AggregateForm("count", None)
        if isinstance(arg, exp.Distinct) and len(arg.expressions) == 1 \
                and isinstance(arg.expressions[0], exp.Column):
            return AggregateForm("count_distinct", arg.expressions[0])
        if isinstance(arg, exp.Column):
            return AggregateForm("count", arg)
        return None
    if isinstance(node, (exp.Sum, exp.Avg)) and isinstance(node.this, exp.Column):
        return AggregateForm("sum" if isinstance(node, exp.Sum) else "avg", node.this)
    return None


_RULE_NAME = {"count": "COUNT", "count_distinct": "COUNT_DISTINCT", "sum": "SUM", "avg": "AVG"}


def allowed_outputs(q: CheckInput) -> list[Violation]:
    """Outputs are allowed group keys or allowed aggregates (or one identity for user lists)."""
    select = outer_select(q.parsed)
    if select is None:
        return []
    out: list[Violation] = []
    for scope in q.parsed.scopes[:-1]:
        inner = scope.expression
        if not isinstance(inner, exp.Select):
            continue
        for agg in inner.find_all(exp.AggFunc):
            if agg.find_ancestor(exp.Select) is inner:
                out.append(Violation(rule=RULE, message=(
                    f"{agg.sql(dialect='duckdb')} aggregates inside a WITH clause or subquery; "
                    "aggregate only in the final SELECT so each person's contribution can be "
                    "bounded")))
    if q.kind == "user_list":
        return out + _user_list(q, select)
    keys = group_keys(select)
    if select.args.get("distinct"):
        out.append(Violation(rule=RULE, message=(
            "SELECT DISTINCT is not allowed; GROUP BY the keys and aggregate instead")))
    has_agg = False
    for projection in select.expressions:
        expr = projection.unalias()
        name = projection.alias_or_name
        if isinstance(expr, exp.Star) or (isinstance(expr, exp.Column)
                                          and isinstance(expr.this, exp.Star)):
            continue  # no_star reports it
        if expr.find(exp.AggFunc):
            has_agg = True
            form = aggregate_form(expr)
            if form is None:
                out.append(Violation(rule=RULE, message=(
                    f"the output {name} = {expr.sql(dialect='duckdb')} is not an allowed "
                    f"aggregate; use {ALLOWED_FORMS} over a single column, one per output")))
                continue
            if form.column is None:
                continue
            for ref in q.parsed.sources_of(form.column):
                out += _aggregate_allowed(q, ref, form.kind)
            continue
        if not any(expr == key for key in keys):
            out.append(Violation(rule=RULE, message=(
                f"the output {name} is neither an aggregate nor a GROUP BY key; add it to "
                f"GROUP BY or wrap it in one of {ALLOWED_FORMS}")))
            continue
    for key in keys:
        if not any(key == p.unalias() for p in select.expressions):
            out.append(Violation(rule=RULE, message=(
                f"GROUP BY {key.sql(dialect='duckdb')} is not among the outputs; output every "
                "group key so released rows can be told apart")))
        if not list(key.find_all(exp.Column)):
            out.append(Violation(rule=RULE, message=(
                f"GROUP BY {key.sql(dialect='duckdb')} groups by a constant; group by columns")))
        for ref in q.parsed.fields_of(key):
            binding = q.binding(ref)
            rule = binding.rule(ref.field) if binding else None
            if rule is not None and not rule.group_by:
                out.append(Violation(rule=RULE, dataset=ref.dataset, column=ref.field, message=(
                    f"{ref.dataset}.{ref.field} may not be projected or grouped by; its analysis "
                    "rule does not allow it as a group key")))
    if not has_agg:
        out.append(Violation(rule=RULE, message=(
            "an analytical question must aggregate: add at least one of "
            f"{ALLOWED_FORMS}")))
    return out


def _aggregate_allowed(q: CheckInput, ref: FieldRef, kind: str) -> list[Violation]:
    binding = q.binding(ref)
    rule = binding.rule(ref.field) if binding else None
    if rule is None:
        return []
    if kind == "count_distinct" and binding is not None and binding.is_identity(ref.field):
        return []
    if _RULE_NAME[kind] not in rule.aggregations:
        allowed = ", ".join(sorted(rule.aggregations)) or "none"
        return [Violation(rule=RULE, dataset=ref.dataset, column=ref.field, message=(
            f"{_RULE_NAME[kind]} is not allowed on {ref.dataset}.{ref.field} (allowed: "
            f"{allowed})"))]
    return []


def _user_list(q: CheckInput, select: exp.Select) -> list[Violation]:
    out: list[Violation] = []
    if select.find(exp.AggFunc) or group_keys(select):
        out.append(Violation(rule=RULE, message=(
            "a user-list question outputs identities, not aggregates; remove GROUP BY and "
            "aggregates, or make it an analytical question")))
    if len(select.expressions) != 1 or not isinstance(select.expressions[0].unalias(), exp.Column):
        out.append(Violation(rule=RULE, message=(
            "a user-list question outputs exactly one column: a dataset's identity column")))
        return out
    col = select.expressions[0].unalias()
    for ref in q.parsed.sources_of(col):
        binding = q.binding(ref)
        if binding is not None and binding.column(ref.field) is not None \
                and not binding.is_identity(ref.field):
            out.append(Violation(rule=RULE, dataset=ref.dataset, column=ref.field, message=(
                f"{ref.dataset}.{ref.field} is not the dataset's identity column; a user list "
                "outputs only identities")))
    return out

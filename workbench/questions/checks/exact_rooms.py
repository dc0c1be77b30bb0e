"""exact_rooms: in a room without differential privacy, only shapes whose results cannot be
differenced to isolate a person.

Without noise, the crowd-size rule alone does not stop two allowed results from differing by one
person (a filter and its complement, an IN list minus one value, a range moved by one). So an
exact room approves one flat SELECT over datasets joined on the identity (INNER), grouped by plain
columns, whose WHERE only picks released groups: each term is ``column = value`` or
``column IN (values)`` on a GROUP BY column with a public value list, with literal values from that
list or ``one_of`` parameters whose choices all come from it. A filter on group keys never changes
the value of a released row, so complementary filters give the same numbers. Nothing else: no
negation, no OR, no ranges, no tests on metric columns, no text, number or date parameters, no
WITH clauses or derived tables, no expressions as keys. Every released row must still pass k-min.
"""

from __future__ import annotations

from sqlglot import exp

from workbench.questions.checks._base import CheckInput, Violation, group_keys, outer_select

RULE = "exact_rooms"
_WHY = "in a room without differential privacy"


def exact_rooms(q: CheckInput) -> list[Violation]:
    """The strict exact-room shape (no-op in DP rooms)."""
    if q.mode != "exact" or q.parsed.tree is None:
        return []
    select = outer_select(q.parsed)
    if select is None:
        return []
    out: list[Violation] = []
    if len(q.parsed.scopes) > 1:
        out.append(_v("WITH clauses and derived tables are not allowed " + _WHY + "; read the "
                      "datasets directly in one SELECT"))
    for p in q.parameters:
        if p.type != "one_of":
            out.append(_v(f"the {p.type} parameter {p.name} is not allowed {_WHY}; only one_of "
                          "parameters whose choices come from a column's public value list"))
    keys = group_keys(select)
    key_cols: list[exp.Column] = []
    for key in keys:
        if isinstance(key, exp.Column):
            key_cols.append(key)
        else:
            out.append(_v(f"GROUP BY {key.sql(dialect='duckdb')} is an expression; {_WHY} group by "
                          "plain columns"))
    where = select.args.get("where")
    if where is not None:
        terms = where.this.flatten() if isinstance(where.this, exp.And) else [where.this]
        for term in terms:
            out += _term(q, term, key_cols)
    return out


def _v(message: str, dataset: str | None = None, column: str | None = None) -> Violation:
    return Violation(rule=RULE, message=message, dataset=dataset, column=column)


def _term(q: CheckInput, term: exp.Expr, keys: list[exp.Column]) -> list[Violation]:
    text = term.sql(dialect="duckdb")
    if isinstance(term, exp.Paren):
        return _term(q, term.this, keys)
    if isinstance(term, exp.EQ):
        column, values = term.this, [term.expression]
    elif isinstance(term, exp.In) and term.args.get("query") is None:
        column, values = term.this, list(term.expressions)
    else:
        return [_v(f"the filter {text} is not allowed {_WHY}; filter only with column = value or "
                   "column IN (values) on a GROUP BY column (no NOT, OR, ranges, LIKE or NULL "
                   "tests)")]
    if not isinstance(column, exp.Column) or not any(column == k for k in keys):
        return [_v(f"the filter {text} is not on a GROUP BY column; {_WHY} filters may only pick "
                   "released groups, so filter on a column the question groups by")]
    refs = q.parsed.sources_of(column)
    public: set[str] | None = None
    for ref in refs:
        binding = q.binding(ref)
        rule = binding.rule(ref.field) if binding is not None else None
        if rule is None:
            continue
        if rule.public_values is None:
            return [_v(f"{ref.dataset}.{ref.field} has no public value list; {_WHY} filters are "
                       "only on columns with one", ref.dataset, ref.field)]
        public = set(rule.public_values) if public is None else public & set(rule.public_values)
    out: list[Violation] = []
    for value in values:
        out += _value(q, value, public, text)
    return out


def _value(q: CheckInput, value: exp.Expr, public: set[str] | None,
           text: str) -> list[Violation]:
    if isinstance(value, exp.Literal) and value.is_string:
        if public is not None and value.this not in public:
            return [_v(f"{value.sql(dialect='duckdb')} in {text} is not in the column's public "
                       "value list")]
        return []
    if isinstance(value, exp.Placeholder):
        param = next((p for p in q.parameters if value.name in p.placeholders), None)
        if param is None or param.type != "one_of":
            return []  # reported with the parameters, or an undeclared placeholder
        outside = sorted(str(c) for c in param.choices if public is not None
                         and str(c) not in public)
        if outside:
            return [_v(f"the choices {outside} of parameter {param.name} are not in the "
                       "column's public value list")]
        return []
    return [_v(f"{value.sql(dialect='duckdb')} in {text} is not a listed value; {_WHY} compare "
               "with text values from the column's public list or a one_of parameter")]

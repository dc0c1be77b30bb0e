"""exact_rooms: in a room without differential privacy, only shapes whose results cannot be
differenced to isolate a person.

Without noise, the crowd-size rule alone does not stop two allowed results from differing by one
person (a filter and its complement, an IN list minus one value, a range moved by one, a total
minus its parts). An exact run reads only people whose whole public profile at least k people
share (workbench.runs.exact); this check makes every released row a union of profile cells, so
every released value is a sum over such crowds. An exact room approves one flat SELECT over
datasets joined on the identity and nothing else (INNER), grouped by plain columns with a public value list, whose
WHERE only picks released groups: each term is ``column = value`` or ``column IN (values)`` on a
GROUP BY column, with literal values from its public list or ``one_of`` parameters whose choices
all come from it. Aggregates are COUNT(*), COUNT(col), COUNT(DISTINCT identity), SUM and AVG of
plain columns; a column with an input k-min may only be a group key. Nothing else: no negation,
no OR, no ranges, no tests on metric columns, no text, number or date parameters, no WITH
clauses or derived tables, no expressions as keys.
"""
from __future__ import annotations

from sqlglot import exp

from workbench.data.rules import ColumnRule
from workbench.questions.checks._base import CheckInput, Violation, group_keys, outer_select
from workbench.questions.checks.allowed_outputs import aggregate_form
from workbench.questions.checks.identity_joins import identity_column, join_target, on_terms
from workbench.questions.template import FieldRef

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
            out += _public_key(q, key)
        else:
            out.append(_v(f"GROUP BY {key.sql(dialect='duckdb')} is an expression; {_WHY} group by "
                          "plain columns"))
    out += _outputs(q, select)
    out += _input_k_min(q, select, key_cols)
    out += _join_terms(q, select)
    where = select.args.get("where")
    if where is not None:
        terms = where.this.flatten() if isinstance(where.this, exp.And) else [where.this]
        for term in terms:
            out += _term(q, term, key_cols)
    return out


def _join_terms(q: CheckInput, select: exp.Select) -> list[Violation]:
    """Joins match identities and nothing else: any further ON term (another column, a value)
    keeps some members of a crowd and drops others, and two such results differ by one person."""
    out: list[Violation] = []
    for join in select.args.get("joins") or []:
        for term in on_terms(join):
            if not (isinstance(term, exp.EQ) and identity_column(q, term.left)
                    and identity_column(q, term.right)):
                out.append(_v(f"the join condition {term.sql(dialect='duckdb')} is not allowed "
                              f"{_WHY}; join on the identity columns only (ON p.email = a.email)",
                              join_target(join)))
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


def _rules_of(q: CheckInput, column: exp.Column) -> list[tuple[FieldRef, ColumnRule]]:
    found = []
    for ref in q.parsed.sources_of(column):
        binding = q.binding(ref)
        rule = binding.rule(ref.field) if binding is not None else None
        if rule is not None:
            found.append((ref, rule))
    return found


def _public_key(q: CheckInput, key: exp.Column) -> list[Violation]:
    """A group key must have a public value list: then every released row is a union of the
    room's profile cells, and a finer grouping cannot be subtracted from a coarser one to find
    a small group (see workbench.runs.exact)."""
    return [_v(f"GROUP BY {ref.dataset}.{ref.field}: the column has no public value list; {_WHY} "
               "group only by columns whose data manager published their values (a grouping by "
               "other values could be subtracted from a coarser one to isolate a small group)",
               ref.dataset, ref.field)
            for ref, rule in _rules_of(q, key) if rule.public_values is None]


def _outputs(q: CheckInput, select: exp.Select) -> list[Violation]:
    """COUNT(DISTINCT col) of anything but the identity counts values, not people: it is no sum
    over crowds of people, so its differences cannot be bounded."""
    out: list[Violation] = []
    for projection in select.expressions:
        form = aggregate_form(projection.unalias())
        if form is None or form.kind != "count_distinct" or form.column is None:
            continue
        for ref in q.parsed.sources_of(form.column):
            binding = q.binding(ref)
            if binding is not None and binding.column(ref.field) is not None \
                    and not binding.is_identity(ref.field):
                out.append(_v(f"COUNT(DISTINCT {ref.dataset}.{ref.field}) counts values, not "
                              f"people; {_WHY} count distinct identities, or COUNT(*)",
                              ref.dataset, ref.field))
    return out


def _input_k_min(q: CheckInput, select: exp.Select, keys: list[exp.Column]) -> list[Violation]:
    """A column with an input k-min drops the rows of rare values wherever the question reads
    it: as a group key (or a filter on one) that drops whole released groups, anywhere else it
    changes who is counted, and a question without that column counts them."""
    out: list[Violation] = []
    for column in select.find_all(exp.Column):
        if any(column == k for k in keys) and column.find_ancestor(exp.AggFunc, exp.Join) is None:
            continue  # the key itself, its projection, a filter on it or ORDER BY it
        for ref, rule in _rules_of(q, column):
            if rule.input_k_min and rule.input_k_min > 1:
                out.append(_v(f"{ref.dataset}.{ref.field} has an input k-min, which drops the rows "
                              f"of rare values; {_WHY} such a column may only be a group key",
                              ref.dataset, ref.field))
    return out

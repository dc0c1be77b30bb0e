"""Row filters: a boolean expression over a dataset's own columns, parsed and checked with sqlglot.

The filter becomes part of a view definition, so it is parsed once, every node is checked against
an allow-list (columns of this dataset, literals, comparisons, boolean logic, a few pure scalar
functions), and the checked tree is rendered back to SQL with quoted identifiers. Subqueries,
table functions and anything that could read a file are refused, each with the reason.
"""

from __future__ import annotations

import sqlglot
from sqlglot import exp
from sqlglot.errors import ParseError, TokenError

from workbench.errors import InvalidInput

DIALECT = "duckdb"
MAX_LENGTH = 4000

_ALLOWED = (
    exp.Column, exp.Identifier, exp.Literal, exp.Boolean, exp.Null, exp.Paren,
    exp.And, exp.Or, exp.Not, exp.EQ, exp.NEQ, exp.GT, exp.GTE, exp.LT, exp.LTE, exp.Is,
    exp.In, exp.Between, exp.Like, exp.ILike, exp.Neg, exp.Add, exp.Sub, exp.Mul, exp.Div, exp.Mod,
    exp.Cast, exp.DataType, exp.Tuple, exp.NullSafeEQ, exp.NullSafeNEQ,
)
#: pure scalar functions a filter may use
_FUNCTIONS = (
    exp.Lower, exp.Upper, exp.Trim, exp.Length, exp.Abs, exp.Coalesce, exp.Round,
    exp.Substring, exp.Year, exp.Month, exp.Day, exp.DateTrunc, exp.TimestampTrunc,
    exp.CurrentDate, exp.StartsWith, exp.Concat, exp.DPipe,
)
_CAST_TYPES = {"TEXT", "VARCHAR", "INT", "BIGINT", "DOUBLE", "DATE", "TIMESTAMP", "BOOLEAN", "DECIMAL"}


def check_row_filter(text: str, columns: list[str]) -> str:
    """The filter rendered as safe DuckDB SQL, or InvalidInput naming what is not allowed."""
    if not isinstance(text, str) or not text.strip():
        raise InvalidInput("the row filter is empty; leave it out to keep every row")
    if len(text) > MAX_LENGTH:
        raise InvalidInput(f"the row filter is over {MAX_LENGTH} characters")
    try:
        statements = sqlglot.parse(text, dialect=DIALECT)
    except (ParseError, TokenError) as e:
        first = e.errors[0] if isinstance(e, ParseError) and e.errors else {}
        where = f" (column {first.get('col')})" if first.get("col") else ""
        raise InvalidInput(f"the row filter does not parse{where}: write an expression such as "
                           "region = 'north' AND spend > 0") from None
    statements = [s for s in statements if s is not None]
    if len(statements) != 1:
        raise InvalidInput("the row filter must be one expression, without ';'")
    tree = statements[0]
    if isinstance(tree, (exp.Query, exp.Command)) or not isinstance(tree, exp.Expression):
        raise InvalidInput("the row filter must be an expression over the dataset's columns, not a statement")
    if not _is_predicate(tree):
        raise InvalidInput("the row filter must be a condition (true or false per row), e.g. "
                           "spend > 0 or region IN ('north', 'south')")
    known = {c.lower(): c for c in columns}
    for node in tree.walk():
        if isinstance(node, (exp.Subquery, exp.Select, exp.Query, exp.Exists)):
            raise InvalidInput("the row filter may not contain subqueries; compare columns with values")
        if isinstance(node, exp.Column):
            if node.table:
                raise InvalidInput(f"the row filter refers to {node.sql()}; use bare column names of this dataset")
            if node.name.lower() not in known:
                raise InvalidInput(
                    f"the row filter uses {node.name!r}, which is not a column of this dataset; "
                    f"columns: {', '.join(columns)}", column=node.name)
            continue
        if isinstance(node, exp.DataType):
            if node.this.name not in _CAST_TYPES and node.sql(dialect=DIALECT).upper() not in _CAST_TYPES:
                raise InvalidInput(f"the row filter casts to {node.sql()}, which is not allowed")
            continue
        if isinstance(node, exp.Func) and not isinstance(node, _FUNCTIONS + _ALLOWED):
            name = (node.name if isinstance(node, exp.Anonymous) else node.sql_name()).lower()
            raise InvalidInput(
                f"the row filter calls {name}(), which is not allowed; filters may use comparisons, "
                "AND/OR/NOT, IN, BETWEEN, LIKE, IS NULL and simple functions (lower, upper, trim, "
                "length, abs, coalesce, round, substring, year, month, day, date_trunc)",
                function=str(name))
        if isinstance(node, exp.Placeholder) or isinstance(node, exp.Parameter):
            raise InvalidInput("the row filter may not contain parameters; write the values")
        if not isinstance(node, _ALLOWED + _FUNCTIONS):
            raise InvalidInput(f"the row filter contains {type(node).__name__}, which is not allowed")
    for col in tree.find_all(exp.Column):
        col.set("this", exp.to_identifier(known[col.name.lower()], quoted=True))
    tree = tree.transform(_utc_today)
    return tree.sql(dialect=DIALECT, comments=False)


def _utc_today(node: exp.Expr) -> exp.Expr:
    """CURRENT_DATE is the date in UTC, whatever the store's session time zone (dates are UTC)."""
    if isinstance(node, exp.CurrentDate):
        return sqlglot.parse_one(UTC_TODAY, dialect=DIALECT)
    return node


#: today's date in UTC (DuckDB; sqlglot renders it for Spark as from_utc_timestamp)
UTC_TODAY = "CAST(current_timestamp AT TIME ZONE 'UTC' AS DATE)"


_PREDICATES = (exp.EQ, exp.NEQ, exp.GT, exp.GTE, exp.LT, exp.LTE, exp.Is, exp.In, exp.Between,
               exp.Like, exp.ILike, exp.Boolean, exp.NullSafeEQ, exp.NullSafeNEQ, exp.StartsWith)


def _is_predicate(node: exp.Expr) -> bool:
    if isinstance(node, exp.Paren):
        return _is_predicate(node.this)
    if isinstance(node, (exp.And, exp.Or)):
        return _is_predicate(node.left) and _is_predicate(node.right)
    if isinstance(node, exp.Not):
        return _is_predicate(node.this)
    return isinstance(node, _PREDICATES)

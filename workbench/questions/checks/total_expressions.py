"""total_expressions: a question uses only functions that cannot fail on any data value, so
whether a run succeeds never depends on the private data.

Everything outside this list is refused before any data is read: functions with a restricted
domain (logarithms, square roots, inverse trigonometry), parsing text into dates, building lists,
repeating strings, randomness, the clock, session state. What is on the list is made total by the
compiler where it needs to be: casts become TRY_CAST, arithmetic is done in DOUBLE (division by
zero gives infinity or NULL, never an error), and a value compared with a column is cast to that
column's type with TRY_CAST. Regular expressions must be literal, valid patterns.
"""

from __future__ import annotations

import re

from sqlglot import exp

from workbench.questions.checks._base import CheckInput, Violation
from workbench.questions.checks.no_table_functions import SAFE_ANONYMOUS, is_external

RULE = "total_expressions"

#: sqlglot function and operator nodes that never raise on a data value (after the compiler's
#: TRY_CAST and DOUBLE rewrites)
TOTAL: tuple[type[exp.Expr], ...] = (
    exp.And, exp.Or, exp.Not, exp.Paren, exp.EQ, exp.NEQ, exp.GT, exp.GTE, exp.LT, exp.LTE,
    exp.NullSafeEQ, exp.NullSafeNEQ, exp.Is, exp.In, exp.Between, exp.Like, exp.ILike,
    exp.Case, exp.If, exp.Coalesce, exp.Nullif, exp.Lower, exp.Upper, exp.Trim, exp.Length,
    exp.Substring, exp.Concat, exp.DPipe, exp.StartsWith, exp.EndsWith, exp.Contains, exp.Left,
    exp.Right, exp.Replace, exp.Cast, exp.TryCast, exp.Add, exp.Sub, exp.Mul, exp.Div, exp.Neg,
    exp.Mod, exp.IntDiv, exp.Abs, exp.Round, exp.Floor, exp.Ceil, exp.Greatest, exp.Least,
    exp.Extract, exp.TimestampTrunc, exp.DateTrunc, exp.Year, exp.Month, exp.Day, exp.Quarter,
    exp.Week, exp.DayOfWeek, exp.DayOfWeekIso, exp.DateDiff, exp.TimeToStr, exp.TimeToUnix,
    exp.LastDay, exp.RegexpLike, exp.Count, exp.Sum, exp.Avg, exp.Distinct,
)
#: anonymous (unmodelled) functions that are total on the types they bind to
TOTAL_ANONYMOUS = SAFE_ANONYMOUS - {"make_date", "regexp_matches"}
#: operator-like nodes that are not functions but still compute on values
_OPERATORS = (exp.Binary, exp.Unary, exp.Func, exp.Bracket, exp.Dot, exp.Collate, exp.Interval,
              exp.Lambda)


def total_expressions(q: CheckInput) -> list[Violation]:
    """Every function and operator is on the total list."""
    tree = q.parsed.tree or q.parsed.statements[0]
    out: list[Violation] = []
    seen: set[str] = set()
    for node in tree.walk():
        if not isinstance(node, _OPERATORS) or isinstance(node, (exp.Alias, exp.Window)) \
                or isinstance(node.parent, exp.Window):
            continue  # no_exact_ordering reports window functions
        if isinstance(node, exp.Anonymous):
            name = str(node.this).lower()
            if name in SAFE_ANONYMOUS and name not in TOTAL_ANONYMOUS:
                _add(out, seen, name, f"{name}() fails on some values (for example an invalid "
                                      "date); compare or group by the column itself instead")
            continue  # no_table_functions reports anonymous functions off its list
        if isinstance(node, exp.Func) and is_external(node) or isinstance(
                node, (exp.Exists, exp.Any, exp.All, exp.Pivot)):
            continue  # no_table_functions and bounded_references report these
        if isinstance(node, exp.AggFunc) and not isinstance(node, (exp.Count, exp.Sum,
                                                                    exp.Avg)):
            continue  # allowed_outputs reports other aggregates
        if isinstance(node, exp.RegexpLike):
            pattern = node.expression
            if not (isinstance(pattern, exp.Literal) and pattern.is_string
                    and _valid_pattern(pattern.this)):
                _add(out, seen, "regexp", "a regular expression must be a literal, valid pattern "
                                          "(a pattern from a column or parameter can fail to "
                                          "compile)")
            continue
        if isinstance(node, TOTAL):
            continue
        name = node.key.upper()
        _add(out, seen, name, f"{name} can fail or vary on some data values (a restricted domain, "
                              "a list or string that grows with the data, randomness or the "
                              "clock), so whether the run succeeds would depend on the data; "
                              "remove it")
    return out


def _add(out: list[Violation], seen: set[str], key: str, message: str) -> None:
    if key not in seen:
        seen.add(key)
        out.append(Violation(rule=RULE, message=message))


def _valid_pattern(pattern: str) -> bool:
    """Python's parser, without look-around or back-references (which RE2 refuses)."""
    if re.search(r"\(\?[=!<]|\\[1-9]", pattern):
        return False
    try:
        re.compile(pattern)
    except re.error:
        return False
    return True

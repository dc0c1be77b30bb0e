"""no_table_functions: a question reads only its dataset macros; no table functions, files,
catalogs, other schemas, inline tables or functions outside a known-safe list."""

from __future__ import annotations

import re

from sqlglot import exp

from workbench.questions.checks._base import CheckInput, Violation

RULE = "no_table_functions"
_PLAIN = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
#: functions sqlglot does not model that a question may still call
SAFE_ANONYMOUS = frozenset({
    "date_part", "datepart", "date_diff", "datediff", "date_trunc", "datetrunc", "strftime",
    "make_date", "year", "month", "day", "week", "quarter", "dayofweek", "isodow",
    "least", "greatest", "abs", "round", "floor", "ceil", "ceiling", "lower", "upper", "trim",
    "ltrim", "rtrim", "length", "substr", "substring", "left", "right", "replace", "concat",
    "starts_with", "ends_with", "contains", "prefix", "suffix", "regexp_matches", "nullif",
    "coalesce", "ifnull", "epoch", "age", "last_day",
})


def no_table_functions(q: CheckInput) -> list[Violation]:
    """Only dataset macros and CTE names as tables; no file or catalog access."""
    tree = q.parsed.tree or q.parsed.statements[0]
    out: list[Violation] = []
    for table in tree.find_all(exp.Table):
        name_node = table.this
        if not isinstance(name_node, exp.Identifier):
            out.append(Violation(rule=RULE, message=(
                f"{table.sql(dialect='duckdb')} is a table function; a question reads only its "
                "datasets (dataset macros)")))
            continue
        if table.args.get("db") or table.args.get("catalog"):
            out.append(Violation(rule=RULE, dataset=table.name, message=(
                f"{table.sql(dialect='duckdb')} names a schema or catalog; use the bare dataset "
                "macro (for example publisher)")))
        if table.args.get("sample") is not None:
            out.append(Violation(rule=RULE, dataset=table.name, message=(
                f"TABLESAMPLE on {table.name} is not allowed; a question reads whole datasets")))
        if not _PLAIN.match(table.name):
            out.append(Violation(rule=RULE, dataset=table.name, message=(
                f"{table.name!r} is not a dataset macro (letters, digits and underscores); files "
                "and paths cannot be read")))
    for node in tree.walk():
        if node.find_ancestor(exp.Table) is not None:
            continue  # a table function, reported above
        if isinstance(node, (exp.Values, exp.Unnest, exp.Lateral, exp.TableSample)):
            out.append(Violation(rule=RULE, message=(
                f"{node.key.upper()} is not allowed; a question reads only its datasets")))
        elif isinstance(node, exp.Anonymous):
            fname = str(node.this).lower()
            if fname not in SAFE_ANONYMOUS:
                out.append(Violation(rule=RULE, message=(
                    f"the function {fname}() is not allowed in questions (it is not on the list "
                    "of safe scalar functions)")))
        elif isinstance(node, exp.Func) and is_external(node):
            out.append(Violation(rule=RULE, message=(
                f"{node.key.upper()} reads files, settings or the catalog; questions cannot")))
    return out


def is_external(node: exp.Func) -> bool:
    """Whether a function reads files, settings or the catalog."""
    name = type(node).__name__.lower()
    return name.startswith(("read", "currentschema", "currentuser", "currentcatalog")) or name in {
        "sessionuser", "currentdatabase", "getenv", "currentsetting"}

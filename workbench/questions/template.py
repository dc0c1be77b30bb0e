"""The parsed form of a question's SQL template.

Table names in the template are dataset macros, column names are field macros; both are logical
names a room maps to provisioned views and columns. Parsing happens once (sqlglot, DuckDB dialect);
columns are qualified with their source so every check and the compiler can trace a column back to
the dataset field it reads, through CTEs and derived tables.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import sqlglot
from sqlglot import exp
from sqlglot.errors import OptimizeError, ParseError
from sqlglot.optimizer.qualify import qualify
from sqlglot.optimizer.scope import Scope, traverse_scope

from workbench.errors import InvalidInput

DIALECT = "duckdb"
#: the most characters a template may have
MAX_SQL = 20_000


@dataclass(frozen=True)
class FieldRef:
    """One dataset field a column reads: (dataset macro, field macro)."""

    dataset: str
    field: str


@dataclass
class Parsed:
    """A template parsed and qualified; ``tree`` is None when it is not one query."""

    #: every statement as written (more than one is a violation)
    statements: list[exp.Expr]
    #: the first statement, columns qualified with their source alias
    tree: exp.Expr | None
    #: scopes of ``tree``, innermost first, the outermost (root) last
    scopes: list[Scope] = field(default_factory=list)
    #: id(column node) -> scope it belongs to
    column_scope: dict[int, Scope] = field(default_factory=dict)

    @property
    def root(self) -> Scope | None:
        """The outermost SELECT's scope."""
        return self.scopes[-1] if self.scopes else None

    def sources_of(self, column: exp.Column) -> set[FieldRef]:
        """The dataset fields a column reads, traced through CTEs and derived tables."""
        scope = self.column_scope.get(id(column))
        if scope is None:
            return set()
        return _trace(scope, column.table, column.name, set())

    def fields_of(self, node: exp.Expr) -> set[FieldRef]:
        """Every dataset field an expression reads (its columns, traced)."""
        out: set[FieldRef] = set()
        for col in _columns(node):
            out |= self.sources_of(col)
        return out

    def macros(self) -> dict[str, set[str]]:
        """Dataset macro -> the field macros the template reads from it."""
        out: dict[str, set[str]] = {}
        for scope in self.scopes:
            for source in scope.sources.values():
                if isinstance(source, exp.Table) and not _is_cte_name(scope, source) \
                        and isinstance(source.this, exp.Identifier):
                    out.setdefault(source.name, set())
            for col in scope.columns:
                table = scope.sources.get(col.table)
                if isinstance(table, exp.Table) and isinstance(table.this, exp.Identifier):
                    out.setdefault(table.name, set()).add(col.name)
        return out


def _columns(node: exp.Expr) -> list[exp.Column]:
    found = [c for c in node.find_all(exp.Column) if not isinstance(c.this, exp.Star)]
    return found


def _is_cte_name(scope: Scope, table: exp.Table) -> bool:
    return table.name in scope.cte_sources


def _trace(scope: Scope, table: str, name: str, seen: set[int]) -> set[FieldRef]:
    source = scope.sources.get(table)
    if isinstance(source, exp.Table):
        return {FieldRef(source.name, name)}
    if isinstance(source, Scope):
        if id(source) in seen:
            return set()
        seen = seen | {id(source)}
        out: set[FieldRef] = set()
        inner_scopes = [source]
        for inner in inner_scopes:
            select = inner.expression
            if not isinstance(select, exp.Select):
                continue
            for projection in select.expressions:
                if projection.alias_or_name == name:
                    for col in _columns(projection):
                        out |= _trace(inner, col.table, col.name, seen)
        return out
    return set()


def parse(sql: str) -> Parsed:
    """Parse and qualify ``sql``; syntax errors and unresolvable columns are InvalidInput."""
    if not isinstance(sql, str) or not sql.strip():
        raise InvalidInput("the question needs SQL text")
    if len(sql) > MAX_SQL:
        raise InvalidInput(f"the SQL is over {MAX_SQL} characters; split the question")
    try:
        statements = [s for s in sqlglot.parse(sql, dialect=DIALECT) if s is not None]
    except RecursionError:
        raise InvalidInput("the SQL nests too deeply to check; simplify it") from None
    except ParseError as e:
        first = e.errors[0] if e.errors else {}
        raise InvalidInput(
            f"the SQL does not parse: {first.get('description', 'syntax error')} "
            f"(line {first.get('line', '?')}, column {first.get('col', '?')})",
        ) from None
    if not statements:
        raise InvalidInput("the question needs SQL text")
    if not isinstance(statements[0], exp.Query):
        return Parsed(statements=statements, tree=None)
    try:
        tree = qualify(
            statements[0].copy(),
            dialect=DIALECT,
            quote_identifiers=False,
            identify=False,
            expand_stars=False,
            validate_qualify_columns=True,
        )
    except RecursionError:
        raise InvalidInput("the SQL nests too deeply to check; simplify it") from None
    except OptimizeError as e:
        raise InvalidInput(
            f"{e}. In a query over more than one table, write every column with its table "
            "alias (for example p.region)."
        ) from None
    scopes = list(traverse_scope(tree))
    column_scope: dict[int, Scope] = {}
    for scope in scopes:
        for col in scope.columns:
            column_scope[id(col)] = scope
    return Parsed(statements=statements, tree=tree, scopes=scopes, column_scope=column_scope)


def placeholders(node: exp.Expr) -> set[str]:
    """Names of the ``:name`` placeholders in a statement."""
    return {p.name for p in node.find_all(exp.Placeholder) if p.name}

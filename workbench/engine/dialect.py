"""Render a compiled question's sqlglot tree for one engine.

The compiler writes DuckDB (``Compiled.sql``); other engines render ``Compiled.tree`` through
these rewrites, all on the tree:

- the per-person choice of groups and rows orders by ``hash(unit, keys, salt)``. DuckDB's 64-bit
  ``hash`` has no twin elsewhere (sqlglot turns it into Spark's 32-bit Murmur3 without a word),
  so a portable rendering orders by the SHA-256 hex of the same values instead: the same salt
  gives the same choice on every engine;
- DuckDB's ``UNNEST(ARG_MIN(STRUCT, h))`` (one row per person) becomes ``MIN_BY`` in a derived
  table whose struct fields are selected by name;
- ``regexp_full_match`` becomes an anchored ``RLIKE`` (Spark has no full-match function);
- provisioned views (``prov.v_*``) may be replaced by engine-specific sources (``tables``).
"""

from __future__ import annotations

from collections.abc import Mapping

from sqlglot import exp

from workbench.questions.compile import Compiled


def table_key(table: exp.Table) -> str:
    """``schema.name`` of a table reference, as provisioning names views (``prov.v_<hex>``)."""
    return f"{table.db}.{table.name}" if table.db else table.name


def render(compiled: Compiled, dialect: str, *,
           tables: Mapping[str, exp.Expression] | None = None) -> str:
    """SQL for ``dialect`` with the portable per-person choice (and ``tables`` swapped in)."""
    if compiled.tree is None:
        raise ValueError("this compiled question carries no tree; compile it again")
    tree = compiled.tree.copy()
    if tables:
        replace_tables(tree, tables)
    tree = tree.transform(_portable_hash)
    if dialect != "duckdb":
        tree = tree.transform(_min_by_pick).transform(_full_match)
    return tree.sql(dialect=dialect)


def replace_tables(tree: exp.Expression, tables: Mapping[str, exp.Expression]) -> None:
    """Swap each named table for its source (a subquery), keeping the alias the query uses."""
    for table in list(tree.find_all(exp.Table)):
        source = tables.get(table_key(table))
        if source is None:
            continue
        alias = table.alias or table.name
        table.replace(exp.Subquery(this=source.copy(),
                                   alias=exp.TableAlias(this=exp.to_identifier(alias))))


def _portable_hash(node: exp.Expression) -> exp.Expression:
    if isinstance(node, exp.Anonymous) and str(node.this).upper() == "HASH":
        parts = [exp.Coalesce(this=exp.cast(a.copy(), "VARCHAR"), expressions=[exp.Literal.string("")])
                 for a in node.expressions]
        return exp.SHA2(this=exp.func("CONCAT_WS", exp.Literal.string(":"), *parts),
                        length=exp.Literal.number(256))
    return node


def _min_by_pick(node: exp.Expression) -> exp.Expression:
    """``SELECT pu, UNNEST(ARG_MIN(STRUCT(...), h)), ...`` -> fields of a MIN_BY struct."""
    if not isinstance(node, exp.Select):
        return node
    picks = [e for e in node.expressions
             if isinstance(e, exp.Unnest) and isinstance(e.expressions[0], exp.ArgMin)]
    if not picks:
        return node
    unnest = picks[0]
    arg_min: exp.ArgMin = unnest.expressions[0]  # type: ignore[assignment]
    struct = arg_min.this
    fields = [f.this.name if isinstance(f, exp.PropertyEQ) else f.alias_or_name
              for f in struct.expressions]
    inner = node.copy()
    inner.set("expressions", [e.copy() for e in node.expressions if e is not unnest and not
                              _is_constant(e)] + [exp.alias_(arg_min.copy(), "__pick")])
    outer_cols: list[exp.Expression] = []
    for e in node.expressions:
        if e is unnest:
            outer_cols += [exp.alias_(exp.Dot(this=exp.column("__pick", table="__m"),
                                              expression=exp.to_identifier(f)), f)
                           for f in fields]
        elif _is_constant(e):
            outer_cols.append(e.copy())
        else:
            outer_cols.append(exp.column(e.alias_or_name, table="__m"))
    return exp.Select(expressions=outer_cols).from_(
        exp.Subquery(this=inner, alias=exp.TableAlias(this=exp.to_identifier("__m"))))


def _is_constant(e: exp.Expression) -> bool:
    return isinstance(e.unalias(), exp.Literal)


def _full_match(node: exp.Expression) -> exp.Expression:
    if isinstance(node, exp.RegexpFullMatch) and isinstance(node.expression, exp.Literal):
        pattern = exp.Literal.string(f"^(?:{node.expression.this})$")
        return exp.RegexpLike(this=node.this.copy(), expression=pattern)
    return node

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
- ``UNNEST(list) AS k`` in a select list becomes ``EXPLODE(list) AS k``;
- exact-mode ``AVG`` reads DOUBLE, as DuckDB's does (Spark keeps DECIMAL at 6 places);
- division and remainder by zero answer as in DuckDB instead of failing (Spark's ANSI mode);
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
           tables: Mapping[str, exp.Expr] | None = None) -> str:
    """SQL for ``dialect`` with the portable per-person choice (and ``tables`` swapped in)."""
    if compiled.tree is None:
        raise ValueError("this compiled question carries no tree; compile it again")
    tree = compiled.tree.copy()
    if tables:
        replace_tables(tree, tables)
    return render_tree(tree, dialect)


def render_tree(tree: exp.Expr, dialect: str) -> str:
    """Any DuckDB-dialect tree (a question's, or a registration's scan) for ``dialect``."""
    tree = tree.transform(_portable_hash)
    if dialect != "duckdb":
        tree = (tree.transform(_min_by_pick).transform(_full_match).transform(_explode)
                .transform(_double_avg))
        _total_division(tree)
    return tree.sql(dialect=dialect)


def replace_tables(tree: exp.Expr, tables: Mapping[str, exp.Expr]) -> None:
    """Swap each named table for its source (a subquery), keeping the alias the query uses."""
    for table in list(tree.find_all(exp.Table)):
        source = tables.get(table_key(table))
        if source is None:
            continue
        alias = table.alias or table.name
        table.replace(exp.Subquery(this=source.copy(),
                                   alias=exp.TableAlias(this=exp.to_identifier(alias))))


def _portable_hash(node: exp.Expr) -> exp.Expr:
    if isinstance(node, exp.Anonymous) and str(node.this).upper() == "HASH":
        parts = [exp.Coalesce(this=exp.cast(a.copy(), "VARCHAR"), expressions=[exp.Literal.string("")])
                 for a in node.expressions]
        return exp.SHA2(this=exp.func("CONCAT_WS", exp.Literal.string(":"), *parts),
                        length=exp.Literal.number(256))
    return node


def _min_by_pick(node: exp.Expr) -> exp.Expr:
    """``SELECT pu, UNNEST(ARG_MIN(STRUCT(...), h)), ...`` -> fields of a MIN_BY struct."""
    if not isinstance(node, exp.Select):
        return node
    picks = [e for e in node.expressions
             if isinstance(e, exp.Unnest) and isinstance(e.expressions[0], exp.ArgMin)]
    if not picks:
        return node
    unnest = picks[0]
    arg_min: exp.ArgMin = unnest.expressions[0]
    struct = arg_min.this
    fields = [f.this.name if isinstance(f, exp.PropertyEQ) else f.alias_or_name
              for f in struct.expressions]
    inner = node.copy()
    inner.set("expressions", [e.copy() for e in node.expressions if e is not unnest and not
                              _is_constant(e)] + [exp.alias_(arg_min.copy(), "__pick")])
    outer_cols: list[exp.Expr] = []
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


def _explode(node: exp.Expr) -> exp.Expr:
    """``UNNEST(list) AS k`` in a select list (the public key lists) -> ``EXPLODE(list) AS k``."""
    if isinstance(node, exp.Unnest) and isinstance(node.parent, exp.Select) \
            and len(node.expressions) == 1 and node.args.get("alias") is not None:
        alias = node.args["alias"]
        name = alias.name if isinstance(alias, exp.Identifier) else \
            (alias.columns[0].name if alias.columns else alias.name)
        return exp.alias_(exp.Explode(this=node.expressions[0].copy()), name)
    return node


def _double_avg(node: exp.Expr) -> exp.Expr:
    """AVG over DOUBLE, as DuckDB computes it (Spark averages DECIMAL in DECIMAL, 6 places)."""
    if isinstance(node, exp.Avg):
        return exp.Avg(this=exp.cast(node.this.copy(), "DOUBLE"))
    return node


def _total_division(tree: exp.Expr) -> None:
    """Division by zero as DuckDB answers it, where Spark (ANSI mode) would fail the query.

    DuckDB: ``x / 0`` is +-inf (NaN for 0 / 0), ``x % 0`` NaN, ``x // 0`` NULL. A query must not
    fail on a data value (whether a run succeeds may not depend on the private data), so the
    compiler makes arithmetic total in DuckDB's terms and Spark gets the same answers here.
    Innermost first, so nested divisions are all guarded. (A divisor of -0.0 gives +inf here,
    -inf in DuckDB.)
    """
    nodes = list(tree.find_all(exp.Div, exp.Mod, exp.IntDiv, bfs=False))
    for node in reversed(nodes):
        left, right = node.this, node.expression
        zero = exp.EQ(this=right.copy(), expression=exp.Literal.number(0))
        if isinstance(node, exp.IntDiv):
            at_zero: exp.Expr = exp.null()
        else:
            special = "Infinity" if isinstance(node, exp.Div) else "NaN"
            at_zero = exp.Mul(this=exp.Paren(this=left.copy()),
                              expression=exp.cast(exp.Literal.string(special), "DOUBLE"))
        kept = node.__class__(this=left.copy(), expression=right.copy())
        node.replace(exp.Case(ifs=[exp.If(this=zero, true=at_zero)], default=kept))


def _is_constant(e: exp.Expr) -> bool:
    return isinstance(e.unalias(), exp.Literal)


def _full_match(node: exp.Expr) -> exp.Expr:
    if isinstance(node, exp.RegexpFullMatch) and isinstance(node.expression, exp.Literal):
        pattern = exp.Literal.string(f"^(?:{node.expression.this})$")
        return exp.RegexpLike(this=node.this.copy(), expression=pattern)
    return node

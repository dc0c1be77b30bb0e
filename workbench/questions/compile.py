"""Compile a checked question into DuckDB SQL the engine runs.

The rewrite happens on the sqlglot tree, never on text:

1. dataset macros become the room's provisioned views and field macros their columns (a column
   with an input k-min reads through a filter keeping only values enough identities share);
2. each row is tagged with its privacy unit ``__pu`` (the identity), carried through CTEs and
   derived tables; joins must match identities, so a joined row belongs to one person;
3. DP mode: each unit keeps at most ``max_groups`` groups and ``max_rows`` rows per group
   (window functions over ``__pu``), values are clamped to the rule's bounds and sums are taken
   in fixed-point integers; groups come from the public key list (LEFT JOIN onto the keys so empty
   groups are released too) or, without one, with a per-key unit count for a threshold release;
4. exact mode (DP off): plain aggregates plus the per-group unit count for k-min suppression.

Nothing in the compiled query can fail on a data value (issue 10.1): the checks refuse functions
with restricted domains, and here casts become TRY_CAST, arithmetic is done in DOUBLE, values
compared with a column are cast (TRY_CAST) to the column's type, and summed values are read with
TRY_CAST before clamping; the clamping_bounds check refuses bounds whose sums could overflow.

Values (parameters, bounds, keys, salts) travel as bound query parameters named ``__*``.
"""

from __future__ import annotations

import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from sqlglot import exp
from sqlglot.optimizer.scope import Scope, traverse_scope

from workbench.errors import InvalidInput, RuleViolation
from workbench.questions.binding import DatasetBinding
from workbench.questions.checks import check
from workbench.questions.checks._base import CheckInput, group_keys
from workbench.questions.checks.allowed_outputs import aggregate_form
from workbench.questions.checks.clamping_bounds import fixed_point_scale
from workbench.questions.checks.identity_joins import identity_joins
from workbench.questions.params import bind
from workbench.questions.spec import Question
from workbench.questions.template import DIALECT, Parsed

Mode = Literal["dp", "exact"]
PU = "__pu"
IDS = "__ids"


@dataclass(frozen=True, kw_only=True)
class OutputAggregate:
    """One aggregate output and what the engine did to bound it."""

    #: output column name
    name: str
    #: count | count_distinct | sum | avg (privacy kinds; count_distinct = distinct units)
    kind: str
    #: clamping bounds (sum/avg)
    lower: float | None = None
    upper: float | None = None
    #: fixed-point factor for sum/avg
    scale: int = 1
    #: the exact vectors the query returns for it (an avg has "__sum" and "__count", less
    #: what it reuses)
    vectors: tuple[str, ...] = ()
    #: DP avg only: the released SUM of the same column it divides (no noisy sum of its own)
    sum_of: str | None = None
    #: DP avg only: the released COUNT(*) it divides by (no noisy count of its own)
    count_of: str | None = None

    @property
    def ratio_vectors(self) -> tuple[str, str]:
        """An avg's (sum, count) vectors in the engine's result: its own or the reused ones."""
        return (self.sum_of or f"{self.name}__sum", self.count_of or f"{self.name}__count")


@dataclass(frozen=True, kw_only=True)
class Compiled:
    """What the engine runs and how to read its result."""

    #: DuckDB SQL (no user values in it)
    sql: str
    #: bound query parameters (user parameters plus engine values)
    params: dict[str, Any]
    #: dp | exact
    mode: Mode
    #: group key output names, in order
    keys: tuple[str, ...]
    #: the public key list (DP with public keys): every key tuple released, in order
    key_values: tuple[tuple[str, ...], ...] | None
    #: the aggregates, in output order
    aggregates: tuple[OutputAggregate, ...]
    #: every output column in the question's order
    columns: tuple[str, ...]
    #: the contribution bounds enforced (DP mode)
    max_rows: int
    max_groups: int
    #: question ORDER BY over key names: (name, descending)
    order: tuple[tuple[str, bool], ...] = field(default=())
    #: the compiled sqlglot tree ``sql`` was rendered from: each engine renders its own dialect
    tree: exp.Expr | None = field(default=None, compare=False, repr=False)


def bindings_needed(question: Question) -> tuple[str, ...]:
    """The dataset macros a room must bind for this question."""
    return tuple(question.fields)


def compile_question(
    question: Question,
    bindings: Mapping[str, DatasetBinding],
    values: Mapping[str, Any] | None = None,
    *,
    mode: Mode = "dp",
) -> Compiled:
    """Check (strictly) and compile; raises RuleViolation or InvalidInput with the fix."""
    check(question, bindings, strict=True, mode=mode)
    if question.kind != "analytical":
        raise InvalidInput("user-list questions are not compiled to aggregates; run them as "
                           "audiences")
    params = {_user_param(k): v for k, v in bind(question.parameters, dict(values or {})).items()}
    parsed = question.parsed
    tree = parsed.tree.copy()  # type: ignore[union-attr]
    scopes = list(traverse_scope(tree))
    root = scopes[-1]
    _rename_placeholders(tree)
    _make_total(tree, scopes, bindings)
    _rewrite_tables(scopes, bindings)
    pu = _pu_expression(root, bindings, set())

    select: exp.Select = root.expression  # type: ignore[assignment]
    keys = group_keys(select)
    key_names: list[str] = []
    outputs: list[tuple[str, exp.Expr]] = []
    for projection in select.expressions:
        outputs.append((projection.alias_or_name, projection.unalias()))
    original: exp.Select = parsed.tree  # type: ignore[assignment]
    original_forms = [aggregate_form(p.unalias()) for p in original.expressions]
    public = _public_keys(parsed, bindings, group_keys(original)) if mode == "dp" else None

    src_cols: list[exp.Expr] = [exp.alias_(pu, PU)]
    key_cols: list[str] = []
    for i, key in enumerate(keys):
        kname = f"__k{i}"
        key_cols.append(kname)
        expr = key.copy()
        if public is not None:
            expr = exp.cast(expr, "VARCHAR")
        src_cols.append(exp.alias_(expr, kname))
        key_names.append(next(n for n, e in outputs if e == key))

    aggs: list[OutputAggregate] = []
    agg_sql: list[exp.Expr] = []
    reuse = _avg_reuse(outputs, original_forms) if mode == "dp" else {}
    for (name, expr), first in zip(outputs, original_forms, strict=True):
        form = aggregate_form(expr)
        if form is None or first is None:
            continue
        if "__" in name:
            raise InvalidInput(f"output name {name!r} may not contain '__'; rename it")
        j = len(aggs)
        vname = f"__v{j}"
        if form.column is not None:
            value: exp.Expr = form.column.copy()
            lower = upper = None
            if form.kind in ("sum", "avg"):
                assert first.column is not None
                lower, upper = _bounds(parsed, first.column, bindings)
                if mode == "dp":
                    value = _clamp(value, j, params, lower, upper)
            src_cols.append(exp.alias_(value, vname))
        else:
            lower = upper = None
        kind, scale, vectors, sql_parts = _aggregate_sql(
            name, form.kind, form.column is not None, vname, lower, upper, mode, j, params,
            is_identity=first.column is not None and _is_identity(parsed, first.column, bindings),
            max_rows=question.max_rows, max_groups=question.max_groups,
            reused=reuse.get(name, (None, None)))
        sum_of, count_of = reuse.get(name, (None, None))
        aggs.append(OutputAggregate(name=name, kind=kind, lower=lower, upper=upper, scale=scale,
                                    vectors=vectors, sum_of=sum_of, count_of=count_of))
        agg_sql.extend(sql_parts)
    if mode == "dp":
        units: exp.Expr = exp.func("COUNT_IF", exp.EQ(this=exp.column("__rn"),
                                                           expression=exp.Literal.number(1)))
    else:
        units = exp.Count(this=exp.Distinct(expressions=[exp.column(PU)]))
    agg_sql.append(exp.alias_(units, IDS))

    where = select.args.get("where")
    pu_not_null = exp.Not(this=exp.Is(this=pu.copy(), expression=exp.Null()))
    condition = exp.and_(where.this, pu_not_null) if where else pu_not_null
    src = exp.Select(expressions=src_cols)
    src.set("from_", select.args.get("from_"))
    src.set("joins", select.args.get("joins"))
    src.set("where", exp.Where(this=condition))

    ctes: list[exp.CTE] = list(tree.args["with_"].expressions) if tree.args.get("with_") else []
    ctes.append(exp.CTE(this=src, alias=exp.TableAlias(this=exp.to_identifier("__src"))))
    source = "__src"
    if mode == "dp":
        value_cols = [c.alias for c in src_cols if c.alias.startswith("__v")]
        if question.max_rows == 1 and question.max_groups == 1:
            bounded = _one_row_per_unit(key_cols, value_cols, params)
        else:
            bounded = _bounded(key_cols, question, params)
        ctes.append(exp.CTE(this=bounded, alias=exp.TableAlias(this=exp.to_identifier("__b"))))
        source = "__b"
    agg = exp.Select(expressions=[exp.column(k) for k in key_cols] + agg_sql).from_(source)
    if mode == "dp":
        agg = agg.where(exp.and_(
            exp.LTE(this=exp.column("__gn"), expression=_param("__max_groups")),
            exp.LTE(this=exp.column("__rn"), expression=_param("__max_rows"))))
        params["__max_groups"] = question.max_groups
        params["__max_rows"] = question.max_rows
    if key_cols:
        agg = agg.group_by(*[exp.column(k) for k in key_cols])
    ctes.append(exp.CTE(this=agg, alias=exp.TableAlias(this=exp.to_identifier("__agg"))))

    vector_names = [v for a in aggs for v in a.vectors]
    if public is not None and key_cols:
        final = _onto_public_keys(key_cols, public, vector_names, params)
    else:
        columns: list[exp.Expr] = [exp.column(v) for v in vector_names + [IDS]]
        if not key_cols:
            # one row over possibly nothing: COUNT_IF, SUM and AVG of no rows are NULL
            columns = [exp.alias_(exp.func("COALESCE", c, exp.Literal.number(0)), c.name)
                       for c in columns]
        final = exp.Select(expressions=[exp.column(k) for k in key_cols] + columns
                           ).from_("__agg")
    final.set("with_", exp.With(expressions=ctes))
    order = _order(select, outputs, key_names)
    return Compiled(
        sql=final.sql(dialect=DIALECT),
        params=params,
        mode=mode,
        keys=tuple(key_names),
        key_values=tuple(public) if public is not None else None,
        aggregates=tuple(aggs),
        columns=tuple(n for n, _ in outputs),
        max_rows=question.max_rows,
        max_groups=question.max_groups,
        order=order,
        tree=final,
    )


def _user_param(name: str) -> str:
    return f"p_{name}"


def _param(name: str) -> exp.Placeholder:
    return exp.Placeholder(this=name)


def _rename_placeholders(tree: exp.Expr) -> None:
    """User placeholders become ``p_<name>`` so they never clash with the engine's ``__*``."""
    for ph in list(tree.find_all(exp.Placeholder)):
        ph.set("this", _user_param(ph.name))


def _ident(name: str) -> exp.Identifier:
    return exp.to_identifier(name, quoted=True)


def _view_table(view: str, alias: str) -> exp.Table:
    parts = view.split(".")
    table = exp.Table(this=_ident(parts[-1]),
                      db=_ident(parts[-2]) if len(parts) > 1 else None,
                      catalog=_ident(parts[-3]) if len(parts) > 2 else None)
    table.set("alias", exp.TableAlias(this=exp.to_identifier(alias)))
    return table


def _input_k_min_source(binding: DatasetBinding, alias: str, used: set[str]) -> exp.Expr:
    """The view, or the view filtered to column values shared by at least input_k_min units."""
    ident = binding.rules.identity
    conditions: list[exp.Expr] = []
    for field_macro in sorted(used):
        rule = binding.rule(field_macro)
        column = binding.column(field_macro)
        if rule is None or column is None or not rule.input_k_min or rule.input_k_min <= 1:
            continue
        if ident is None:
            raise InvalidInput(f"{binding.macro}.{field_macro} has an input k-min but the dataset "
                               "has no identity column to count")
        inner = (exp.Select(expressions=[exp.column(_ident(column))])
                 .from_(_view_table(binding.view, "__kmin"))
                 .group_by(exp.column(_ident(column)))
                 .having(exp.GTE(this=exp.Count(this=exp.Distinct(
                     expressions=[exp.column(_ident(ident))])),
                     expression=exp.Literal.number(rule.input_k_min))))
        conditions.append(exp.In(this=exp.column(_ident(column)), query=exp.Subquery(this=inner)))
    if not conditions:
        return _view_table(binding.view, alias)
    body = exp.Select(expressions=[exp.Star()]).from_(_view_table(binding.view, "__base"))
    body = body.where(exp.and_(*conditions))
    return exp.Subquery(this=body, alias=exp.TableAlias(this=exp.to_identifier(alias)))


_COMPARISONS = (exp.EQ, exp.NEQ, exp.GT, exp.GTE, exp.LT, exp.LTE, exp.NullSafeEQ,
                exp.NullSafeNEQ, exp.Between, exp.In)
_ARITHMETIC = (exp.Add, exp.Sub, exp.Mul, exp.Div, exp.Mod, exp.IntDiv)


def _try_cast(node: exp.Expr, to: str | exp.DataType) -> exp.TryCast:
    """``TRY_CAST(node AS to)``, keeping ``node`` itself (scopes hold its columns)."""
    target = to if isinstance(to, exp.DataType) else exp.DataType.build(to, dialect=DIALECT)
    wrapper = exp.TryCast(this=exp.null(), to=target)
    node.replace(wrapper)
    wrapper.set("this", node)
    return wrapper


def _family(dtype: exp.DataType) -> str:
    if dtype.this in exp.DataType.TEXT_TYPES:
        return "text"
    if dtype.this in exp.DataType.NUMERIC_TYPES:
        return "number"
    return str(dtype.this)


def _column_type(scope: Scope, col: exp.Column, bindings: Mapping[str, DatasetBinding],
                 depth: int = 0) -> exp.DataType | None:
    """The engine type a column reads, traced through pass-through CTE columns; None if unknown."""
    source = scope.sources.get(col.table)
    if isinstance(source, exp.Table):
        binding = bindings.get(source.name)
        name = binding.type_of(col.name) if binding is not None else None
        if name is None:
            return None
        try:
            return exp.DataType.build(name, dialect=DIALECT)
        except Exception:  # an engine type sqlglot cannot spell: treat as unknown
            return None
    if isinstance(source, Scope) and depth < 32 and isinstance(source.expression, exp.Select):
        for projection in source.expression.expressions:
            inner = projection.unalias()
            if projection.alias_or_name == col.name and isinstance(inner, exp.Column):
                return _column_type(source, inner, bindings, depth + 1)
    return None


def _make_total(tree: exp.Expr, scopes: list[Scope],
                bindings: Mapping[str, DatasetBinding]) -> None:
    """Rewrite what could fail on a data value into its total form (see the module docstring)."""
    for cast in list(tree.find_all(exp.Cast)):
        if not isinstance(cast, exp.TryCast):
            replacement = exp.TryCast(this=exp.null(), to=cast.args["to"])
            inner = cast.this
            cast.replace(replacement)
            replacement.set("this", inner)
    for node in list(tree.find_all(*_ARITHMETIC, exp.Neg, exp.Abs)):
        operands = [node.this] if isinstance(node, (exp.Neg, exp.Abs)) else \
            [node.this, node.expression]
        for operand in operands:
            if not (isinstance(operand, exp.TryCast) and operand.to.this == exp.DataType.Type.DOUBLE):
                _try_cast(operand, "DOUBLE")
    for like in list(tree.find_all(exp.Like, exp.ILike)):
        for side in (like.this, like.expression):
            if not (isinstance(side, exp.Literal) and side.is_string):
                _try_cast(side, "VARCHAR")  # LIKE compares text, whatever its operands are
    for scope in scopes:
        for col in list(scope.columns):
            parent = col.parent
            if not isinstance(parent, _COMPARISONS):
                continue
            dtype = _column_type(scope, col, bindings)
            if dtype is None:
                continue
            others = [parent.args.get(k) for k in ("this", "expression", "low", "high")]
            others += list(parent.expressions) if isinstance(parent, exp.In) else []
            for other in others:
                if other is None or other is col or isinstance(other, exp.TryCast):
                    continue
                if isinstance(other, exp.Literal) and (
                        (other.is_string and _family(dtype) == "text")
                        or (other.is_number and _family(dtype) == "number")):
                    continue
                if isinstance(other, exp.Column):
                    other_type = _column_type(scope, other, bindings)
                    if other_type is not None and other_type == dtype:
                        continue
                _try_cast(other, dtype.copy())


def _rewrite_tables(scopes: list[Scope], bindings: Mapping[str, DatasetBinding]) -> None:
    """Macros to views, field macros to physical columns, in every scope."""
    for scope in scopes:
        used: dict[str, set[str]] = {}
        for col in scope.columns:
            if isinstance(scope.sources.get(col.table), exp.Table):
                used.setdefault(col.table, set()).add(col.name)
        for col in scope.columns:
            source = scope.sources.get(col.table)
            if isinstance(source, exp.Table):
                binding = bindings[source.name]
                col.set("this", _ident(binding.column(col.name)))  # type: ignore[arg-type]
        for alias, source in list(scope.sources.items()):
            if isinstance(source, exp.Table) and source.name in bindings \
                    and alias not in scope.cte_sources:
                binding = bindings[source.name]
                source.replace(_input_k_min_source(binding, alias, used.get(alias, set())))


def _pu_expression(scope: Scope, bindings: Mapping[str, DatasetBinding],
                   done: set[int]) -> exp.Expr:
    """The privacy-unit expression of a scope, adding ``__pu`` to inner CTEs as needed."""
    select = scope.expression
    assert isinstance(select, exp.Select)
    aliases = [select.args["from_"].this.alias_or_name] if select.args.get("from_") else []
    aliases += [j.this.alias_or_name for j in select.args.get("joins") or []]
    parts: list[exp.Expr] = []
    for alias in aliases:
        src = scope.sources.get(alias)
        if isinstance(src, Scope):
            inner = src.expression
            if id(inner) not in done:
                done.add(id(inner))
                inner_pu = _pu_expression(src, bindings, done)
                inner.append("expressions", exp.alias_(inner_pu, PU))
            parts.append(exp.column(PU, table=alias))
        elif isinstance(src, exp.Table):
            binding = bindings[src.name]
            ident = binding.rules.identity
            if ident is None:
                raise RuleViolation(
                    f"the dataset {binding.macro} has no identity column, so contributions "
                    "cannot be bounded",
                    violations=[{"rule": "privacy_unit", "dataset": binding.macro, "column": None,
                                 "message": (
                                     f"{binding.macro} has no identity column (privacy unit); its "
                                     "data manager must mark one before DP questions can use "
                                     "it")}])
            parts.append(exp.column(_ident(ident), table=alias))
    if not parts:
        raise InvalidInput("the question reads no dataset")
    return parts[0] if len(parts) == 1 else exp.func("COALESCE", *parts)


def _require_identity_joins(parsed: Parsed, bindings: Mapping[str, DatasetBinding]) -> None:
    """Raise RuleViolation unless every join matches identities (the identity_joins check, for
    callers compiling user lists; :func:`check` already runs it for every question)."""
    found = identity_joins(CheckInput(parsed=parsed, bindings=dict(bindings), strict=True))
    if found:
        raise RuleViolation(f"the question breaks {len(found)} analysis rule(s): " +
                            "; ".join(v.message for v in found),
                            violations=[v.to_dict() for v in found])


def _all_identity(parsed: Parsed, node: exp.Expr,
                  bindings: Mapping[str, DatasetBinding]) -> bool:
    if not isinstance(node, exp.Column):
        return False
    refs = parsed.sources_of(node)
    return bool(refs) and all(
        r.dataset in bindings and bindings[r.dataset].is_identity(r.field) for r in refs)


def _is_identity(parsed: Parsed, col: exp.Column, bindings: Mapping[str, DatasetBinding]) -> bool:
    return _all_identity(parsed, col, bindings)


def _bounds(parsed: Parsed, col: exp.Column,
            bindings: Mapping[str, DatasetBinding]) -> tuple[float, float]:
    """The widest clamping bounds of the dataset fields an aggregated column reads."""
    refs = parsed.sources_of(col)
    lowers, uppers = [], []
    for ref in refs:
        rule = bindings[ref.dataset].rule(ref.field)
        if rule is None or rule.lower is None or rule.upper is None:
            raise RuleViolation(
                f"{ref.dataset}.{ref.field} has no clamping bounds",
                violations=[{"rule": "allowed_outputs", "dataset": ref.dataset,
                             "column": ref.field, "message": (
                                 f"{ref.dataset}.{ref.field} has no clamping bounds; its rule "
                                 "needs lower and upper before it can be summed")}])
        lowers.append(rule.lower)
        uppers.append(rule.upper)
    if not lowers:
        raise InvalidInput(f"cannot tell which dataset column {col.sql()} reads")
    return float(min(lowers)), float(max(uppers))


def _clamp(value: exp.Expr, j: int, params: dict[str, Any], lower: float,
           upper: float) -> exp.Expr:
    params[f"__lo{j}"] = lower
    params[f"__hi{j}"] = upper
    as_double = _try_cast(value, "DOUBLE")
    return exp.func("LEAST", exp.func("GREATEST", as_double, _param(f"__lo{j}")),
                    _param(f"__hi{j}"))


def _aggregate_sql(name: str, kind: str, has_column: bool, vname: str, lower: float | None,
                   upper: float | None, mode: Mode, j: int, params: dict[str, Any], *,
                   is_identity: bool, max_rows: int, max_groups: int,
                   reused: tuple[str | None, str | None] = (None, None),
                   ) -> tuple[str, int, tuple[str, ...], list[exp.Expr]]:
    col = exp.column(vname)
    if kind == "count":
        expr: exp.Expr = exp.Count(this=col if has_column else exp.Star())
        return "count", 1, (name,), [exp.alias_(expr, name)]
    if kind == "count_distinct":
        if is_identity and mode == "dp":
            # joins match identities, so the column is the unit (or NULL); after bounding the
            # unit's first row in each group (__rn = 1) stands for it: no DISTINCT hash set
            first = exp.and_(exp.EQ(this=exp.column("__rn"), expression=exp.Literal.number(1)),
                             exp.Not(this=exp.Is(this=col, expression=exp.Null())))
            expr = exp.func("COUNT_IF", first)
            return "count_distinct", 1, (name,), [exp.alias_(expr, name)]
        expr = exp.Count(this=exp.Distinct(expressions=[col]))
        # distinct identities move by one per group; distinct other values by up to max_rows
        return ("count_distinct" if is_identity else "count"), 1, (name,), [exp.alias_(expr, name)]
    assert lower is not None and upper is not None
    if mode == "exact":
        if kind == "sum":
            return "sum", 1, (name,), [exp.alias_(exp.Sum(this=col), name)]
        return "avg", 1, (name,), [exp.alias_(exp.Avg(this=col), name)]
    scale = fixed_point_scale(lower, upper, max_rows, max_groups)
    if kind == "sum" or reused[0] is None:  # an avg reusing a released SUM sums nothing itself
        params[f"__scale{j}"] = scale
    fixed = exp.cast(exp.func("ROUND", exp.Mul(this=col, expression=_param(f"__scale{j}"))),
                     "BIGINT")
    total = exp.cast(exp.func("COALESCE", exp.Sum(this=fixed), exp.Literal.number(0)), "BIGINT")
    if kind == "sum":
        return "sum", scale, (name,), [exp.alias_(total, name)]
    # an avg divides a noisy sum by a noisy count, reusing those the question releases anyway
    parts = [(f"{name}__sum", total), (f"{name}__count", exp.Count(this=col))]
    own = [(v, e) for (v, e), r in zip(parts, reused, strict=True) if r is None]
    return "avg", scale, tuple(v for v, _ in own), [exp.alias_(e, v) for v, e in own]


def _avg_reuse(outputs: list[tuple[str, exp.Expr]], forms: list[Any]
               ) -> dict[str, tuple[str | None, str | None]]:
    """Per DP avg, the released SUM of the same column and the released COUNT(*) it can divide
    instead of noisy vectors of its own (post-processing is free).

    The avg's count counts the rows of its group after contribution bounding, as COUNT(*) does:
    its clamped value is never NULL (GREATEST skips a NULL), so the two vectors are equal.
    """
    out: dict[str, tuple[str | None, str | None]] = {}
    for (name, expr), first in zip(outputs, forms, strict=True):
        form = aggregate_form(expr)
        if form is None or first is None or form.kind != "avg":
            continue
        same_sum = next((n for (n, e), f in zip(outputs, forms, strict=True)
                         if f is not None and f.kind == "sum" and first.column is not None
                         and f.column == first.column), None)
        rows = next((n for (n, e), f in zip(outputs, forms, strict=True)
                     if f is not None and f.kind == "count" and f.column is None), None)
        out[name] = (same_sum, rows)
    return out


def _bounded(key_cols: list[str], question: Question, params: dict[str, Any]) -> exp.Select:
    """Rank each unit's groups and its rows within a group, in one window (one sort).

    Over W = (PARTITION BY unit ORDER BY hash(unit, keys, salt), keys): ``__gn`` (dense rank) is
    the group's rank among the unit's groups, and row_number - rank + 1 numbers the unit's rows
    within one group. The salt is fresh per run, so which groups a unit keeps is random and
    depends only on that unit's own rows.
    """
    params["__salt"] = secrets.randbits(62)
    keys = [exp.column(k) for k in key_cols]
    order = [exp.Ordered(this=exp.func("HASH", exp.column(PU), *keys, _param("__salt")))]
    order += [exp.Ordered(this=k.copy()) for k in keys]

    def window(func: exp.Expr) -> exp.Window:
        return exp.Window(this=func, partition_by=[exp.column(PU)],
                          order=exp.Order(expressions=[o.copy() for o in order]))

    gn = window(exp.DenseRank())
    rn = exp.Add(this=exp.Sub(this=window(exp.RowNumber()), expression=window(exp.Rank())),
                 expression=exp.Literal.number(1))
    return exp.Select(expressions=[exp.Star(), exp.alias_(gn, "__gn"), exp.alias_(rn, "__rn")]
                      ).from_("__src")


def _one_row_per_unit(key_cols: list[str], value_cols: list[str], params: dict[str, Any]
                      ) -> exp.Select:
    """max_rows = max_groups = 1: keep each unit's row with the smallest salted hash.

    The same bound as :func:`_bounded` with a hash aggregate instead of a sort (about 8% less
    time at 3M rows); ties between rows of one unit keep one of them, never two.
    """
    cols = key_cols + value_cols
    if cols:
        params["__salt"] = secrets.randbits(62)
    packed = exp.Struct(expressions=[
        exp.PropertyEQ(this=exp.to_identifier(c), expression=exp.column(c)) for c in cols])
    chosen = exp.func("ARG_MIN", packed, exp.func(
        "HASH", exp.column(PU), *[exp.column(k) for k in key_cols], _param("__salt")))
    picked: list[exp.Expr] = [exp.Unnest(expressions=[chosen])] if cols else []
    return (exp.Select(expressions=[
        exp.column(PU), *picked,
        exp.alias_(exp.Literal.number(1), "__gn"), exp.alias_(exp.Literal.number(1), "__rn")])
        .from_("__src").group_by(exp.column(PU)))


def _public_keys(parsed: Parsed, bindings: Mapping[str, DatasetBinding],
                 keys: list[exp.Expr]) -> list[tuple[str, ...]] | None:
    """The cross product of the group columns' public value lists, or None when any lacks one."""
    lists: list[tuple[str, ...]] = []
    for key in keys:
        if not isinstance(key, exp.Column):
            return None
        refs = parsed.sources_of(key)
        if len(refs) != 1:
            return None
        ref = next(iter(refs))
        rule = bindings[ref.dataset].rule(ref.field)
        if rule is None or rule.public_values is None:
            return None
        lists.append(tuple(str(v) for v in rule.public_values))
    out: list[tuple[str, ...]] = [()]
    for values in lists:
        out = [prefix + (v,) for prefix in out for v in values]
    return out


def _onto_public_keys(key_cols: list[str], public: list[tuple[str, ...]], vectors: list[str],
                      params: dict[str, Any]) -> exp.Select:
    """LEFT JOIN the aggregates onto the public key list: every key released, data or not."""
    key_sources: list[exp.Expr] = []
    for i, k in enumerate(key_cols):
        params[f"__keys{i}"] = sorted({row[i] for row in public})
        key_sources.append(exp.Subquery(
            this=exp.Select(expressions=[exp.alias_(exp.Unnest(expressions=[_param(
                f"__keys{i}")]), k)]),
            alias=exp.TableAlias(this=exp.to_identifier(f"__kl{i}"))))
    keys_sel = exp.Select(expressions=[exp.column(k, table=f"__kl{i}")
                                       for i, k in enumerate(key_cols)])
    if key_sources:
        keys_sel = keys_sel.from_(key_sources[0])
        for extra in key_sources[1:]:
            keys_sel = keys_sel.join(extra, join_type="CROSS")
    on = exp.and_(*[exp.EQ(this=exp.column(k, table="__keys"), expression=exp.column(
        k, table="__agg")) for k in key_cols]) if key_cols else exp.true()
    cols: list[exp.Expr] = [exp.column(k, table="__keys") for k in key_cols]
    cols += [exp.alias_(exp.func("COALESCE", exp.column(v, table="__agg"),
                                 exp.Literal.number(0)), v) for v in vectors]
    cols.append(exp.alias_(exp.func("COALESCE", exp.column(IDS, table="__agg"),
                                    exp.Literal.number(0)), IDS))
    final = exp.Select(expressions=cols).from_(exp.Subquery(
        this=keys_sel, alias=exp.TableAlias(this=exp.to_identifier("__keys"))))
    return final.join(exp.Table(this=exp.to_identifier("__agg")), on=on, join_type="LEFT")


def _order(select: exp.Select, outputs: list[tuple[str, exp.Expr]],
           key_names: list[str]) -> tuple[tuple[str, bool], ...]:
    order = select.args.get("order")
    if not order:
        return ()
    out: list[tuple[str, bool]] = []
    for ordered in order.expressions:
        expr = ordered.this
        name = None
        for n, e in outputs:
            if e == expr or (isinstance(expr, exp.Column) and not expr.table and expr.name == n):
                name = n
        if name in key_names:
            out.append((name, bool(ordered.args.get("desc"))))
    return tuple(out)

"""identity_joins: every join matches identities (``ON p.email = a.email``), so each joined row
belongs to one person and the per-person bounds hold after the join; in a room without noise
(exact) the join must also be an INNER join, since an outer join's unmatched rows are a second
population a difference of two results can isolate."""

from __future__ import annotations

from sqlglot import exp

from workbench.questions.checks._base import CheckInput, Violation

RULE = "identity_joins"


def identity_joins(q: CheckInput) -> list[Violation]:
    """At least one term of every ON is an equality of two identity columns."""
    out: list[Violation] = []
    for scope in q.parsed.scopes:
        select = scope.expression
        if not isinstance(select, exp.Select):
            continue
        for join in select.args.get("joins") or []:
            target = join_target(join)
            terms = on_terms(join)
            if terms and not any(
                    isinstance(t, exp.EQ) and identity_column(q, t.left)
                    and identity_column(q, t.right) for t in terms):
                out.append(Violation(rule=RULE, dataset=target, message=(
                    f"the join with {target} does not match identities; join on the identity "
                    "columns (for example ON p.email = a.email) so each joined row belongs to one "
                    "person")))
            kind = (join.args.get("side") or join.args.get("kind") or "").upper()
            if q.mode == "exact" and kind not in ("", "INNER"):
                out.append(Violation(rule=RULE, dataset=target, message=(
                    f"{kind} JOIN {target} is not allowed in a room without differential privacy; "
                    "use an inner JOIN (unmatched rows of an outer join can be differenced)")))
    return out


def on_terms(join: exp.Join) -> list[exp.Expr]:
    """The AND-ed terms of a join's ON (none for a join without one)."""
    on = join.args.get("on")
    return list(on.flatten()) if isinstance(on, exp.And) else [on] if on is not None else []


def join_target(join: exp.Join) -> str:
    """The dataset macro or alias a join brings in, for messages."""
    return join.this.name if isinstance(join.this, exp.Table) else join.this.alias_or_name


def identity_column(q: CheckInput, node: exp.Expr) -> bool:
    """Whether ``node`` is a column that reads only identity fields (unknown bindings: trusted
    until the run-time check, which knows them all)."""
    if not isinstance(node, exp.Column):
        return False
    refs = q.parsed.sources_of(node)
    if not refs:
        return False
    for ref in refs:
        binding = q.binding(ref)
        if binding is None:
            if q.strict:
                return False
            continue
        if not binding.is_identity(ref.field):
            return False
    return True


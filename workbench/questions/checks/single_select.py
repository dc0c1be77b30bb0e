"""single_select: a question is one SELECT (CTEs allowed), with no set operations and nothing
that writes (subqueries in expressions are bounded_references' concern)."""

from __future__ import annotations

from sqlglot import exp

from workbench.questions.checks._base import CheckInput, Violation

RULE = "single_select"
_WRITES = (exp.Insert, exp.Update, exp.Delete, exp.Create, exp.Drop, exp.Command, exp.Alter,
           exp.Merge, exp.Set, exp.Pragma, exp.Use, exp.Copy, exp.Attach, exp.Detach,
           exp.Transaction, exp.Commit, exp.Rollback)


def single_select(q: CheckInput) -> list[Violation]:
    """One SELECT statement; CTEs and derived tables are fine, UNION and friends are not."""
    statements = q.parsed.statements
    out: list[Violation] = []
    if len(statements) > 1:
        out.append(Violation(rule=RULE, message=(
            f"the SQL holds {len(statements)} statements; a question is exactly one SELECT "
            "(remove the extra statements and the semicolons between them)")))
    first = statements[0]
    if not isinstance(first, exp.Query):
        kind = first.key.upper()
        out.append(Violation(rule=RULE, message=(
            f"a question must be a SELECT, not {kind}; questions only read data")))
        return out
    for node in first.walk():
        if isinstance(node, _WRITES):
            out.append(Violation(rule=RULE, message=(
                f"{node.key.upper()} is not allowed inside a question; questions only read data")))
        elif isinstance(node, exp.SetOperation):
            out.append(Violation(rule=RULE, message=(
                f"{node.key.upper()} combines queries; a question is a single SELECT (use CTEs "
                "and joins instead)")))
    return out

"""Static checks of a question against a room's analysis rules.

One module per rule, each holding one function of the same name that takes a
:class:`CheckInput` and returns every :class:`Violation` it finds. :data:`CHECKS` runs them in
order and :func:`check` reports all violations at once, each naming rule, dataset and column.
The checks read the parsed tree (sqlglot), never the SQL text.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

from workbench.errors import RuleViolation
from workbench.questions.binding import DatasetBinding
from workbench.questions.checks._base import CheckInput, Violation
from workbench.questions.checks.allowed_outputs import allowed_outputs
from workbench.questions.checks.join_columns import join_columns
from workbench.questions.checks.known_columns import known_columns
from workbench.questions.checks.no_exact_ordering import no_exact_ordering
from workbench.questions.checks.no_pii import no_pii
from workbench.questions.checks.no_star import no_star
from workbench.questions.checks.no_table_functions import no_table_functions
from workbench.questions.checks.single_select import single_select
from workbench.questions.spec import Question

Check = Callable[[CheckInput], list[Violation]]

#: the rules, in the order they run and report
CHECKS: tuple[Check, ...] = (
    single_select,
    no_star,
    no_table_functions,
    known_columns,
    join_columns,
    allowed_outputs,
    no_pii,
    no_exact_ordering,
)

#: checks whose verdict needs a well-formed single query
_NEEDS_TREE = {"known_columns", "join_columns", "allowed_outputs", "no_pii"}


def violations(
    question: Question,
    bindings: Mapping[str, DatasetBinding] | None = None,
    *,
    strict: bool = False,
) -> list[Violation]:
    """Every violation of every rule, in rule order."""
    q = CheckInput(parsed=question.parsed, kind=question.kind, bindings=dict(bindings or {}),
                   strict=strict)
    found: list[Violation] = []
    for rule in CHECKS:
        if q.parsed.tree is None and rule.__name__ in _NEEDS_TREE:
            continue
        found.extend(rule(q))
    unique: list[Violation] = []
    for v in found:
        if v not in unique:
            unique.append(v)
    return unique


def check(
    question: Question,
    bindings: Mapping[str, DatasetBinding] | None = None,
    *,
    strict: bool = False,
) -> None:
    """Raise RuleViolation listing every violation, or return when the question passes."""
    found = violations(question, bindings, strict=strict)
    if found:
        lines = "; ".join(f"[{v.rule}] {v.message}" for v in found)
        raise RuleViolation(
            f"the question breaks {len(found)} analysis rule(s): {lines}",
            violations=[v.to_dict() for v in found],
        )


__all__ = ["CHECKS", "CheckInput", "Violation", "check", "violations"]

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
from workbench.questions.checks._base import CheckInput, Mode, Violation
from workbench.questions.checks.allowed_outputs import allowed_outputs
from workbench.questions.checks.bounded_references import bounded_references
from workbench.questions.checks.clamping_bounds import clamping_bounds
from workbench.questions.checks.exact_rooms import exact_rooms
from workbench.questions.checks.identity_joins import identity_joins
from workbench.questions.checks.join_columns import join_columns
from workbench.questions.checks.known_columns import known_columns
from workbench.questions.checks.no_exact_ordering import no_exact_ordering
from workbench.questions.checks.no_pii import no_pii
from workbench.questions.checks.no_star import no_star
from workbench.questions.checks.no_table_functions import no_table_functions
from workbench.questions.checks.plain_grouping import plain_grouping
from workbench.questions.checks.privacy_unit import privacy_unit
from workbench.questions.checks.single_select import single_select
from workbench.questions.checks.total_expressions import total_expressions
from workbench.questions.spec import Question

Check = Callable[[CheckInput], list[Violation]]

#: the rules, in the order they run and report
CHECKS: tuple[Check, ...] = (
    single_select,
    no_star,
    no_table_functions,
    known_columns,
    privacy_unit,
    join_columns,
    identity_joins,
    bounded_references,
    plain_grouping,
    allowed_outputs,
    clamping_bounds,
    no_pii,
    no_exact_ordering,
    total_expressions,
    exact_rooms,
)

#: checks whose verdict needs a well-formed single query
_NEEDS_TREE = {"known_columns", "privacy_unit", "join_columns", "identity_joins",
               "allowed_outputs", "clamping_bounds", "no_pii", "exact_rooms"}


def violations(
    question: Question,
    bindings: Mapping[str, DatasetBinding] | None = None,
    *,
    strict: bool = False,
    mode: Mode | None = None,
) -> list[Violation]:
    """Every violation of every rule, in rule order (``mode``: the room's release mode)."""
    q = CheckInput(parsed=question.parsed, kind=question.kind, bindings=dict(bindings or {}),
                   strict=strict, mode=mode, parameters=question.parameters,
                   max_rows=question.max_rows, max_groups=question.max_groups)
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
    mode: Mode | None = None,
) -> None:
    """Raise RuleViolation listing every violation, or return when the question passes."""
    found = violations(question, bindings, strict=strict, mode=mode)
    if found:
        lines = "; ".join(f"[{v.rule}] {v.message}" for v in found)
        raise RuleViolation(
            f"the question breaks {len(found)} analysis rule(s): {lines}",
            violations=[v.to_dict() for v in found],
        )


__all__ = ["CHECKS", "CheckInput", "Mode", "Violation", "check", "violations"]

"""What every check receives and returns."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from sqlglot import exp

from workbench.questions.binding import DatasetBinding
from workbench.questions.params import Parameter
from workbench.questions.template import FieldRef, Parsed

#: how a room releases results: with noise (dp) or exact with k-min only; None when unknown
Mode = Literal["dp", "exact"]


@dataclass(frozen=True, kw_only=True)
class Violation:
    """One broken rule, naming the rule, the dataset and the column, with how to fix it."""

    #: the check's name (its module)
    rule: str
    #: what is wrong and how to fix it, in a sentence a question author can act on
    message: str
    #: the dataset macro involved, if any
    dataset: str | None = None
    #: the field macro involved, if any
    column: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """The form sent on the wire inside RuleViolation."""
        return {"rule": self.rule, "dataset": self.dataset, "column": self.column,
                "message": self.message}


@dataclass(frozen=True, kw_only=True)
class CheckInput:
    """A parsed template plus what the room binds its macros to."""

    #: the parsed, qualified template
    parsed: Parsed
    #: analytical | user_list
    kind: str = "analytical"
    #: dataset macro -> binding; macros missing here are checked only when ``strict``
    bindings: Mapping[str, DatasetBinding] = field(default_factory=dict)
    #: at run time every macro and field must be bound (at save time the room may be a draft)
    strict: bool = False
    #: the room's release mode; None checks what both modes require
    mode: Mode | None = None
    #: the question's runtime parameters
    parameters: tuple[Parameter, ...] = ()
    #: the question's contribution bounds
    max_rows: int = 1
    max_groups: int = 1

    def binding(self, ref: FieldRef) -> DatasetBinding | None:
        """The binding of a field's dataset."""
        return self.bindings.get(ref.dataset)


def outer_select(parsed: Parsed) -> exp.Select | None:
    """The outermost SELECT of the template, when it is one."""
    tree = parsed.tree
    return tree if isinstance(tree, exp.Select) else None


AGG_TYPES: tuple[type[exp.Expr], ...] = (exp.AggFunc,)


def is_aggregate(node: exp.Expr) -> bool:
    """Whether ``node`` is an aggregate function call."""
    return isinstance(node, exp.AggFunc)


def group_keys(select: exp.Select) -> list[exp.Expr]:
    """The GROUP BY expressions of a SELECT."""
    group = select.args.get("group")
    return list(group.expressions) if group else []

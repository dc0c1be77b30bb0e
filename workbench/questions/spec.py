"""The question spec: an approved, parameterised SQL template.

A Question is frozen and validates itself on construction: the SQL parses as one statement, every
placeholder is a declared parameter and every declared parameter is used. Whether it obeys a
room's analysis rules is a separate step (``workbench.questions.checks``), run when the question
is saved into a room and again before every run, because rules change.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any, Literal

from sqlglot import exp

from workbench.errors import InvalidInput
from workbench.questions.params import Parameter
from workbench.questions.template import Parsed, parse, placeholders

Kind = Literal["analytical", "user_list"]
KINDS: tuple[Kind, ...] = ("analytical", "user_list")

#: safe contribution bounds: one row per identity and group, one group per identity
DEFAULT_MAX_ROWS = 1
DEFAULT_MAX_GROUPS = 1
#: the largest bounds a question may declare (noise grows with them)
LIMIT_MAX_ROWS = 1000
LIMIT_MAX_GROUPS = 1000

_NAME = re.compile(r"^\S.{0,199}$")


@dataclass(frozen=True, kw_only=True)
class Question:
    """One question: what it asks (SQL template), what it takes (parameters), how it is bounded."""

    #: a short title shown in lists
    name: str
    #: the SQL template: table names are dataset macros, column names field macros
    sql: str
    #: runtime parameters, referenced as ``:name`` in the template
    parameters: tuple[Parameter, ...] = ()
    #: analytical (released aggregates) or user_list (an audience of identities)
    kind: Kind = "analytical"
    #: what the question answers and how to read it
    description: str = ""
    #: the organisation that authored this version
    author_org_id: str | None = None
    #: increases by one on every edit
    version: int = 1
    #: most rows one identity contributes to one group (DP contribution bound)
    max_rows: int = DEFAULT_MAX_ROWS
    #: most groups one identity contributes to (DP contribution bound)
    max_groups: int = DEFAULT_MAX_GROUPS
    #: set when the question is a clone: the question it was cloned from
    cloned_from: str | None = None
    #: public scale per output column (a typical value, e.g. reach per group), stated by the
    #: author and not read from data: accuracy targets such as "±2%" are relative to it
    scales: dict[str, float] = field(default_factory=dict, hash=False)
    _parsed: Parsed | None = field(default=None, repr=False, compare=False)

    def __post_init__(self) -> None:
        if not isinstance(self.name, str) or not _NAME.match(self.name):
            raise InvalidInput("a question needs a name of 1 to 200 characters")
        if self.kind not in KINDS:
            raise InvalidInput(f"unknown question kind {self.kind!r}; use one of {KINDS}")
        if not isinstance(self.version, int) or self.version < 1:
            raise InvalidInput("version must be a positive integer")
        for attr, limit in (("max_rows", LIMIT_MAX_ROWS), ("max_groups", LIMIT_MAX_GROUPS)):
            value = getattr(self, attr)
            if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= limit:
                raise InvalidInput(f"{attr} must be an integer from 1 to {limit}, got {value!r}")
        _check_scales(self.scales)
        if not isinstance(self.parameters, tuple):
            object.__setattr__(self, "parameters", tuple(self.parameters))
        names = [p.name for p in self.parameters]
        if len(set(names)) != len(names):
            raise InvalidInput(f"parameter names repeat: {names}")
        parsed = parse(self.sql)
        object.__setattr__(self, "_parsed", parsed)
        used: set[str] = set()
        for statement in parsed.statements:
            for ph in statement.find_all(exp.Placeholder):
                if not ph.name:
                    raise InvalidInput("use named parameters (:name), not '?'")
            used |= placeholders(statement)
        declared = {ph: p.name for p in self.parameters for ph in p.placeholders}
        unknown = used - set(declared)
        if unknown:
            raise InvalidInput(
                f"the SQL uses undeclared parameters {sorted(unknown)}; declare them in "
                "parameters (a date range 'period' is used as :period_start and :period_end)",
                unknown=sorted(unknown),
            )
        unused = sorted({declared[ph] for ph in set(declared) - used})
        if unused:
            raise InvalidInput(f"declared parameters {unused} are not used in the SQL",
                               unused=unused)

    @property
    def parsed(self) -> Parsed:
        """The parsed, qualified template."""
        assert self._parsed is not None
        return self._parsed

    @cached_property
    def fields(self) -> dict[str, tuple[str, ...]]:
        """Dataset macro -> the field macros the question reads (what a room must map)."""
        return {k: tuple(sorted(v)) for k, v in sorted(self.parsed.macros().items())}

    def to_dict(self) -> dict[str, Any]:
        """A JSON/YAML-friendly form; :meth:`from_dict` reads it back."""
        out: dict[str, Any] = {
            "name": self.name,
            "kind": self.kind,
            "description": self.description,
            "sql": self.sql,
            "parameters": [p.to_dict() for p in self.parameters],
            "max_rows": self.max_rows,
            "max_groups": self.max_groups,
            "version": self.version,
        }
        if self.author_org_id is not None:
            out["author_org_id"] = self.author_org_id
        if self.cloned_from is not None:
            out["cloned_from"] = self.cloned_from
        if self.scales:
            out["scales"] = dict(self.scales)
        return out

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Question:
        """Build from :meth:`to_dict` output; unknown keys are an error."""
        if not isinstance(data, dict):
            raise InvalidInput("a question is a mapping of fields")
        known = {"name", "kind", "description", "sql", "parameters", "max_rows", "max_groups",
                 "version", "author_org_id", "cloned_from", "scales"}
        extra = set(data) - known
        if extra:
            raise InvalidInput(f"unknown question fields {sorted(extra)}; known: {sorted(known)}")
        kwargs = dict(data)
        kwargs["parameters"] = tuple(Parameter.from_dict(p) for p in data.get("parameters") or ())
        kwargs["scales"] = dict(data.get("scales") or {})
        return cls(**kwargs)


def _check_scales(scales: object) -> None:
    """Public scales are positive finite numbers keyed by output column names."""
    if not isinstance(scales, dict):
        raise InvalidInput("scales must map output column names to numbers")
    for name, value in scales.items():
        if not isinstance(name, str) or not name:
            raise InvalidInput(f"scales must be keyed by output column names, got {name!r}")
        if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value) \
                or value <= 0:
            raise InvalidInput(f"the public scale of {name!r} must be a number above 0, got {value!r}")

"""Typed runtime parameters of a question.

A parameter is declared by the question's author and referenced in the SQL template as ``:name``
(or ``$name``). Values are checked against the declared type here and then bound as DuckDB query
parameters on the parsed tree; they never become SQL text. A date range ``period`` is referenced as
``:period_start`` and ``:period_end``.
"""

from __future__ import annotations

import datetime as dt
import math
import re
from dataclasses import dataclass
from typing import Any, Literal

from workbench.errors import InvalidInput

ParamType = Literal["integer", "number", "date", "date_range", "one_of", "text"]
PARAM_TYPES: tuple[ParamType, ...] = ("integer", "number", "date", "date_range", "one_of", "text")

_NAME = re.compile(r"^[a-z][a-z0-9_]{0,62}$")
#: longest text value accepted, whatever the pattern says
MAX_TEXT = 1000


@dataclass(frozen=True, kw_only=True)
class Parameter:
    """One runtime parameter a question takes."""

    #: name used in the template as ``:name`` (lowercase letters, digits, underscores)
    name: str
    #: integer | number | date | date_range | one_of | text
    type: ParamType
    #: a sentence for the analyst filling it in
    description: str = ""
    #: allowed values (one_of only)
    choices: tuple[str | int | float, ...] = ()
    #: a full-match regular expression the value must satisfy (text only)
    pattern: str | None = None
    #: inclusive bounds (integer, number, date); dates as ISO strings
    minimum: Any = None
    maximum: Any = None
    #: used when the caller gives no value; None makes the parameter required
    default: Any = None

    def __post_init__(self) -> None:
        if not _NAME.match(self.name):
            raise InvalidInput(
                f"parameter name {self.name!r} is not allowed; use lowercase letters, digits and "
                "underscores, starting with a letter",
                parameter=self.name,
            )
        if self.type not in PARAM_TYPES:
            raise InvalidInput(
                f"parameter {self.name}: unknown type {self.type!r}; use one of {PARAM_TYPES}",
                parameter=self.name,
            )
        if self.type == "one_of" and not self.choices:
            raise InvalidInput(f"parameter {self.name}: one_of needs a list of choices",
                               parameter=self.name)
        if self.type != "one_of" and self.choices:
            raise InvalidInput(f"parameter {self.name}: choices only apply to one_of",
                               parameter=self.name)
        if self.type == "text":
            if not self.pattern:
                raise InvalidInput(
                    f"parameter {self.name}: text parameters need a pattern (e.g. '[A-Z]{{2}}')",
                    parameter=self.name,
                )
            try:
                re.compile(self.pattern)
            except re.error as e:
                raise InvalidInput(f"parameter {self.name}: bad pattern: {e}",
                                   parameter=self.name) from None
        elif self.pattern is not None:
            raise InvalidInput(f"parameter {self.name}: pattern only applies to text",
                               parameter=self.name)
        if self.default is not None:
            self.coerce(self.default)

    @property
    def placeholders(self) -> tuple[str, ...]:
        """The names this parameter answers to in the template."""
        if self.type == "date_range":
            return (f"{self.name}_start", f"{self.name}_end")
        return (self.name,)

    def coerce(self, value: Any) -> dict[str, Any]:
        """Check ``value`` and return the query parameters it binds (placeholder -> value)."""
        if value is None:
            if self.default is None:
                raise InvalidInput(f"parameter {self.name} is required", parameter=self.name)
            value = self.default
        t = self.type
        if t == "integer":
            v = _integer(self.name, value)
            self._range(v, v)
            return {self.name: v}
        if t == "number":
            n = _number(self.name, value)
            self._range(n, n)
            return {self.name: n}
        if t == "date":
            d = _date(self.name, value)
            self._range(d, d)
            return {self.name: d}
        if t == "date_range":
            if isinstance(value, dict):
                pair = (value.get("start"), value.get("end"))
            elif isinstance(value, (list, tuple)) and len(value) == 2:
                pair = (value[0], value[1])
            else:
                raise InvalidInput(
                    f"parameter {self.name}: a date range is [start, end] or "
                    "{'start': ..., 'end': ...}",
                    parameter=self.name,
                )
            start, end = _date(self.name, pair[0]), _date(self.name, pair[1])
            if start > end:
                raise InvalidInput(f"parameter {self.name}: start {start} is after end {end}",
                                   parameter=self.name)
            self._range(start, end)
            return {f"{self.name}_start": start, f"{self.name}_end": end}
        if t == "one_of":
            for choice in self.choices:
                if value == choice and type(value) is type(choice):
                    return {self.name: choice}
            raise InvalidInput(
                f"parameter {self.name}: {value!r} is not one of {list(self.choices)}",
                parameter=self.name,
            )
        if not isinstance(value, str):
            raise InvalidInput(f"parameter {self.name}: expected text", parameter=self.name)
        if len(value) > MAX_TEXT or not re.fullmatch(self.pattern or "", value):
            raise InvalidInput(
                f"parameter {self.name}: the value does not match the pattern {self.pattern!r}",
                parameter=self.name,
            )
        return {self.name: value}

    def _range(self, low: Any, high: Any) -> None:
        lo = _date(self.name, self.minimum) if self.type in ("date", "date_range") and \
            self.minimum is not None else self.minimum
        hi = _date(self.name, self.maximum) if self.type in ("date", "date_range") and \
            self.maximum is not None else self.maximum
        if lo is not None and low < lo:
            raise InvalidInput(f"parameter {self.name}: {low} is below the minimum {lo}",
                               parameter=self.name)
        if hi is not None and high > hi:
            raise InvalidInput(f"parameter {self.name}: {high} is above the maximum {hi}",
                               parameter=self.name)

    def to_dict(self) -> dict[str, Any]:
        """A JSON/YAML-friendly form (only fields that differ from their defaults)."""
        out: dict[str, Any] = {"name": self.name, "type": self.type}
        if self.description:
            out["description"] = self.description
        if self.choices:
            out["choices"] = list(self.choices)
        for key in ("pattern", "minimum", "maximum", "default"):
            value = getattr(self, key)
            if value is not None:
                out[key] = value.isoformat() if isinstance(value, dt.date) else value
        return out

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Parameter:
        """Inverse of :meth:`to_dict`; unknown keys are an error."""
        known = {"name", "type", "description", "choices", "pattern", "minimum", "maximum",
                 "default"}
        extra = set(data) - known
        if extra:
            raise InvalidInput(f"unknown parameter fields {sorted(extra)}; known: {sorted(known)}")
        if "name" not in data or "type" not in data:
            raise InvalidInput("a parameter needs a name and a type")
        kwargs = dict(data)
        if "choices" in kwargs:
            kwargs["choices"] = tuple(kwargs["choices"])
        return cls(**kwargs)


def _integer(name: str, value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        if isinstance(value, str) and re.fullmatch(r"-?\d{1,18}", value.strip()):
            return int(value)
        raise InvalidInput(f"parameter {name}: expected an integer, got {value!r:.40}",
                           parameter=name)
    if abs(value) >= 2**63:
        raise InvalidInput(f"parameter {name}: integer out of range", parameter=name)
    return value


def _number(name: str, value: Any) -> float:
    if isinstance(value, bool):
        raise InvalidInput(f"parameter {name}: expected a number", parameter=name)
    if isinstance(value, (int, float)):
        n = float(value)
    elif isinstance(value, str):
        try:
            n = float(value)
        except ValueError:
            raise InvalidInput(f"parameter {name}: expected a number, got {value!r:.40}",
                               parameter=name) from None
    else:
        raise InvalidInput(f"parameter {name}: expected a number", parameter=name)
    if not math.isfinite(n):
        raise InvalidInput(f"parameter {name}: the number must be finite", parameter=name)
    return n


def _date(name: str, value: Any) -> dt.date:
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    if isinstance(value, str):
        try:
            return dt.date.fromisoformat(value.strip())
        except ValueError:
            pass
    raise InvalidInput(f"parameter {name}: expected a date as YYYY-MM-DD, got {value!r:.40}",
                       parameter=name)


def bind(parameters: tuple[Parameter, ...], values: dict[str, Any] | None) -> dict[str, Any]:
    """Check every value and return the query parameters (placeholder name -> typed value)."""
    values = dict(values or {})
    known = {p.name for p in parameters}
    extra = set(values) - known
    if extra:
        raise InvalidInput(
            f"unknown parameters {sorted(extra)}; this question takes {sorted(known) or 'none'}",
            unknown=sorted(extra),
        )
    out: dict[str, Any] = {}
    for p in parameters:
        out.update(p.coerce(values.get(p.name)))
    return out

"""How a room binds a question's dataset macro: the provisioned view, field mapping and rules."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from workbench.data.rules import AnalysisRules, ColumnRule

_IDENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


@dataclass(frozen=True, kw_only=True)
class DatasetBinding:
    """One dataset macro as a room resolves it (trusted metadata, never user text)."""

    #: the macro the question's SQL uses as a table name
    macro: str
    #: the provisioned view to read (schema-qualified names allowed: "schema.view")
    view: str
    #: field macro -> physical column of the view
    fields: Mapping[str, str] = field(default_factory=dict)
    #: the analysis rules of the provisioned dataset (keyed by physical column)
    rules: AnalysisRules
    #: the provisioned dataset's id, when bound from a room (results derive from it)
    dataset_id: str | None = None
    #: physical column -> engine type (the compiler casts compared values to it)
    types: Mapping[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        for part in self.view.split("."):
            if not _IDENT.match(part):
                raise ValueError(f"view name {self.view!r} is not a plain identifier")
        object.__setattr__(self, "fields", {k.lower(): v for k, v in self.fields.items()})

    @classmethod
    def from_resolved(cls, macro: str, resolved: Any) -> DatasetBinding:
        """From the data package's ResolvedDataset(view, rules, fields)."""
        return cls(macro=macro, view=resolved.view, fields=dict(resolved.fields),
                   rules=resolved.rules, dataset_id=getattr(resolved, "dataset_id", None),
                   types=dict(getattr(resolved, "types", None) or {}))

    def column(self, field_macro: str) -> str | None:
        """The physical column a field macro maps to, or None when it is not mapped."""
        return self.fields.get(field_macro.lower())

    def type_of(self, field_macro: str) -> str | None:
        """The engine type of the column a field macro maps to, when known."""
        col = self.column(field_macro)
        if col is None:
            return None
        return self.types.get(col) or {k.lower(): v for k, v in self.types.items()}.get(
            col.lower())

    def rule(self, field_macro: str) -> ColumnRule | None:
        """The analysis rule of the column a field macro maps to."""
        col = self.column(field_macro)
        return self.rules.column(col) if col is not None else None

    def is_pii(self, field_macro: str) -> bool:
        """Whether the mapped column is labelled PII."""
        col = self.column(field_macro)
        return col is not None and col.lower() in {p.lower() for p in self.rules.pii}

    def is_identity(self, field_macro: str) -> bool:
        """Whether the mapped column is the dataset's identity (the privacy unit)."""
        col = self.column(field_macro)
        ident = self.rules.identity
        return col is not None and ident is not None and col.lower() == ident.lower()

    def identity_field(self) -> str | None:
        """The field macro mapped to the identity column, if any."""
        ident = self.rules.identity
        for macro, col in self.fields.items():
            if ident is not None and col.lower() == ident.lower():
                return macro
        return None

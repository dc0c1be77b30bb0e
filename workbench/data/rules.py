"""Analysis rules: what questions may do with a provisioned dataset's columns.

Rules are versioned data (every change makes a new version, audited). The question checker and
the DP engine read them; nothing else decides what a column may be used for.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

Aggregation = Literal["COUNT", "COUNT_DISTINCT", "SUM", "AVG"]
AGGREGATIONS: tuple[Aggregation, ...] = ("COUNT", "COUNT_DISTINCT", "SUM", "AVG")


@dataclass(frozen=True, kw_only=True)
class ColumnRule:
    """What questions may do with one column of a provisioned dataset."""

    name: str
    #: usable in an equality join condition
    join: bool = False
    #: may be projected (and grouped by) as a group key
    group_by: bool = False
    #: the public list of this column's values, used as the DP key set (None: data-dependent keys)
    public_values: tuple[str, ...] | None = None
    #: aggregations allowed over this column
    aggregations: frozenset[Aggregation] = frozenset()
    #: clamping bounds for SUM and AVG over a numeric column
    lower: float | None = None
    upper: float | None = None
    #: minimum number of distinct identities behind any value of this column used as input
    input_k_min: int | None = None

    def __post_init__(self) -> None:
        bad = set(self.aggregations) - set(AGGREGATIONS)
        if bad:
            raise ValueError(f"unknown aggregation {sorted(bad)} on {self.name}; use {AGGREGATIONS}")
        numeric = {"SUM", "AVG"} & set(self.aggregations)
        if numeric and (self.lower is None or self.upper is None):
            raise ValueError(f"{self.name}: SUM/AVG need clamping bounds (lower and upper)")
        if self.lower is not None and self.upper is not None and self.lower > self.upper:
            raise ValueError(f"{self.name}: lower bound {self.lower} is above upper {self.upper}")
        if self.input_k_min is not None and self.input_k_min < 1:
            raise ValueError(f"{self.name}: input_k_min must be at least 1")


@dataclass(frozen=True, kw_only=True)
class AnalysisRules:
    """All column rules of one provisioned dataset, at one version."""

    #: the provisioned dataset these rules belong to
    dataset_id: str
    #: increases by one on every change
    version: int = 1
    #: rule per column; a column without a rule may not be used at all
    columns: dict[str, ColumnRule] = field(default_factory=dict)
    #: columns labelled PII: never projected, not even through expressions
    pii: frozenset[str] = frozenset()
    #: the identity column (hashed), the privacy unit
    identity: str | None = None

    def column(self, name: str) -> ColumnRule | None:
        """The rule for ``name`` (case-insensitive), or None when the column has none."""
        return self.columns.get(name) or {k.lower(): v for k, v in self.columns.items()}.get(
            name.lower()
        )


def rules_to_json(rules: AnalysisRules) -> dict[str, Any]:
    """A JSON-ready dict of ``rules`` (columns sorted by name); the store and the wire use it."""
    return {
        "dataset_id": rules.dataset_id,
        "version": rules.version,
        "identity": rules.identity,
        "pii": sorted(rules.pii),
        "columns": [
            {
                "name": c.name,
                "join": c.join,
                "group_by": c.group_by,
                "public_values": list(c.public_values) if c.public_values is not None else None,
                "aggregations": sorted(c.aggregations),
                "lower": c.lower,
                "upper": c.upper,
                "input_k_min": c.input_k_min,
            }
            for c in sorted(rules.columns.values(), key=lambda c: c.name)
        ],
    }


def rules_from_json(dataset_id: str, version: int, data: dict[str, Any]) -> AnalysisRules:
    """The rules :func:`rules_to_json` wrote."""
    columns = {
        c["name"]: ColumnRule(
            name=c["name"],
            join=bool(c.get("join", False)),
            group_by=bool(c.get("group_by", False)),
            public_values=tuple(c["public_values"]) if c.get("public_values") is not None else None,
            aggregations=frozenset(c.get("aggregations", ())),
            lower=c.get("lower"),
            upper=c.get("upper"),
            input_k_min=c.get("input_k_min"),
        )
        for c in data.get("columns", [])
    }
    return AnalysisRules(dataset_id=dataset_id, version=version, columns=columns,
                         pii=frozenset(data.get("pii", ())), identity=data.get("identity"))

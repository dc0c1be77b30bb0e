"""The twin's model: public domains, noisy marginals, a Chow-Liu tree, and sampling from it.

Pure functions (no store, no OpenDP): the operations read the data and release the marginals
through :mod:`workbench.privacy`; everything here after the release is post-processing.

The method, documented once:

1. **Columns.** Every provisioned column that is neither the identity nor labelled PII is a
   candidate. A text or boolean column is modelled over a public domain: the values its rule
   lists as public (``public_values``), or values the owner declares when publishing, or
   true/false. A numeric column is clamped to public bounds (its rule's lower/upper, or bounds
   the owner declares) and cut into equal-width bins. Each column has one more cell, "missing
   or other" (NULL, or a value outside the domain), which the twin writes as NULL. A column with
   no public domain or bounds is not modelled and is NULL in the twin: no category or bound is
   ever read from the data.
2. **Measurements.** Each person (identity) contributes one row, picked at random among theirs.
   The release is one vector: the number of people, every one-way marginal and every two-way
   marginal (a count of people per cell). A person is in exactly one cell of each marginal, so
   the vector's L1 sensitivity is the number of marginals M, and OpenDP's discrete Laplace adds
   noise of scale M / epsilon to every cell.
3. **Tree.** Negative noisy counts become 0. The mutual information of each pair is computed from
   its noisy two-way marginal, and a maximum spanning tree over the columns (Chow and Liu, 1968)
   keeps the strongest dependencies.
4. **Sampling.** The root column is drawn from its noisy one-way marginal; every other column from
   its noisy two-way marginal with its parent, given the parent's drawn value (its one-way
   marginal when that row of the joint is empty). Numbers are drawn uniformly inside their bin.
   The twin has as many rows as the noisy number of people.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from itertools import combinations
from typing import Any, Literal

import numpy as np

from workbench.data.rules import AnalysisRules

#: at most this many columns are modelled (M = 1 + d + d(d-1)/2 marginals share the budget)
MAX_COLUMNS = 8
#: at most this many values in one categorical domain
MAX_VALUES = 64
#: default and largest number of bins of a numeric column
DEFAULT_BINS = 8
MAX_BINS = 32
#: the largest twin (rows)
MAX_ROWS = 200_000
#: column types the twin models
CATEGORICAL_TYPES = ("text", "boolean")
NUMERIC_TYPES = ("integer", "double")

Source = Literal["public values", "declared values", "boolean", "rule bounds", "declared bounds"]


@dataclass(frozen=True, kw_only=True)
class ColumnModel:
    """How one column is discretised; every field is public (rules or the owner's declaration)."""

    #: the physical column
    name: str
    #: text | boolean | integer | double
    type: str
    #: where the domain comes from
    source: Source
    #: categorical values, in order (empty for a numeric column)
    values: tuple[str, ...] = ()
    #: clamping bounds and number of equal-width bins (numeric columns)
    lower: float | None = None
    upper: float | None = None
    bins: int = 0

    @property
    def numeric(self) -> bool:
        return self.type in NUMERIC_TYPES

    @property
    def cells(self) -> int:
        """Cells of the column's one-way marginal: its values or bins, plus "missing or other"."""
        return (self.bins if self.numeric else len(self.values)) + 1

    def labels(self) -> list[str]:
        """A readable label per cell (bins as [low, high))."""
        if not self.numeric:
            return [*self.values, "(missing or other)"]
        assert self.lower is not None and self.upper is not None
        width = (self.upper - self.lower) / self.bins
        return [f"[{self.lower + i * width:g}, {self.lower + (i + 1) * width:g})"
                for i in range(self.bins)] + ["(missing)"]

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "type": self.type, "source": self.source,
                "values": list(self.values), "lower": self.lower, "upper": self.upper,
                "bins": self.bins}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> ColumnModel:
        return cls(name=data["name"], type=data["type"], source=data["source"],
                   values=tuple(data.get("values") or ()), lower=data.get("lower"),
                   upper=data.get("upper"), bins=int(data.get("bins") or 0))


@dataclass(frozen=True, kw_only=True)
class Choice:
    """Which columns the twin models, and why the others are NULL in it."""

    columns: tuple[ColumnModel, ...]
    #: column -> why it is not modelled
    skipped: dict[str, str] = field(default_factory=dict)


def choose_columns(columns: Sequence[tuple[str, str]], rules: AnalysisRules, *,
                   domains: Mapping[str, Sequence[Any]], bounds: Mapping[str, Sequence[float]],
                   bins: int) -> Choice:
    """The modelled columns from (name, type) pairs in file order, with public domains only.

    ``domains`` and ``bounds`` are the owner's declarations (column names case-insensitive);
    raises ValueError naming the column when a declaration is unusable.
    """
    declared_values = {k.lower(): list(v) for k, v in domains.items()}
    declared_bounds = {k.lower(): list(v) for k, v in bounds.items()}
    known = {name.lower() for name, _ in columns}
    for name in [*declared_values, *declared_bounds]:
        if name not in known:
            raise ValueError(f"{name!r} is not a provisioned column of this dataset")
    pii = {p.lower() for p in rules.pii}
    identity = (rules.identity or "").lower()
    out: list[ColumnModel] = []
    skipped: dict[str, str] = {}
    for name, typ in columns:
        low = name.lower()
        if low == identity:
            continue  # replaced by synthetic identities
        if low in pii:
            skipped[name] = "labelled PII: never modelled"
            continue
        rule = rules.column(name)
        model: ColumnModel | None = None
        if typ in CATEGORICAL_TYPES:
            if low in declared_values:
                model = _categorical(name, typ, declared_values[low], "declared values")
            elif rule is not None and rule.public_values is not None:
                model = _categorical(name, typ, list(rule.public_values), "public values")
            elif typ == "boolean":
                model = _categorical(name, typ, ["true", "false"], "boolean")
            else:
                skipped[name] = ("no public list of values: give it public values in the rules, "
                                 "or declare its values when publishing")
        elif typ in NUMERIC_TYPES:
            if low in declared_bounds:
                model = _numeric(name, typ, declared_bounds[low], bins, "declared bounds")
            elif rule is not None and rule.lower is not None and rule.upper is not None:
                model = _numeric(name, typ, [rule.lower, rule.upper], bins, "rule bounds")
            else:
                skipped[name] = ("no public bounds: give it clamping bounds in the rules, or "
                                 "declare bounds when publishing")
        else:
            skipped[name] = f"{typ} columns are not modelled"
        if model is None:
            continue
        if len(out) >= MAX_COLUMNS:
            skipped[name] = f"the twin models at most {MAX_COLUMNS} columns"
            continue
        out.append(model)
    return Choice(columns=tuple(out), skipped=skipped)


def _categorical(name: str, typ: str, values: list[Any], source: Source) -> ColumnModel:
    texts = [str(v).lower() if typ == "boolean" else str(v) for v in values]
    if not texts:
        raise ValueError(f"{name!r}: a domain needs at least one value")
    if len(set(texts)) != len(texts):
        raise ValueError(f"{name!r}: its values are listed twice; list each once")
    if len(texts) > MAX_VALUES:
        raise ValueError(f"{name!r}: at most {MAX_VALUES} values are modelled, got {len(texts)}; "
                         "declare the most common ones (the rest are 'other')")
    if typ == "boolean" and not set(texts) <= {"true", "false"}:
        raise ValueError(f"{name!r} is boolean: its values are true and false")
    return ColumnModel(name=name, type=typ, source=source, values=tuple(texts))


def _numeric(name: str, typ: str, pair: list[Any], bins: int, source: Source) -> ColumnModel:
    if len(pair) != 2:
        raise ValueError(f"{name!r}: bounds are [lower, upper]")
    lower, upper = (float(x) for x in pair)
    if not (math.isfinite(lower) and math.isfinite(upper)) or lower > upper:
        raise ValueError(f"{name!r}: bounds must be finite with lower <= upper, got {pair}")
    return ColumnModel(name=name, type=typ, source=source, lower=lower, upper=upper,
                       bins=1 if upper == lower else bins)


# --- measurements ---------------------------------------------------------------------------------
def pairs(d: int) -> list[tuple[int, int]]:
    """Every pair of column positions, in a fixed order."""
    return list(combinations(range(d), 2))


def n_marginals(d: int) -> int:
    """Marginals measured for d columns: the total, d one-way and d(d-1)/2 two-way."""
    return 1 + d + d * (d - 1) // 2


def exact_vector(cells: np.ndarray, models: Sequence[ColumnModel]) -> list[int]:
    """The exact measurement vector: [total] + one-way marginals + two-way marginals.

    ``cells`` has one row per person and one column per model (each a cell index).
    """
    n = int(cells.shape[0])
    out = [n]
    for j, m in enumerate(models):
        out.extend(int(x) for x in np.bincount(cells[:, j], minlength=m.cells))
    for a, b in pairs(len(models)):
        joint = cells[:, a] * models[b].cells + cells[:, b]
        out.extend(int(x) for x in np.bincount(joint, minlength=models[a].cells * models[b].cells))
    return out


@dataclass(frozen=True, kw_only=True)
class Marginals:
    """The noisy release, cleaned (no negative counts) and cut into its marginals."""

    total: float
    one_way: list[np.ndarray]
    #: (a, b) -> matrix of shape (cells a, cells b)
    two_way: dict[tuple[int, int], np.ndarray]


def split_vector(noisy: Sequence[float], models: Sequence[ColumnModel]) -> Marginals:
    """Cut a released vector back into marginals, negative counts set to 0 (post-processing)."""
    values = np.maximum(np.asarray(noisy, dtype=float), 0.0)
    pos = 1
    one: list[np.ndarray] = []
    for m in models:
        one.append(values[pos:pos + m.cells])
        pos += m.cells
    two: dict[tuple[int, int], np.ndarray] = {}
    for a, b in pairs(len(models)):
        size = models[a].cells * models[b].cells
        two[(a, b)] = values[pos:pos + size].reshape(models[a].cells, models[b].cells)
        pos += size
    if pos != len(values):
        raise ValueError(f"the released vector has {len(values)} cells; the model needs {pos}")
    return Marginals(total=float(values[0]), one_way=one, two_way=two)


def _normalised(counts: np.ndarray) -> np.ndarray:
    total = float(counts.sum())
    if total <= 0:
        return np.full(counts.shape, 1.0 / counts.size)
    return counts / total


def mutual_information(joint: np.ndarray) -> float:
    """Mutual information (nats) of a two-way table of counts."""
    p = _normalised(joint)
    pa, pb = p.sum(axis=1, keepdims=True), p.sum(axis=0, keepdims=True)
    mask = p > 0
    return float((p[mask] * np.log(p[mask] / (pa @ pb)[mask])).sum())


def chow_liu(marginals: Marginals, d: int) -> list[tuple[int, int]]:
    """(parent, child) edges of a maximum spanning tree on noisy mutual information, from
    column 0, in the order the columns are to be drawn (Prim's algorithm)."""
    if d <= 1:
        return []
    weight = {pair: mutual_information(joint) for pair, joint in marginals.two_way.items()}
    inside = {0}
    edges: list[tuple[int, int]] = []
    while len(inside) < d:
        best = max(((weight[(min(a, b), max(a, b))], a, b) for a in inside
                    for b in range(d) if b not in inside), key=lambda t: (t[0], -t[2]))
        _, parent, child = best
        edges.append((parent, child))
        inside.add(child)
    return edges


def sample_cells(marginals: Marginals, models: Sequence[ColumnModel], edges: Sequence[tuple[int, int]],
                 rows: int, rng: np.random.Generator) -> np.ndarray:
    """Draw ``rows`` cell indices per column from the tree (root: column 0)."""
    d = len(models)
    cells = np.zeros((rows, d), dtype=np.int64)
    if d == 0 or rows == 0:
        return cells
    cells[:, 0] = rng.choice(models[0].cells, size=rows, p=_normalised(marginals.one_way[0]))
    for parent, child in edges:
        a, b = min(parent, child), max(parent, child)
        joint = marginals.two_way[(a, b)]
        given = joint if parent == a else joint.T  # rows: the parent's cells
        fallback = _normalised(marginals.one_way[child])
        for value in np.unique(cells[:, parent]):
            where = np.flatnonzero(cells[:, parent] == value)
            row = given[value]
            p = _normalised(row) if row.sum() > 0 else fallback
            cells[where, child] = rng.choice(models[child].cells, size=where.size, p=p)
    return cells


def values_of(cells: np.ndarray, model: ColumnModel, rng: np.random.Generator) -> list[Any]:
    """Column values for cell indices: a category, a number inside its bin, or None."""
    missing = model.cells - 1
    if not model.numeric:
        if model.type == "boolean":
            return [None if c == missing else model.values[c] == "true" for c in cells]
        return [None if c == missing else model.values[c] for c in cells]
    assert model.lower is not None and model.upper is not None
    width = (model.upper - model.lower) / model.bins
    drawn = model.lower + (cells + rng.random(cells.size)) * width
    out: list[Any] = []
    for c, x in zip(cells, drawn, strict=True):
        if c == missing:
            out.append(None)
        elif model.type == "integer":
            out.append(int(min(max(math.floor(x), math.ceil(model.lower)), math.floor(model.upper))))
        else:
            out.append(float(min(x, model.upper)))
    return out


# --- how far a twin is from the data it copies (bench and tests; never released) ---------------
@dataclass(frozen=True, kw_only=True)
class MarginalError:
    """Mean absolute error of the twin's marginals against the real data's, as fractions."""

    #: mean over one-way marginals of the mean over cells of |real share - twin share|
    one_way_mae: float
    two_way_mae: float
    #: the same as total variation distance (half the L1 distance), averaged over marginals
    one_way_tvd: float
    two_way_tvd: float


def marginal_error(real: np.ndarray, twin: np.ndarray, models: Sequence[ColumnModel]) -> MarginalError:
    """Compare two cell arrays (one row per person, one column per model)."""
    def shares(cells: np.ndarray, idx: tuple[int, ...]) -> np.ndarray:
        size = [models[i].cells for i in idx]
        flat = np.zeros(cells.shape[0], dtype=np.int64)
        for i in idx:
            flat = flat * models[i].cells + cells[:, i]
        return _normalised(np.bincount(flat, minlength=int(np.prod(size))).astype(float))

    def errors(groups: Sequence[tuple[int, ...]]) -> tuple[float, float]:
        if not groups:
            return 0.0, 0.0
        diffs = [np.abs(shares(real, g) - shares(twin, g)) for g in groups]
        return (float(np.mean([x.mean() for x in diffs])),
                float(np.mean([x.sum() / 2 for x in diffs])))

    one, one_tvd = errors([(j,) for j in range(len(models))])
    two, two_tvd = errors(pairs(len(models)))
    return MarginalError(one_way_mae=one, two_way_mae=two, one_way_tvd=one_tvd,
                         two_way_tvd=two_tvd)

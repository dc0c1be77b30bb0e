"""Wire models of synthetic twins: publish, status, and draft runs on a twin.

Every response about twin data says ``synthetic: true`` and carries :data:`LABEL`, so a result
can never be mistaken for a released one, whoever prints it.
"""

from __future__ import annotations

import datetime as dt
from typing import Any, Literal

from pydantic import BaseModel, Field, StrictFloat, StrictInt, StrictStr

from workbench.wire.questions import In, QuestionDraft

#: the label every twin result carries (tables, charts, CSV, API responses)
LABEL = "SYNTHETIC: computed on DP synthetic twins, not on the real data; not a released result"


class TwinPublish(In):
    """What the dataset's owner chooses when publishing its twin."""

    #: epsilon charged once to the owner's ledger in the room, e.g. "1"
    epsilon: StrictStr = Field(min_length=1, max_length=40)
    #: declared value lists of text columns without public values (published with the twin)
    domains: dict[StrictStr, list[StrictStr | StrictInt | StrictFloat | bool]] = {}
    #: declared [lower, upper] of numeric columns without rule bounds (published with the twin)
    bounds: dict[StrictStr, list[StrictInt | StrictFloat]] = {}
    #: equal-width bins per numeric column
    bins: StrictInt = Field(default=8, ge=1, le=32)
    #: share of the twin's people whose synthetic identities match other parties' twins
    #: (e.g. the rate the room's DP match rates released); None: 0.5, marked assumed
    match_rate: StrictFloat | StrictInt | None = Field(default=None, ge=0, le=1)


class TwinColumn(BaseModel):
    """A modelled column: where its public domain comes from and its cells."""

    name: str
    type: str
    source: str
    cells: list[str]


class Twin(BaseModel):
    """A twin's status and what it cost; never its real counterpart's figures."""

    synthetic: Literal[True] = True
    label: str = LABEL
    id: str
    room_id: str
    dataset_id: str
    org_id: str
    #: building | ready | failed
    status: str
    epsilon: str
    delta: str
    #: synthetic rows (the noisy number of people)
    rows: int | None
    columns: list[TwinColumn] = []
    #: column -> why it is NULL in the twin
    not_modelled: dict[str, str] = {}
    #: Chow-Liu tree edges (parent, child) the rows were drawn from
    tree: list[list[str]] = []
    #: marginals measured and the discrete Laplace scale added to each of their cells
    marginals: int = 0
    noise_scale: float = 0.0
    #: expected mean absolute error of one marginal cell, as a fraction of the twin's rows
    #: (noise scale / rows): the error figure the owner can show without reading the data again
    expected_cell_error: float | None = None
    match_rate: float
    #: declared | assumed
    match_rate_source: str
    method: str = ""
    created_at: dt.datetime | None = None


class TwinRows(BaseModel):
    """Rows of a twin, to see its shape: every value synthetic, identities included."""

    synthetic: Literal[True] = True
    label: str = LABEL
    twin_id: str
    columns: list[str]
    rows: list[list[Any]]


class TwinDraftRun(In):
    """A draft question to run on the room's twins (free; nothing stored)."""

    draft: QuestionDraft
    parameters: dict[StrictStr, Any] = {}


class TwinResult(BaseModel):
    """A draft's result on synthetic twins: labelled, never stored, never a run."""

    synthetic: Literal[True] = True
    label: str = LABEL
    #: an id for this answer only (not a run id: no run, dashboard or flow accepts it)
    draft_id: str
    room_id: str
    question: str
    #: dataset id -> the twin id it was read from
    twins: dict[str, str]
    columns: list[str]
    rows: list[list[Any]]
    #: groups under the room's crowd size (as a real run would suppress them)
    suppressed: int = 0
    notes: list[str] = []
    epsilon_spent: Literal["0"] = "0"

"""Wire models of questions, question permissions, terms, templates, plans, runs and budgets."""

from __future__ import annotations

import datetime as dt
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StrictBool, StrictInt, StrictStr


class In(BaseModel):
    """Requests refuse unknown fields, so a typo is an error rather than a silent default."""

    model_config = ConfigDict(extra="forbid")


Value = StrictStr | StrictInt | float | StrictBool | None


class ParameterSpec(In):
    """A runtime parameter: integer | number | date | date_range | one_of | text."""

    name: StrictStr = Field(min_length=1, max_length=63)
    type: Literal["integer", "number", "date", "date_range", "one_of", "text"]
    description: StrictStr = ""
    choices: list[StrictStr | StrictInt | float] = []
    pattern: StrictStr | None = None
    minimum: Any = None
    maximum: Any = None
    default: Any = None


class QuestionDraft(In):
    """What an author writes."""

    name: StrictStr = Field(min_length=1, max_length=200)
    sql: StrictStr = Field(min_length=1, max_length=20_000)
    parameters: list[ParameterSpec] = []
    kind: Literal["analytical", "user_list"] = "analytical"
    description: StrictStr = Field(default="", max_length=5000)
    max_rows: StrictInt = Field(default=1, ge=1, le=1000)
    max_groups: StrictInt = Field(default=1, ge=1, le=1000)
    #: public scale per output column (a typical value stated by the author, not read from
    #: data): relative accuracy targets such as "±2%" are relative to it
    scales: dict[StrictStr, float] = {}


class QuestionUpdate(In):
    """Fields to change; every change makes a new version."""

    name: StrictStr | None = Field(default=None, min_length=1, max_length=200)
    sql: StrictStr | None = Field(default=None, min_length=1, max_length=20_000)
    parameters: list[ParameterSpec] | None = None
    kind: Literal["analytical", "user_list"] | None = None
    description: StrictStr | None = Field(default=None, max_length=5000)
    max_rows: StrictInt | None = Field(default=None, ge=1, le=1000)
    max_groups: StrictInt | None = Field(default=None, ge=1, le=1000)
    scales: dict[StrictStr, float] | None = None


class Violation(BaseModel):
    """One broken analysis rule."""

    rule: str
    dataset: str | None = None
    column: str | None = None
    message: str


class CheckReport(BaseModel):
    """The verdict of the static check (empty violations: the question passes)."""

    ok: bool
    violations: list[Violation]
    #: dataset macro -> field macros the question reads
    fields: dict[str, list[str]]
    #: macros the room has not mapped yet (checked again at run time)
    unmapped: list[str] = []
    #: whether the room adds noise (differential privacy); exact rooms allow fewer shapes
    dp: bool = True
    #: what an exact (DP-off) room does and does not protect, shown with every verdict there
    notice: str | None = None


class Terms(BaseModel):
    """Who runs a question and who receives its results."""

    model_config = ConfigDict(extra="forbid")

    #: org ids that may run it; empty = any participating organisation
    runners: list[StrictStr] = []
    #: org ids that receive results; empty = the organisation that runs it
    receivers: list[StrictStr] = []


class Question(BaseModel):
    id: str
    room_id: str
    author_org_id: str
    author_user_id: str
    name: str
    kind: str
    description: str
    version: int
    in_room: bool
    #: the SQL template; None when the caller's org may not view the code
    sql: str | None
    parameters: list[dict[str, Any]]
    fields: dict[str, list[str]]
    max_rows: int
    max_groups: int
    cloned_from: str | None = None
    #: public scale per output column, for relative accuracy targets
    scales: dict[str, float] = {}
    terms: Terms
    #: what the caller's org may do with it (question permissions)
    my_permissions: dict[str, bool]
    #: this question's overrides of its author org's defaults (the author org sees them all, a
    #: partner those that concern it), so clients can show why a permission differs
    permission_overrides: list[PermissionRule] = []
    created_at: str
    updated_at: str


class PermissionRule(BaseModel):
    """One question-permission setting."""

    model_config = ConfigDict(extra="forbid")

    permission: Literal["view_code", "edit_delete", "clone", "run", "view_output"]
    #: "*" for any partner, or a partner org id
    partner_org_id: StrictStr = "*"
    allowed: StrictBool


class PermissionRules(BaseModel):
    model_config = ConfigDict(extra="forbid")

    rules: list[PermissionRule]


class PlanRequest(In):
    parameters: dict[str, Any] = {}
    #: exact decimal strings ("1", "0.25") or numbers
    epsilon: StrictStr | float | StrictInt = "1"
    #: None: 0 with public keys, a tenth of the room's delta budget otherwise
    delta: StrictStr | float | StrictInt | None = None
    #: accuracy first: the 95% error each noisy column needs, absolute ("±5000", 5000) or
    #: relative to the question's public scale ("±2%"); the plan then spends the smallest
    #: epsilon that meets them all, and ``epsilon`` is not read
    targets: dict[StrictStr, StrictStr | float | StrictInt] | None = Field(default=None, max_length=100)


class ColumnPlan(BaseModel):
    name: str
    kind: str
    #: noise scale in released units (None in rooms with DP off)
    noise_scale: float | None
    #: 95% interval half-width of the noise (None for averages and DP-off rooms)
    ci95: float | None
    sensitivity: int | None
    epsilon: str | None


class TargetPlan(BaseModel):
    """One accuracy target and what the plan achieves for it."""

    name: str
    #: as asked ("±2%", "±5000")
    asked: str
    #: the 95% half-width asked, in the column's units
    half_width: float
    #: the 95% half-width the plan gives (at most half_width)
    ci95: float
    #: the epsilon of the column's noisy vector
    epsilon: str


class TargetsPlan(BaseModel):
    """Accuracy-first planning: the smallest epsilon meeting every target, and whether it fits."""

    targets: list[TargetPlan]
    #: the smallest epsilon that meets every target (the plan's charge)
    epsilon_needed: str
    #: what an even split of epsilon across the vectors would need for the same targets
    epsilon_uniform: str
    #: False when the charge is over a party's budget left, a connection cap or the room's
    #: maximum per run
    reachable: bool = True
    #: why not, with what the targets would cost
    unreachable: str | None = None


class BudgetFigures(BaseModel):
    org_id: str
    #: the party's name, for people (empty when not known)
    org_name: str = ""
    epsilon_total: str
    delta_total: str
    #: what is left: shown to the party itself and the room owner only (None to others)
    epsilon_left: str | None = None
    delta_left: str | None = None
    #: whether what the party has left covers the run (shown to everyone)
    enough: bool = True


class Plan(BaseModel):
    question_id: str
    question_version: int
    dp: bool
    epsilon: str
    delta: str
    keys_public: bool
    n_groups: int | None
    k_min: int
    max_rows: int
    max_groups: int
    columns: list[ColumnPlan]
    #: per data party charged (every party whose data the run reads): budget now and after
    budget_before: list[BudgetFigures]
    budget_after: list[BudgetFigures]
    receivers: list[str]
    notes: list[str] = []
    #: the parties whose ledgers this run would charge
    parties: list[str] = []
    #: binds a run to this preview: run(..., plan=fingerprint) is refused if cost or noise changed
    fingerprint: str = ""
    #: the accuracy targets asked for and what they cost (planning by targets only)
    targets: TargetsPlan | None = None


class RunRequest(PlanRequest):
    #: the fingerprint of the plan the caller saw; the run is refused (Conflict) if it changed
    plan: StrictStr | None = Field(default=None, max_length=128)
    #: a retry with the same key returns the same run: no second charge, no fresh noise
    idempotency_key: StrictStr | None = Field(default=None, min_length=1, max_length=200)


class Run(BaseModel):
    id: str
    room_id: str
    question_id: str
    question_version: int
    question_name: str
    org_id: str
    user_id: str
    receivers: list[str]
    parameters: dict[str, Any]
    dp: bool
    epsilon: str
    delta: str
    k_min: int
    status: str
    error: str | None = None
    metadata: dict[str, Any] = {}
    created_at: str
    finished_at: str | None = None
    #: the data parties charged (epsilon and delta each)
    parties: list[str] = []
    #: the fingerprint of the plan the run was made from
    fingerprint: str | None = None


class RunResult(BaseModel):
    run_id: str
    columns: list[str]
    rows: list[list[Any]]
    #: False: exact aggregates in a room with differential privacy off (flagged on every result)
    dp: bool
    metadata: dict[str, Any]


class BudgetRaise(In):
    org_id: StrictStr
    epsilon: StrictStr = "0"
    delta: StrictStr = "0"


class Budget(BaseModel):
    room_id: str
    org_id: str
    #: the party's name, for people (empty when not known)
    org_name: str = ""
    epsilon_total: str
    delta_total: str
    epsilon_spent: str
    delta_spent: str
    epsilon_left: str
    delta_left: str


class TemplateImport(In):
    yaml: StrictStr = Field(min_length=1, max_length=1_000_000)
    name: StrictStr | None = Field(default=None, min_length=1, max_length=200)
    start_date: dt.date | None = None
    end_date: dt.date | None = None


class TemplateImported(BaseModel):
    room_id: str
    question_ids: list[str]

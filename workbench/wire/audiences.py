"""Wire models of audiences: cohorts, match rates, lookalikes, activation and connections.

Nothing here carries a member, a score or a model: what leaves the service is metadata and
DP-released counts (and, for activation, files written on the service host).
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StrictBool, StrictInt, StrictStr

Amount = StrictStr | StrictInt | float
FORMATS = ("gam", "xandr", "csv", "jsonl")


class In(BaseModel):
    """Requests refuse unknown fields, so a typo is an error rather than a silent default."""

    model_config = ConfigDict(extra="forbid")


class Terms(BaseModel):
    """Who activates in a room and the largest lookalike seed."""

    room_id: str
    activation_org_id: str
    max_seed: int


class TermsSet(In):
    """The owner's audience terms (activation party: an org of the room; default the owner)."""

    activation_org_id: StrictStr | None = None
    max_seed: StrictInt = Field(default=100_000, ge=25, le=10_000_000)


class CohortCreate(In):
    """Build a matched cohort from a user-list question."""

    name: StrictStr = Field(min_length=1, max_length=200)
    question_id: StrictStr
    parameters: dict[str, Any] = {}
    #: spent on every data party's ledger for the DP size
    epsilon: Amount = "0.5"


class CohortRefresh(In):
    """Rebuild a matched cohort (new version); parameters default to the last ones."""

    parameters: dict[str, Any] | None = None
    epsilon: Amount = "0.5"


class CurvePoint(BaseModel):
    """One point of a lookalike's reach/relevance curve (DP-released recall)."""

    top_n: int
    percent: float
    #: share of held-out seed members ranked within top_n (noisy)
    recall: float
    #: what picking top_n users at random would recall
    random_recall: float


class Cohort(BaseModel):
    """What every party sees of a cohort: never its members."""

    id: str
    room_id: str
    name: str
    #: matched | modeled
    kind: str
    status: str
    question_id: str | None
    question_version: int | None
    parameters: dict[str, Any]
    seed_cohort_id: str | None
    activation_org_id: str
    member_dataset_id: str
    version: int
    #: DP-released size (exact when DP is off in the room; the picked size for a lookalike)
    size: int | None
    size_ci95: float | None
    dp: bool
    epsilon_spent: str
    features: list[str] = []
    random_seed: int | None = None
    curve: list[CurvePoint] = []
    #: 95% half-width of each released recall point (None: exact, or not a lookalike); with few
    #: seed blocks the curve is mostly noise, and this says so
    curve_ci95: float | None = None
    manifest: dict[str, Any] = {}
    created_by: str
    created_at: str
    refreshed_at: str


class LookalikeCreate(In):
    """Train a lookalike of a matched cohort on the activation party's declared features."""

    name: StrictStr = Field(min_length=1, max_length=200)
    seed_cohort_id: StrictStr
    features: list[StrictStr] = Field(min_length=1, max_length=50)
    #: recorded; a fresh one is drawn (and recorded) when omitted
    random_seed: StrictInt | None = Field(default=None, ge=0, le=2**32 - 1)
    #: share of the seed held out to measure the curve
    holdout: float = Field(default=0.2, gt=0.05, lt=0.5)
    epsilon: Amount = "0.5"


class LookalikeSize(In):
    """Pick a modeled cohort's size: top N users, or a percentage of the activation party's."""

    top_n: StrictInt | None = Field(default=None, ge=1)
    percent: float | None = Field(default=None, gt=0, le=100)


class MatchRatesRequest(In):
    """Spent on every data party's ledger."""

    epsilon: Amount = "0.5"


class PartyRate(BaseModel):
    """One party's side of one identifier kind."""

    org_id: str
    datasets: list[str]
    #: noisy distinct identities provisioned
    uploaded: int
    #: noisy identities also found on another party's side
    matched: int
    rate: float | None
    #: the party's own ingest report figures (None for another party's datasets)
    rows_rejected: int | None = None
    rejections: list[dict[str, Any]] | None = None


class KindRates(BaseModel):
    """Match rates of one identifier kind."""

    kind: str
    parties: list[PartyRate]


class MatchRates(BaseModel):
    """Match rates per identifier kind, DP-released, with hints on why they may be low."""

    room_id: str
    dp: bool
    epsilon_spent: str
    ci95: float
    kinds: list[KindRates]
    hints: list[str]


class PolicySet(In):
    """A data owner's consent to activation of cohorts derived from a dataset."""

    allowed: StrictBool


class Policy(BaseModel):
    """A dataset's activation consent (off unless its owner switched it on)."""

    dataset_id: str
    dataset_name: str
    org_id: str
    allowed: bool


class DestinationCreate(In):
    """A folder under the service's activation root, in one ad-server format."""

    name: StrictStr = Field(min_length=1, max_length=200)
    format: Literal["gam", "xandr", "csv", "jsonl"]
    #: relative to the activation root configured on the service host
    path: StrictStr = Field(min_length=1, max_length=500)
    #: GAM: the key of the key-value (default "wb_cohort")
    key: StrictStr | None = Field(default=None, pattern=r"^[A-Za-z0-9_]{1,20}$")
    #: Xandr: the segment code (default the cohort's name, slugged)
    segment: StrictStr | None = Field(default=None, pattern=r"^[A-Za-z0-9_-]{1,100}$")


class Destination(BaseModel):
    """Where the activation party's exports go."""

    id: str
    room_id: str
    org_id: str
    name: str
    format: str
    path: str
    settings: dict[str, Any]
    created_at: str


class FrequencyCap(In):
    """Impressions per user per day or week; travels in the manifest."""

    impressions: StrictInt = Field(ge=1, le=1000)
    per: Literal["day", "week"]


class ActivateRequest(In):
    """Export a cohort's current version to a destination."""

    destination_id: StrictStr
    frequency_cap: FrequencyCap


class ActivationFile(BaseModel):
    """A file an activation wrote (name relative to the destination folder)."""

    name: str
    lines: int
    sha256: str


class Activation(BaseModel):
    """One export, as every data party of the room sees it."""

    id: str
    room_id: str
    cohort_id: str
    cohort_name: str
    cohort_version: int
    destination_id: str
    format: str
    frequency_cap: dict[str, Any]
    files: list[ActivationFile]
    manifest: dict[str, Any]
    created_by: str
    created_at: str
    #: None while the cohort's data is linked; "source unlinked" once a dataset it read was
    #: unlinked (the record stays as the audit; the cohort, its members and the files are gone)
    source_status: str | None = None
    source_unlinked_at: str | None = None


class ConnectionSet(In):
    """A publisher's connection to an advertiser org, with its toggles."""

    advertiser_org_id: StrictStr
    insights: StrictBool = True
    matched_cohorts: StrictBool = False
    modeled_cohorts: StrictBool = False
    activation: StrictBool = False


class Connection(BaseModel):
    """What an advertiser may create in the publisher's rooms."""

    publisher_org_id: str
    advertiser_org_id: str
    insights: bool
    matched_cohorts: bool
    modeled_cohorts: bool
    activation: bool

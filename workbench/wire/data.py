"""Wire models of uploads, data connections, provisioned datasets, analysis rules and templates."""

from __future__ import annotations

import datetime as dt
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, StrictBool, StrictFloat, StrictInt, StrictStr

Name = Field(min_length=1, max_length=200)


class In(BaseModel):
    """Requests refuse unknown fields, so a typo is an error rather than a silent default."""

    model_config = ConfigDict(extra="forbid")


# uploads and connections
class UploadCreate(In):
    file_name: StrictStr = Field(min_length=1, max_length=255)
    #: csv | parquet (a DataFrame travels as Parquet)
    format: Literal["csv", "parquet"]
    #: the total size the client is about to send, checked against the limit up front
    size: StrictInt = Field(ge=0)
    #: where the bytes came from, for the record: file | dataframe
    source: Literal["file", "dataframe"] = "file"
    #: declared types that override inference, by column name (text keeps leading zeros: "01234")
    column_types: dict[StrictStr, Literal["text", "integer", "double", "boolean", "date", "timestamp"]] = {}


class Upload(BaseModel):
    id: str
    file_name: str
    format: str
    size: int
    received: int
    #: the largest chunk the service accepts
    chunk_bytes: int
    #: the configured size limit
    max_bytes: int


class ColumnInfo(BaseModel):
    name: str
    #: text | integer | double | boolean | date | timestamp
    type: str


class UploadSchema(BaseModel):
    """What the service detected; pick fields, PII labels and the identity column from it."""

    upload_id: str
    file_name: str
    format: str
    rows: int
    columns: list[ColumnInfo]


class ConnectionCreate(In):
    upload_id: StrictStr
    name: StrictStr = Name
    identity_column: StrictStr
    #: email | maid | ip | sha256
    identity_kind: StrictStr
    #: the fields that come in (None: all); the identity column always comes in
    fields: list[StrictStr] | None = None
    #: fields labelled PII besides the identity column
    pii: list[StrictStr] = []
    #: PII fields stored hashed, or not at all
    pii_mode: Literal["hash", "drop"] = "hash"


class Rejection(BaseModel):
    reason: str
    rows: int
    #: the first few line numbers (or row numbers for Parquet)
    lines: list[int]


class ConnectionColumn(BaseModel):
    name: str
    type: str
    pii: bool
    identity: bool
    hashed: bool


class Connection(BaseModel):
    id: str
    org_id: str
    name: str
    file_name: str
    source_format: str
    identity_column: str
    identity_kind: str
    pii_mode: str
    rows_read: int
    rows_kept: int
    rows_rejected: int
    distinct_identities: int
    rejections: list[Rejection]
    #: kept identifiers with invisible or look-alike characters, by reason (counts and first
    #: lines, never values): worth checking before matching on them
    identity_warnings: list[Rejection] = []
    columns: list[ConnectionColumn]
    created_at: dt.datetime
    #: rooms this connection is provisioned into
    provisioned_in: list[str] = []


class Deleted(BaseModel):
    """What an unlink or delete removed."""

    kind: str
    id: str
    views_dropped: int
    datasets_unlinked: int
    mappings_removed: int
    rule_versions_removed: int
    derived_removed: int
    rows_deleted: int


# provisioning and rules
class ProvisionCreate(In):
    connection_id: StrictStr
    #: the dataset's name in the room (shown to partners)
    name: StrictStr = Name
    #: queryable columns (None: every column of the connection)
    columns: list[StrictStr] | None = None
    #: an expression over the dataset's own columns, e.g. "region = 'north' AND spend > 0"
    row_filter: StrictStr | None = Field(default=None, max_length=4000)
    partners_may_assign: StrictBool = False


class ColumnRuleIn(In):
    name: StrictStr
    join: StrictBool = False
    group_by: StrictBool = False
    public_values: list[StrictStr] | None = None
    #: COUNT | COUNT_DISTINCT | SUM | AVG
    aggregations: list[StrictStr] = []
    lower: StrictFloat | StrictInt | None = None
    upper: StrictFloat | StrictInt | None = None
    input_k_min: StrictInt | None = None


class RulesSet(In):
    columns: list[ColumnRuleIn]


class ColumnRuleOut(BaseModel):
    name: str
    join: bool
    group_by: bool
    public_values: list[str] | None
    aggregations: list[str]
    lower: float | None
    upper: float | None
    input_k_min: int | None


class Rules(BaseModel):
    dataset_id: str
    version: int
    columns: list[ColumnRuleOut]
    pii: list[str]
    identity: str | None
    created_at: dt.datetime | None = None
    created_by: str | None = None


class DatasetColumn(BaseModel):
    name: str
    type: str
    pii: bool
    identity: bool


class Usage(BaseModel):
    """Where a dataset is used: a template dataset macro and the questions that read it."""

    dataset_macro: str
    fields: dict[str, str]
    questions: list[str] = []


class Dataset(BaseModel):
    """A provisioned dataset as the caller may see it (partners see metadata, never rows)."""

    id: str
    room_id: str
    org_id: str
    org_name: str
    name: str
    #: True when the caller's org provisioned it
    mine: bool
    columns: list[DatasetColumn]
    partners_may_assign: bool
    #: the filter text (own datasets only); partners see only whether one is set
    row_filter: str | None
    has_row_filter: bool
    #: rows in the view: exact for one's own datasets; another party's is rounded to two
    #: significant digits and never shown below the room's k-min (None there)
    row_count: int | None
    row_count_note: str
    #: True only for one's own datasets
    row_count_exact: bool = False
    rules: Rules | None
    used_by: list[Usage]
    created_at: dt.datetime
    #: connection it comes from (own datasets only)
    connection_id: str | None = None


# templates and mapping
class TemplateFieldIn(In):
    macro: StrictStr = Field(min_length=1, max_length=63)
    required: StrictBool = True
    #: the type a question expects (text | integer | double | boolean | date | timestamp | any)
    type: StrictStr | None = None
    description: StrictStr = ""


class TemplateDatasetIn(In):
    macro: StrictStr = Field(min_length=1, max_length=63)
    #: owner | partners | an org id
    party: StrictStr = "owner"
    description: StrictStr = ""
    fields: list[TemplateFieldIn]


class TermsIn(In):
    #: which party runs questions: owner | partners | all
    runs: Literal["owner", "partners", "all"] = "all"
    #: which party receives results: owner | partners | all
    receives: Literal["owner", "partners", "all"] = "all"


class TemplateSet(In):
    datasets: list[TemplateDatasetIn]
    terms: TermsIn = TermsIn()


class TemplateField(BaseModel):
    macro: str
    required: bool
    type: str | None
    description: str


class TemplateDataset(BaseModel):
    macro: str
    party: str
    description: str
    fields: list[TemplateField]


class Terms(BaseModel):
    runs: str
    receives: str


class Template(BaseModel):
    room_id: str
    datasets: list[TemplateDataset]
    terms: Terms


class MappingSet(In):
    dataset_id: StrictStr
    #: field macro -> column of the provisioned dataset
    fields: dict[StrictStr, StrictStr]
    #: map for this org (default: the caller's); another org's only if it lets partners assign
    org_id: StrictStr | None = None


class ReadinessItem(BaseModel):
    dataset_macro: str
    org_id: str
    org_name: str
    dataset_id: str | None
    dataset_name: str | None
    mapped_fields: dict[str, str]
    missing_fields: list[str]
    ready: bool


class Readiness(BaseModel):
    """The checklist both parties see: the room is active only when every item is ready."""

    room_id: str
    #: draft (something required is missing) | active
    status: str
    ready: bool
    items: list[ReadinessItem]
    missing: list[str]

"""Wire models of Intelligence dashboards and their charts."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, StrictStr


class In(BaseModel):
    """Requests refuse unknown fields, so a typo is an error rather than a silent default."""

    model_config = ConfigDict(extra="forbid")


class DashboardCreate(In):
    name: StrictStr = Field(min_length=1, max_length=200)
    description: StrictStr = Field(default="", max_length=5000)


class ChartCreate(In):
    #: the run whose released table the chart draws (your organisation must receive it)
    run_id: StrictStr
    #: bar | line | table
    kind: Literal["bar", "line", "table"] = "bar"
    #: the released column to draw (bar, line); None for tables
    measure: StrictStr | None = Field(default=None, min_length=1, max_length=200)
    title: StrictStr | None = Field(default=None, min_length=1, max_length=200)


class Chart(BaseModel):
    id: str
    dashboard_id: str
    position: int
    title: str
    kind: str
    run_id: str
    measure: str | None
    created_at: str


class Dashboard(BaseModel):
    id: str
    room_id: str
    org_id: str
    name: str
    description: str
    created_by: str
    created_at: str
    charts: list[Chart] = []

"""The SDK's one client class, composed of one mixin per domain."""

from __future__ import annotations

from typing import Any

import httpx

from workbench.client._transport import http_client, request
from workbench.client.audiences import AudiencesAPI
from workbench.client.contract import ContractAPI
from workbench.client.dashboards import DashboardsAPI
from workbench.client.datasets import DatasetsAPI
from workbench.client.external import ExternalDataAPI
from workbench.client.governance import GovernanceAPI
from workbench.client.questions import QuestionsAPI
from workbench.client.runs import RunsAPI
from workbench.client.schedules import SchedulesAPI
from workbench.client.twins import TwinsAPI


class Client(GovernanceAPI, DatasetsAPI, ExternalDataAPI, QuestionsAPI, RunsAPI, DashboardsAPI, ContractAPI,
             AudiencesAPI, SchedulesAPI, TwinsAPI):
    """Talks to the clean room service; the same methods over HTTP or in-process."""

    def __init__(self, http: httpx.Client) -> None:
        self._http = http

    def _request(self, method: str, path: str, **kwargs: Any) -> Any:
        return request(self._http, method, path, **kwargs)

    @property
    def url(self) -> str:
        """Where the service is."""
        return str(self._http.base_url)

    def close(self) -> None:
        """Close the connection pool."""
        self._http.close()

    def __enter__(self) -> "Client":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"<workbench Client {self.url}>"


def connect(url: str | None = None, token: str | None = None, *, timeout: float = 300.0) -> Client:
    """A client of a running service; ``url`` and ``token`` default to WORKBENCH_URL/WORKBENCH_TOKEN."""
    return Client(http_client(url, token, timeout))

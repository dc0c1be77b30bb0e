"""Both transports are httpx clients: a socket to a real service, or the ASGI app in-process."""

from __future__ import annotations

import os
from typing import Any

import httpx

from workbench.errors import InvalidInput, Unauthenticated, WorkbenchError, error_from_envelope

URL_ENV = "WORKBENCH_URL"
TOKEN_ENV = "WORKBENCH_TOKEN"
DEFAULT_URL = "http://127.0.0.1:8765"


def http_client(url: str | None = None, token: str | None = None, timeout: float = 300.0) -> httpx.Client:
    """An httpx client for a running service; defaults come from the environment."""
    url = url or os.environ.get(URL_ENV) or DEFAULT_URL
    token = token or os.environ.get(TOKEN_ENV)
    if not token:
        raise Unauthenticated(f"no API token: pass token=... or set {TOKEN_ENV}")
    return httpx.Client(base_url=url.rstrip("/"), headers=auth_headers(token), timeout=timeout)


def auth_headers(token: str) -> dict[str, str]:
    """The bearer header every request carries."""
    return {"Authorization": f"Bearer {token}"}


def decode(response: httpx.Response) -> Any:
    """The JSON body, or the service's error raised as the same exception class."""
    if response.status_code == 204:
        return None
    try:
        body = response.json()
    except ValueError:
        if response.is_success:
            return response.content
        raise WorkbenchError(f"the service answered {response.status_code} without a JSON body") from None
    if response.is_success:
        return body
    raise error_from_envelope(body)


def request(http: httpx.Client, method: str, path: str, **kwargs: Any) -> Any:
    """Send one request; connection failures become a readable error."""
    try:
        response = http.request(method, path, **kwargs)
    except httpx.ConnectError:
        raise WorkbenchError(
            f"cannot reach the clean room service at {http.base_url}; is `workbench serve` running?"
        ) from None
    except httpx.TimeoutException:
        raise WorkbenchError("the clean room service did not answer in time; try again") from None
    except (TypeError, ValueError) as exc:
        raise InvalidInput(f"cannot send this request: {exc}") from None
    return decode(response)

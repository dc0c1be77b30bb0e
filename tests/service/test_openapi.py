"""The published contract (issue 8.5), checked against the real service.

Every route of a live `workbench serve` is called the ways a client gets it wrong: without a
token, with ids that do not exist, with a body that is not JSON. Each answer must be the error
envelope the OpenAPI document declares, with a status that document lists for that route.
"""

from __future__ import annotations

import re
import uuid
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.conftest import LiveService

UNUSED = {"/openapi.json", "/docs", "/docs/oauth2-redirect"}

#: where the code lives: a message naming it would leak the service's file layout
REPOSITORY = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def doc(live_service: LiveService) -> dict[str, Any]:
    return httpx.get(f"{live_service.url}/openapi.json", timeout=60).json()


def operations(doc: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    return [(path, method.upper(), op) for path, ops in doc["paths"].items() if path not in UNUSED
            for method, op in ops.items()]


def concrete(path: str) -> str:
    """The path with every parameter filled with something that names nothing stored."""
    return re.sub(r"\{[^}]+\}", lambda m: "0" if m.group(0) == "{index}" else str(uuid.uuid4()), path)


def check_envelope(doc: dict[str, Any], op: dict[str, Any], response: httpx.Response, where: str) -> None:
    assert str(response.status_code) in op["responses"], f"{where}: {response.status_code} not declared"
    body = response.json()
    assert set(body) == {"error"}, f"{where}: {body}"
    error = body["error"]
    assert set(error) == {"code", "message", "details"}, f"{where}: {error}"
    assert isinstance(error["code"], str) and isinstance(error["message"], str) and error["message"]
    assert isinstance(error["details"], dict)
    declared = op["responses"][str(response.status_code)]
    assert error["code"] in declared["description"], f"{where}: code {error['code']} not declared"
    assert declared["content"]["application/json"]["schema"] == {"$ref": "#/components/schemas/ErrorEnvelope"}
    for text in ("Traceback", "SELECT ", str(REPOSITORY), "site-packages"):
        assert text not in error["message"], f"{where}: leaks {text!r}"


def test_the_document_declares_the_bearer_scheme_and_the_envelope(doc: dict[str, Any]) -> None:
    schemes = doc["components"]["securitySchemes"]
    assert schemes["bearer"] == {"type": "http", "scheme": "bearer", "description": schemes["bearer"]["description"]}
    assert "HTTPValidationError" not in doc["components"]["schemas"]
    ops = operations(doc)
    assert len(ops) >= 60
    for path, method, op in ops:
        if path == "/api/v1/health":
            assert "security" not in op
            continue
        assert op["security"] == [{"bearer": []}], (method, path)
        for status in ("401", "403", "404", "422", "500"):
            assert op["responses"][status]["content"]["application/json"]["schema"]["$ref"].endswith("ErrorEnvelope")


def test_every_route_without_a_token_answers_the_envelope(live_service: LiveService, doc: dict[str, Any]) -> None:
    with httpx.Client(base_url=live_service.url, timeout=60) as http:
        for path, method, op in operations(doc):
            if path == "/api/v1/health":
                continue
            for headers in ({}, {"Authorization": "Bearer not-a-real-token"}, {"Authorization": "Basic eDp5"}):
                response = http.request(method, concrete(path), headers=headers)
                assert response.status_code == 401, (method, path, headers, response.text)
                check_envelope(doc, op, response, f"{method} {path} {headers}")


def test_every_route_with_unknown_ids_answers_the_envelope(live_service: LiveService, doc: dict[str, Any]) -> None:
    token = {"Authorization": f"Bearer {live_service.admin_token}"}
    seen, idempotent = 0, []
    with httpx.Client(base_url=live_service.url, headers=token, timeout=60) as http:
        for path, method, op in operations(doc):
            if "{" not in path:
                continue
            body = {} if "requestBody" in op else None
            response = http.request(method, concrete(path), json=body)
            if response.status_code < 400:
                # only a removal may succeed on nothing (removing what is not there changes nothing)
                assert method == "DELETE", (method, path, response.text)
                idempotent.append(path)
                continue
            check_envelope(doc, op, response, f"{method} {path}")
            seen += 1
    assert seen >= 40 and len(idempotent) <= 3, idempotent


def test_every_route_with_a_body_refuses_broken_json_with_the_envelope(live_service: LiveService,
                                                                       doc: dict[str, Any]) -> None:
    token = {"Authorization": f"Bearer {live_service.admin_token}", "Content-Type": "application/json"}
    seen = 0
    with httpx.Client(base_url=live_service.url, headers=token, timeout=60) as http:
        for path, method, op in operations(doc):
            content = op.get("requestBody", {}).get("content", {})
            if "application/json" not in content:
                continue
            response = http.request(method, concrete(path), content=b'{"name": "unterminated')
            assert response.status_code in (404, 422), (method, path, response.text)
            check_envelope(doc, op, response, f"{method} {path}")
            seen += 1
    assert seen >= 20


def test_unknown_endpoints_and_methods_answer_the_envelope(live_service: LiveService) -> None:
    with httpx.Client(base_url=live_service.url, timeout=60) as http:
        missing = http.get("/api/v1/no-such-thing")
        wrong = http.put("/api/v1/health")
    assert missing.status_code == 404 and missing.json()["error"]["code"] == "not_found"
    assert wrong.status_code == 405 and wrong.json()["error"]["code"] == "method_not_allowed"

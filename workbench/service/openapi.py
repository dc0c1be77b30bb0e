"""The published contract: the OpenAPI document says how to authenticate and what errors look like.

FastAPI describes the happy path of each route. Here the document also declares the bearer token
scheme on every route that needs it, and for every route every error status the service can
answer, each with the one error envelope ``{"error": {"code", "message", "details"}}`` that
:mod:`workbench.errors` defines (FastAPI's own validation-error schema is replaced: the service
never sends it). tests/service/test_openapi.py walks every route and checks its real error bodies
against this document.
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi

from workbench.errors import WorkbenchError

#: routes that need no token
PUBLIC = frozenset({"/api/v1/health"})

ENVELOPE_REF = {"$ref": "#/components/schemas/ErrorEnvelope"}

SCHEMAS: dict[str, Any] = {
    "Error": {
        "type": "object",
        "required": ["code", "message", "details"],
        "additionalProperties": False,
        "properties": {
            "code": {"type": "string", "description": "stable machine-readable code, e.g. not_found"},
            "message": {"type": "string", "description": "what went wrong and how to fix it"},
            "details": {"type": "object", "description": "structured facts (figures, fields, ids)"},
        },
    },
    "ErrorEnvelope": {
        "type": "object",
        "required": ["error"],
        "additionalProperties": False,
        "properties": {"error": {"$ref": "#/components/schemas/Error"}},
        "description": "The body of every error answer of the service.",
    },
}

#: errors the service produces outside the WorkbenchError classes (routing, crashes)
EXTRA_CODES = {404: ["not_found (no such endpoint)"], 405: ["method_not_allowed"], 500: ["internal"]}


def _classes(base: type[WorkbenchError]) -> list[type[WorkbenchError]]:
    found = []
    for sub in base.__subclasses__():
        found.append(sub)
        found.extend(_classes(sub))
    return found


def error_codes() -> dict[int, list[str]]:
    """Every error status the service answers with, and the codes each carries."""
    codes: dict[int, list[str]] = {}
    for cls in _classes(WorkbenchError):
        codes.setdefault(cls.status, []).append(cls.code)
    for status, extra in EXTRA_CODES.items():
        codes.setdefault(status, []).extend(extra)
    return {status: sorted(set(found)) for status, found in sorted(codes.items())}


def _error_responses(public: bool) -> dict[str, Any]:
    out = {}
    for status, codes in error_codes().items():
        if public and status != 500:
            continue
        out[str(status)] = {
            "description": "error: " + ", ".join(codes),
            "content": {"application/json": {"schema": ENVELOPE_REF}},
        }
    return out


def published_schema(app: FastAPI) -> dict[str, Any]:
    """The OpenAPI document of ``app`` with the bearer scheme and the error envelope everywhere."""
    if app.openapi_schema:
        return app.openapi_schema
    doc = get_openapi(title=app.title, version=app.version, description=app.description, routes=app.routes)
    components = doc.setdefault("components", {})
    schemas = components.setdefault("schemas", {})
    for unused in ("HTTPValidationError", "ValidationError"):
        schemas.pop(unused, None)
    schemas.update(SCHEMAS)
    components["securitySchemes"] = {
        "bearer": {"type": "http", "scheme": "bearer",
                   "description": "an API token issued by an org admin (`Authorization: Bearer <token>`)"},
    }
    for path, operations in doc.get("paths", {}).items():
        public = path in PUBLIC
        for operation in operations.values():
            if not public:
                operation["security"] = [{"bearer": []}]
            responses = operation.setdefault("responses", {})
            for status in [s for s in responses if s.startswith(("4", "5"))]:
                del responses[status]
            responses.update(_error_responses(public))
    app.openapi_schema = doc
    return doc

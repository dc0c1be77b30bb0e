"""The HTTP application: routers of every domain, token auth, and one error envelope.

No traceback, SQL text or file path ever reaches a client: our errors carry messages written
for people, and anything else becomes a generic internal error that is logged here.
"""

from __future__ import annotations

import contextlib
import importlib
import logging
from collections.abc import AsyncIterator
from typing import Any

import anyio.to_thread

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from workbench import __version__, wiring
from workbench.contract.verification import verify_at_startup
from workbench.engine import DuckDBEngine, Engine
from workbench.errors import InvalidInput, NotFound, WorkbenchError
from workbench.service.openapi import published_schema
from workbench.service.read_cache import ReadCache
from workbench.store import Store

log = logging.getLogger("workbench.service")

#: domain routers, included when their module exists (datasets, questions, runs, dashboards)
ROUTERS = ("governance", "data", "external", "questions", "runs", "dashboards", "contract", "schedules",
           "audiences", "twins")


def _envelope(status: int, code: str, message: str, **details: Any) -> JSONResponse:
    return JSONResponse(status_code=status,
                        content={"error": {"code": code, "message": message, "details": details}})


def _validation_message(exc: RequestValidationError) -> tuple[str, list[dict[str, Any]]]:
    problems = []
    for err in exc.errors():
        where = ".".join(str(p) for p in err.get("loc", ()) if p != "body")
        problems.append({"field": where or "body", "problem": err.get("msg", "invalid")})
    if any(e.get("type") == "json_invalid" for e in exc.errors()):
        return "the request body is not valid JSON", problems
    text = "; ".join(f"{p['field']}: {p['problem']}" for p in problems[:5])
    return f"invalid request: {text}", problems


#: threads for the sync endpoints: enough for 50 concurrent clients to each hold one while they
#: wait on DuckDB (which releases the GIL) or on a group commit
THREADS = 64


@contextlib.asynccontextmanager
async def _lifespan(app: FastAPI) -> AsyncIterator[None]:
    """Size the threadpool that runs the sync endpoints (the server's event loop owns it)."""
    anyio.to_thread.current_default_thread_limiter().total_tokens = THREADS
    yield


def create_app(store: Store, engine: Engine | None = None) -> FastAPI:
    """The service over one open store; questions run on ``engine`` (default: the store's DuckDB)."""
    wiring.wire()
    verify_at_startup(store)  # a broken ledger chain stops the service and says where
    app = FastAPI(
        title="Clean Room Workbench",
        version=__version__,
        description="Data clean room service: governance, datasets, questions and DP runs.",
        openapi_url="/openapi.json",
        docs_url="/docs",
        redoc_url=None,
        lifespan=_lifespan,
    )
    app.state.store = store
    app.state.engine = engine if engine is not None else DuckDBEngine(store)

    @app.exception_handler(WorkbenchError)
    async def _workbench_error(request: Request, exc: WorkbenchError) -> JSONResponse:
        return JSONResponse(status_code=exc.status, content=exc.to_envelope())

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
        message, problems = _validation_message(exc)
        return _envelope(InvalidInput.status, InvalidInput.code, message, problems=problems)

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        if exc.status_code == 404:
            return _envelope(404, NotFound.code, f"no such endpoint: {request.method} {request.url.path}")
        if exc.status_code == 405:
            return _envelope(405, "method_not_allowed", f"{request.method} is not allowed on {request.url.path}")
        return _envelope(exc.status_code, "http_error", str(exc.detail))

    @app.exception_handler(Exception)
    async def _internal(request: Request, exc: Exception) -> JSONResponse:
        log.exception("internal error on %s %s", request.method, request.url.path)
        return _envelope(500, "internal", "the service hit an internal error; it was logged for the operator")

    @app.get("/api/v1/health", tags=["service"])
    def health() -> dict[str, str]:
        """Liveness probe; needs no token."""
        return {"status": "ok", "version": __version__}

    for name in ROUTERS:
        try:
            module = importlib.import_module(f"workbench.service.routes.{name}")
        except ModuleNotFoundError as exc:
            if exc.name != f"workbench.service.routes.{name}":
                raise
            continue
        app.include_router(module.router, prefix="/api/v1")
    app.add_middleware(ReadCache, store=store)
    app.openapi = lambda: published_schema(app)  # type: ignore[method-assign]
    return app

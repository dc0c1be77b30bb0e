"""Request dependencies: the store of this app and the authenticated actor."""

from __future__ import annotations

import hashlib

from fastapi import Request

from workbench.engine import Engine

from workbench.governance import Actor
from workbench.governance.orgs import authenticate
from workbench.store import Store


def get_store(request: Request) -> Store:
    """The one store this application serves."""
    return request.app.state.store


def get_engine(request: Request) -> Engine:
    """The engine this application runs questions on (DuckDB, or Spark for `--engine spark`)."""
    return request.app.state.engine


def current_actor(request: Request) -> Actor:
    """The user behind the bearer token; every route depends on this."""
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    secret = token.strip() if scheme.lower() == "bearer" else None
    store: Store = request.app.state.store
    if not secret:
        return authenticate(store, secret)
    # remembered until the next committed write, so a revoked token or a deactivated user is
    # refused from the very next request; keyed by a digest, never by the secret itself
    key = ("actor", hashlib.sha256(secret.encode()).digest())
    return store.memo(key, lambda: authenticate(store, secret))

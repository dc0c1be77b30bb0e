"""Route for registering external (zero-copy) data connections."""

from __future__ import annotations

from fastapi import APIRouter, Depends

from workbench.data import external
from workbench.engine import Engine
from workbench.governance import Actor
from workbench.service.deps import current_actor, get_engine, get_store
from workbench.store import Store
from workbench.wire import external as w

router = APIRouter(tags=["datasets"])


@router.post("/connections/external", response_model=w.ExternalConnection, status_code=201)
def register_external(body: w.ExternalConnectionCreate, actor: Actor = Depends(current_actor),
                      store: Store = Depends(get_store),
                      engine: Engine = Depends(get_engine)) -> w.ExternalConnection:
    # URIs and catalog tables are registered by the engine that will read them: Spark
    spark = engine if isinstance(engine, external.SparkReader) else None
    return external.register_external(store, actor, body, spark)

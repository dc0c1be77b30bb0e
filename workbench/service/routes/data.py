"""Routes for uploads, data connections, provisioning, analysis rules, templates and mapping."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Query, Request
from starlette.concurrency import run_in_threadpool

from workbench.data import connections as conns
from workbench.data import provisioning as prov
from workbench.data import templates as tmpl
from workbench.data.staging import CHUNK_BYTES
from workbench.errors import PayloadTooLarge
from workbench.governance import Actor
from workbench.service.deps import current_actor, get_store
from workbench.store import Store
from workbench.wire import data as w

router = APIRouter(tags=["datasets"])
Who = Depends(current_actor)
Db = Depends(get_store)


@router.post("/uploads", response_model=w.Upload, status_code=201)
def start_upload(body: w.UploadCreate, actor: Actor = Who, store: Store = Db) -> w.Upload:
    return conns.start_upload(store, actor, body)


@router.put("/uploads/{upload_id}/chunks/{index}", response_model=w.Upload)
async def put_chunk(upload_id: str, index: int, request: Request, actor: Actor = Who,
                    store: Store = Db) -> w.Upload:
    chunk = bytearray()
    async for part in request.stream():
        chunk += part
        if len(chunk) > CHUNK_BYTES:
            raise PayloadTooLarge(f"a chunk may be at most {CHUNK_BYTES:,} bytes; send smaller chunks",
                                  limit=CHUNK_BYTES)
    return await run_in_threadpool(conns.put_chunk, store, actor, upload_id, index, bytes(chunk))


@router.get("/uploads/{upload_id}/schema", response_model=w.UploadSchema)
def upload_schema(upload_id: str, actor: Actor = Who, store: Store = Db) -> w.UploadSchema:
    return conns.upload_schema(store, actor, upload_id)


@router.delete("/uploads/{upload_id}", status_code=204)
def cancel_upload(upload_id: str, actor: Actor = Who, store: Store = Db) -> None:
    conns.cancel_upload(store, actor, upload_id)


@router.post("/connections", response_model=w.Connection, status_code=201)
def create_connection(body: w.ConnectionCreate, strict: bool = Query(False), actor: Actor = Who,
                      store: Store = Db) -> w.Connection:
    return conns.create_connection(store, actor, body, strict=strict)


@router.get("/connections", response_model=list[w.Connection])
def list_connections(actor: Actor = Who, store: Store = Db) -> list[w.Connection]:
    return conns.list_connections(store, actor)


@router.get("/connections/{connection_id}", response_model=w.Connection)
def get_connection(connection_id: str, actor: Actor = Who, store: Store = Db) -> w.Connection:
    return conns.get_connection(store, actor, connection_id)


@router.delete("/connections/{connection_id}", response_model=w.Deleted)
def delete_connection(connection_id: str, actor: Actor = Who, store: Store = Db) -> w.Deleted:
    return conns.delete_connection(store, actor, connection_id)


@router.post("/rooms/{room_id}/datasets", response_model=w.Dataset, status_code=201)
def provision(room_id: str, body: w.ProvisionCreate, actor: Actor = Who, store: Store = Db) -> w.Dataset:
    return prov.provision(store, actor, room_id, body)


@router.get("/rooms/{room_id}/datasets", response_model=list[w.Dataset])
def list_datasets(room_id: str, actor: Actor = Who, store: Store = Db) -> list[w.Dataset]:
    return prov.list_datasets(store, actor, room_id)


@router.get("/rooms/{room_id}/datasets/{dataset_id}", response_model=w.Dataset)
def get_dataset(room_id: str, dataset_id: str, actor: Actor = Who, store: Store = Db) -> w.Dataset:
    return prov.get_dataset(store, actor, room_id, dataset_id)


@router.delete("/rooms/{room_id}/datasets/{dataset_id}", response_model=w.Deleted)
def unprovision(room_id: str, dataset_id: str, actor: Actor = Who, store: Store = Db) -> w.Deleted:
    return prov.unprovision(store, actor, room_id, dataset_id)


@router.put("/rooms/{room_id}/datasets/{dataset_id}/rules", response_model=w.Rules)
def set_rules(room_id: str, dataset_id: str, body: w.RulesSet, actor: Actor = Who, store: Store = Db) -> w.Rules:
    return prov.set_rules(store, actor, room_id, dataset_id, body)


@router.get("/rooms/{room_id}/datasets/{dataset_id}/rules", response_model=w.Rules)
def get_rules(room_id: str, dataset_id: str, version: int | None = Query(None), actor: Actor = Who,
              store: Store = Db) -> w.Rules:
    return prov.get_rules(store, actor, room_id, dataset_id, version)


@router.get("/rooms/{room_id}/datasets/{dataset_id}/rules/history", response_model=list[w.Rules])
def rules_history(room_id: str, dataset_id: str, actor: Actor = Who, store: Store = Db) -> list[w.Rules]:
    return prov.rules_history(store, actor, room_id, dataset_id)


@router.put("/rooms/{room_id}/template", response_model=w.Template)
def set_template(room_id: str, body: w.TemplateSet, actor: Actor = Who, store: Store = Db) -> w.Template:
    return tmpl.set_template(store, actor, room_id, body)


@router.get("/rooms/{room_id}/template", response_model=w.Template)
def get_template(room_id: str, actor: Actor = Who, store: Store = Db) -> w.Template:
    return tmpl.get_template(store, actor, room_id)


@router.put("/rooms/{room_id}/mappings/{dataset_macro}", response_model=w.Readiness)
def map_dataset(room_id: str, dataset_macro: str, body: w.MappingSet, actor: Actor = Who,
                store: Store = Db) -> w.Readiness:
    return tmpl.map_dataset(store, actor, room_id, dataset_macro, body)


@router.delete("/rooms/{room_id}/mappings/{dataset_macro}", response_model=w.Readiness)
def unmap_dataset(room_id: str, dataset_macro: str, org_id: str | None = Query(None), actor: Actor = Who,
                  store: Store = Db) -> w.Readiness:
    return tmpl.unmap_dataset(store, actor, room_id, dataset_macro, org_id)


@router.get("/rooms/{room_id}/readiness", response_model=w.Readiness)
def readiness(room_id: str, actor: Actor = Who, store: Store = Db) -> w.Readiness:
    return tmpl.get_readiness(store, actor, room_id)

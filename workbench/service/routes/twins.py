"""Routes for synthetic twins: publish one's own, read their status, run drafts on them."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Response

from workbench.governance import Actor
from workbench.service.deps import current_actor, get_store
from workbench.store import Store
from workbench.twins import operations as ops
from workbench.wire import twins as w

router = APIRouter(tags=["twins"])
Who = Depends(current_actor)
Db = Depends(get_store)
R = "/rooms/{room_id}"


@router.post(R + "/datasets/{dataset_id}/twin", response_model=w.Twin, status_code=201)
def publish_twin(room_id: str, dataset_id: str, body: w.TwinPublish, actor: Actor = Who,
                 store: Store = Db) -> w.Twin:
    return ops.publish(store, actor, room_id, dataset_id, body)


@router.get(R + "/twins", response_model=list[w.Twin])
def list_twins(room_id: str, actor: Actor = Who, store: Store = Db) -> list[w.Twin]:
    return ops.list_twins(store, actor, room_id)


@router.get(R + "/twins/{twin_id}", response_model=w.Twin)
def get_twin(room_id: str, twin_id: str, actor: Actor = Who, store: Store = Db) -> w.Twin:
    return ops.get_twin(store, actor, room_id, twin_id)


@router.get(R + "/twins/{twin_id}/rows", response_model=w.TwinRows)
def twin_rows(room_id: str, twin_id: str, limit: int = 100, actor: Actor = Who,
              store: Store = Db) -> w.TwinRows:
    return ops.twin_rows(store, actor, room_id, twin_id, limit)


@router.delete(R + "/twins/{twin_id}", status_code=204)
def delete_twin(room_id: str, twin_id: str, actor: Actor = Who, store: Store = Db) -> Response:
    ops.delete_twin(store, actor, room_id, twin_id)
    return Response(status_code=204)


@router.post(R + "/twins/draft", response_model=w.TwinResult)
def run_draft(room_id: str, body: w.TwinDraftRun, actor: Actor = Who, store: Store = Db
              ) -> w.TwinResult:
    return ops.run_draft(store, actor, room_id, body)

"""Routes for questions, question permissions, terms and room templates."""

from __future__ import annotations

from fastapi import APIRouter, Body, Depends, Response

from workbench.governance import Actor
from workbench.questions import operations as ops
from workbench.service.deps import current_actor, get_store
from workbench.store import Store
from workbench.wire import questions as w

router = APIRouter(tags=["questions"])
Who = Depends(current_actor)
Db = Depends(get_store)
Q = "/rooms/{room_id}/questions"


@router.post(Q + "/check", response_model=w.CheckReport)
def check_question(room_id: str, body: w.QuestionDraft, actor: Actor = Who, store: Store = Db
                   ) -> w.CheckReport:
    return ops.check_question(store, actor, room_id, body)


@router.post(Q, response_model=w.Question, status_code=201)
def create_question(room_id: str, body: w.QuestionDraft, actor: Actor = Who, store: Store = Db
                    ) -> w.Question:
    return ops.create_question(store, actor, room_id, body)


@router.get(Q, response_model=list[w.Question])
def list_questions(room_id: str, actor: Actor = Who, store: Store = Db) -> list[w.Question]:
    return ops.list_questions(store, actor, room_id)


@router.get(Q + "/{question_id}", response_model=w.Question)
def get_question(room_id: str, question_id: str, actor: Actor = Who, store: Store = Db
                 ) -> w.Question:
    return ops.get_question(store, actor, room_id, question_id)


@router.patch(Q + "/{question_id}", response_model=w.Question)
def update_question(room_id: str, question_id: str, body: w.QuestionUpdate, actor: Actor = Who,
                    store: Store = Db) -> w.Question:
    return ops.update_question(store, actor, room_id, question_id, body)


@router.post(Q + "/{question_id}/clone", response_model=w.Question, status_code=201)
def clone_question(room_id: str, question_id: str, name: str | None = Body(None, embed=True),
                   actor: Actor = Who, store: Store = Db) -> w.Question:
    return ops.clone_question(store, actor, room_id, question_id, name)


@router.post(Q + "/{question_id}/add", response_model=w.Question)
def add_question(room_id: str, question_id: str, actor: Actor = Who, store: Store = Db
                 ) -> w.Question:
    return ops.add_question(store, actor, room_id, question_id)


@router.delete(Q + "/{question_id}", status_code=204)
def delete_question(room_id: str, question_id: str, actor: Actor = Who, store: Store = Db
                    ) -> Response:
    ops.delete_question(store, actor, room_id, question_id)
    return Response(status_code=204)


@router.put(Q + "/{question_id}/terms", response_model=w.Question)
def set_terms(room_id: str, question_id: str, body: w.Terms, actor: Actor = Who,
              store: Store = Db) -> w.Question:
    return ops.set_terms(store, actor, room_id, question_id, body)


@router.put(Q + "/{question_id}/permissions", response_model=w.Question)
def set_overrides(room_id: str, question_id: str, body: w.PermissionRules, actor: Actor = Who,
                  store: Store = Db) -> w.Question:
    return ops.set_permission_overrides(store, actor, room_id, question_id, body)


@router.get("/rooms/{room_id}/question-permissions", response_model=list[w.PermissionRule])
def get_defaults(room_id: str, actor: Actor = Who, store: Store = Db) -> list[w.PermissionRule]:
    return ops.permission_defaults(store, actor, room_id)


@router.put("/rooms/{room_id}/question-permissions", response_model=list[w.PermissionRule])
def set_defaults(room_id: str, body: w.PermissionRules, actor: Actor = Who, store: Store = Db
                 ) -> list[w.PermissionRule]:
    return ops.set_permission_defaults(store, actor, room_id, body)


@router.get("/rooms/{room_id}/template/export")
def export_template(room_id: str, actor: Actor = Who, store: Store = Db) -> dict[str, str]:
    return {"yaml": ops.export_template(store, actor, room_id)}


@router.post("/templates/import", response_model=w.TemplateImported, status_code=201)
def import_template(body: w.TemplateImport, actor: Actor = Who, store: Store = Db
                    ) -> w.TemplateImported:
    return ops.import_template(store, actor, body)

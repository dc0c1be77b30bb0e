"""The actions of questions, as data; workbench.wiring installs them in the policy.

Resource-level rules (question permissions, terms, result receivers) are ``check`` functions, so
``ensure_allowed`` stays the only place a decision is made and audited.
"""

from __future__ import annotations

from typing import Any

from workbench.governance.actions import Action
from workbench.governance.permissions import Permission
from workbench.questions import _records as records
from workbench.questions._records import QuestionRecord
from workbench.questions.permissions import QuestionPermission, allowed

P = Permission
QP = QuestionPermission


def _question(cur: Any, access: Any, question_id: str | None) -> QuestionRecord | None:
    if question_id is None:
        return None
    return records.question(cur, access.room.id, question_id)


def _needs(permission: QuestionPermission, what: str) -> Any:
    def check(cur: Any, actor: Any, access: Any, question_id: str | None) -> str | None:
        question = _question(cur, access, question_id)
        if question is None:
            return None  # the operation answers NotFound
        if not allowed(cur, question.id, actor.org_id, permission):
            return (f"the question's author organisation does not let your organisation {what} "
                    f"(question permission {permission.value})")
        return None

    return check


def _author_only(cur: Any, actor: Any, access: Any, question_id: str | None) -> str | None:
    question = _question(cur, access, question_id)
    if question is None:
        return None
    if question.author_org_id != actor.org_id:
        return "only the question's author organisation sets its permission overrides"
    return None


ACTIONS: tuple[Action, ...] = (
    Action(name="question.author", permission=P.QUESTION_BUILDER, writes=True,
           description="Author a question (SQL template, parameters) in the room."),
    Action(name="question.check", permission=P.QUESTION_BUILDER,
           description="Check a draft question against the room's analysis rules; saves nothing."),
    Action(name="question.list", description="List the room's questions."),
    Action(name="question.read", description="Read a question (its SQL only with View Query/Code)."),
    Action(name="question.update", permission=P.QUESTION_BUILDER, writes=True,
           check=_needs(QP.EDIT_DELETE, "edit it"),
           description="Edit a question; every edit makes a new version."),
    Action(name="question.clone", permission=P.QUESTION_BUILDER, writes=True,
           check=_needs(QP.CLONE, "clone it"),
           description="Copy a question into a new one owned by one's own organisation."),
    Action(name="question.add", permission=P.ADD_DELETE_QUESTIONS, owner_only=True, writes=True,
           description="Add an authored question to the room so it can run."),
    Action(name="question.delete", permission=P.ADD_DELETE_QUESTIONS, owner_only=True,
           writes=True, description="Delete a question from the room."),
    Action(name="question.remove", permission=P.QUESTION_BUILDER, writes=True,
           check=_needs(QP.EDIT_DELETE, "delete it from the room"),
           description="Take a question out of the room (question permission Edit and Delete "
                       "Question); the author's copy stays with the author."),
    Action(name="question.terms", permission=P.ADD_DELETE_QUESTIONS, owner_only=True,
           writes=True, description="Set which parties run a question and which receive results."),
    Action(name="question.permissions.defaults", permission=P.QUESTION_BUILDER, writes=True,
           description="Set one's organisation's default question permissions for partners."),
    Action(name="question.permissions.override", permission=P.QUESTION_BUILDER, writes=True,
           check=_author_only,
           description="Override the question permissions of one question."),
    Action(name="template.export", permission=P.ADD_DELETE_QUESTIONS, owner_only=True,
           description="Export the room's template (fields, questions, terms, privacy) as YAML."),
)

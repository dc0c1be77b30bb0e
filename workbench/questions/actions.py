"""The actions of questions, as data; workbench.wiring installs them in the policy.

Resource-level rules (question permissions, terms, result receivers) are ``check`` functions, so
``ensure_allowed`` stays the only place a decision is made and audited.
"""

from __future__ import annotations

from typing import Any

from workbench.governance.actions import Action
from workbench.governance.permissions import Permission
from workbench.questions.permissions import QuestionPermission, allowed

P = Permission
QP = QuestionPermission


def _question(cur: Any, access: Any, question_id: str | None) -> tuple | None:
    if question_id is None:
        return None
    return cur.execute(
        "SELECT id, author_org_id, in_room FROM questions WHERE id = ? AND room_id = ?",
        [question_id, access.room.id],
    ).fetchone()


def _needs(permission: QuestionPermission, what: str) -> Any:
    def check(cur: Any, actor: Any, access: Any, question_id: str | None) -> str | None:
        row = _question(cur, access, question_id)
        if row is None:
            return None  # the operation answers NotFound
        if not allowed(cur, row[0], actor.org_id, permission):
            return (f"the question's author organisation does not let your organisation {what} "
                    f"(question permission {permission.value})")
        return None

    return check


def runners(cur: Any, question_id: str) -> list[str]:
    """Orgs the terms let run the question (empty: any participating org)."""
    return [r for (r,) in cur.execute(
        "SELECT org_id FROM question_terms WHERE question_id = ? AND role = 'runner'"
        " ORDER BY org_id", [question_id]).fetchall()]


def receivers(cur: Any, question_id: str) -> list[str]:
    """Orgs the terms name as receivers (empty: the org that runs it)."""
    return [r for (r,) in cur.execute(
        "SELECT org_id FROM question_terms WHERE question_id = ? AND role = 'receiver'"
        " ORDER BY org_id", [question_id]).fetchall()]


def _room_terms(cur: Any, room: Any, which: str) -> list[str] | None:
    """The room template's terms (owner | partners | all) as org ids; None when not set."""
    row = cur.execute(f"SELECT {which} FROM template_terms WHERE room_id = ?",
                      [room.id]).fetchone()
    if row is None:
        return None
    partners = [o for (o,) in cur.execute(
        "SELECT org_id FROM room_partners WHERE room_id = ? AND status = 'accepted'"
        " ORDER BY org_id", [room.id]).fetchall()]
    return {"owner": [room.owner_org_id], "partners": partners,
            "all": [room.owner_org_id] + partners}.get(row[0])


def effective_runners(cur: Any, room: Any, question_id: str) -> list[str] | None:
    """Who may run: the question's terms, else the room template's, else anyone (None)."""
    return runners(cur, question_id) or _room_terms(cur, room, "runs")


def effective_receivers(cur: Any, room: Any, question_id: str, runner_org_id: str) -> list[str]:
    """Who receives: the question's terms, else the room template's, else the runner."""
    return (receivers(cur, question_id) or _room_terms(cur, room, "receives")
            or [runner_org_id])


def _author_only(cur: Any, actor: Any, access: Any, question_id: str | None) -> str | None:
    row = _question(cur, access, question_id)
    if row is None:
        return None
    if row[1] != actor.org_id:
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

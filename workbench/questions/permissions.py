"""Question permissions: what partners may do with the questions an organisation authors.

Each authoring org sets room-wide defaults (for any partner, or for named partners); a question
may override them, more open or more restrictive. The most specific setting wins:

    question override for this partner > question override for any partner
    > org default for this partner > org default for any partner > built-in default

The author's own organisation may always do everything with its questions.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any

from workbench.errors import InvalidInput

ANY = "*"


class QuestionPermission(StrEnum):
    """The five per-question permissions of the seed products."""

    VIEW_CODE = "view_code"
    EDIT_DELETE = "edit_delete"
    CLONE = "clone"
    RUN = "run"
    VIEW_OUTPUT = "view_output"


#: built-in defaults when neither the authoring org nor the question says anything: partners may
#: read the SQL they opt their data into, run the question and read its output; editing and
#: cloning someone else's question must be granted
BUILTIN: dict[QuestionPermission, bool] = {
    QuestionPermission.VIEW_CODE: True,
    QuestionPermission.EDIT_DELETE: False,
    QuestionPermission.CLONE: False,
    QuestionPermission.RUN: True,
    QuestionPermission.VIEW_OUTPUT: True,
}


def parse(value: str) -> QuestionPermission:
    """A question permission from its name, with the list of names on error."""
    try:
        return QuestionPermission(value)
    except ValueError:
        known = ", ".join(p.value for p in QuestionPermission)
        raise InvalidInput(f"unknown question permission {value!r}; known: {known}") from None


def allowed(cur: Any, question_id: str, org_id: str, permission: QuestionPermission) -> bool:
    """Whether ``org_id`` holds ``permission`` on the question (author org: always)."""
    row = cur.execute("SELECT room_id, author_org_id FROM questions WHERE id = ?",
                      [question_id]).fetchone()
    if row is None:
        return False
    room_id, author = row
    if author == org_id:
        return True
    found = cur.execute(
        "SELECT partner_org_id, allowed FROM question_permission_overrides"
        " WHERE question_id = ? AND permission = ? AND partner_org_id IN (?, ?)",
        [question_id, permission.value, org_id, ANY],
    ).fetchall()
    decided = _most_specific(found, org_id)
    if decided is not None:
        return decided
    found = cur.execute(
        "SELECT partner_org_id, allowed FROM question_permission_defaults"
        " WHERE room_id = ? AND author_org_id = ? AND permission = ? AND partner_org_id IN (?, ?)",
        [room_id, author, permission.value, org_id, ANY],
    ).fetchall()
    decided = _most_specific(found, org_id)
    return BUILTIN[permission] if decided is None else decided


def _most_specific(rows: list[tuple[str, bool]], org_id: str) -> bool | None:
    by = dict(rows)
    if org_id in by:
        return bool(by[org_id])
    if ANY in by:
        return bool(by[ANY])
    return None


def effective(cur: Any, question_id: str, org_id: str) -> dict[str, bool]:
    """Every question permission of ``org_id`` on the question."""
    return {p.value: allowed(cur, question_id, org_id, p) for p in QuestionPermission}

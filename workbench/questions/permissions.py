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
from workbench.questions import _records as records

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
    owner = records.authorship(cur, question_id)
    if owner is None:
        return False
    if owner.author_org_id == org_id:
        return True
    decided = _most_specific(records.overrides(cur, question_id, permission=permission.value,
                                               partners=(org_id, ANY)), org_id)
    if decided is not None:
        return decided
    decided = _most_specific(records.defaults(cur, owner.room_id, owner.author_org_id,
                                              permission=permission.value,
                                              partners=(org_id, ANY)), org_id)
    return BUILTIN[permission] if decided is None else decided


def _most_specific(settings: list[records.PermissionSetting], org_id: str) -> bool | None:
    by = {s.partner_org_id: s.allowed for s in settings}
    if org_id in by:
        return bool(by[org_id])
    if ANY in by:
        return bool(by[ANY])
    return None


def effective(cur: Any, question_id: str, org_id: str) -> dict[str, bool]:
    """Every question permission of ``org_id`` on the question."""
    return {p.value: allowed(cur, question_id, org_id, p) for p in QuestionPermission}

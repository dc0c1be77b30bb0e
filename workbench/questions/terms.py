"""The terms of a question: which organisations run it and which receive its results.

A question's own terms win; without them the room template's terms apply (owner, partners or
all); without those, anyone in the room may run it and the runner receives the result.
"""

from __future__ import annotations

from typing import Any

from workbench.governance._records import room_orgs
from workbench.questions import _records as records


def runners(cur: Any, question_id: str) -> list[str]:
    """Orgs the question's terms let run it (empty: the room's terms decide)."""
    return records.term_orgs(cur, question_id, "runner")


def receivers(cur: Any, question_id: str) -> list[str]:
    """Orgs the question's terms name as receivers (empty: the room's terms decide)."""
    return records.term_orgs(cur, question_id, "receiver")


def write(cur: Any, question_id: str, runner_orgs: list[str], receiver_orgs: list[str]) -> None:
    """Replace a question's terms."""
    records.replace_terms(cur, question_id, runner_orgs, receiver_orgs)


def _room_terms(cur: Any, room: Any, which: str) -> list[str] | None:
    """The room template's terms (owner | partners | all) as org ids; None when not set."""
    term = records.room_template_terms(cur, room.id, which)
    if term is None:
        return None
    partners = sorted(o.org_id for o in room_orgs(cur, room.id, statuses=("accepted",)))
    return {"owner": [room.owner_org_id], "partners": partners,
            "all": [room.owner_org_id] + partners}.get(term)


def effective_runners(cur: Any, room: Any, question_id: str) -> list[str] | None:
    """Who may run: the question's terms, else the room template's, else anyone (None)."""
    return runners(cur, question_id) or _room_terms(cur, room, "runs")


def effective_receivers(cur: Any, room: Any, question_id: str, runner_org_id: str) -> list[str]:
    """Who receives: the question's terms, else the room template's, else the runner."""
    return (receivers(cur, question_id) or _room_terms(cur, room, "receives")
            or [runner_org_id])

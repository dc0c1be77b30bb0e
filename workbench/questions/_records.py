"""Every SQL statement of the questions package, returning frozen records read by column name.

Domain modules (operations, terms, permissions, actions) call these functions and never execute
SQL themselves, so the tables of questions, their versions, terms and permission settings are
described in one place.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass
from typing import Any

from workbench.store.records import fetch_all, fetch_one, scalar

_QUESTION = ("id, room_id, author_org_id, author_user_id, name, version, CAST(spec AS VARCHAR)"
             " AS spec, in_room, cloned_from, created_at, updated_at")


@dataclass(frozen=True, slots=True, kw_only=True)
class QuestionRecord:
    """One stored question (its current version) in a room."""

    id: str
    room_id: str
    author_org_id: str
    author_user_id: str
    name: str
    version: int
    #: the spec as JSON text (Question.to_dict)
    spec: str
    in_room: bool
    cloned_from: str | None
    created_at: dt.datetime
    updated_at: dt.datetime

    def spec_dict(self) -> dict[str, Any]:
        """The stored spec as a mapping, for Question.from_dict."""
        loaded: dict[str, Any] = json.loads(self.spec)
        return loaded


@dataclass(frozen=True, slots=True, kw_only=True)
class PermissionSetting:
    """One question permission setting for a partner (or ``*`` for any partner)."""

    permission: str
    partner_org_id: str
    allowed: bool


@dataclass(frozen=True, slots=True, kw_only=True)
class TermOrg:
    """One organisation named by a question's terms."""

    org_id: str


@dataclass(frozen=True, slots=True, kw_only=True)
class QuestionId:
    """The id of one question."""

    id: str


@dataclass(frozen=True, slots=True, kw_only=True)
class Authorship:
    """Which room and org a question belongs to (for permission decisions)."""

    room_id: str
    author_org_id: str


# -- questions -----------------------------------------------------------------------------------


def question(cur: Any, room_id: str, question_id: str) -> QuestionRecord | None:
    """The question ``question_id`` of ``room_id``, or None."""
    return fetch_one(cur, QuestionRecord,
                     f"SELECT {_QUESTION} FROM questions WHERE id = ? AND room_id = ?",
                     [question_id, room_id])


def question_ids(cur: Any, room_id: str, *, in_room_only: bool = False) -> list[str]:
    """The ids of a room's questions, oldest first (only those added to the room if asked)."""
    extra = " AND in_room" if in_room_only else ""
    found = fetch_all(cur, QuestionId, f"SELECT id FROM questions WHERE room_id = ?{extra}"
                      " ORDER BY created_at, id", [room_id])
    return [r.id for r in found]


def authorship(cur: Any, question_id: str) -> Authorship | None:
    """The room and author org of a question, wherever it is."""
    return fetch_one(cur, Authorship,
                     "SELECT room_id, author_org_id FROM questions WHERE id = ?", [question_id])


def insert_question(cur: Any, *, question_id: str, room_id: str, author_org_id: str,
                    author_user_id: str, name: str, version: int, spec: dict[str, Any],
                    in_room: bool, cloned_from: str | None) -> None:
    """Store a new question."""
    cur.execute(
        "INSERT INTO questions (id, room_id, author_org_id, author_user_id, name, version, spec,"
        " in_room, cloned_from) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [question_id, room_id, author_org_id, author_user_id, name, version, json.dumps(spec),
         in_room, cloned_from])


def save_version(cur: Any, question_id: str, version: int, spec: dict[str, Any],
                 user_id: str) -> None:
    """Keep every saved version, so a run's version can always be read back."""
    cur.execute("INSERT INTO question_versions (question_id, version, spec, saved_by)"
                " VALUES (?, ?, ?, ?)", [question_id, version, json.dumps(spec), user_id])


def update_question(cur: Any, question_id: str, *, name: str, version: int,
                    spec: dict[str, Any], keep_in_room: bool) -> None:
    """A new version of a question; it stays in the room only when ``keep_in_room``."""
    cur.execute("UPDATE questions SET name = ?, version = ?, spec = ?, updated_at = now(),"
                " in_room = in_room AND ? WHERE id = ?",
                [name, version, json.dumps(spec), keep_in_room, question_id])


def set_in_room(cur: Any, question_id: str, in_room: bool = True) -> None:
    """The owner added the question to the room (it may run), or someone took it out."""
    cur.execute("UPDATE questions SET in_room = ?, updated_at = now() WHERE id = ?",
                [in_room, question_id])


def delete_question(cur: Any, question_id: str) -> None:
    """A question with its terms and permission overrides (versions stay for past runs)."""
    cur.execute("DELETE FROM question_terms WHERE question_id = ?", [question_id])
    cur.execute("DELETE FROM question_permission_overrides WHERE question_id = ?", [question_id])
    cur.execute("DELETE FROM questions WHERE id = ?", [question_id])


# -- terms ---------------------------------------------------------------------------------------


def term_orgs(cur: Any, question_id: str, role: str) -> list[str]:
    """The orgs a question's terms name as ``role`` (runner | receiver)."""
    return [r.org_id for r in fetch_all(
        cur, TermOrg, "SELECT org_id FROM question_terms WHERE question_id = ? AND role = ?"
        " ORDER BY org_id", [question_id, role])]


def replace_terms(cur: Any, question_id: str, runners: list[str], receivers: list[str]) -> None:
    """Set a question's terms, replacing what it had."""
    cur.execute("DELETE FROM question_terms WHERE question_id = ?", [question_id])
    for role, orgs in (("runner", runners), ("receiver", receivers)):
        for org in sorted(set(orgs)):
            cur.execute("INSERT INTO question_terms (question_id, role, org_id) VALUES (?, ?, ?)",
                        [question_id, role, org])


def room_template_terms(cur: Any, room_id: str, which: str) -> str | None:
    """The room template's ``runs`` or ``receives`` term (owner | partners | all), if set."""
    if which not in ("runs", "receives"):
        raise ValueError(f"unknown template term {which!r}")
    value = scalar(cur, f"SELECT {which} FROM template_terms WHERE room_id = ?", [room_id])
    return None if value is None else str(value)


# -- question permissions ------------------------------------------------------------------------


def overrides(cur: Any, question_id: str, *, permission: str | None = None,
              partners: tuple[str, ...] | None = None) -> list[PermissionSetting]:
    """A question's permission overrides, optionally for one permission and some partners."""
    return _settings(cur, "SELECT permission, partner_org_id, allowed FROM"
                     " question_permission_overrides WHERE question_id = ?", [question_id],
                     permission, partners)


def _settings(cur: Any, sql: str, params: list[Any], permission: str | None,
              partners: tuple[str, ...] | None) -> list[PermissionSetting]:
    """Permission settings selected by ``sql``, narrowed to a permission and some partners."""
    if permission is not None:
        sql += " AND permission = ?"
        params = [*params, permission]
    if partners is not None:
        sql += " AND list_contains(?, partner_org_id)"
        params = [*params, list(partners)]
    return fetch_all(cur, PermissionSetting, sql + " ORDER BY permission, partner_org_id", params)


def replace_overrides(cur: Any, question_id: str, settings: list[PermissionSetting]) -> None:
    """Set a question's permission overrides, replacing what it had."""
    cur.execute("DELETE FROM question_permission_overrides WHERE question_id = ?", [question_id])
    for s in settings:
        cur.execute(
            "INSERT OR REPLACE INTO question_permission_overrides (question_id, permission,"
            " partner_org_id, allowed) VALUES (?, ?, ?, ?)",
            [question_id, s.permission, s.partner_org_id, s.allowed])


def defaults(cur: Any, room_id: str, author_org_id: str, *, permission: str | None = None,
             partners: tuple[str, ...] | None = None) -> list[PermissionSetting]:
    """An org's default question permissions in a room, optionally narrowed."""
    return _settings(cur, "SELECT permission, partner_org_id, allowed FROM"
                     " question_permission_defaults WHERE room_id = ? AND author_org_id = ?",
                     [room_id, author_org_id], permission, partners)


def replace_defaults(cur: Any, room_id: str, author_org_id: str,
                     settings: list[PermissionSetting]) -> None:
    """Set an org's default question permissions in a room, replacing what it had."""
    cur.execute("DELETE FROM question_permission_defaults WHERE room_id = ? AND author_org_id = ?",
                [room_id, author_org_id])
    add_defaults(cur, room_id, author_org_id, settings)


def add_defaults(cur: Any, room_id: str, author_org_id: str,
                 settings: list[PermissionSetting]) -> None:
    """Add (or replace one by one) default question permissions."""
    for s in settings:
        cur.execute(
            "INSERT OR REPLACE INTO question_permission_defaults (room_id, author_org_id,"
            " permission, partner_org_id, allowed) VALUES (?, ?, ?, ?, ?)",
            [room_id, author_org_id, s.permission, s.partner_org_id, s.allowed])

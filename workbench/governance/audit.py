"""The append-only audit log. Nothing in the product updates or deletes an event."""

from __future__ import annotations

import json
from typing import Any

from workbench.governance.model import Actor


def record(
    cur: Any,
    actor: Actor | None,
    action: str,
    *,
    room_id: str | None = None,
    resource_type: str | None = None,
    resource_id: str | None = None,
    resource_org_id: str | None = None,
    outcome: str = "ok",
    reason: str = "",
    detail: dict[str, Any] | None = None,
) -> None:
    """Append one event. ``resource_org_id`` is the org whose resource was touched."""
    cur.execute(
        "INSERT INTO audit_events (actor_user_id, actor_org_id, action, room_id, resource_type,"
        " resource_id, resource_org_id, outcome, reason, detail) VALUES (?,?,?,?,?,?,?,?,?,?)",
        [
            actor.user_id if actor else None,
            actor.org_id if actor else None,
            action,
            room_id,
            resource_type,
            resource_id,
            resource_org_id,
            outcome,
            reason,
            json.dumps(detail, default=str) if detail is not None else None,
        ],
    )


def events_for_org(
    cur: Any,
    org_id: str,
    *,
    room_id: str | None = None,
    actor_user_id: str | None = None,
    action: str | None = None,
    limit: int = 500,
) -> list[dict[str, Any]]:
    """Events an org may read: its own actions and actions on its resources, newest first."""
    sql = (
        "SELECT e.seq, e.occurred_at, e.actor_user_id, u.name AS actor_name, e.actor_org_id, e.action,"
        " e.room_id, e.resource_type, e.resource_id, e.resource_org_id, e.outcome, e.reason,"
        " e.detail FROM audit_events e LEFT JOIN users u ON u.id = e.actor_user_id"
        " WHERE (e.actor_org_id = ? OR e.resource_org_id = ?)"
    )
    params: list[Any] = [org_id, org_id]
    for column, value in (("room_id", room_id), ("actor_user_id", actor_user_id), ("action", action)):
        if value is not None:
            sql += f" AND e.{column} = ?"
            params.append(value)
    sql += " ORDER BY e.seq DESC LIMIT ?"
    params.append(max(1, min(int(limit), 10_000)))
    cols = [
        "seq", "at", "actor_user_id", "actor_name", "actor_org_id", "action", "room_id",
        "resource_type", "resource_id", "resource_org_id", "outcome", "reason", "detail",
    ]
    out = []
    for row in cur.execute(sql, params).fetchall():
        event = dict(zip(cols, row))
        event["at"] = event["at"].isoformat()
        event["detail"] = json.loads(event["detail"]) if event["detail"] else None
        out.append(event)
    return out

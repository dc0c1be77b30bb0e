"""The data package's SQL: every statement over data connections, provisioning, rules and
templates lives here and returns frozen records."""

from __future__ import annotations

from typing import Any


def data_parties(cur: Any, room_id: str) -> list[str]:
    """The orgs whose data is provisioned into the room (the parties a run there may read)."""
    rows = cur.execute(
        "SELECT DISTINCT org_id FROM provisioned_datasets WHERE room_id = ? ORDER BY org_id",
        [room_id],
    ).fetchall()
    return [org_id for (org_id,) in rows]

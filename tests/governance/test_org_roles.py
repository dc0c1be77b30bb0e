"""Each built-in org role gates what the seeds say it does, and nothing more (issue 14.2), over a
live `workbench serve`; plus the trusted-partner removal of an unknown org (a 404, not a 200).

Attacks encoded: a user without the Intelligence Administrator org role building dashboards with
only the room permission; a read-only data import user deleting or creating a connection; a user
manager creating rooms; a clean-room administrator issuing tokens.
"""

from __future__ import annotations

import uuid

import httpx
import pandas as pd
import pytest

import workbench as wb

MISSING = "00000000-0000-0000-0000-000000000000"


def _name(prefix: str) -> str:
    return f"{prefix} {uuid.uuid4().hex[:6]}"


@pytest.fixture(scope="module")
def org(live_service):
    """An org with a data connection and a room whose role 'Creators' holds Intelligence Creator."""
    made = live_service.make_org(_name("Roles"))
    admin = made.admin
    conn = admin.connect_dataset(pd.DataFrame({"email": ["a@x.org", "b@x.org"], "region": ["N", "S"]}),
                                 "people", identity_column="email", identity_kind="email", progress=False)
    room = admin.create_room(_name("room"), intelligence=True)
    role = admin.create_role(room.id, "Creators", ["view_reports", "intelligence_viewer", "intelligence_creator"])
    return made, conn.id, room.id, role.id


def _user(live_service, org, org_roles: list[str]) -> tuple[wb.Client, str]:
    made, _, room_id, role_id = org
    user = made.admin.create_user(_name("u"), org_roles=org_roles)
    made.admin.add_member(room_id, user.id, role_id)
    return live_service.client(made.admin.issue_token(user.id).secret), user.id


def test_intelligence_administrator_gates_dashboard_building(live_service, org) -> None:
    _, _, room_id, _ = org
    without, _ = _user(live_service, org, [])
    with pytest.raises(wb.PermissionDenied, match="Intelligence Administrator"):
        without.create_dashboard(room_id, "no entitlement")
    assert without.room(room_id).abilities["dashboard.create"] is False
    # viewing stays a room permission only
    assert without.dashboards(room_id) == []
    holder, _ = _user(live_service, org, ["intelligence_admin"])
    assert holder.room(room_id).abilities["dashboard.create"] is True
    assert holder.create_dashboard(room_id, _name("board")).name.startswith("board")


def test_each_builtin_org_role_grants_its_seed_abilities_only(live_service, org) -> None:
    made, conn_id, _, _ = org
    probes = {
        "create a room": lambda c: c.create_room(_name("r")),
        "manage users": lambda c: c.create_user(_name("x")),
        "issue tokens": lambda c: c.issue_token(made.admin.whoami().user.id, label="probe"),
        "read data imports": lambda c: c.connections(),
        "delete a connection": lambda c: c.delete_connection(MISSING),
    }
    grants = {
        "clean_room_admin": {"create a room"},
        "user_management": {"manage users", "issue tokens"},
        "data_import_read_only": {"read data imports"},
        "question_builder_admin": set(),
        "intelligence_admin": set(),
        "data_connections": {"read data imports", "delete a connection"},
    }
    for role, allowed in grants.items():
        client, _ = _user(live_service, org, [role])
        got = set()
        for what, probe in probes.items():
            try:
                probe(client)
                got.add(what)
            except wb.PermissionDenied:
                pass
            except wb.NotFound:  # allowed, and the missing connection is simply not there
                got.add(what)
        assert got == allowed, role


def test_untrusting_an_org_not_on_the_list_is_not_found(live_service) -> None:
    made = live_service.make_org(_name("Trusting"))
    other = live_service.make_org(_name("Other"))
    token = made.admin.issue_token(made.admin.whoami().user.id).secret
    with httpx.Client(base_url=live_service.url, headers={"Authorization": f"Bearer {token}"}) as http:
        for org_id in (MISSING, other.id):
            r = http.delete(f"/api/v1/org/trusted-partners/{org_id}")
            assert r.status_code == 404, r.text
            assert set(r.json()) == {"error"} and r.json()["error"]["code"] == "not_found"
        assert http.delete("/api/v1/org/trusted-partners/not-a-uuid").status_code in (404, 422)
    made.admin.trust_partner(other.id)
    assert made.admin.untrust_partner(other.id) == []
    with pytest.raises(wb.NotFound, match="not on your organisation's trusted partners"):
        made.admin.untrust_partner(other.id)

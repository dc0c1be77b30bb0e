"""Bad input: each gets its documented error and leaves no partial change."""

from __future__ import annotations

import datetime as dt

import httpx
import pytest

import workbench as wb
from workbench.service.local import InProcessTransport, _served

from tests.conftest import TEST_KEY

MISSING = "00000000-0000-0000-0000-000000000000"


def raw(store_dir, token: str | None) -> httpx.Client:
    """A plain HTTP client on the in-process app, to send what the SDK never would."""
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return httpx.Client(transport=InProcessTransport(_served(store_dir, TEST_KEY)),
                        base_url="http://workbench.local", headers=headers)


def envelope(response: httpx.Response) -> dict:
    body = response.json()
    assert set(body) == {"error"}
    assert set(body["error"]) == {"code", "message", "details"}
    text = response.text
    for leak in ("Traceback", "SELECT ", "INSERT ", ".duckdb", "/tmp", "File \""):
        assert leak not in text
    return body["error"]


@pytest.mark.parametrize("path", [f"/api/v1/rooms/{MISSING}", "/api/v1/rooms/not-a-uuid",
                                  f"/api/v1/rooms/{MISSING}/roles", f"/api/v1/orgs/{MISSING}",
                                  "/api/v1/no/such/route"])
def test_unknown_ids_are_not_found(publisher, store_dir, path: str) -> None:
    with raw(store_dir, publisher.token) as http:
        r = http.get(path)
    assert r.status_code == 404
    assert envelope(r)["code"] == "not_found"


@pytest.mark.parametrize("token", [None, "", "wbt_wrong", "Basic abc"])
def test_missing_or_wrong_token(publisher, store_dir, token: str | None) -> None:
    with raw(store_dir, token) as http:
        r = http.get("/api/v1/rooms")
    assert r.status_code == 401
    assert envelope(r)["code"] == "unauthenticated"


def test_revoked_token_stops_working(admin, user_client) -> None:
    client, user_id = user_client(admin, "dora")
    assert client.whoami().user.name == "dora"
    token = next(t for t in admin.tokens() if t.user_id == user_id)
    admin.revoke_token(token.id)
    with pytest.raises(wb.Unauthenticated, match="unknown or revoked"):
        client.whoami()


def test_malformed_json(publisher, store_dir) -> None:
    with raw(store_dir, publisher.token) as http:
        r = http.post("/api/v1/rooms", content=b'{"name": "x",', headers={"content-type": "application/json"})
    assert r.status_code == 422
    err = envelope(r)
    assert err["code"] == "invalid_input" and "not valid JSON" in err["message"]
    assert publisher.admin.rooms() == []


@pytest.mark.parametrize("body,field", [
    ({"name": 5}, "name"),
    ({"name": "r", "k_min": "ten"}, "k_min"),
    ({"name": "r", "dp_enabled": "yes"}, "dp_enabled"),
    ({"name": "r", "start_date": "tomorrow"}, "start_date"),
    ({}, "name"),
    ({"name": "r", "colour": "red"}, "colour"),
    ({"name": "r", "k_min": 0}, "k_min"),
])
def test_wrong_types_and_missing_fields(publisher, store_dir, body: dict, field: str) -> None:
    with raw(store_dir, publisher.token) as http:
        r = http.post("/api/v1/rooms", json=body)
    assert r.status_code == 422
    err = envelope(r)
    assert err["code"] == "invalid_input"
    assert field in err["message"]
    assert publisher.admin.rooms() == []


def test_bad_budget_and_dates_leave_nothing(admin) -> None:
    with pytest.raises(wb.InvalidInput, match="epsilon_budget must be a number such as 0.5"):
        admin.create_room("r", epsilon_budget="lots")
    with pytest.raises(wb.InvalidInput, match="before the start date"):
        admin.create_room("r", start_date=dt.date(2030, 1, 2), end_date=dt.date(2030, 1, 1))
    assert admin.rooms() == []


def test_duplicate_names(admin, make_org) -> None:
    admin.create_room("Campaign")
    with pytest.raises(wb.Conflict, match="already has a room named 'campaign'"):
        admin.create_room("campaign")
    make_org("Advertiser")
    with pytest.raises(wb.Conflict, match="organisation named"):
        admin.create_org("Advertiser", "x")
    admin.create_user("erin")
    with pytest.raises(wb.Conflict, match="user named"):
        admin.create_user("Erin")
    assert [r.name for r in admin.rooms()] == ["Campaign"]


def test_another_orgs_room_is_not_found_not_forbidden(admin, make_org) -> None:
    other = make_org("Stranger")
    room = admin.create_room("Private")
    for call in (lambda: other.admin.room(room.id), lambda: other.admin.roles(room.id),
                 lambda: other.admin.create_role(room.id, "x", []),
                 lambda: other.admin.invite_partner(room.id, other.id)):
        with pytest.raises(wb.NotFound, match="not shared with your organisation"):
            call()
    assert other.admin.rooms() == []


def test_failed_operation_leaves_no_partial_change(admin, make_org) -> None:
    adv = make_org("Advertiser")
    room = admin.create_room("R")
    admin.invite_partner(room.id, adv.id)
    adv.admin.accept_invitation(room.id)
    before = adv.admin.roles(room.id)
    with pytest.raises(wb.InvalidInput, match="unknown permission"):
        adv.admin.create_role(room.id, "Analyst", ["view_reports", "fly"])
    with pytest.raises(wb.InvalidInput, match="owner-only"):
        admin.set_partner_permissions(room.id, adv.id, ["view_reports", "partner_management"])
    assert adv.admin.roles(room.id) == before
    assert sorted(admin.room(room.id).partners[0].available_permissions) == sorted(
        ["intelligence_viewer", "manage_clean_room_roles", "manage_datasets", "view_reports"])


def test_users_only_of_the_adding_org(admin, make_org) -> None:
    adv = make_org("Advertiser")
    room = admin.create_room("R")
    admin.invite_partner(room.id, adv.id)
    adv.admin.accept_invitation(room.id)
    owner_viewer = next(r for r in admin.roles(room.id) if r.kind == "viewer")
    with pytest.raises(wb.NotFound, match="in your organisation"):
        admin.add_member(room.id, adv.admin_user_id, owner_viewer.id)
    adv_viewer = next(r for r in adv.admin.roles(room.id) if r.kind == "viewer")
    with pytest.raises(wb.NotFound, match="no role"):
        admin.add_member(room.id, admin.whoami().user.id, adv_viewer.id)


def test_administrator_role_is_locked(admin) -> None:
    room = admin.create_room("R")
    administrator = next(r for r in admin.roles(room.id) if r.kind == "administrator")
    with pytest.raises(wb.InvalidInput, match="cannot be edited"):
        admin.update_role(room.id, administrator.id, permissions=["view_reports"])
    viewer = next(r for r in admin.roles(room.id) if r.kind == "viewer")
    assert admin.update_role(room.id, viewer.id, permissions=["view_reports"]).permissions == ["view_reports"]


def test_openapi_is_served(publisher, store_dir) -> None:
    with raw(store_dir, None) as http:
        doc = http.get("/openapi.json").json()
    assert "/api/v1/rooms/{room_id}/partners" in doc["paths"]

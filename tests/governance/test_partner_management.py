"""Partner Management, org roles, users, invitations and the last-administrator rule, over a live
`workbench serve` (issue 16, 9.3's partner removal and leaving, 14.3's service side).

Attacks encoded: a partner admin giving itself permissions the owner did not make available; an
owner giving a partner's role more than the partner may use; a user manager granting itself org
admin; an org role acting in a room its org does not own; a deactivated user's token; a partner
reading the owner's roles; demoting, removing or deactivating the last administrator.
"""

from __future__ import annotations

import datetime as dt
import uuid
from fractions import Fraction

import pytest

import workbench as wb
from workbench.governance.model import Room as PolicyRoom
from workbench.governance.model import utc_today

from tests.runs.room import Q1_SQL, add_q1, build_room

PARAMS = [{"name": "min_amount", "type": "number", "default": 0}]


def _name(prefix: str) -> str:
    return f"{prefix} {uuid.uuid4().hex[:6]}"


@pytest.fixture(scope="module")
def owner(live_service) -> wb.Client:
    return live_service.make_org(_name("Owner")).admin


def _pair(live_service, owner: wb.Client):
    partner = live_service.make_org(_name("Partner"))
    room = owner.create_room(_name("room"))
    owner.invite_partner(room.id, partner.id)
    partner.admin.accept_invitation(room.id)
    return room, partner


def _user(live_service, admin: wb.Client, name: str, org_roles: list[str] | None = None):
    user = admin.create_user(_name(name), org_roles=org_roles or [])
    return user, live_service.client(admin.issue_token(user.id).secret)


def test_owner_lists_every_orgs_roles_and_members_partner_cannot(live_service, owner) -> None:
    room, partner = _pair(live_service, owner)
    orgs = {d.org_id: d for d in owner.directory(room.id)}
    assert set(orgs) == {owner.whoami().org.id, partner.id}
    theirs = orgs[partner.id]
    assert [(m.role_name, m.role_kind) for m in theirs.members] == [("Partner Administrator", "administrator")]
    assert [r.name for r in owner.roles(room.id, org_id=partner.id)] == ["Partner Administrator", "Viewer"]
    assert owner.members(room.id, org_id=partner.id)[0].role_name == "Partner Administrator"
    with pytest.raises(wb.PermissionDenied, match="owner organisation only"):
        partner.admin.directory(room.id)
    with pytest.raises(wb.PermissionDenied):
        partner.admin.roles(room.id, org_id=owner.whoami().org.id)


def test_owner_manages_partner_roles_within_what_is_available(live_service, owner) -> None:
    room, partner = _pair(live_service, owner)
    available = set(owner.room(room.id).partners[0].available_permissions)
    role = owner.create_role(room.id, "Reporting", ["view_reports"], org_id=partner.id)
    assert role.org_id == partner.id and role.permissions == ["view_reports"]
    # attack: more than the partner may use, through the owner's Partner Management
    with pytest.raises(wb.InvalidInput, match="not available to that partner"):
        owner.create_role(room.id, "Builders", ["question_builder"], org_id=partner.id)
    with pytest.raises(wb.InvalidInput, match="not available"):
        owner.update_role(room.id, role.id, permissions=["partner_management"], org_id=partner.id)
    owner.update_role(room.id, role.id, name="Reports", permissions=sorted(available & {"view_reports",
                                                                                        "manage_datasets"}),
                      org_id=partner.id)
    bob, _ = _user(live_service, partner.admin, "bob")
    viewer = next(r for r in partner.admin.roles(room.id) if r.kind == "viewer")
    partner.admin.add_member(room.id, bob.id, viewer.id)
    changed = owner.add_member(room.id, bob.id, role.id, org_id=partner.id)
    assert changed.role_name == "Reports"
    # visible to the partner: its roles, its members, and its audit log
    assert {r.name for r in partner.admin.roles(room.id)} >= {"Reports"}
    assert next(m for m in partner.admin.members(room.id) if m.user_id == bob.id).role_name == "Reports"
    seen = [e for e in partner.admin.audit(room_id=room.id, action="partner.roles.manage")]
    assert len(seen) >= 3 and all(e.actor_org_id != partner.id for e in seen)
    # the owner may change roles of the partner's members only, not add the partner's users
    carl, _ = _user(live_service, partner.admin, "carl")
    with pytest.raises(wb.NotFound, match="partner adds its own users"):
        owner.add_member(room.id, carl.id, role.id, org_id=partner.id)


def test_partner_admin_cannot_reach_beyond_what_is_available(live_service, owner) -> None:
    room, partner = _pair(live_service, owner)
    with pytest.raises(wb.InvalidInput, match="not available to your organisation"):
        partner.admin.create_role(room.id, "mine", ["question_builder"])
    with pytest.raises(wb.PermissionDenied):
        partner.admin.set_partner_permissions(room.id, partner.id, ["question_builder"])
    with pytest.raises(wb.PermissionDenied):
        partner.admin.create_role(room.id, "theirs", [], org_id=owner.whoami().org.id)
    assert "question_builder" not in partner.admin.room(room.id).my_permissions


def test_org_roles_defaults_custom_and_no_self_escalation(live_service) -> None:
    org = live_service.make_org(_name("Org"))
    roles = {r.key: r for r in org.admin.org_roles()}
    assert {"org_admin", "clean_room_admin", "intelligence_admin", "question_builder_admin",
            "data_import_read_only", "user_management"} <= set(roles)
    assert roles["question_builder_admin"].rights == ["question_builder"]
    custom = next(r for r in org.admin.create_org_role("Analysts", ["create_rooms", "question_builder"])
                  if r.name == "Analysts")
    assert not custom.builtin
    with pytest.raises(wb.Conflict, match="already exists"):
        org.admin.create_org_role("analysts", [])
    with pytest.raises(wb.InvalidInput, match="unknown org right"):
        org.admin.create_org_role("Bad", ["superuser"])
    analyst, analyst_client = _user(live_service, org.admin, "ann", [custom.key])
    assert set(analyst_client.whoami().user.org_rights) == {"create_rooms", "question_builder"}
    analyst_client.create_room(_name("analyst room"))
    with pytest.raises(wb.Conflict, match="still hold"):
        org.admin.delete_org_role(custom.key)
    with pytest.raises(wb.InvalidInput, match="built-in"):
        org.admin.update_org_role("org_admin", rights=[])
    # a user manager edits users but cannot hand out rights it does not hold (audited refusal)
    manager, manager_client = _user(live_service, org.admin, "uma", ["user_management"])
    with pytest.raises(wb.PermissionDenied, match="org_admin"):
        manager_client.create_user(_name("evil"), org_roles=["org_admin"])
    with pytest.raises(wb.PermissionDenied):
        manager_client.update_user(manager.id, org_roles=["user_management", "clean_room_admin"])
    edited = manager_client.update_user(analyst.id, name="Ann B", email="ann@example.com")
    assert (edited.name, edited.email, edited.org_roles) == ("Ann B", "ann@example.com", [custom.key])
    denied = [e for e in org.admin.audit(action="org.rights.grant") if e.outcome == "denied"]
    assert len(denied) == 2
    with pytest.raises(wb.PermissionDenied, match="org right"):
        manager_client.create_room(_name("no"))


def test_org_roles_grant_nothing_in_a_room_the_org_does_not_own(live_service, owner) -> None:
    room, partner = _pair(live_service, owner)
    _, creator = _user(live_service, partner.admin, "cora", ["clean_room_admin", "question_builder_admin"])
    assert creator.create_room(_name("own room")).my_org_status == "owner"
    # no room role in the owner's room: org rights add nothing there
    with pytest.raises(wb.PermissionDenied):
        creator.update_room(room.id, name="taken over")
    with pytest.raises(wb.PermissionDenied):
        creator.invite_partner(room.id, partner.id)
    assert creator.room(room.id).my_permissions == []


def test_question_builder_needs_the_org_entitlement(live_service) -> None:
    room = build_room(live_service.make_org(_name("Owner")).admin, lambda n: live_service.make_org(n))
    builder = next(r for r in room.owner.roles(room.id) if r.kind == "administrator")
    for org_roles, allowed in (([], False), (["question_builder_admin"], True)):
        user, client = _user(live_service, room.owner, "qb", org_roles)
        room.owner.add_member(room.id, user.id, builder.id)
        assert "question_builder" in client.room(room.id).my_permissions
        if allowed:
            assert client.create_question(room.id, _name("q"), Q1_SQL, parameters=PARAMS).id
        else:
            with pytest.raises(wb.PermissionDenied, match="org right question_builder"):
                client.create_question(room.id, _name("q"), Q1_SQL, parameters=PARAMS)


def test_deactivated_user_token_stops_memberships_stay(live_service, owner) -> None:
    room, _ = _pair(live_service, owner)
    user, client = _user(live_service, owner, "dee")
    viewer = next(r for r in owner.roles(room.id) if r.kind == "viewer")
    owner.add_member(room.id, user.id, viewer.id)
    assert client.room(room.id).id == room.id
    gone = owner.deactivate_user(user.id)
    assert not gone.active and gone.deactivated_at
    with pytest.raises(wb.Unauthenticated, match="deactivated"):
        client.whoami()
    member = next(m for m in owner.members(room.id) if m.user_id == user.id)
    assert member.role_name == "Viewer" and not member.active
    with pytest.raises(wb.Conflict, match="reactivate"):
        owner.issue_token(user.id)
    assert [e.outcome for e in owner.audit(action="org.users.deactivate") if e.resource_id == user.id] == ["allowed"]
    assert owner.reactivate_user(user.id).active
    assert client.whoami().user.id == user.id


def test_never_leave_a_room_without_an_administrator(live_service, owner) -> None:
    room, partner = _pair(live_service, owner)
    me = owner.whoami().user.id
    roles = {r.kind: r for r in owner.roles(room.id)}
    with pytest.raises(wb.Conflict, match="last active Administrator"):
        owner.add_member(room.id, me, roles["viewer"].id)
    with pytest.raises(wb.Conflict, match="last active Administrator"):
        owner.remove_member(room.id, me)
    ada = partner.admin.whoami().user.id
    with pytest.raises(wb.Conflict, match="last active Partner Administrator"):
        owner.add_member(room.id, ada, owner.roles(room.id, org_id=partner.id)[1].id, org_id=partner.id)
    # a second administrator first: then the first may step down, and the second cannot be deactivated
    second, second_client = _user(live_service, owner, "sam", ["org_admin"])
    owner.add_member(room.id, second.id, roles["administrator"].id)
    owner.add_member(room.id, me, roles["viewer"].id)
    with pytest.raises(wb.Conflict, match="last active Administrator .* in: " + room.name):
        owner.deactivate_user(second.id)
    assert {m.user_id: m.role_kind for m in second_client.members(room.id)}[second.id] == "administrator"
    second_client.add_member(room.id, me, roles["administrator"].id)


def test_invitations_keep_their_state_and_can_be_renewed(live_service, owner) -> None:
    partner = live_service.make_org(_name("Partner"))
    room = owner.create_room(_name("room"))
    owner.invite_partner(room.id, partner.id)
    partner.admin.decline_invitation(room.id)
    (p,) = owner.room(room.id).partners
    assert p.status == "declined" and p.responded_at and p.invited_at
    with pytest.raises(wb.NotFound):
        partner.admin.room(room.id)
    owner.invite_partner(room.id, partner.id)
    partner.admin.accept_invitation(room.id)
    owner.remove_partner(room.id, partner.id)
    (p,) = owner.room(room.id).partners
    assert p.status == "removed" and p.responded_at
    assert owner.invite_partner(room.id, partner.id).partners[0].status == "invited"


def test_trusted_partner_auto_accepts_audited_and_can_be_untrusted(live_service, owner) -> None:
    partner = live_service.make_org(_name("Trusting"))
    owner_org = owner.whoami().org.id
    assert [o.id for o in partner.admin.trust_partner(owner_org)] == [owner_org]
    room = owner.create_room(_name("room"))
    (p,) = owner.invite_partner(room.id, partner.id).partners
    assert p.status == "accepted"
    assert partner.admin.room(room.id).my_org_status == "accepted"
    assert [m.role_name for m in partner.admin.members(room.id)] == ["Partner Administrator"]
    (event,) = partner.admin.audit(room_id=room.id, action="partner.auto_accepted")
    assert event.detail["administrators"] == [partner.admin.whoami().user.id]
    assert partner.admin.untrust_partner(owner_org) == []
    second = owner.create_room(_name("room"))
    assert owner.invite_partner(second.id, partner.id).partners[0].status == "invited"
    with pytest.raises(wb.InvalidInput, match="itself"):
        partner.admin.trust_partner(partner.id)


def test_removing_or_leaving_unlinks_the_partners_data_and_keeps_its_ledger(live_service) -> None:
    for how in ("remove", "leave"):
        room = build_room(live_service.make_org(_name("Owner")).admin, lambda n: live_service.make_org(n))
        qid = add_q1(room)
        room.owner.run(room.id, qid, {"min_amount": 0}, epsilon="0.5")
        spent = Fraction(room.owner.budget(room.id, room.partner_org).epsilon_spent)
        assert spent > 0
        assert room.advertiser_dataset in {d.id for d in room.owner.datasets(room.id)}
        if how == "remove":
            room.owner.remove_partner(room.id, room.partner_org)
        else:
            with pytest.raises(wb.PermissionDenied, match="owner organisation cannot leave"):
                room.owner.leave_room(room.id)
            room.partner.leave_room(room.id)
        ids = {d.id for d in room.owner.datasets(room.id)}
        assert room.advertiser_dataset not in ids and room.publisher_dataset in ids
        with pytest.raises(wb.NotFound):
            room.partner.room(room.id)
        (p,) = room.owner.room(room.id).partners
        assert p.status == ("removed" if how == "remove" else "left")
        assert Fraction(room.owner.budget(room.id, room.partner_org).epsilon_spent) == spent
        action = "partner.removed" if how == "remove" else "partner.left"
        (event,) = room.partner.audit(room_id=room.id, action=action)
        assert event.detail["datasets_unlinked"] == [room.advertiser_dataset]


def test_room_dates_refused_when_they_make_no_sense(live_service, owner) -> None:
    today = dt.datetime.now(dt.timezone.utc).date()
    with pytest.raises(wb.InvalidInput, match="before the start date"):
        owner.create_room(_name("r"), start_date=today + dt.timedelta(days=5), end_date=today + dt.timedelta(days=2))
    with pytest.raises(wb.InvalidInput, match="cannot start expired"):
        owner.create_room(_name("r"), start_date=today - dt.timedelta(days=9), end_date=today - dt.timedelta(days=1))
    assert owner.create_room(_name("r"), end_date=today).status != "expired"


def test_room_days_are_utc_days_around_midnight() -> None:
    room = PolicyRoom(id="r", name="r", description="", owner_org_id="o", start_date=dt.date(2026, 3, 2),
                      end_date=dt.date(2026, 3, 2), k_min=1, dp_enabled=True, epsilon_budget=Fraction(1),
                      delta_budget=Fraction(0), intelligence=False, flows=False)
    new_york = dt.timezone(dt.timedelta(hours=-5))
    tokyo = dt.timezone(dt.timedelta(hours=9))
    cases = [
        (dt.datetime(2026, 3, 1, 23, 59, 59, tzinfo=dt.timezone.utc), "scheduled"),
        (dt.datetime(2026, 3, 1, 19, 30, tzinfo=new_york), "open"),       # 00:30 UTC on the 2nd
        (dt.datetime(2026, 3, 2, 8, 59, tzinfo=tokyo), "scheduled"),      # 23:59 UTC on the 1st
        (dt.datetime(2026, 3, 2, 23, 59, 59, tzinfo=dt.timezone.utc), "open"),
        (dt.datetime(2026, 3, 2, 20, 0, tzinfo=new_york), "expired"),     # 01:00 UTC on the 3rd
        (dt.datetime(2026, 3, 3, 0, 0, tzinfo=dt.timezone.utc), "expired"),
    ]
    for now, want in cases:
        today = utc_today(now)
        state = "expired" if room.expired(today) else "scheduled" if room.not_started(today) else "open"
        assert state == want, now
    with pytest.raises(ValueError, match="aware"):
        utc_today(dt.datetime(2026, 3, 2, 12, 0))


def test_openapi_says_room_dates_are_utc(live_service) -> None:
    import httpx

    doc = httpx.get(f"{live_service.url}/openapi.json").json()
    schemas = doc["components"]["schemas"]
    for model in ("RoomCreate", "RoomUpdate", "Room"):
        for field in ("start_date", "end_date"):
            assert "UTC" in schemas[model]["properties"][field]["description"], (model, field)


def test_question_overrides_are_part_of_the_question_and_planning_an_expired_room_is_read_only(live_service):
    room = build_room(live_service.make_org(_name("Owner")).admin, lambda n: live_service.make_org(n))
    qid = add_q1(room)
    rule = {"permission": "clone", "partner_org_id": room.partner_org, "allowed": True}
    q = room.owner.set_question_permissions(room.id, qid, [rule])
    assert [r.model_dump() for r in q.permission_overrides] == [rule]
    seen = room.partner.question(room.id, qid)
    assert [r.model_dump() for r in seen.permission_overrides] == [rule] and seen.my_permissions["clone"]
    room.owner.update_room(room.id, end_date=utc_today() - dt.timedelta(days=1))
    with pytest.raises(wb.RoomExpired, match="read-only"):
        room.owner.plan(room.id, qid, {"min_amount": 0}, epsilon="0.1")


def test_data_import_read_only_reads_connections_but_changes_nothing(live_service) -> None:
    import pandas as pd

    org = live_service.make_org(_name("Org"))
    conn = org.admin.connect_dataset(pd.DataFrame({"email": ["a@example.com"], "n": [1]}), "users",
                                     identity_column="email", identity_kind="email", progress=False)
    _, reader = _user(live_service, org.admin, "rita", ["data_import_read_only"])
    assert [c.id for c in reader.connections()] == [conn.id]
    with pytest.raises(wb.PermissionDenied, match="data_connections"):
        reader.connect_dataset(pd.DataFrame({"email": ["b@example.com"]}), "more", identity_column="email",
                               identity_kind="email", progress=False)
    _, nobody = _user(live_service, org.admin, "nora")
    with pytest.raises(wb.PermissionDenied, match="data_import_read"):
        nobody.connections()

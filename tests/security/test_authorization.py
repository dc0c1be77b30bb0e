"""A partner, an outsider or a low-privileged user reaching for what is not theirs, by id."""

from __future__ import annotations

import datetime as dt

import pytest

import workbench as wb
from tests.runs.room import Q1_SQL, add_q1, advertiser_frame, build_room

NOT_YOURS = (wb.errors.NotFound, wb.errors.PermissionDenied)


@pytest.fixture
def room(admin, make_org):
    return build_room(admin, make_org)


@pytest.fixture
def outsider(make_org):
    """An org with no part in the room, with a room of its own."""
    org = make_org("Outsider")
    own = org.admin.create_room("outsider's room", start_date=dt.date.today())
    return org, own.id


def _owner_run(room) -> tuple[str, str]:
    qid = add_q1(room)
    return qid, room.owner.run(room.id, qid, {"min_amount": 0}, epsilon="1").id


def test_outsider_cannot_reach_runs_results_questions_or_datasets_by_id(room, outsider):
    org, own_room = outsider
    qid, run_id = _owner_run(room)
    c = org.admin
    attempts = {
        "run": lambda: c.get_run(room.id, run_id),
        "result": lambda: c.run_result(room.id, run_id),
        "delete run": lambda: c.delete_run(room.id, run_id),
        "runs": lambda: c.runs(room.id),
        "question": lambda: c.question(room.id, qid),
        "plan": lambda: c.plan(room.id, qid, {"min_amount": 0}),
        "run it": lambda: c.run(room.id, qid, {"min_amount": 0}),
        "datasets": lambda: c.datasets(room.id),
        "dataset": lambda: c.dataset(room.id, room.publisher_dataset),
        "rules": lambda: c.analysis_rules(room.id, room.publisher_dataset),
        "budget": lambda: c.budget(room.id),
        "room": lambda: c.room(room.id),
        "members": lambda: c.members(room.id),
        "export": lambda: c.export_template(room.id),
        # the outsider's own room id in the path, the victim's ids after it
        "run via own room": lambda: c.get_run(own_room, run_id),
        "result via own room": lambda: c.run_result(own_room, run_id),
        "delete via own room": lambda: c.delete_run(own_room, run_id),
        "question via own room": lambda: c.question(own_room, qid),
        "run victim question in own room": lambda: c.run(own_room, qid, {"min_amount": 0}),
        "dataset via own room": lambda: c.dataset(own_room, room.publisher_dataset),
        "rules via own room": lambda: c.analysis_rules(own_room, room.publisher_dataset),
        "unprovision via own room": lambda: c.unprovision_dataset(own_room,
                                                                  room.publisher_dataset),
    }
    leaked = []
    for name, attempt in attempts.items():
        try:
            attempt()
        except NOT_YOURS:
            continue
        except wb.errors.WorkbenchError as e:
            leaked.append(f"{name}: {type(e).__name__}")
            continue
        leaked.append(name)
    assert leaked == []
    assert room.owner.run_result(room.id, run_id).rows


def test_outsider_cannot_see_or_delete_connections_or_read_audit_of_others(room, outsider):
    org, _ = outsider
    owner_connections = room.owner.connections()
    assert owner_connections
    conn = owner_connections[0].id
    with pytest.raises(wb.errors.NotFound):
        org.admin.connection(conn)
    with pytest.raises(wb.errors.NotFound):
        org.admin.delete_connection(conn)
    assert [c.id for c in org.admin.connections()] == []
    assert room.owner.connection(conn).id == conn
    events = org.admin.audit(room_id=room.id)
    assert events == []
    assert all(e.room_id != room.id for e in org.admin.audit())


def test_partner_cannot_mix_its_room_with_another_rooms_ids(admin, make_org):
    """Two rooms of the same owner; the partner is in only one. Run ids of the other room
    under the partner's room id are not found."""
    room = build_room(admin, make_org)
    other = build_room(make_org("Second owner").admin, make_org)
    qid, run_id = _owner_run(other)
    partner = room.partner
    for attempt in (lambda: partner.get_run(room.id, run_id),
                    lambda: partner.run_result(room.id, run_id),
                    lambda: partner.delete_run(room.id, run_id),
                    lambda: partner.run(room.id, qid, {"min_amount": 0}),
                    lambda: partner.question(room.id, qid),
                    lambda: partner.dataset(room.id, other.advertiser_dataset)):
        with pytest.raises(wb.errors.NotFound):
            attempt()
    assert other.owner.get_run(other.id, run_id).status == "succeeded"


def test_partner_cannot_read_results_it_does_not_receive(room):
    """The terms say the owner receives: the partner may run, never read. The owner's run read
    the partner's data, so the partner sees that it happened (issue 9.4), not its result."""
    qid, owner_run = _owner_run(room)
    with pytest.raises(NOT_YOURS):
        room.partner.run_result(room.id, owner_run)
    assert room.partner.get_run(room.id, owner_run).id == owner_run
    assert owner_run in {r.id for r in room.partner.runs(room.id)}
    with pytest.raises(NOT_YOURS):
        room.partner.delete_run(room.id, owner_run)
    own = room.partner.run(room.id, qid, {"min_amount": 0}, epsilon="1")
    with pytest.raises(wb.errors.PermissionDenied):
        room.partner.run_result(room.id, own.id)


def test_partner_cannot_do_owner_only_things(room):
    p = room.partner
    qid = add_q1(room)
    third = room.owner.create_org("Third", "admin")
    mine = p.create_question(room.id, "mine", Q1_SQL,
                             parameters=[{"name": "min_amount", "type": "number", "default": 0}])
    attempts = {
        "invite": lambda: p.invite_partner(room.id, third.org.id),
        "remove the owner": lambda: p.remove_partner(room.id, room.owner_org),
        "grant itself": lambda: p.set_partner_permissions(room.id, room.partner_org,
                                                          ["partner_management"]),
        "add its question": lambda: p.add_question(room.id, mine.id),
        "delete a question": lambda: p.delete_question(room.id, qid),
        "set terms": lambda: p.set_terms(room.id, qid, runners=[room.partner_org],
                                         receivers=[room.partner_org]),
        "raise the owner's budget": lambda: p.raise_budget(room.id, room.owner_org, epsilon="100"),
        "update the room": lambda: p.update_room(room.id, k_min=1000),
        "turn DP off": lambda: p.update_room(room.id, dp_enabled=False),
        "export": lambda: p.export_template(room.id),
        "edit the owner's question": lambda: p.update_question(room.id, qid, name="mine now"),
    }
    allowed = []
    for name, attempt in attempts.items():
        try:
            attempt()
        except (wb.errors.PermissionDenied, wb.errors.NotFound, wb.errors.InvalidInput):
            continue
        allowed.append(name)
    assert allowed == []
    r = room.owner.room(room.id)
    assert r.k_min == 1 and r.dp_enabled
    assert room.owner.budget(room.id).epsilon_total == "10"
    assert room.owner.question(room.id, qid).name != "mine now"


def test_partner_cannot_swap_the_sql_of_an_approved_question(room):
    """The owner adds a partner's question to the room after reading it; an edit afterwards
    takes it out of the room until the owner adds it again."""
    q = room.partner.create_question(
        room.id, "reach", "SELECT p.region, COUNT(*) AS n FROM publisher p GROUP BY p.region")
    room.owner.add_question(room.id, q.id)
    assert room.owner.question(room.id, q.id).in_room
    edited = room.partner.update_question(
        room.id, q.id, sql="SELECT p.age_band, COUNT(*) AS n FROM publisher p "
                           "GROUP BY p.age_band")
    assert not edited.in_room
    with pytest.raises(wb.errors.PermissionDenied, match="not been added"):
        room.partner.run(room.id, q.id, epsilon="1")
    room.owner.add_question(room.id, q.id)
    assert room.owner.question(room.id, q.id).in_room


def test_owner_edits_keep_the_question_in_the_room(room):
    qid = add_q1(room)
    assert room.owner.update_question(room.id, qid, description="reach and spend").in_room


def test_partner_admin_cannot_escalate_through_roles(room, user_client):
    p = room.partner
    roles = p.roles(room.id)
    with pytest.raises(wb.errors.InvalidInput):
        p.create_role(room.id, "boss", ["partner_management"])
    with pytest.raises(wb.errors.InvalidInput):
        p.create_role(room.id, "builder", ["add_delete_questions"])
    viewer = next(r for r in roles if r.kind == "viewer")
    with pytest.raises(wb.errors.InvalidInput):
        p.update_role(room.id, viewer.id, permissions=["partner_management"])
    owner_roles = room.owner.roles(room.id)
    with pytest.raises(wb.errors.NotFound):
        p.update_role(room.id, owner_roles[-1].id, permissions=[])
    with pytest.raises(wb.errors.NotFound):
        p.delete_role(room.id, owner_roles[-1].id)
    owner_user = room.owner.whoami().user.id
    with pytest.raises(wb.errors.NotFound):
        p.add_member(room.id, owner_user, viewer.id)
    with pytest.raises(wb.errors.NotFound):
        p.remove_member(room.id, owner_user)
    # a user of the partner org given the owner's Administrator role id: not found
    user = p.create_user("mallory")
    admin_role = next(r for r in owner_roles if r.kind == "administrator")
    with pytest.raises(wb.errors.NotFound):
        p.add_member(room.id, user.id, admin_role.id)
    assert {m.user_id for m in room.owner.members(room.id)} >= {owner_user}
    assert set(p.room(room.id).my_permissions) <= set(p.room(room.id).available_permissions)


def test_a_user_without_a_role_in_the_room_can_do_nothing_with_data(room, user_client):
    qid, run_id = _owner_run(room)
    bystander, _ = user_client(room.owner, "bystander")
    for attempt in (lambda: bystander.run(room.id, qid, {"min_amount": 0}),
                    lambda: bystander.run_result(room.id, run_id),
                    lambda: bystander.get_run(room.id, run_id),
                    lambda: bystander.delete_run(room.id, run_id),
                    lambda: bystander.create_question(room.id, "x", Q1_SQL),
                    lambda: bystander.set_analysis_rules(room.id, room.publisher_dataset, []),
                    lambda: bystander.unprovision_dataset(room.id, room.publisher_dataset)):
        with pytest.raises(wb.errors.PermissionDenied):
            attempt()


def test_a_viewer_reads_reports_but_cannot_run_or_change_data(room, user_client):
    qid, run_id = _owner_run(room)
    viewer_client, viewer_id = user_client(room.owner, "viewer")
    viewer_role = next(r for r in room.owner.roles(room.id) if r.kind == "viewer")
    room.owner.add_member(room.id, viewer_id, viewer_role.id)
    assert viewer_client.run_result(room.id, run_id).rows
    with pytest.raises(wb.errors.PermissionDenied):
        viewer_client.run(room.id, qid, {"min_amount": 0})
    with pytest.raises(wb.errors.PermissionDenied):
        viewer_client.delete_run(room.id, run_id)
    with pytest.raises(wb.errors.PermissionDenied):
        viewer_client.set_analysis_rules(room.id, room.publisher_dataset, [])
    with pytest.raises(wb.errors.PermissionDenied):
        viewer_client.add_member(room.id, viewer_id, next(
            r for r in room.owner.roles(room.id) if r.kind == "administrator").id)


def test_an_invited_org_can_only_answer_the_invitation(admin, make_org):
    room = build_room(admin, make_org)
    late = make_org("Late")
    admin.invite_partner(room.id, late.id)
    c = late.admin
    qid = add_q1(room)
    for attempt in (lambda: c.run(room.id, qid, {"min_amount": 0}),
                    lambda: c.plan(room.id, qid, {"min_amount": 0}),
                    lambda: c.create_question(room.id, "x", Q1_SQL),
                    lambda: c.datasets(room.id),
                    lambda: c.runs(room.id),
                    lambda: c.questions(room.id),
                    lambda: c.create_role(room.id, "r", []),
                    lambda: c.set_template(room.id, [])):
        with pytest.raises(wb.errors.PermissionDenied):
            attempt()
    conn = c.connect_dataset(advertiser_frame(), "sales", identity_column="email",
                             identity_kind="email", progress=False)
    with pytest.raises(wb.errors.PermissionDenied):
        c.provision_dataset(room.id, conn.id, "sneaky")


def test_removed_partner_tokens_stop_working_in_the_room(room):
    qid = add_q1(room)
    own = room.partner.run(room.id, qid, {"min_amount": 0}, epsilon="1")
    room.owner.remove_partner(room.id, room.partner_org)
    p = room.partner
    for attempt in (lambda: p.room(room.id), lambda: p.run(room.id, qid, {"min_amount": 0}),
                    lambda: p.runs(room.id), lambda: p.get_run(room.id, own.id),
                    lambda: p.datasets(room.id), lambda: p.accept_invitation(room.id),
                    lambda: p.questions(room.id), lambda: p.budget(room.id)):
        with pytest.raises(wb.errors.NotFound):
            attempt()
    assert room.id not in {r.id for r in p.rooms()}


def test_revoked_and_forged_tokens_are_refused(admin, store_dir, user_client):
    from tests.conftest import TEST_KEY
    from workbench.service.local import connect_local

    client, user_id = user_client(admin, "temp")
    assert client.whoami().user.id == user_id
    token = next(t for t in admin.tokens() if t.user_id == user_id)
    admin.revoke_token(token.id)
    with pytest.raises(wb.errors.Unauthenticated):
        client.whoami()
    for forged in ("wbt_" + "A" * 43, "", "Bearer x", "wbt_' OR '1'='1"):
        with pytest.raises(wb.errors.Unauthenticated):
            connect_local(store_dir, forged, key=TEST_KEY).whoami()


def test_org_admin_cannot_touch_users_or_tokens_of_another_org(room):
    partner_user = room.partner.create_user("pat")
    with pytest.raises(wb.errors.NotFound):
        room.owner.issue_token(partner_user.id)
    partner_token = room.partner.issue_token(partner_user.id)
    with pytest.raises(wb.errors.NotFound):
        room.owner.revoke_token(partner_token.id)
    assert partner_user.id not in {u.id for u in room.owner.users()}

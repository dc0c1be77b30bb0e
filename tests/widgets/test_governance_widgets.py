"""Owner console, partner console and audit viewer, driven in-process over a real store."""

from __future__ import annotations

import datetime as dt

import pytest

from widgets import AuditLog, OwnerConsole, PartnerConsole
from widgets._common import is_shown


def _create_room(console: OwnerConsole, name: str = "Campaign room", **fields) -> None:
    console.new_name.value = name
    for key, value in fields.items():
        getattr(console, f"new_{key}").value = value
    console.create.click()


def test_owner_creates_a_room_and_sees_its_settings(admin):
    console = OwnerConsole(admin)
    assert "No room yet" in console.summary.value
    _create_room(console, kmin=50, eps="3")
    assert "created" in console.status.text, console.status.text
    assert console.pick.label == "Campaign room"
    assert console.value == console.room.id
    assert "δ 0.000001" in console.summary.value.replace("&delta;", "δ")
    assert "k-min 50" in console.summary.value and "ε 3" in console.summary.value.replace("&epsilon;", "ε")
    # the owner's Administrator role holds every permission, so every owner control is offered
    assert all(is_shown(w) for w in (console.settings, console.invite_box, console.roles.manage))


def test_room_form_errors_are_messages_not_tracebacks(admin):
    console = OwnerConsole(admin)
    _create_room(console, eps="lots")
    assert "epsilon_budget must be a number such as 0.5" in console.status.text
    assert "Traceback" not in console.status.value
    _create_room(console, name="Room", start=dt.date(2030, 1, 10), end=dt.date(2030, 1, 1))
    assert "before the start date" in console.status.text
    assert console.pick.options == ()


def test_user_text_is_escaped(admin):
    console = OwnerConsole(admin)
    _create_room(console, name="<script>alert(1)</script>")
    assert "<script>" not in console.summary.value
    assert "&lt;script&gt;" in console.summary.value


def test_invite_accept_and_permissions_between_owner_and_partner(admin, make_org):
    advertiser = make_org("Advertiser")
    owner = OwnerConsole(admin)
    _create_room(owner)
    owner.invite_org.value = "not-an-org"
    owner.invite.click()
    assert "no organisation" in owner.status.text

    owner.invite_org.value = advertiser.id
    owner.invite.click()
    assert "Advertiser invited" in owner.status.text
    assert "invited" in owner.partners.value

    partner = PartnerConsole(advertiser.admin)
    assert "Campaign room" in partner.invitations.value
    assert advertiser.id in partner.children[0].value  # its own org id, to hand to owners
    partner.accept.click()
    assert "Partner Administrator" in partner.status.text
    assert partner.pick.label == "Campaign room (Publisher)"
    assert "Manage Datasets" in partner.allowed.value

    owner.refresh.click()
    assert "accepted" in owner.partners.value

    # the owner narrows what the partner may use; the partner console follows the service
    owner.partner_pick.value = advertiser.id
    owner.partner_perms.value = ["view_reports", "manage_clean_room_roles"]
    owner.save_partner.click()
    assert "saved" in owner.status.text
    partner.refresh.click()
    assert "Manage Datasets" not in partner.allowed.value
    assert set(partner.roles.new_perms.options) == {"view_reports", "manage_clean_room_roles"}

    # owner-only permissions are refused by the service, and the message says so
    owner.partner_perms.boxes["partner_management"].value = True  # ticking a box, as a user does
    assert "partner_management" in owner.partner_perms.value
    owner.save_partner.click()
    assert "owner-only permissions cannot be made available" in owner.status.text


def test_partner_declines(admin, make_org):
    advertiser = make_org("Advertiser")
    owner = OwnerConsole(admin)
    _create_room(owner)
    owner.invite_org.value = advertiser.id
    owner.invite.click()
    partner = PartnerConsole(advertiser.admin)
    partner.decline.click()
    assert "declined" in partner.status.text
    assert not is_shown(partner.answer_box)
    assert partner.pick.options == ()


def test_roles_administrator_locked_custom_role_and_members(admin, user_client):
    analyst_client, analyst_id = user_client(admin, "ann")
    owner = OwnerConsole(admin)
    _create_room(owner)
    roles = owner.roles
    assert [label for label, _ in roles.edit_pick.options] == ["Viewer"]  # Administrator is not editable
    roles.new_name.value = "Analyst"
    roles.new_perms.boxes["create_delete_question_runs"].value = True
    roles.new_perms.boxes["view_reports"].value = True
    roles.create.click()
    assert "created" in roles.status.text
    assert "Create &amp; Delete Question Runs" in roles.table.value

    members = owner.members
    members.load(owner.room)
    members.user.value = analyst_id
    members.role.label = "Analyst"
    members.add.click()
    assert "ann now has the role Analyst" in members.status.text
    assert "ann" in members.table.value

    roles.edit_pick.label = "Analyst"
    roles.delete.click()
    assert roles.confirm.text.startswith("Delete the role 'Analyst' in Campaign room?")
    roles.confirm.yes.click()
    assert "users still hold the role Analyst" in roles.status.text

    # the analyst sees the room but may not manage roles or users: no controls are shown
    room = analyst_client.room(owner.room.id)
    assert room.abilities["role.manage"] is False
    panel_owner_view = OwnerConsole(analyst_client)
    assert panel_owner_view.pick.options == (("Campaign room", owner.room.id),)
    assert not is_shown(panel_owner_view.invite_box)
    assert not is_shown(panel_owner_view.roles.manage)
    assert not is_shown(panel_owner_view.members.manage)
    assert not is_shown(panel_owner_view.settings)


def test_owner_extends_the_end_date(admin):
    owner = OwnerConsole(admin)
    _create_room(owner, start=dt.date.today() - dt.timedelta(days=10), end=dt.date.today() + dt.timedelta(days=1))
    owner.end_date.value = dt.date.today() + dt.timedelta(days=30)
    owner.set_end.click()
    assert "end date set" in owner.status.text
    assert (dt.date.today() + dt.timedelta(days=30)).isoformat() in owner.summary.value


def test_the_consoles_audit_log_filters_by_action(admin, make_org):
    advertiser = make_org("Advertiser")
    owner = OwnerConsole(admin)
    _create_room(owner)
    owner.invite_org.value = advertiser.id
    owner.invite.click()
    viewer = AuditLog(admin)
    assert "partner.invite" in viewer.table.value and "room.create" in viewer.table.value
    viewer.action.value = "partner.invite"
    viewer.load.click()
    assert viewer.events and {e.action for e in viewer.events} == {"partner.invite"}
    assert "events 1–1 (the oldest)" in viewer.page_label.value
    viewer.room.label = "Campaign room"
    viewer.action.value = "nothing.like.this"
    viewer.load.click()
    assert "no events match" in viewer.table.value


@pytest.mark.parametrize("token, message", [
    ("", "enter your API token"),
    ("wbt_wrong", "unknown or revoked"),
    ("wbt_abc\ndef", "not an API token"),  # an HTTP library would quote the header back
])
def test_sign_in_refuses_bad_tokens(store_dir, publisher, token, message):
    from tests.conftest import TEST_KEY
    from widgets import signed_in
    from workbench.service.local import connect_local

    app = signed_in(OwnerConsole, connect_with=lambda url, t: connect_local(store_dir, t, key=TEST_KEY))
    app.token.value = token
    app.sign_in.click()
    assert message in app.status.text
    assert app.client is None


def test_a_transport_error_never_shows_the_token():
    from widgets import signed_in

    def refuse(url, token):
        raise RuntimeError(f"Illegal header value b'Bearer {token}'")

    app = signed_in(OwnerConsole, connect_with=refuse)
    app.token.value = "wbt_secret-value"
    app.sign_in.click()
    assert "could not reach the service" in app.status.text
    assert "secret-value" not in app.status.text and app.client is None


def test_sign_in_then_console(store_dir, publisher):
    from tests.conftest import TEST_KEY
    from widgets import signed_in
    from workbench.service.local import connect_local

    app = signed_in(OwnerConsole, connect_with=lambda url, t: connect_local(store_dir, t, key=TEST_KEY))
    app.token.value = publisher.token
    app.sign_in.click()
    try:
        assert app.value == "alice"
        assert isinstance(app.app, OwnerConsole) and app.app in app.children
    finally:
        app.client.close()

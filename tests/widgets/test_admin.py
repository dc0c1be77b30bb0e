"""The administration app's widgets over a real store: users, tokens shown once and revoked after a
confirmation, trusted partners, the room template, proposals, the last-admin refusal, and sections
that follow the signed-in user's org rights."""

from __future__ import annotations

import pytest

import workbench as wb
from widgets._common import is_shown
from widgets.admin import Administration
from workbench.service.local import connect_local

from tests.conftest import TEST_KEY


def rooms_open(app: Administration) -> Administration:
    """Open the Rooms section, as a user clicks its tab (sections load when opened)."""
    app.tabs.selected_index = len(app.tabs.children) - 1
    return app


def _add_user(app: Administration, name: str, roles: tuple[str, ...] = (), email: str = "") -> str:
    users = app.users
    assert users is not None
    users.new_user.value, users.new_email.value, users.new_roles.value = name, email, roles
    users.add_user.click()
    assert f"user {name!r} added" in users.status.text, users.status.text
    return next(u.id for u in users.users if u.name == name)


def test_token_is_shown_once_and_revoked_only_after_confirmation(admin, store_dir):
    app = Administration(admin)
    user_id = _add_user(app, "ann", ("question_builder_admin",), "ann@example.org")
    assert "ann@example.org" in app.users.users_table.value
    assert "Question Builder Administrator" in app.users.users_table.value
    tokens = app.tokens
    assert user_id not in [v for _, v in tokens.user.options]
    app.tabs.selected_index = 1  # opening the section shows the user just added
    tokens.user.value = user_id
    tokens.label.value = "laptop"
    tokens.issue.click()
    assert "shown only this once" in tokens.secret.value, tokens.status.text
    secret = tokens.secret.value.split("<code class='wb-secret-value'>")[1].split("</code>")[0]
    assert secret.startswith("wbt_")
    ann = connect_local(store_dir, secret, key=TEST_KEY)
    assert ann.whoami().user.name == "ann"
    # the secret is in no listing: the service keeps only its hash
    assert secret not in tokens.table.value and all(t.secret is None for t in admin.tokens())

    tokens.pick.value = next(v for label, v in tokens.pick.options if label.startswith("ann: laptop"))
    tokens.revoke.click()
    assert tokens.confirm.text.startswith("Revoke the token ann: laptop")
    assert tokens.secret.value == ""  # revoking hides the secret shown earlier
    assert ann.whoami().user.name == "ann"  # asked, not done
    tokens.confirm.no.click()
    assert not is_shown(tokens.confirm) and ann.whoami().user.name == "ann"
    tokens.revoke.click()
    tokens.confirm.yes.click()
    assert "token revoked: ann: laptop" in tokens.status.text
    assert "revoked" in tokens.table.value
    with pytest.raises(wb.Unauthenticated):
        ann.whoami()
    tokens.confirm.yes.click()  # a second press does nothing
    assert "token revoked" in tokens.status.text
    tokens.issue.click()
    assert "wbt_" in tokens.secret.value
    app.tabs.selected_index = 0
    app.tabs.selected_index = 1
    assert tokens.secret.value == ""  # shown once: gone when the section is opened again


def test_last_admin_refusal_is_shown_with_the_room(admin, store_dir):
    app = Administration(admin)
    rex_id = _add_user(app, "rex", ("clean_room_admin",))
    rex = connect_local(store_dir, admin.issue_token(rex_id).secret, key=TEST_KEY)
    rex.create_room("Rex's room")  # rex is its only Administrator
    users = app.users
    users.reload()
    users.user.value = rex_id
    users.deactivate.click()
    assert users.confirm.text.startswith("Deactivate rex?")
    users.confirm.yes.click()
    assert "rex is the last active Administrator of your organisation in: Rex's room" in users.status.text
    assert rex.whoami().user.active


def test_custom_org_role_deleted_after_confirmation(admin):
    app = Administration(admin)
    users = app.users
    users.role_name.value, users.role_rights.value = "Analysts", ("create_rooms",)
    users.add_role.click()
    assert users.custom_role.label == "Analysts" and is_shown(users.delete_role)
    users.delete_role.click()
    assert users.role_confirm.text.startswith("Delete the org role 'Analysts'?")
    assert "Analysts" in [r.name for r in admin.org_roles()]
    users.role_confirm.yes.click()
    assert "org role 'Analysts' deleted" in users.role_status.text
    assert "Analysts" not in [r.name for r in admin.org_roles()]


def test_trusted_partners_add_and_remove_after_confirmation(admin, make_org):
    other = make_org("Advertiser")
    app = Administration(admin)
    trusted = app.trusted
    trusted.org_id.value = other.id
    trusted.add.click()
    assert "trusted: Advertiser" in trusted.status.text and "Advertiser" in trusted.table.value
    trusted.remove.click()
    assert trusted.confirm.text.startswith("Stop trusting Advertiser?")
    assert [o.id for o in admin.trusted_partners()] == [other.id]
    trusted.confirm.yes.click()
    assert "no longer trusted" in trusted.status.text and admin.trusted_partners() == []


def test_room_template_fields_required_optional_parties_and_terms(admin, make_org):
    partner = make_org("Advertiser")
    room = admin.create_room("Campaign room")
    admin.invite_partner(room.id, partner.id)
    partner.admin.accept_invitation(room.id)
    app = rooms_open(Administration(admin))
    assert app.room_pick.value == room.id and is_shown(app.template)
    tpl = app.template
    assert "no dataset macros yet" in tpl.table.value
    tpl.macro.value, tpl.party.value = "publisher", "owner"
    tpl.required.value, tpl.optional.value = "email, @region", "age_band"
    tpl.save.click()
    assert "@publisher saved" in tpl.status.text, tpl.status.text
    tpl.pick.value = None
    tpl.macro.value, tpl.party.value = "advertiser", partner.id
    tpl.required.value, tpl.optional.value = "email, amount", ""
    tpl.save.click()
    tpl.runs.value, tpl.receives.value = "owner", "all"
    tpl.save_terms.click()
    got = admin.template(room.id)
    assert [(t.macro, t.party) for t in got.datasets] == [("publisher", "owner"), ("advertiser", partner.id)]
    assert [(f.macro, f.required) for f in got.datasets[0].fields] == [
        ("email", True), ("region", True), ("age_band", False)]
    assert (got.terms.runs, got.terms.receives) == ("owner", "all")
    assert "Advertiser only" in tpl.table.value

    tpl.required.value = ""
    tpl.optional.value = ""
    tpl.pick.value = "publisher"
    assert tpl.required.value == "email, region" and tpl.optional.value == "age_band"
    tpl.remove.click()
    assert tpl.confirm.text.startswith("Remove @publisher from the template of Campaign room?")
    tpl.confirm.yes.click()
    assert "@publisher removed" in tpl.status.text
    assert [t.macro for t in admin.template(room.id).datasets] == ["advertiser"]
    # the partner sees the room but not the owner's template editor
    assert not is_shown(rooms_open(Administration(partner.admin)).template)


def test_proposals_from_the_budget_section(admin):
    room = admin.create_room("Campaign room", k_min=20)
    app = rooms_open(Administration(admin))
    prot = app.protections
    assert is_shown(prot.form) and "effective k-min:</b> 20" in prot.contract.protections.value
    prot.k_min.value = "lots"
    prot.propose.click()
    assert "whole number" in prot.status.text
    prot.k_min.value, prot.note.value = "10", "smaller cohorts"
    prot.propose.click()
    assert "proposal applied" in prot.status.text, prot.status.text
    assert admin.room(room.id).k_min == 10 and "k_min=10" in prot.contract.table.value


def test_sections_follow_the_users_org_rights(admin, user_client):
    manager, _ = user_client(admin, "uma", ["user_management"])
    titles = lambda app: [app.tabs.get_title(i) for i in range(len(app.tabs.children))]  # noqa: E731
    assert titles(Administration(manager)) == ["Users and org roles", "API tokens", "Rooms"]
    nobody, _ = user_client(admin, "nat")
    plain = Administration(nobody)
    assert titles(plain) == ["Rooms"] and plain.users is None
    assert titles(Administration(admin))[:3] == ["Users and org roles", "API tokens", "Trusted partners"]

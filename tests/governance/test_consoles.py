"""The owner and partner consoles' partner users and roles, invitation states, leaving, and the org
admin panel, driven in-process over a real store."""

from __future__ import annotations

from widgets.governance import OrgAdminPanel, OwnerConsole, PartnerConsole
from widgets._common import is_shown


def _room_with_partner(admin, make_org):
    partner = make_org("Advertiser")
    owner = OwnerConsole(admin)
    owner.new_name.value = "Campaign room"
    owner.create.click()
    owner.invite_org.value = partner.id
    owner.invite.click()
    partner.admin.accept_invitation(owner.value)
    owner.reload()
    return owner, partner


def test_owner_sees_partner_users_and_manages_their_roles(admin, make_org):
    owner, partner = _room_with_partner(admin, make_org)
    panel = owner.partner_roles
    assert is_shown(panel) and is_shown(panel.manage)
    assert "Partner Administrator" in panel.table.value and "Advertiser" in panel.table.value
    assert panel.org.value == partner.id
    assert set(panel.new_perms.options) == set(admin.room(owner.value).partners[0].available_permissions)
    panel.new_name.value = "Reporting"
    panel.new_perms.value = ["view_reports"]
    panel.create.click()
    assert "created for the partner" in panel.status.text, panel.status.text
    assert "Reporting" in [r.name for r in partner.admin.roles(owner.value)]
    # demoting the partner's only administrator is refused with the service's message
    panel.member.value = partner.admin_user_id
    panel.role.value = next(r.id for r in partner.admin.roles(owner.value) if r.name == "Reporting")
    panel.assign.click()
    assert "last active Partner Administrator" in panel.status.text


def test_invitation_states_removal_confirmation_and_reinvite(admin, make_org):
    owner, partner = _room_with_partner(admin, make_org)
    owner.partner_pick.value = partner.id
    owner.remove_partner.click()
    assert owner.confirm.text.startswith(f"Remove the partner {partner.name} from Campaign room?")
    assert "unlinked" in owner.confirm.text and is_shown(owner.confirm)
    owner.remove_partner.click()  # asking again does not act
    assert admin.room(owner.value).partners[0].status == "accepted"
    owner.confirm.no.click()
    assert not is_shown(owner.confirm) and admin.room(owner.value).partners[0].status == "accepted"
    owner.remove_partner.click()
    owner.confirm.yes.click()
    assert f"{partner.name} removed" in owner.status.text
    assert "removed" in owner.partners.value
    assert is_shown(owner.reinvite) and not is_shown(owner.remove_partner)
    owner.reinvite.click()
    assert "invitation sent again" in owner.status.text
    assert admin.room(owner.value).partners[0].status == "invited"


def test_partner_leaves_after_confirming(admin, make_org):
    owner, partner = _room_with_partner(admin, make_org)
    console = PartnerConsole(partner.admin)
    assert console.value == owner.value
    console.leave.click()
    assert console.confirm.text.startswith("Leave Campaign room?") and console.value == owner.value
    console.confirm.yes.click()
    assert "left" in console.status.text, console.status.text
    assert console.pick.options == ()
    owner.reload()
    assert "left" in owner.partners.value


def test_org_admin_panel_users_org_roles_and_deactivation(admin, publisher):
    panel = OrgAdminPanel(admin)
    assert "Question Builder Administrator" in panel.roles_table.value
    panel.new_user.value = "ann"
    panel.add_user.click()
    assert "added" in panel.status.text
    panel.user.value = next(u.id for u in panel.users if u.name == "ann")
    panel.user_roles.value = ("question_builder_admin",)
    panel.save_user.click()
    assert "org roles saved" in panel.status.text
    assert "Question Builder Administrator" in panel.users_table.value
    panel.deactivate.click()
    assert panel.confirm.text.startswith("Deactivate ann?") and "deactivated" not in panel.users_table.value
    panel.confirm.yes.click()
    assert "deactivated" in panel.status.text and "deactivated" in panel.users_table.value
    panel.user.value = publisher.admin_user_id
    panel.deactivate.click()
    panel.confirm.yes.click()
    assert "cannot deactivate yourself" in panel.status.text
    panel.role_name.value = "Analysts"
    panel.role_rights.value = ("create_rooms",)
    panel.add_role.click()
    assert "Analysts" in panel.roles_table.value

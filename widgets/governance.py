"""Owner console and partner console: governance through the client only.

Every control that changes something is shown only when the service says the signed-in user may
use it (``Room.abilities``); the service still decides each call and its refusals are shown as
messages.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

import ipywidgets as W

from workbench.client import Client
from workbench.wire import governance as w
from widgets.contract import ContractPanel
from widgets._common import (Confirmation, Console, PermissionPicker, Status, button, done, esc, fetch_room,
                             guarded, heading, number_text, permission_label, room_option, set_options, show,
                             table_html)


def _room_summary(room: w.Room) -> str:
    end = room.end_date.isoformat() if room.end_date else "open-ended"
    dp = "on" if room.dp_enabled else "<b>off</b>"
    features = ", ".join(n for n, on in (("Intelligence", room.intelligence), ("Flows", room.flows)) if on) or "none"
    return (
        f'<div class="wb-room-summary"><b>{esc(room.name)}</b> '
        f'<span class="wb-room-status">({esc(room.status)})</span>, owned by {esc(room.owner_org_name)}<br>'
        f"{esc(room.start_date.isoformat())} to {esc(end)} &middot; crowd size k-min {room.k_min} &middot; "
        f"differential privacy {dp} &middot; budget &epsilon; {esc(number_text(room.epsilon_budget))}, "
        f"&delta; {esc(number_text(room.delta_budget))} per party &middot; features: {esc(features)}</div>"
    )


class RolesPanel(W.VBox):
    """The signed-in user's org's roles in a room: list, create, edit, delete."""

    def __init__(self, client: Client, **kwargs: Any) -> None:
        self.client = client
        self.room: w.Room | None = None
        self.roles: list[w.Role] = []
        self.status = Status()
        self.table = W.HTML()
        self.new_name = W.Text(placeholder="role name", description="New role")
        self.new_perms = PermissionPicker()
        self.create = button("Create role", "primary")
        self.create.on_click(lambda _: self._create())
        self.edit_pick = W.Dropdown(description="Edit role", options=[])
        self.edit_perms = PermissionPicker()
        self.save = button("Save role")
        self.save.on_click(lambda _: self._save())
        self.delete = button("Delete role", "danger")
        self.delete.on_click(lambda _: self._delete())
        self.confirm = Confirmation()
        self.edit_pick.observe(lambda _: self._fill_edit(), names="value")
        self.manage = W.VBox([
            W.HBox([self.new_name, self.create]), self.new_perms,
            W.HBox([self.edit_pick, self.save, self.delete]), self.confirm, self.edit_perms,
        ])
        super().__init__([heading("Roles", 4), self.table, self.manage, self.status], **kwargs)
        show(self.manage, False)

    def load(self, room: w.Room | None) -> None:
        """Show the roles of ``room`` and the controls its abilities allow."""
        self.room = room
        if room is None:
            self.roles = []
            self.table.value = ""
            show(self.manage, False)
            return
        self.roles = guarded(self.status, lambda: self.client.roles(room.id)) or []
        self.table.value = table_html(
            ["role", "kind", "permissions"],
            [(r.name, r.kind, ", ".join(permission_label(p) for p in r.permissions) or "none")
             for r in self.roles], css_class="wb-roles")
        can = room.abilities.get("role.manage", False)
        show(self.manage, can)
        if can:
            self.new_perms.options = list(room.available_permissions)
            self.edit_perms.options = list(room.available_permissions)
            set_options(self.edit_pick, [(r.name, r.id) for r in self.roles if r.editable], self.edit_pick.value)
            self._fill_edit()

    def _fill_edit(self) -> None:
        self.confirm.cancel()
        role = next((r for r in self.roles if r.id == self.edit_pick.value), None)
        self.edit_perms.value = list(role.permissions) if role is not None else []

    def _create(self) -> None:
        room = self.room
        if room is None:
            return
        perms = list(self.new_perms.value)
        name = self.new_name.value
        if guarded(self.status, lambda: self.client.create_role(room.id, name, perms),
                   f"role {name!r} created") is not None:
            self.new_name.value = ""
            self._reload()

    def _save(self) -> None:
        room, role_id = self.room, self.edit_pick.value
        if room is None or role_id is None:
            self.status.error("pick a role to edit first")
            return
        perms = list(self.edit_perms.value)
        if guarded(self.status, lambda: self.client.update_role(room.id, role_id, permissions=perms),
                   "role saved") is not None:
            self._reload()

    def _delete(self) -> None:
        room, role_id = self.room, self.edit_pick.value
        if room is None or role_id is None:
            self.status.error("pick a role to delete first")
            return
        name = next((r.name for r in self.roles if r.id == role_id), role_id)

        def delete() -> None:
            if guarded(self.status, done(lambda: self.client.delete_role(room.id, role_id)), f"role {name!r} deleted"):
                self._reload()

        self.confirm.ask(f"Delete the role {name!r} in {room.name}?",
                         "Its permission set goes; the service refuses while a user still holds it.", delete)

    def _reload(self) -> None:
        message = self.status.value
        self.load(self.room)
        self.status.value = message


class MembersPanel(W.VBox):
    """The signed-in user's org's users in a room and their roles."""

    def __init__(self, client: Client, **kwargs: Any) -> None:
        self.client = client
        self.room: w.Room | None = None
        self.status = Status()
        self.table = W.HTML()
        self.user = W.Dropdown(description="User", options=[])
        self.role = W.Dropdown(description="Role", options=[])
        self.add = button("Add / change role", "primary")
        self.add.on_click(lambda _: self._add())
        self.remove = button("Remove from room", "danger")
        self.remove.on_click(lambda _: self._remove())
        self.confirm = Confirmation()
        self.manage = W.VBox([W.HBox([self.user, self.role, self.add, self.remove]), self.confirm])
        super().__init__([heading("Users in this room", 4), self.table, self.manage, self.status], **kwargs)
        show(self.manage, False)

    def load(self, room: w.Room | None) -> None:
        """Show ``room``'s members of the user's org, and the form when allowed."""
        self.room = room
        if room is None:
            self.table.value = ""
            show(self.manage, False)
            return
        members = guarded(self.status, lambda: self.client.members(room.id)) or []
        self.table.value = table_html(["user", "role"], [(m.user_name, m.role_name) for m in members],
                                      css_class="wb-members")
        can = room.abilities.get("member.manage", False)
        show(self.manage, can)
        if can:
            users = guarded(self.status, self.client.users) or []
            roles = guarded(self.status, lambda: self.client.roles(room.id)) or []
            set_options(self.user, [(u.name, u.id) for u in users], self.user.value)
            set_options(self.role, [(r.name, r.id) for r in roles], self.role.value)

    def _add(self) -> None:
        room, user_id, role_id = self.room, self.user.value, self.role.value
        if room is None or user_id is None or role_id is None:
            self.status.error("pick a user and a role")
            return
        member = guarded(self.status, lambda: self.client.add_member(room.id, user_id, role_id))
        if member is not None:
            self.load(room)
            self.status.ok(f"{member.user_name} now has the role {member.role_name}")

    def _remove(self) -> None:
        room, user_id = self.room, self.user.value
        if room is None or user_id is None:
            self.status.error("pick a user")
            return
        name = self.user.label or user_id

        def remove() -> None:
            if guarded(self.status, done(lambda: self.client.remove_member(room.id, user_id))):
                self.load(room)
                self.status.ok(f"{name} removed from the room")

        self.confirm.ask(f"Remove {name} from {room.name}?",
                         "They lose their role and every permission in this room; their past runs stay. "
                         "The service refuses to remove the last Administrator.", remove)


class PartnerRolesPanel(W.VBox):
    """Partner Management: every org's users and roles in the room; create a partner's role from
    what it may use, and change a partner member's role (audited, visible to the partner)."""

    def __init__(self, client: Client, **kwargs: Any) -> None:
        self.client = client
        self.room: w.Room | None = None
        self.orgs: list[w.RoomOrgDirectory] = []
        self.status = Status()
        self.table = W.HTML()
        self.org = W.Dropdown(description="Partner", options=[])
        self.org.observe(lambda _: self._fill(), names="value")
        self.new_name = W.Text(placeholder="role name", description="New role")
        self.new_perms = PermissionPicker()
        self.create = button("Create partner role", "primary")
        self.create.on_click(lambda _: self._create())
        self.member = W.Dropdown(description="Member", options=[])
        self.role = W.Dropdown(description="Role", options=[])
        self.assign = button("Change role")
        self.assign.on_click(lambda _: self._assign())
        self.manage = W.VBox([self.org, W.HBox([self.new_name, self.create]), self.new_perms,
                              W.HBox([self.member, self.role, self.assign])])
        super().__init__([heading("Partner users and roles", 4), self.table, self.manage, self.status], **kwargs)
        self.add_class("wb-partner-roles")
        show(self.manage, False)

    def load(self, room: w.Room | None) -> None:
        """Show every org's members and roles when the user holds Partner Management."""
        self.room = room
        can_read = room is not None and room.abilities.get("partner.directory", False)
        show(self, can_read)
        if not can_read or room is None:
            self.orgs = []
            return
        self.orgs = guarded(self.status, lambda: self.client.directory(room.id)) or []
        rows = [(d.org_name, m.user_name + ("" if m.active else " (deactivated)"), m.role_name)
                for d in self.orgs for m in d.members]
        self.table.value = table_html(["organisation", "user", "role"], rows, css_class="wb-directory")
        partners = [d for d in self.orgs if d.status != "owner"]
        show(self.manage, bool(partners) and room.abilities.get("partner.roles.manage", False))
        set_options(self.org, [(d.org_name, d.org_id) for d in partners], self.org.value)
        self._fill()

    def _picked(self) -> w.RoomOrgDirectory | None:
        return next((d for d in self.orgs if d.org_id == self.org.value), None)

    def _fill(self) -> None:
        org = self._picked()
        partner = next((p for p in (self.room.partners if self.room else []) if org and p.org_id == org.org_id), None)
        self.new_perms.options = list(partner.available_permissions) if partner else []
        set_options(self.member, [(m.user_name, m.user_id) for m in (org.members if org else [])], self.member.value)
        set_options(self.role, [(r.name, r.id) for r in (org.roles if org else [])], self.role.value)

    def _create(self) -> None:
        room, org, name, perms = self.room, self.org.value, self.new_name.value, list(self.new_perms.value)
        if room is None or org is None:
            self.status.error("pick a partner")
            return
        if guarded(self.status, lambda: self.client.create_role(room.id, name, perms, org_id=org)) is not None:
            self.new_name.value = ""
            self.load(room)
            self.status.ok(f"role {name!r} created for the partner")

    def _assign(self) -> None:
        room, org, user_id, role_id = self.room, self.org.value, self.member.value, self.role.value
        if room is None or org is None or user_id is None or role_id is None:
            self.status.error("pick a partner, one of its members and a role")
            return
        member = guarded(self.status, lambda: self.client.add_member(room.id, user_id, role_id, org_id=org))
        if member is not None:
            self.load(room)
            self.status.ok(f"{member.user_name} now has the role {member.role_name}")


class OrgAdminPanel(W.VBox):
    """Org administration: users (create with e-mail and org roles, change their org roles,
    deactivate after a confirmation, or reactivate) and org roles (the built-in bundles and custom
    ones; a custom one is deleted after a confirmation)."""

    def __init__(self, client: Client, *, defer: bool = False, **kwargs: Any) -> None:
        self.client = client
        self.status = Status()
        self.users_table = W.HTML()
        self.roles_table = W.HTML()
        self.user = W.Dropdown(description="User", options=[])
        self.user_roles = W.SelectMultiple(description="Org roles", options=[], rows=7)
        self.user.add_class("wb-user-pick")
        self.save_user = button("Save org roles")
        self.save_user.on_click(lambda _: self._save_user())
        self.deactivate = button("Deactivate", "danger")
        self.deactivate.on_click(lambda _: self._set_active(False))
        self.reactivate = button("Reactivate")
        self.reactivate.on_click(lambda _: self._set_active(True))
        self.new_user = W.Text(description="New user", placeholder="name")
        self.new_email = W.Text(description="E-mail", placeholder="optional")
        self.new_roles = W.SelectMultiple(description="Org roles", options=[], rows=4)
        self.add_user = button("Add user", "primary")
        self.add_user.on_click(lambda _: self._add_user())
        self.role_name = W.Text(description="Org role", placeholder="e.g. Analysts")
        self.role_rights = W.SelectMultiple(description="Rights", options=[], rows=7)
        self.add_role = button("Create org role", "primary")
        self.add_role.on_click(lambda _: self._add_role())
        self.custom_role = W.Dropdown(description="Custom role", options=[])
        self.delete_role = button("Delete org role", "danger")
        self.delete_role.on_click(lambda _: self._delete_role())
        self.confirm = Confirmation()
        self.role_confirm = Confirmation()
        self.role_status = Status()
        self.user.observe(lambda _: self._fill_user(), names="value")
        self.users: list[w.User] = []
        super().__init__([
            heading("Users", 4), self.users_table,
            W.HBox([W.VBox([self.new_user, self.new_email]), self.new_roles, self.add_user]),
            W.HBox([self.user, self.user_roles]), W.HBox([self.save_user, self.deactivate, self.reactivate]),
            self.confirm, self.status,
            heading("Org roles", 4), self.roles_table, W.HBox([self.role_name, self.role_rights, self.add_role]),
            W.HBox([self.custom_role, self.delete_role]), self.role_confirm, self.role_status,
        ], **kwargs)
        self.add_class("wb-org-admin")
        if not defer:
            self.reload()

    def reload(self) -> None:
        """Fetch users and org roles again."""
        self.users = guarded(self.status, self.client.users) or []
        roles = guarded(self.status, self.client.org_roles) or []
        names = {r.key: r.name for r in roles}
        self.roles = roles
        self.users_table.value = table_html(
            ["user", "e-mail", "org roles", "status"],
            [(u.name, u.email or "", ", ".join(names.get(k, k) for k in u.org_roles) or "none",
              "active" if u.active else f"deactivated {(u.deactivated_at or '')[:10]}") for u in self.users],
            css_class="wb-users")
        self.roles_table.value = table_html(
            ["org role", "kind", "rights"],
            [(r.name, "built-in" if r.builtin else "custom", ", ".join(r.rights) or "none") for r in roles],
            css_class="wb-org-roles")
        self.user_roles.options = [(r.name, r.key) for r in roles]
        self.new_roles.options = [(r.name, r.key) for r in roles]
        set_options(self.custom_role, [(r.name, r.key) for r in roles if not r.builtin], self.custom_role.value)
        show(self.delete_role, self.custom_role.value is not None)
        rights = sorted({x for r in roles for x in r.rights})
        self.role_rights.options = rights
        set_options(self.user, [(u.name, u.id) for u in self.users], self.user.value)
        self._fill_user()

    def _fill_user(self) -> None:
        self.confirm.cancel()
        user = next((u for u in self.users if u.id == self.user.value), None)
        keys = {k for _, k in self.user_roles.options}
        self.user_roles.value = tuple(k for k in (user.org_roles if user else []) if k in keys)

    def _after(self, result: object, message: str, status: Status | None = None) -> None:
        if result is not None:
            self.reload()
            (status or self.status).ok(message)

    def _add_user(self) -> None:
        name, email, roles = self.new_user.value, self.new_email.value.strip() or None, list(self.new_roles.value)
        made = guarded(self.status, lambda: self.client.create_user(name, email=email, org_roles=roles))
        self._after(made, f"user {name!r} added")
        if made is not None:
            self.new_user.value = self.new_email.value = ""
            self.new_roles.value = ()

    def _save_user(self) -> None:
        user_id, roles = self.user.value, list(self.user_roles.value)
        if user_id is None:
            self.status.error("pick a user")
            return
        self._after(guarded(self.status, lambda: self.client.update_user(user_id, org_roles=roles)), "org roles saved")

    def _set_active(self, active: bool) -> None:
        user_id = self.user.value
        if user_id is None:
            self.status.error("pick a user")
            return
        name = self.user.label
        if active:
            self._after(guarded(self.status, lambda: self.client.reactivate_user(user_id)), f"user {name!r} reactivated")
            return
        self.confirm.ask(
            f"Deactivate {name}?", "Every API token of theirs stops working at once; their room memberships "
            "stay for the record. The service refuses while they are a room's last Administrator.",
            lambda: self._after(guarded(self.status, lambda: self.client.deactivate_user(user_id)),
                                f"user {name!r} deactivated: its tokens no longer work; its room memberships "
                                "stay for the record"), label="Deactivate")

    def _delete_role(self) -> None:
        role_id = self.custom_role.value
        if role_id is None:
            return
        name = self.custom_role.label
        self.role_confirm.ask(
            f"Delete the org role {name!r}?", "Its bundle of rights goes; the service refuses while a user holds it.",
            lambda: self._after(guarded(self.role_status, lambda: self.client.delete_org_role(role_id)),
                                f"org role {name!r} deleted", self.role_status), label="Delete org role")

    def _add_role(self) -> None:
        name, rights = self.role_name.value, list(self.role_rights.value)
        self._after(guarded(self.role_status, lambda: self.client.create_org_role(name, rights)),
                    f"org role {name!r} created", self.role_status)
        self.role_name.value = ""


class _RoomConsole(Console):
    """What the owner and partner consoles share: who is signed in, a room picker, the picked room's
    summary, roles and users. ``value`` is the picked room's id (or None).
    """

    _no_room = ""

    def _prepare(self, client: Client) -> str:
        """Make the shared parts; returns the 'signed in as' line."""
        self.client = client
        self.room: w.Room | None = None
        self.status = Status()
        me = guarded(self.status, client.whoami)
        self.org_id = me.org.id if me else None
        self.pick = W.Dropdown(description="Room", options=[])
        self.follow(self.pick)
        self.refresh = button("Refresh")
        self.refresh.on_click(lambda _: self.reload())
        self.summary = W.HTML()
        self.roles = RolesPanel(client)
        self.members = MembersPanel(client)
        self.contract = ContractPanel(client)
        return f"Signed in as <b>{esc(me.user.name)}</b> of <b>{esc(me.org.name)}</b>" if me else ""

    def reload(self, select: str | None = None) -> None:
        """Fetch the rooms again and show the selected one."""
        raise NotImplementedError

    def _show_room(self) -> None:
        """Fetch the picked room and show it, or hide the room's part when there is none."""
        room_id = self.value
        self.room = fetch_room(self.status, self.client, room_id)
        room = self.room
        show(self.room_box, room is not None)
        if room is None:
            self.summary.value = self._no_room
        else:
            self.summary.value = _room_summary(room)
            self._show_details(room)
        self.roles.load(room)
        self.members.load(room)
        self.contract.load(room)

    def _show_details(self, room: w.Room) -> None:
        """What this console shows of a room beyond the summary, roles and users."""


class OwnerConsole(_RoomConsole):
    """For clean-room owners: create rooms, invite partners, set what they may use, roles, users."""

    _no_room = "<i>No room yet: create one above.</i>"

    def __init__(self, client: Client, **kwargs: Any) -> None:
        who = self._prepare(client)

        # create a room
        today = dt.date.today()
        self.new_name = W.Text(description="Name", placeholder="e.g. Q3 campaign measurement")
        self.new_start = W.DatePicker(description="Start", value=today)
        self.new_end = W.DatePicker(description="End", value=today + dt.timedelta(days=90))
        self.new_kmin = W.BoundedIntText(description="k-min", value=20, min=1, max=1_000_000)
        self.new_dp = W.Checkbox(description="Differential privacy", value=True)
        self.new_eps = W.Text(description="ε budget", value="10")
        self.new_delta = W.Text(description="δ budget", value="0.000001")
        self.new_intel = W.Checkbox(description="Intelligence dashboards", value=True)
        self.new_flows = W.Checkbox(description="Flows", value=False)
        self.create = button("Create room", "primary")
        self.create.on_click(lambda _: self._create())
        create_box = W.Accordion(children=[W.VBox([
            self.new_name, W.HBox([self.new_start, self.new_end]), W.HBox([self.new_kmin, self.new_dp]),
            W.HBox([self.new_eps, self.new_delta]), W.HBox([self.new_intel, self.new_flows]), self.create,
        ])], titles=("Create a clean room",))

        # settings: the end date
        self.end_date = W.DatePicker(description="End date")
        self.set_end = button("Set end date")
        self.set_end.on_click(lambda _: self._set_end())
        self.settings = W.HBox([self.end_date, self.set_end])

        # partners
        self.partners = W.HTML()
        self.invite_org = W.Text(description="Org id", placeholder="the partner organisation's id")
        self.invite = button("Invite partner", "primary")
        self.invite.on_click(lambda _: self._invite())
        self.invite_box = W.HBox([self.invite_org, self.invite])
        self.partner_pick = W.Dropdown(description="Partner", options=[])
        self.partner_pick.observe(lambda _: self._fill_partner(), names="value")
        self.partner_perms = PermissionPicker()
        self.save_partner = button("Save partner permissions")
        self.save_partner.on_click(lambda _: self._save_partner())
        self.remove_partner = button("Remove partner", "danger")
        self.remove_partner.on_click(lambda _: self._remove_partner())
        self.reinvite = button("Invite again")
        self.reinvite.on_click(lambda _: self._reinvite())
        self.confirm = Confirmation()
        self.partner_box = W.VBox([W.HBox([self.partner_pick, self.save_partner, self.remove_partner,
                                           self.reinvite]), self.confirm, self.partner_perms])
        self.partner_roles = PartnerRolesPanel(client)

        self.room_box = W.VBox([
            self.summary, self.settings, heading("Partners", 4), self.partners, self.invite_box,
            self.partner_box, self.contract, self.roles, self.members, self.partner_roles,
        ])
        super().__init__([
            W.HTML(f"<h2 style='margin:4px 0'>Owner console</h2><div class='wb-who'>{who}</div>"),
            create_box, W.HBox([self.pick, self.refresh]), self.status, self.room_box,
        ], **kwargs)
        self.add_class("wb-owner-console")
        self.observe(lambda _: self._show_room(), names="value")
        self.reload()

    def reload(self, select: str | None = None) -> None:
        """Fetch the rooms this org owns again and show the selected one."""
        rooms = guarded(self.status, self.client.rooms) or []
        owned = [(r.name, r.id) for r in rooms if r.my_org_status == "owner"]
        set_options(self.pick, owned, select or self.value)
        self._show_room()

    def _show_details(self, room: w.Room) -> None:
        self.end_date.value = room.end_date
        can = room.abilities
        show(self.settings, can.get("room.update", False))
        show(self.invite_box, can.get("partner.invite", False))
        show(self.partner_box, bool(room.partners) and can.get("partner.permissions", False))
        self.partners.value = table_html(
            ["organisation", "org id", "status", "since", "may use"],
            [(p.org_name, p.org_id, p.status, (p.responded_at or p.invited_at or "")[:10],
              ", ".join(permission_label(x) for x in p.available_permissions)) for p in room.partners],
            css_class="wb-partners", empty="no partners invited yet")
        # partners may be offered every permission the owner has; the service refuses owner-only ones
        self.partner_perms.options = list(room.available_permissions)
        set_options(self.partner_pick, [(f"{p.org_name} ({p.status})", p.org_id) for p in room.partners],
                    self.partner_pick.value)
        self._fill_partner()
        self.partner_roles.load(room)

    def _fill_partner(self) -> None:
        room = self.room
        partner = next((p for p in (room.partners if room else []) if p.org_id == self.partner_pick.value), None)
        self.partner_perms.value = list(partner.available_permissions) if partner is not None else []
        active = partner is not None and partner.status in ("invited", "accepted")
        show(self.save_partner, active)
        show(self.remove_partner, active)
        show(self.reinvite, partner is not None and not active)
        self.confirm.cancel()

    def _reinvite(self) -> None:
        room, org_id = self.room, self.partner_pick.value
        if room is None or org_id is None:
            self.status.error("pick a partner")
            return
        if guarded(self.status, lambda: self.client.invite_partner(room.id, org_id)) is not None:
            self._show_room()
            self.status.ok("invitation sent again")

    def _create(self) -> None:
        name = self.new_name.value
        room = guarded(self.status, lambda: self.client.create_room(
            name, start_date=self.new_start.value, end_date=self.new_end.value, k_min=self.new_kmin.value,
            dp_enabled=self.new_dp.value, epsilon_budget=self.new_eps.value.strip(),
            delta_budget=self.new_delta.value.strip(), intelligence=self.new_intel.value,
            flows=self.new_flows.value))
        if room is not None:
            self.new_name.value = ""
            self.reload(select=room.id)
            self.status.ok(f"room {room.name!r} created; you are its Administrator")

    def _set_end(self) -> None:
        room, end = self.room, self.end_date.value
        if room is None or end is None:
            self.status.error("pick an end date")
            return
        if guarded(self.status, lambda: self.client.update_room(room.id, end_date=end)) is not None:
            self._show_room()
            self.status.ok(f"end date set to {end.isoformat()}")

    def _invite(self) -> None:
        room, org_id = self.room, self.invite_org.value.strip()
        if room is None or not org_id:
            self.status.error("enter the id of the organisation to invite (its admin can tell you)")
            return
        updated = guarded(self.status, lambda: self.client.invite_partner(room.id, org_id))
        if updated is not None:
            self.invite_org.value = ""
            self._show_room()
            partner = next((p for p in updated.partners if p.org_id == org_id), None)
            name = partner.org_name if partner else org_id
            self.status.ok(f"{name} invited ({partner.status if partner else 'invited'})")

    def _save_partner(self) -> None:
        room, org_id = self.room, self.partner_pick.value
        if room is None or org_id is None:
            self.status.error("pick a partner")
            return
        perms = list(self.partner_perms.value)
        if guarded(self.status, lambda: self.client.set_partner_permissions(room.id, org_id, perms)) is not None:
            self._show_room()
            self.status.ok("partner permissions saved")

    def _remove_partner(self) -> None:
        """Ask first, naming the partner and what goes with it."""
        room, org_id = self.room, self.partner_pick.value
        if room is None or org_id is None:
            self.status.error("pick a partner")
            return
        name = next((p.org_name for p in room.partners if p.org_id == org_id), org_id)

        def remove() -> None:
            if guarded(self.status, lambda: self.client.remove_partner(room.id, org_id)) is not None:
                self._show_room()
                self.status.ok(f"{name} removed; its datasets were unlinked from the room")

        self.confirm.ask(f"Remove the partner {name} from {room.name}?",
                         "Its datasets are unlinked from this room (with their mappings and derived "
                         "results), its roles and users go; its spent budget stays spent.", remove,
                         label="Remove partner")


class PartnerConsole(_RoomConsole):
    """For partner admins: answer invitations, then manage own roles and users within what the owner allows."""

    def __init__(self, client: Client, **kwargs: Any) -> None:
        who = self._prepare(client)
        hint = (f"<div class='wb-org-id' style='color:#555'>Your organisation's id (give it to a room owner "
                f"to be invited): <code>{esc(self.org_id)}</code></div>") if self.org_id else ""
        self.invitations = W.HTML()
        self.invitation = W.Dropdown(description="Invitation", options=[])
        self.accept = button("Accept", "success")
        self.accept.on_click(lambda _: self._respond(True))
        self.decline = button("Decline", "danger")
        self.decline.on_click(lambda _: self._respond(False))
        self.answer_box = W.HBox([self.invitation, self.accept, self.decline])
        self.allowed = W.HTML()
        self.leave = button("Leave this room", "danger")
        self.leave.on_click(lambda _: self._leave())
        self.confirm = Confirmation()
        self.room_box = W.VBox([self.summary, self.allowed, self.contract, self.roles, self.members,
                                W.HBox([self.leave]), self.confirm])
        super().__init__([
            W.HTML(f"<h2 style='margin:4px 0'>Partner console</h2><div class='wb-who'>{who}</div>{hint}"),
            heading("Invitations", 4), self.invitations, self.answer_box,
            heading("Rooms you are a partner in", 4), W.HBox([self.pick, self.refresh]), self.status,
            self.room_box,
        ], **kwargs)
        self.add_class("wb-partner-console")
        self.observe(lambda _: self._show_room(), names="value")
        self.reload()

    def reload(self, select: str | None = None) -> None:
        """Fetch invitations and rooms again."""
        rooms = guarded(self.status, self.client.rooms) or []
        invited = [r for r in rooms if r.my_org_status == "invited"]
        self.invitations.value = table_html(
            ["room", "owner", "from", "to"],
            [(r.name, r.owner_org_name, r.start_date, r.end_date or "open-ended") for r in invited],
            css_class="wb-invitations", empty="no pending invitations")
        set_options(self.invitation, [room_option(r) for r in invited])
        show(self.answer_box, bool(invited))
        joined = [room_option(r) for r in rooms if r.my_org_status == "accepted"]
        set_options(self.pick, joined, select or self.value)
        self._show_room()

    def _respond(self, accept: bool) -> None:
        room_id = self.invitation.value
        if room_id is None:
            self.status.error("no invitation selected")
            return
        if accept:
            room = guarded(self.status, lambda: self.client.accept_invitation(room_id))
            if room is not None:
                self.reload(select=room.id)
                self.status.ok(f"you joined {room.name!r} as your organisation's Partner Administrator")
        elif guarded(self.status, done(lambda: self.client.decline_invitation(room_id))):
            self.reload()
            self.status.ok("invitation declined")

    def _leave(self) -> None:
        """Ask first, naming the room and what goes."""
        room = self.room
        if room is None:
            self.status.error("pick a room")
            return

        def leave() -> None:
            if guarded(self.status, done(lambda: self.client.leave_room(room.id))):
                self.reload()
                self.status.ok(f"your organisation left {room.name!r}")

        self.confirm.ask(f"Leave {room.name}?", "Your datasets are unlinked from it, your roles and users "
                         "go; budget already spent stays spent.", leave, label="Leave room")

    def _show_details(self, room: w.Room) -> None:
        self.confirm.cancel()
        self.allowed.value = (
            "<div class='wb-available'><b>The owner lets your organisation use:</b> "
            + esc(", ".join(permission_label(p) for p in room.available_permissions) or "nothing yet")
            + "<br><b>You hold:</b> "
            + esc(", ".join(permission_label(p) for p in room.my_permissions) or "no permissions")
            + "</div>")


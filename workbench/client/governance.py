"""Client methods for organisations, users, tokens, rooms, partners, roles, members and audit."""

from __future__ import annotations

import datetime as dt
from typing import Any

from workbench.wire import governance as w


class GovernanceAPI:
    """Governance operations; every call is authorised by the service, never here."""

    def _request(self, method: str, path: str, **kwargs: Any) -> Any:  # provided by Client
        raise NotImplementedError

    # who and which org
    def whoami(self) -> w.Whoami:
        """The signed-in user and their organisation."""
        return w.Whoami(**self._request("GET", "/api/v1/me"))

    def create_org(self, name: str, admin_name: str) -> w.OrgCreated:
        """Register an organisation; the answer holds its admin's token (shown once)."""
        return w.OrgCreated(**self._request("POST", "/api/v1/orgs", json={"name": name, "admin_name": admin_name}))

    def org(self, org_id: str) -> w.Org:
        """An organisation's id and name."""
        return w.Org(**self._request("GET", f"/api/v1/orgs/{org_id}"))

    def users(self) -> list[w.User]:
        """Users of your organisation."""
        return [w.User(**u) for u in self._request("GET", "/api/v1/org/users")]

    def create_user(self, name: str, *, email: str | None = None, org_roles: list[str] | None = None) -> w.User:
        """Add a user to your organisation (org admins only)."""
        body = {"name": name, "email": email, "org_roles": org_roles or []}
        return w.User(**self._request("POST", "/api/v1/org/users", json=body))

    def update_user(self, user_id: str, **changes: Any) -> w.User:
        """Change a user's name, email or org_roles (keys of built-in org roles, ids of custom ones)."""
        return w.User(**self._request("PATCH", f"/api/v1/org/users/{user_id}", json=changes))

    def deactivate_user(self, user_id: str) -> w.User:
        """Deactivate a user: its tokens stop working; its room memberships stay for the record."""
        return w.User(**self._request("POST", f"/api/v1/org/users/{user_id}/deactivate"))

    def reactivate_user(self, user_id: str) -> w.User:
        """Let a deactivated user sign in again with its tokens."""
        return w.User(**self._request("POST", f"/api/v1/org/users/{user_id}/reactivate"))

    def org_roles(self) -> list[w.OrgRole]:
        """The built-in org roles and your org's custom ones."""
        return [w.OrgRole(**r) for r in self._request("GET", "/api/v1/org/roles")]

    def create_org_role(self, name: str, rights: list[str]) -> list[w.OrgRole]:
        """A custom org role bundling org rights (org admins)."""
        return [w.OrgRole(**r) for r in self._request("POST", "/api/v1/org/roles",
                                                      json={"name": name, "rights": list(rights)})]

    def update_org_role(self, role_id: str, *, name: str | None = None,
                        rights: list[str] | None = None) -> list[w.OrgRole]:
        """Rename a custom org role or replace its rights."""
        body: dict[str, Any] = {k: v for k, v in (("name", name), ("rights", rights)) if v is not None}
        return [w.OrgRole(**r) for r in self._request("PATCH", f"/api/v1/org/roles/{role_id}", json=body)]

    def delete_org_role(self, role_id: str) -> list[w.OrgRole]:
        """Delete a custom org role nobody holds."""
        return [w.OrgRole(**r) for r in self._request("DELETE", f"/api/v1/org/roles/{role_id}")]

    def tokens(self) -> list[w.Token]:
        """Your organisation's tokens, without secrets."""
        return [w.Token(**t) for t in self._request("GET", "/api/v1/org/tokens")]

    def issue_token(self, user_id: str, label: str = "api") -> w.Token:
        """A new token for a user of your org; keep ``.secret``, it is not shown again."""
        return w.Token(**self._request("POST", "/api/v1/org/tokens", json={"user_id": user_id, "label": label}))

    def revoke_token(self, token_id: str) -> w.Token:
        """Revoke a token at once."""
        return w.Token(**self._request("DELETE", f"/api/v1/org/tokens/{token_id}"))

    def trusted_partners(self) -> list[w.Org]:
        """Organisations whose invitations your org accepts automatically."""
        return [w.Org(**o) for o in self._request("GET", "/api/v1/org/trusted-partners")]

    def trust_partner(self, org_id: str) -> list[w.Org]:
        """Allowlist an organisation."""
        return [w.Org(**o) for o in self._request("POST", "/api/v1/org/trusted-partners", json={"org_id": org_id})]

    def untrust_partner(self, org_id: str) -> list[w.Org]:
        """Remove an organisation from the allowlist."""
        return [w.Org(**o) for o in self._request("DELETE", f"/api/v1/org/trusted-partners/{org_id}")]

    def audit(self, *, room_id: str | None = None, actor_user_id: str | None = None,
              action: str | None = None, limit: int = 500, since: dt.datetime | None = None,
              until: dt.datetime | None = None, before_seq: int | None = None,
              reads: bool = True) -> list[w.AuditEvent]:
        """Audit events of your org's actions and on your org's resources, newest first.

        ``since``/``until`` (aware datetimes, ``until`` excluded) bound the time; ``before_seq``
        asks for the page after one ending at that seq; ``reads=False`` leaves out allowed reads.
        """
        params: dict[str, Any] = {k: v for k, v in dict(
            room_id=room_id, actor_user_id=actor_user_id, action=action, limit=limit,
            since=since.isoformat() if since else None, until=until.isoformat() if until else None,
            before_seq=before_seq).items() if v is not None}
        if not reads:
            params["reads"] = "false"
        return [w.AuditEvent(**e) for e in self._request("GET", "/api/v1/org/audit", params=params)]

    # rooms
    def rooms(self) -> list[w.Room]:
        """Rooms your org owns, is invited to, or is a partner in."""
        return [w.Room(**r) for r in self._request("GET", "/api/v1/rooms")]

    def create_room(self, name: str, *, description: str = "", start_date: dt.date | None = None,
                    end_date: dt.date | None = None, k_min: int = 20, dp_enabled: bool = True,
                    epsilon_budget: str = "10", delta_budget: str = "0.000001",
                    intelligence: bool = True, flows: bool = False) -> w.Room:
        """Create a room owned by your org; you become its Administrator."""
        body = dict(name=name, description=description,
                    start_date=start_date.isoformat() if start_date else None,
                    end_date=end_date.isoformat() if end_date else None, k_min=k_min,
                    dp_enabled=dp_enabled, epsilon_budget=str(epsilon_budget),
                    delta_budget=str(delta_budget), intelligence=intelligence, flows=flows)
        return w.Room(**self._request("POST", "/api/v1/rooms", json=body))

    def room(self, room_id: str) -> w.Room:
        """One room, with your permissions and what you may do in it."""
        return w.Room(**self._request("GET", f"/api/v1/rooms/{room_id}"))

    def update_room(self, room_id: str, **changes: Any) -> w.Room:
        """Change room settings (owner only); a later end_date reactivates an expired room."""
        body = {k: (v.isoformat() if isinstance(v, dt.date) else v) for k, v in changes.items()}
        return w.Room(**self._request("PATCH", f"/api/v1/rooms/{room_id}", json=body))

    def check(self, room_id: str, action: str, resource_id: str | None = None) -> dict[str, Any]:
        """Ask whether you may do ``action`` in the room, and why."""
        params = {"action": action, **({"resource_id": resource_id} if resource_id else {})}
        return self._request("GET", f"/api/v1/rooms/{room_id}/check", params=params)

    # partners
    def invite_partner(self, room_id: str, org_id: str) -> w.Room:
        """Invite an organisation by id (owner, Partner Management)."""
        return w.Room(**self._request("POST", f"/api/v1/rooms/{room_id}/partners", json={"org_id": org_id}))

    def remove_partner(self, room_id: str, org_id: str) -> w.Room:
        """Remove a partner organisation."""
        return w.Room(**self._request("DELETE", f"/api/v1/rooms/{room_id}/partners/{org_id}"))

    def set_partner_permissions(self, room_id: str, org_id: str, permissions: list[str]) -> w.Room:
        """Set the permissions a partner may use in the room."""
        return w.Room(**self._request("PUT", f"/api/v1/rooms/{room_id}/partners/{org_id}/permissions",
                                      json={"permissions": list(permissions)}))

    def accept_invitation(self, room_id: str) -> w.Room:
        """Accept for your org; you become its Partner Administrator."""
        return w.Room(**self._request("POST", f"/api/v1/rooms/{room_id}/invitation/accept"))

    def decline_invitation(self, room_id: str) -> None:
        """Decline for your org; the room disappears from your list."""
        self._request("POST", f"/api/v1/rooms/{room_id}/invitation/decline")

    def leave_room(self, room_id: str) -> None:
        """Take your (partner) org out of the room: its datasets are unlinked, its ledger stays spent."""
        self._request("POST", f"/api/v1/rooms/{room_id}/leave")

    # roles and members
    @staticmethod
    def _roles_path(room_id: str, org_id: str | None, what: str) -> str:
        """Your org's roles/members, or (Partner Management) a partner org's."""
        return f"/api/v1/rooms/{room_id}/orgs/{org_id}/{what}" if org_id else f"/api/v1/rooms/{room_id}/{what}"

    def roles(self, room_id: str, org_id: str | None = None) -> list[w.Role]:
        """Your org's roles in the room (or, with Partner Management, a partner's)."""
        return [w.Role(**r) for r in self._request("GET", self._roles_path(room_id, org_id, "roles"))]

    def create_role(self, room_id: str, name: str, permissions: list[str], *, org_id: str | None = None) -> w.Role:
        """A custom role from the permissions available to your org (or to partner ``org_id``)."""
        return w.Role(**self._request("POST", self._roles_path(room_id, org_id, "roles"),
                                      json={"name": name, "permissions": list(permissions)}))

    def update_role(self, room_id: str, role_id: str, *, name: str | None = None,
                    permissions: list[str] | None = None, org_id: str | None = None) -> w.Role:
        """Rename a role or replace its permissions (a partner's with ``org_id``)."""
        body: dict[str, Any] = {}
        if name is not None:
            body["name"] = name
        if permissions is not None:
            body["permissions"] = list(permissions)
        return w.Role(**self._request("PATCH", self._roles_path(room_id, org_id, f"roles/{role_id}"), json=body))

    def delete_role(self, room_id: str, role_id: str) -> None:
        """Delete a custom role nobody holds."""
        self._request("DELETE", f"/api/v1/rooms/{room_id}/roles/{role_id}")

    def members(self, room_id: str, org_id: str | None = None) -> list[w.Member]:
        """Your org's users in the room and their roles (or, with Partner Management, a partner's)."""
        return [w.Member(**m) for m in self._request("GET", self._roles_path(room_id, org_id, "members"))]

    def directory(self, room_id: str) -> list[w.RoomOrgDirectory]:
        """Every org of the room with its roles and members (owner, Partner Management)."""
        return [w.RoomOrgDirectory(**d) for d in self._request("GET", f"/api/v1/rooms/{room_id}/directory")]

    def add_member(self, room_id: str, user_id: str, role_id: str, *, org_id: str | None = None) -> w.Member:
        """Give a user of your org a role in the room (or change a partner member's role)."""
        return w.Member(**self._request("POST", self._roles_path(room_id, org_id, "members"),
                                        json={"user_id": user_id, "role_id": role_id}))

    def remove_member(self, room_id: str, user_id: str) -> None:
        """Take a user of your org out of the room."""
        self._request("DELETE", f"/api/v1/rooms/{room_id}/members/{user_id}")

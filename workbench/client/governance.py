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
              action: str | None = None, limit: int = 500) -> list[w.AuditEvent]:
        """Audit events of your org's actions and on your org's resources, newest first."""
        params = {k: v for k, v in dict(room_id=room_id, actor_user_id=actor_user_id, action=action,
                                        limit=limit).items() if v is not None}
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

    # roles and members
    def roles(self, room_id: str) -> list[w.Role]:
        """Your org's roles in the room."""
        return [w.Role(**r) for r in self._request("GET", f"/api/v1/rooms/{room_id}/roles")]

    def create_role(self, room_id: str, name: str, permissions: list[str]) -> w.Role:
        """A custom role from the permissions available to your org."""
        return w.Role(**self._request("POST", f"/api/v1/rooms/{room_id}/roles",
                                      json={"name": name, "permissions": list(permissions)}))

    def update_role(self, room_id: str, role_id: str, *, name: str | None = None,
                    permissions: list[str] | None = None) -> w.Role:
        """Rename a role or replace its permissions."""
        body: dict[str, Any] = {}
        if name is not None:
            body["name"] = name
        if permissions is not None:
            body["permissions"] = list(permissions)
        return w.Role(**self._request("PATCH", f"/api/v1/rooms/{room_id}/roles/{role_id}", json=body))

    def delete_role(self, room_id: str, role_id: str) -> None:
        """Delete a custom role nobody holds."""
        self._request("DELETE", f"/api/v1/rooms/{room_id}/roles/{role_id}")

    def members(self, room_id: str) -> list[w.Member]:
        """Your org's users in the room and their roles."""
        return [w.Member(**m) for m in self._request("GET", f"/api/v1/rooms/{room_id}/members")]

    def add_member(self, room_id: str, user_id: str, role_id: str) -> w.Member:
        """Give a user of your org a role in the room."""
        return w.Member(**self._request("POST", f"/api/v1/rooms/{room_id}/members",
                                        json={"user_id": user_id, "role_id": role_id}))

    def remove_member(self, room_id: str, user_id: str) -> None:
        """Take a user of your org out of the room."""
        self._request("DELETE", f"/api/v1/rooms/{room_id}/members/{user_id}")

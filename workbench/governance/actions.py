"""The registry of actions: every operation the service performs, described as data.

The policy reads an action's description to decide; no route carries a rule of its own. Each
domain package exports its actions as an ``ACTIONS`` tuple; :mod:`workbench.wiring` installs them
all, explicitly, so no decision depends on which modules happened to be imported first.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

from workbench.governance.permissions import OrgRight, Permission

if TYPE_CHECKING:
    from workbench.governance.model import Actor, RoomAccess

#: an extra resource-level rule: returns a denial reason, or None to allow
Check = Callable[[Any, "Actor", "RoomAccess", "str | None"], "str | None"]


@dataclass(frozen=True, kw_only=True)
class Action:
    """One kind of operation and what it needs."""

    #: dotted name, e.g. "partner.invite"; also the audit log's action
    name: str
    #: a sentence for people reading permissions and audit logs
    description: str
    #: "org" actions need an org right; "room" actions need the room to be visible
    scope: Literal["org", "room"] = "room"
    #: the clean-room permission the actor's role must hold (None: any participant)
    permission: Permission | None = None
    #: the org right the actor must hold (org-scope actions)
    org_right: OrgRight | None = None
    #: only users of the owner org may do this
    owner_only: bool = False
    #: changes the room; refused once the room is past its end date
    writes: bool = False
    #: allowed to an org that is invited but has not accepted yet (and only to it)
    invitee: bool = False
    #: an extra rule for one resource (question permissions, say)
    check: Check | None = None


_REGISTRY: dict[str, Action] = {}


def register(*actions: Action) -> None:
    """Add actions; a name registered twice with a different meaning is a programming error.

    Only :func:`workbench.wiring.wire` calls this (and tests adding a throwaway action).
    """
    for action in actions:
        old = _REGISTRY.get(action.name)
        if old is not None and old != action:
            raise RuntimeError(f"action {action.name!r} registered twice differently")
        _REGISTRY[action.name] = action


def get(name: str) -> Action:
    """The registered action called ``name``."""
    try:
        return _REGISTRY[name]
    except KeyError:
        raise RuntimeError(
            f"unregistered action {name!r}: add it to its package's ACTIONS and that tuple to "
            "workbench.wiring, and call workbench.wiring.wire() before serving"
        ) from None


def all_actions() -> list[Action]:
    """Every registered action, sorted by name."""
    return sorted(_REGISTRY.values(), key=lambda a: a.name)


def _partner_only(cur: Any, actor: Actor, access: RoomAccess, resource_id: str | None) -> str | None:
    """The owner org cannot leave its own room (it can end it instead)."""
    return "the owner organisation cannot leave its own room; set an end date instead" if access.is_owner else None


P = Permission
ACTIONS: tuple[Action, ...] = (
    Action(name="org.create", scope="org", org_right=OrgRight.ADMIN,
           description="Register a new organisation with its first admin user."),
    Action(name="org.read", scope="org",
           description="Read one's own organisation, its users and trusted partners."),
    Action(name="org.users.manage", scope="org", org_right=OrgRight.MANAGE_USERS,
           description="Add and edit users of one's organisation and set their org roles."),
    Action(name="org.users.deactivate", scope="org", org_right=OrgRight.MANAGE_USERS,
           description="Deactivate a user: its tokens stop working, its room memberships stay for the "
                       "record; refused for a room's last active Administrator."),
    Action(name="org.users.reactivate", scope="org", org_right=OrgRight.MANAGE_USERS,
           description="Reactivate a deactivated user."),
    Action(name="org.rights.grant", scope="org", org_right=OrgRight.ADMIN,
           description="Give a user org roles bundling rights the granting user does not hold itself."),
    Action(name="org.roles.manage", scope="org", org_right=OrgRight.ADMIN,
           description="Create, change and delete the organisation's custom org roles (bundles of org "
                       "rights)."),
    Action(name="org.tokens.manage", scope="org", org_right=OrgRight.MANAGE_USERS,
           description="Issue and revoke API tokens for users of one's organisation."),
    Action(name="org.trust.manage", scope="org", org_right=OrgRight.ADMIN,
           description="Allowlist partner organisations whose invitations are accepted automatically."),
    Action(name="org.audit.read", scope="org",
           description="Read audit events of one's organisation's actions and resources."),
    Action(name="room.create", scope="org", org_right=OrgRight.CREATE_ROOMS,
           description="Create a clean room owned by one's organisation."),
    Action(name="room.list", scope="org", description="List the rooms one's organisation can see."),
    Action(name="room.read", description="Read a room's settings, partners, roles and members."),
    Action(name="room.update", permission=P.PARTNER_MANAGEMENT, owner_only=True,
           description="Change a room's settings, dates and privacy parameters; extending the end "
                       "date reactivates an expired room."),
    Action(name="partner.invite", permission=P.PARTNER_MANAGEMENT, owner_only=True, writes=True,
           description="Invite an organisation to the room."),
    Action(name="partner.remove", permission=P.PARTNER_MANAGEMENT, owner_only=True, writes=True,
           description="Remove a partner organisation from the room."),
    Action(name="partner.permissions", permission=P.PARTNER_MANAGEMENT, owner_only=True,
           writes=True, description="Set the permissions available to a partner."),
    Action(name="partner.respond", invitee=True, writes=True,
           description="Accept or decline an invitation to the room."),
    Action(name="partner.leave", permission=P.MANAGE_ROLES, check=_partner_only,
           description="Leave the room as a partner organisation: its datasets are unlinked as by "
                       "unlink, its roles and members go, its ledger stays as spent."),
    Action(name="partner.directory", permission=P.PARTNER_MANAGEMENT, owner_only=True,
           description="List every partner organisation's roles and members in the room."),
    Action(name="partner.roles.manage", permission=P.PARTNER_MANAGEMENT, owner_only=True, writes=True,
           description="Create and edit a partner's roles (only with permissions available to it) and "
                       "change a partner user's role; audited for the partner."),
    Action(name="role.manage", permission=P.MANAGE_ROLES, writes=True,
           description="Create, change and delete one's organisation's roles in the room."),
    Action(name="member.manage", permission=P.MANAGE_ROLES, writes=True,
           description="Add and remove users of one's organisation and assign their roles."),
)

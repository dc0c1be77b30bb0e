"""Organisations, users, tokens, rooms, partners, roles, the policy and the audit log."""

from workbench.governance.model import Actor, Room, RoomAccess
from workbench.governance.permissions import OrgRight, Permission

__all__ = ["Actor", "OrgRight", "Permission", "Room", "RoomAccess"]

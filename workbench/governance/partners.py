"""Partners of a room: invitations and their answers, removal, available permissions.

Each operation is one transaction: authorise (one call to ensure_allowed), validate, act.
"""

from __future__ import annotations

from typing import Any

from workbench.errors import Conflict, InvalidInput, NotFound
from workbench.governance import _records as rec
from workbench.governance.audit import record
from workbench.governance.model import Actor
from workbench.governance.permissions import FLOWS, INTELLIGENCE, OWNER_ONLY, parse_permissions
from workbench.governance.policy import default_partner_permissions, ensure_allowed, room_access
from workbench.governance.rooms import PARTNER_ADMINISTRATOR, create_org_roles, room_out
from workbench.ids import parse_uuid
from workbench.store import Store
from workbench.wire import governance as w


def _active_partner(cur: Any, room_id: str, org_id: str) -> str:
    status = rec.partner_status(cur, room_id, org_id)
    if status not in rec.ACTIVE_PARTNER:
        raise NotFound(f"organisation {org_id} is not a partner of this room")
    return str(status)


def invite_partner(store: Store, actor: Actor, room_id: str, body: w.PartnerInvite) -> w.Room:
    """Invite an org; if it allowlisted the owner, the invitation is accepted at once (audited)."""
    room_id = parse_uuid(room_id, "room")
    org_id = parse_uuid(body.org_id, "organisation")
    with store.transaction() as cur:
        ensure_allowed(cur, actor, "partner.invite", room_id=room_id, resource_type="partner", resource_id=org_id)
        if org_id == actor.org_id:
            raise InvalidInput("the owner organisation is already in the room; invite another organisation")
        if rec.org(cur, org_id) is None:
            raise NotFound(f"no organisation {org_id}")
        status = rec.partner_status(cur, room_id, org_id)
        if status in rec.ACTIVE_PARTNER:
            raise Conflict(f"that organisation is already {status} in this room")
        rec.insert_invitation(cur, room_id, org_id)
        rec.replace_partner_permissions(cur, room_id, org_id, [p.value for p in default_partner_permissions()])
        if rec.trusts(cur, org_id, actor.org_id):
            admins = rec.active_admins(cur, org_id)
            _accept(cur, room_id, org_id, admins, responded_by=None)
            record(cur, actor, "partner.auto_accepted", room_id=room_id, resource_type="partner",
                   resource_id=org_id, resource_org_id=org_id,
                   reason="the invited organisation allowlisted the owner",
                   detail={"administrators": admins})
        return room_out(cur, actor, room_access(cur, actor, room_id))


def _accept(cur: Any, room_id: str, org_id: str, admin_user_ids: list[str], responded_by: str | None) -> None:
    rec.set_partner_status(cur, room_id, org_id, "accepted", responded_by)
    admin_role = create_org_roles(cur, room_id, org_id, admin_name=PARTNER_ADMINISTRATOR)
    for user_id in admin_user_ids:
        rec.put_member(cur, room_id, user_id, admin_role)


def respond(store: Store, actor: Actor, room_id: str, accept: bool) -> w.Room | None:
    """Accept (the caller becomes the org's Partner Administrator) or decline an invitation.

    Declining hides the room from the caller's org, so there is no room to answer with: None.
    """
    room_id = parse_uuid(room_id, "room")
    with store.transaction() as cur:
        ensure_allowed(cur, actor, "partner.respond", room_id=room_id, resource_type="partner",
                       resource_id=actor.org_id, detail={"accept": accept})
        if accept:
            _accept(cur, room_id, actor.org_id, [actor.user_id], responded_by=actor.user_id)
            return room_out(cur, actor, room_access(cur, actor, room_id))
        rec.set_partner_status(cur, room_id, actor.org_id, "declined", actor.user_id)
    return None


def _take_out(cur: Any, actor: Actor, room_id: str, org_id: str, status: str) -> dict[str, Any]:
    """A partner goes: its datasets are unlinked exactly as unlink does (views, mappings, rules,
    derived objects), then its available permissions, roles and members. Ledger entries of runs
    over its data stay as spent; the partner row stays with its new status and date."""
    from workbench.data import _records as data_records
    from workbench.data.provisioning import unlink

    theirs = [ds.id for ds in data_records.datasets_in(cur, room_id) if ds.org_id == org_id]
    unlinked = [unlink(cur, room_id, dataset_id).id for dataset_id in theirs]
    rec.set_partner_status(cur, room_id, org_id, status, actor.user_id)
    rec.drop_org_from_room(cur, room_id, org_id)
    return {"datasets_unlinked": unlinked}


def remove_partner(store: Store, actor: Actor, room_id: str, org_id: str) -> w.Room:
    """Remove a partner: its datasets are unlinked, its roles and members go; the audit log and
    the owner's partner list keep what happened."""
    room_id = parse_uuid(room_id, "room")
    org_id = parse_uuid(org_id, "organisation")
    with store.transaction() as cur:
        ensure_allowed(cur, actor, "partner.remove", room_id=room_id, resource_type="partner", resource_id=org_id,
                       resource_org_id=org_id)
        _active_partner(cur, room_id, org_id)
        done = _take_out(cur, actor, room_id, org_id, "removed")
        record(cur, actor, "partner.removed", room_id=room_id, resource_type="partner", resource_id=org_id,
               resource_org_id=org_id, detail=done)
        out = room_out(cur, actor, room_access(cur, actor, room_id))
    _checkpoint(store)
    return out


def leave_room(store: Store, actor: Actor, room_id: str) -> None:
    """The caller's org leaves a room it is a partner in, with the same effect as a removal."""
    room_id = parse_uuid(room_id, "room")
    with store.transaction() as cur:
        access = ensure_allowed(cur, actor, "partner.leave", room_id=room_id, resource_type="partner",
                                resource_id=actor.org_id)
        if access is None:
            raise RuntimeError("partner.leave is a room action; the policy returns the access")
        done = _take_out(cur, actor, room_id, actor.org_id, "left")
        record(cur, actor, "partner.left", room_id=room_id, resource_type="partner", resource_id=actor.org_id,
               resource_org_id=access.room.owner_org_id, detail=done)
    _checkpoint(store)


def _checkpoint(store: Store) -> None:
    """Unlinked data leaves no residue in the write-ahead log (as the data package's unlink does)."""
    from workbench.data.connections import checkpoint_after_delete

    checkpoint_after_delete(store)


def set_partner_permissions(
    store: Store, actor: Actor, room_id: str, org_id: str, body: w.PartnerPermissions
) -> w.Room:
    """Choose what a partner may use; taking one away removes it from the partner's roles at once."""
    room_id = parse_uuid(room_id, "room")
    org_id = parse_uuid(org_id, "organisation")
    wanted = parse_permissions(body.permissions)
    with store.transaction() as cur:
        access = ensure_allowed(cur, actor, "partner.permissions", room_id=room_id, resource_type="partner",
                                resource_id=org_id, detail={"permissions": sorted(wanted)})
        if access is None:
            raise RuntimeError("partner.permissions is a room action; the policy returns the access")
        room = access.room
        owner_only = sorted(p.value for p in wanted & OWNER_ONLY)
        if owner_only:
            raise InvalidInput(f"owner-only permissions cannot be made available to partners: {owner_only}")
        if not room.intelligence and wanted & INTELLIGENCE:
            raise InvalidInput("Intelligence permissions need Intelligence switched on in the room")
        if not room.flows and wanted & FLOWS:
            raise InvalidInput("Flow permissions need Flows switched on in the room")
        _active_partner(cur, room_id, org_id)
        values = sorted(p.value for p in wanted)
        rec.replace_partner_permissions(cur, room_id, org_id, values)
        rec.cap_role_permissions(cur, room_id, org_id, values)
        return room_out(cur, actor, room_access(cur, actor, room_id))

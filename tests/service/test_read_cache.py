"""The read cache over a live `workbench serve`: every answer audited, every write seen at once.

Metadata answers are served again from memory until the next committed write. These tests try
to get a stale or unaudited answer out of it: a revoked token, a deactivated user, a removed
partner, a changed setting, each right after the same question was answered (and cached).
"""

from __future__ import annotations

import datetime as dt

import pytest

import workbench as wb
from tests.conftest import LiveService


@pytest.fixture(scope="module")
def room(live_service: LiveService):
    owner = live_service.client(live_service.admin_token)
    return owner, owner.create_room("Cache room", description="first",
                                    start_date=dt.date.today() - dt.timedelta(days=1))


def room_reads(owner: wb.Client, room_id: str, user_id: str) -> int:
    return sum(1 for e in owner.audit(room_id=room_id, actor_user_id=user_id, action="room.read", limit=10_000)
               if e.outcome == "allowed")


def test_each_answer_is_audited_even_when_served_from_memory(live_service: LiveService, room) -> None:
    owner, r = room
    me = owner.whoami().user.id
    before = room_reads(owner, r.id, me)
    for _ in range(5):
        assert owner.room(r.id).id == r.id
    assert room_reads(owner, r.id, me) == before + 5


def test_a_setting_changed_is_seen_by_the_next_read(room) -> None:
    owner, r = room
    assert owner.room(r.id).description == "first"
    owner.update_room(r.id, description="second")
    assert owner.room(r.id).description == "second"


def test_a_revoked_token_is_refused_at_once(live_service: LiveService, room) -> None:
    owner, r = room
    user = owner.create_user("reader-revoked")
    token = owner.issue_token(user.id, label="soon revoked")
    client = live_service.client(token.secret)
    assert client.rooms() == client.rooms()  # answered, and kept
    owner.revoke_token(token.id)
    with pytest.raises(wb.Unauthenticated):
        client.rooms()


def test_a_deactivated_user_is_refused_at_once(live_service: LiveService, room) -> None:
    owner, r = room
    user = owner.create_user("reader-deactivated")
    client = live_service.client(owner.issue_token(user.id).secret)
    client.rooms()
    client.rooms()
    owner.deactivate_user(user.id)
    with pytest.raises(wb.Unauthenticated):
        client.rooms()


def test_a_removed_partner_no_longer_sees_the_room(live_service: LiveService, room) -> None:
    owner, _ = room
    shared = owner.create_room("Shared then not", start_date=dt.date.today() - dt.timedelta(days=1))
    partner = live_service.make_org("Cache partner")
    owner.invite_partner(shared.id, partner.id)
    partner.admin.accept_invitation(shared.id)
    assert partner.admin.room(shared.id).id == shared.id
    assert partner.admin.datasets(shared.id) == []
    owner.remove_partner(shared.id, partner.id)
    with pytest.raises(wb.NotFound):
        partner.admin.room(shared.id)
    with pytest.raises(wb.NotFound):
        partner.admin.datasets(shared.id)


def test_another_users_answer_is_never_served(live_service: LiveService, room) -> None:
    """The key holds a digest of the token: an outsider asking the same path gets its own answer."""
    owner, r = room
    owner.room(r.id)
    outsider = live_service.make_org("Cache outsider")
    with pytest.raises(wb.NotFound):
        outsider.admin.room(r.id)
    denied = [e for e in owner.audit(room_id=None, limit=10_000) if e.actor_org_id == outsider.id]
    assert denied == []  # the outsider's refusal is in its own org's log, not the owner's
    mine = outsider.admin.audit(limit=100)
    assert any(e.action == "room.read" and e.outcome == "denied" for e in mine)

"""Random sequences of governance operations against a small reference model of the rules,
over a live `workbench serve` (each example makes its own three organisations there).

The model is written from DESIGN.md and the seeds, not from the policy module: visibility,
available permissions per partner, the Administrator role, custom roles capped by what is
available, feature toggles, removal and leaving, the owner's Partner Management of partner roles
and members, never leaving an org of the room without an administrator, and the read-only
expired room.
"""

from __future__ import annotations

import datetime as dt
import itertools

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, rule
import pytest

import workbench as wb
from workbench.wire.permissions import Permission as P

from tests.conftest import LiveService

OWNER_ONLY = {P.PARTNER_MANAGEMENT, P.ADD_DELETE_QUESTIONS}
INTEL = {P.INTELLIGENCE_VIEWER, P.INTELLIGENCE_CREATOR}
FLOWS = {P.FLOW_BUILDER, P.FLOW_RUNS, P.VIEW_FLOWS}
DEFAULTS = {P.MANAGE_ROLES, P.MANAGE_DATASETS, P.VIEW_REPORTS, P.INTELLIGENCE_VIEWER}
PARTNER_PERMS = sorted(set(P) - OWNER_ONLY - FLOWS)
SIDES = ("O", "A", "B")
_counter = itertools.count()
#: the live service of this module (a Hypothesis state machine cannot take pytest fixtures)
LIVE: dict[str, LiveService] = {}


@pytest.fixture(scope="module", autouse=True)
def _live(live_service: LiveService):
    LIVE["service"] = live_service
    yield
    LIVE.clear()


class Governance(RuleBasedStateMachine):
    @initialize()
    def setup(self) -> None:
        service = LIVE["service"]
        run = next(_counter)
        root = service.client(service.admin_token)
        self.org, self.admin, self.admin_id = {}, {}, {}
        for side in SIDES:
            made = root.create_org(f"Model {run} {side}", f"{side.lower()}admin")
            self.org[side] = made.org.id
            self.admin[side] = service.client(made.token.secret)
            self.admin_id[side] = made.admin.id
        owner = self.admin["O"]
        self.user = {}
        self.user_id = {}
        for side in SIDES:
            u = self.admin[side].create_user(f"{side} member")
            self.user_id[side] = u.id
            self.user[side] = service.client(self.admin[side].issue_token(u.id).secret)
        self.room = owner.create_room("model room", start_date=dt.date.today() - dt.timedelta(days=5))
        # the model
        self.status = {"A": None, "B": None}          # None | invited | accepted
        self.stored = {"A": set(), "B": set()}        # partner_permissions as stored
        self.roles: dict[str, list[dict]] = {"O": self._builtin(), "A": [], "B": []}
        self.members: dict[tuple[str, str], int] = {("O", self.admin_id["O"]): 0}
        self.intelligence = True
        self.expired = False

    @staticmethod
    def _builtin() -> list[dict]:
        return [{"id": None, "kind": "administrator", "perms": set()},
                {"id": None, "kind": "viewer", "perms": {P.VIEW_REPORTS, P.INTELLIGENCE_VIEWER}}]

    # -- model helpers --------------------------------------------------------------------------
    def available(self, side: str) -> set[P]:
        base = set(P) if side == "O" else set(self.stored[side])
        base -= FLOWS
        if not self.intelligence:
            base -= INTEL
        return base

    def visible(self, side: str) -> bool:
        return side == "O" or self.status[side] in ("invited", "accepted")

    def expect_perms(self, side: str, user_id: str) -> set[P]:
        if side != "O" and self.status[side] != "accepted":
            return set()
        index = self.members.get((side, user_id))
        if index is None:
            return set()
        role = self.roles[side][index]
        avail = self.available(side)
        return avail if role["kind"] == "administrator" else role["perms"] & avail

    def attempt(self, call, *, writes: bool) -> bool:
        """Run ``call``; when the room is expired, a write must be refused as RoomExpired."""
        if writes and self.expired:
            try:
                call()
            except wb.RoomExpired:
                return False
            raise AssertionError("a write succeeded in an expired room")
        call()
        return True

    def admins(self, side: str) -> list[str]:
        """Users of ``side`` holding its administrator role in the room."""
        return [u for (s, u), i in self.members.items() if s == side and self.roles[s][i]["kind"] == "administrator"]

    def sync_role_ids(self, side: str) -> None:
        got = self.admin[side].roles(self.room.id)
        builtin = {r.kind: r.id for r in got}
        for role in self.roles[side]:
            if role["kind"] != "custom":
                role["id"] = builtin[role["kind"]]

    # -- rules ----------------------------------------------------------------------------------
    @rule(side=st.sampled_from(("A", "B")))
    def invite(self, side: str) -> None:
        if self.status[side] is not None and not self.expired:
            try:
                self.admin["O"].invite_partner(self.room.id, self.org[side])
            except wb.Conflict:
                return
            raise AssertionError("a second invitation was accepted")
        if self.attempt(lambda: self.admin["O"].invite_partner(self.room.id, self.org[side]), writes=True):
            self.status[side] = "invited"
            self.stored[side] = set(DEFAULTS)

    @rule(side=st.sampled_from(("A", "B")), accept=st.booleans())
    def respond(self, side: str, accept: bool) -> None:
        client = self.admin[side]
        if self.status[side] != "invited":
            try:
                (client.accept_invitation if accept else client.decline_invitation)(self.room.id)
            except (wb.NotFound, wb.Conflict, wb.PermissionDenied, wb.RoomExpired):
                return
            raise AssertionError("responded without a pending invitation")
        if accept:
            if self.attempt(lambda: client.accept_invitation(self.room.id), writes=True):
                self.status[side] = "accepted"
                self.roles[side] = self._builtin()
                self.members[(side, self.admin_id[side])] = 0
                self.sync_role_ids(side)
        elif self.attempt(lambda: client.decline_invitation(self.room.id), writes=True):
            self.status[side] = None

    @rule(side=st.sampled_from(("A", "B")))
    def remove(self, side: str) -> None:
        if self.status[side] is None:
            try:
                self.admin["O"].remove_partner(self.room.id, self.org[side])
            except (wb.NotFound, wb.RoomExpired):
                return
            raise AssertionError("removed an org that is not a partner")
        if self.attempt(lambda: self.admin["O"].remove_partner(self.room.id, self.org[side]), writes=True):
            self.status[side] = None
            self.stored[side] = set()
            self.roles[side] = []
            for key in [k for k in self.members if k[0] == side]:
                del self.members[key]

    @rule(side=st.sampled_from(("A", "B")), perms=st.sets(st.sampled_from(PARTNER_PERMS)),
          add_owner_only=st.booleans())
    def set_available(self, side: str, perms: set[P], add_owner_only: bool) -> None:
        wanted = set(perms) | ({P.PARTNER_MANAGEMENT} if add_owner_only else set())
        call = lambda: self.admin["O"].set_partner_permissions(self.room.id, self.org[side], sorted(wanted))  # noqa: E731
        bad = add_owner_only or (not self.intelligence and wanted & INTEL)
        if self.status[side] is None or bad:
            try:
                call()
            except (wb.InvalidInput, wb.NotFound, wb.RoomExpired):
                return
            raise AssertionError("set permissions that must be refused")
        if self.attempt(call, writes=True):
            self.stored[side] = set(wanted)
            for role in self.roles[side]:
                role["perms"] &= wanted

    @rule(side=st.sampled_from(SIDES), perms=st.sets(st.sampled_from(sorted(set(P) - FLOWS))))
    def create_role(self, side: str, perms: set[P]) -> None:
        client = self.admin[side]
        if self.expect_perms(side, self.admin_id[side]) & {P.MANAGE_ROLES} == set():
            try:
                client.create_role(self.room.id, f"r{next(_counter)}", sorted(perms))
            except (wb.PermissionDenied, wb.NotFound, wb.RoomExpired):
                return
            raise AssertionError("created a role without Manage Clean Room Roles")
        if not perms <= self.available(side):
            try:
                self.attempt(lambda: client.create_role(self.room.id, f"r{next(_counter)}", sorted(perms)), writes=True)
            except wb.InvalidInput:
                return
            assert self.expired
            return
        holder = {}
        if self.attempt(lambda: holder.setdefault("r", client.create_role(self.room.id, f"r{next(_counter)}", sorted(perms))),
                        writes=True):
            self.roles[side].append({"id": holder["r"].id, "kind": "custom", "perms": set(perms)})

    @rule(side=st.sampled_from(SIDES), index=st.integers(0, 5))
    def assign(self, side: str, index: int) -> None:
        if not self.roles[side] or self.expect_perms(side, self.admin_id[side]) & {P.MANAGE_ROLES} == set():
            return
        index %= len(self.roles[side])
        self.sync_role_ids(side)
        role_id = self.roles[side][index]["id"]
        call = lambda: self.admin[side].add_member(self.room.id, self.user_id[side], role_id)  # noqa: E731
        if not self.expired and self.roles[side][index]["kind"] != "administrator" and \
                self.admins(side) == [self.user_id[side]]:
            try:
                call()
            except wb.Conflict:
                return
            raise AssertionError("demoted the last administrator of an org")
        if self.attempt(call, writes=True):
            self.members[(side, self.user_id[side])] = index

    @rule(side=st.sampled_from(("A", "B")))
    def leave(self, side: str) -> None:
        client = self.admin[side]
        if self.status[side] != "accepted" or P.MANAGE_ROLES not in self.expect_perms(side, self.admin_id[side]):
            try:
                client.leave_room(self.room.id)
            except (wb.NotFound, wb.PermissionDenied):
                return
            raise AssertionError("left a room without standing to")
        client.leave_room(self.room.id)  # leaving is allowed in an expired room too
        self.status[side] = None
        self.stored[side] = set()
        self.roles[side] = []
        for key in [k for k in self.members if k[0] == side]:
            del self.members[key]

    @rule(side=st.sampled_from(("A", "B")), perms=st.sets(st.sampled_from(sorted(set(P) - FLOWS))))
    def owner_creates_partner_role(self, side: str, perms: set[P]) -> None:
        """Partner Management: a partner's role, only from what the partner may use."""
        call = lambda: self.admin["O"].create_role(self.room.id, f"p{next(_counter)}", sorted(perms),  # noqa: E731
                                                   org_id=self.org[side])
        if P.PARTNER_MANAGEMENT not in self.expect_perms("O", self.admin_id["O"]):
            try:
                call()
            except wb.PermissionDenied:
                return
            raise AssertionError("managed a partner's roles without Partner Management")
        if self.expired:
            self.attempt(call, writes=True)
            return
        if self.status[side] != "accepted" or not perms <= self.available(side):
            try:
                call()
            except (wb.NotFound, wb.InvalidInput):
                return
            raise AssertionError("made a partner role the partner may not have")
        made = call()
        assert made.org_id == self.org[side]
        self.roles[side].append({"id": made.id, "kind": "custom", "perms": set(perms)})

    @rule(side=st.sampled_from(SIDES), index=st.integers(0, 5), by_owner=st.booleans())
    def change_admins_role(self, side: str, index: int, by_owner: bool) -> None:
        """An org's administrator gets another role, from its own org or (Partner Management)
        from the owner; the last administrator of an org is never demoted."""
        manager = "O" if by_owner and side != "O" else side
        needed = P.PARTNER_MANAGEMENT if manager != side else P.MANAGE_ROLES
        target = self.admin_id[side]
        if not self.roles[side] or (side, target) not in self.members or \
                needed not in self.expect_perms(manager, self.admin_id[manager]):
            return
        index %= len(self.roles[side])
        self.sync_role_ids(side)
        role = self.roles[side][index]
        org_id = self.org[side] if manager != side else None
        call = lambda: self.admin[manager].add_member(self.room.id, target, role["id"], org_id=org_id)  # noqa: E731
        if self.expired:
            self.attempt(call, writes=True)
            return
        if role["kind"] != "administrator" and self.admins(side) == [target]:
            try:
                call()
            except wb.Conflict:
                return
            raise AssertionError("demoted the last administrator of an org")
        call()
        self.members[(side, target)] = index

    @rule(on=st.booleans())
    def toggle_intelligence(self, on: bool) -> None:
        self.admin["O"].update_room(self.room.id, intelligence=on)
        if not on:
            for side in ("A", "B"):
                self.stored[side] -= INTEL
            for roles in self.roles.values():
                for role in roles:
                    role["perms"] -= INTEL
        self.intelligence = on

    @rule(expire=st.booleans())
    def set_end_date(self, expire: bool) -> None:
        end = dt.date.today() + dt.timedelta(days=-1 if expire else 30)
        self.admin["O"].update_room(self.room.id, end_date=end)
        self.expired = expire

    @invariant()
    def everyone_sees_what_the_model_says(self) -> None:
        if not hasattr(self, "room"):
            return
        for side in SIDES:
            for client, user_id in ((self.admin[side], self.admin_id[side]), (self.user[side], self.user_id[side])):
                if not self.visible(side):
                    try:
                        client.room(self.room.id)
                    except wb.NotFound:
                        continue
                    raise AssertionError(f"{side} sees a room it should not")
                got = client.room(self.room.id)
                assert set(got.my_permissions) == {p.value for p in self.expect_perms(side, user_id)}, side
                assert got.status == ("expired" if self.expired else "active")
            if self.visible(side) and (side == "O" or self.status[side] == "accepted"):
                assert self.admins(side), f"{side} has no administrator left"


Governance.TestCase.settings = settings(
    max_examples=12, stateful_step_count=14, deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)
TestGovernanceModel = Governance.TestCase

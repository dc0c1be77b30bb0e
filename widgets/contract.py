"""The privacy contract panel the owner and partner consoles embed: the strictest protections in
force, every data party's budget, the room's proposals with approve/decline for the parties they
affect, and the verification state of the room's hash-chained ledger.

Only the service decides: the panel shows Approve/Decline where the signed-in org is a pending
party of a proposal, and every refusal comes back as the service's message.
"""

from __future__ import annotations

from typing import Any

import ipywidgets as W

from widgets._common import Status, button, esc, guarded, heading, set_options, show, table_html
from workbench.client import Client
from workbench.errors import TamperDetected
from workbench.wire import contract as wc
from workbench.wire import governance as w


class ContractPanel(W.VBox):
    """Protections, per-party budgets, proposals and ledger verification of one room."""

    def __init__(self, client: Client, **kwargs: Any) -> None:
        self.client = client
        self.room: w.Room | None = None
        self.org_id: str | None = None
        self.proposals: list[wc.Proposal] = []
        self.status = Status()
        self.protections = W.HTML()
        self.budgets = W.HTML()
        self.table = W.HTML()
        self.pick = W.Dropdown(description="Proposal", options=[])
        self.approve = button("Approve", "success")
        self.approve.on_click(lambda _: self._decide(True))
        self.decline = button("Decline", "danger")
        self.decline.on_click(lambda _: self._decide(False))
        self.decide_box = W.HBox([self.pick, self.approve, self.decline])
        self.verification = W.HTML()
        self.verify = button("Verify ledger")
        self.verify.on_click(lambda _: self._verify())
        super().__init__([
            heading("Privacy contract", 4), self.protections, self.budgets,
            heading("Proposals", 5), self.table, self.decide_box,
            heading("Ledger verification", 5), W.HBox([self.verify, self.verification]),
            self.status,
        ], **kwargs)
        self.add_class("wb-contract")
        show(self.decide_box, False)

    def load(self, room: w.Room | None) -> None:
        """Show ``room``'s contract (nothing when no room is picked)."""
        self.room = room
        self.verification.value = ""
        if room is None:
            self.protections.value = self.budgets.value = self.table.value = ""
            show(self.decide_box, False)
            return
        if self.org_id is None:
            me = guarded(self.status, self.client.whoami)
            self.org_id = me.org.id if me else None
        shown = guarded(self.status, lambda: self.client.protections(room.id))
        if shown is not None:
            floors = ", ".join(f"{k}: {v}" for k, v in sorted(shown.dataset_floors.items()))
            self.protections.value = (
                "<div class='wb-protections'>"
                f"<b>Differential privacy:</b> {'on' if shown.dp_enabled else 'OFF (exact results)'}"
                f" · <b>effective k-min:</b> {shown.effective_k_min} (room {shown.room_k_min}"
                + (f"; dataset floors {esc(floors)}" if floors else "") + ")"
                f" · <b>open proposals:</b> {shown.open_proposals}</div>")
            self.budgets.value = table_html(
                ["data party", "ε budget", "ε spent", "δ budget", "δ spent"],
                [(p.org_name, p.epsilon_total, _theirs(p.epsilon_spent), p.delta_total,
                  _theirs(p.delta_spent)) for p in shown.parties], css_class="wb-party-budgets",
                empty="no party has provisioned data yet")
        self.proposals = guarded(self.status, lambda: self.client.proposals(room.id)) or []
        self.table.value = table_html(
            ["proposal", "changes", "why it weakens protection", "status", "decisions"],
            [(p.id[:8], ", ".join(f"{k}={v}" for k, v in sorted(p.changes.items())),
              "; ".join(p.reasons), p.status,
              ", ".join(f"{c.org_name}: {c.decision}" for c in p.consents))
             for p in self.proposals], css_class="wb-proposals", empty="no proposals")
        mine = [(f"{p.id[:8]}: {'; '.join(p.reasons)}", p.id) for p in self.proposals
                if p.status == "open" and any(c.org_id == self.org_id and c.decision == "pending"
                                              for c in p.consents)]
        set_options(self.pick, mine, self.pick.value)
        show(self.decide_box, bool(mine))

    def _decide(self, approve: bool) -> None:
        room, proposal_id = self.room, self.pick.value
        if room is None or proposal_id is None:
            self.status.error("pick a proposal first")
            return
        call = self.client.approve if approve else self.client.decline
        done = guarded(self.status, lambda: call(room.id, proposal_id))
        if done is not None:
            self.load(room)
            self.status.ok(f"proposal {'approved' if approve else 'declined'}: it is now {done.status}")

    def _verify(self) -> None:
        room = self.room
        if room is None:
            return
        try:
            result = self.client.verify(room.id)
        except TamperDetected as exc:
            self.verification.value = (f"<span class='wb-tamper' style='color:#b00020'><b>Tampering "
                                       f"detected:</b> {esc(exc.message)}</span>")
            return
        except Exception as exc:  # the service's refusal, shown as text
            self.status.error(exc)
            return
        since = ("first verification on this machine" if result.previous_length is None
                 else f"extends the {result.previous_length} entries verified before")
        self.verification.value = (
            f"<span class='wb-verified' style='color:#1b6e20'>Verified {result.length} ledger "
            f"entries ({result.recomputed} of yours recomputed); head <code>{esc(result.head[:16])}"
            f"</code>; {esc(since)}</span>")


def _theirs(spent: str | None) -> str:
    """Another party's spend is its own (the service sends None); say so instead of a number."""
    return "not shown" if spent is None else spent

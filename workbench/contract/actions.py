"""The contract's actions, as data; workbench.wiring installs them and the policy decides each one."""

from __future__ import annotations

from workbench.contract.consent import may_decide, may_set_floor
from workbench.governance.actions import Action
from workbench.governance.permissions import Permission

MD = Permission.MANAGE_DATASETS
ACTIONS: tuple[Action, ...] = (
    Action(name="contract.propose", permission=Permission.PARTNER_MANAGEMENT, owner_only=True,
           writes=True,
           description="Propose a change that weakens the data parties' protection (DP off, lower "
                       "k-min, larger budgets); it applies when every affected party approves."),
    Action(name="contract.decide", permission=MD, writes=True, check=may_decide,
           description="Approve or decline a proposal as a data party it affects."),
    Action(name="contract.proposals.list",
           description="See every proposal of the room and each party's decision."),
    Action(name="contract.floor.set", permission=MD, writes=True, check=may_set_floor,
           description="Set or remove one's own dataset's k-min floor in the room (the strictest "
                       "of the room's k-min and the floors wins)."),
    Action(name="contract.protections.read",
           description="See the strictest protections in force: k-min, dataset floors, DP."),
    Action(name="contract.chain.read",
           description="Read the room's hash-chained ledger: every hash, one's own entries in full."),
    Action(name="run.limits.set", permission=Permission.PARTNER_MANAGEMENT, owner_only=True,
           writes=True,
           description="Set the room's run timeout and concurrent run limits."),
    Action(name="run.limits.read", description="See the room's run timeout and concurrency limits."),
)

"""The twin actions, as data; workbench.wiring installs them and the policy decides each one.

A twin is published (and withdrawn) only by the organisation whose dataset it copies: it spends
that organisation's budget. Drafts on twins are for question builders and spend nothing.
"""

from __future__ import annotations

from typing import Any

from workbench.data import _records as data_rec
from workbench.governance.actions import Action
from workbench.governance.model import Actor, RoomAccess
from workbench.governance.permissions import Permission
from workbench.twins import _records as rec


def _own_dataset(cur: Any, actor: Actor, access: RoomAccess, dataset_id: str | None) -> str | None:
    """Only the org that provisioned a dataset publishes its twin (and pays for it)."""
    ds = None if dataset_id is None else data_rec.dataset(cur, access.room.id, dataset_id)
    if ds is not None and ds.org_id != actor.org_id:
        return "only the organisation that provisioned a dataset may publish its synthetic twin"
    return None


def _own_twin(cur: Any, actor: Actor, access: RoomAccess, twin_id: str | None) -> str | None:
    """Only the org whose dataset a twin copies withdraws it."""
    found = None if twin_id is None else rec.twin(cur, access.room.id, twin_id)
    if found is not None and found.org_id != actor.org_id:
        return "only the organisation whose dataset a twin copies may withdraw it"
    return None


ACTIONS: tuple[Action, ...] = (
    Action(name="twin.publish", permission=Permission.MANAGE_DATASETS, writes=True,
           check=_own_dataset,
           description="Publish a DP synthetic twin of one's own provisioned dataset (charged "
                       "once to one's own budget in the room)."),
    Action(name="twin.read",
           description="See the room's synthetic twins: status, modelled columns, cost."),
    Action(name="twin.delete", permission=Permission.MANAGE_DATASETS, check=_own_twin,
           description="Withdraw one's own synthetic twin (the budget spent stays spent)."),
    Action(name="twin.draft", permission=Permission.QUESTION_BUILDER,
           description="Run a draft question on the room's synthetic twins: free, labelled "
                       "synthetic, never stored as a run."),
)

"""The dataset actions, as data; workbench.wiring installs them and the policy decides each one."""

from __future__ import annotations

from typing import Any

from workbench.data import _records as rec
from workbench.governance.actions import Action
from workbench.governance.model import Actor, RoomAccess
from workbench.governance.permissions import OrgRight, Permission


def _may_assign(cur: Any, actor: Actor, access: RoomAccess, dataset_id: str | None) -> str | None:
    """Another org's dataset may be mapped only when its owner let partners assign it."""
    if dataset_id is None:
        return None
    ds = rec.dataset(cur, access.room.id, dataset_id)
    if ds is None or ds.org_id == actor.org_id:
        return None
    if not ds.partners_may_assign:
        return "the dataset's organisation does not let partners assign it to questions"
    return None


def _own_dataset(cur: Any, actor: Actor, access: RoomAccess, dataset_id: str | None) -> str | None:
    """Only the org that provisioned a dataset changes its rules or unlinks it."""
    ds = None if dataset_id is None else rec.dataset(cur, access.room.id, dataset_id)
    if ds is not None and ds.org_id != actor.org_id:
        return "only the organisation that provisioned a dataset may change its rules or unlink it"
    return None


DC = OrgRight.DATA_CONNECTIONS
MD = Permission.MANAGE_DATASETS
ACTIONS: tuple[Action, ...] = (
    Action(name="data.upload", scope="org", org_right=DC,
           description="Stream a file (CSV, Parquet or a DataFrame) to the service for a data connection."),
    Action(name="data.connection.create", scope="org", org_right=DC,
           description="Create a data connection: pick fields, label PII, hash the identity column."),
    Action(name="data.connection.read", scope="org", org_right=OrgRight.DATA_IMPORT_READ,
           description="Read one's organisation's data connections, schemas and ingest reports (the "
                       "org right data_import_read, which data connection managers hold too)."),
    Action(name="data.connection.delete", scope="org", org_right=DC,
           description="Delete a data connection and everything derived from it, leaving no residue."),
    Action(name="dataset.provision", permission=MD, writes=True,
           description="Provision a data connection into a room: queryable columns, row filter, "
                       "whether partners may assign it."),
    Action(name="dataset.unprovision", permission=MD, check=_own_dataset,
           description="Unlink a dataset from a room with its views, rules, mappings and results "
                       "(allowed after the end date: removing data is always possible)."),
    Action(name="dataset.rules.set", permission=MD, writes=True, check=_own_dataset,
           description="Set a provisioned dataset's analysis rules (a new audited version)."),
    Action(name="dataset.read", description="See the room's provisioned datasets: names, schemas, "
                                            "labels, rules and mappings (never rows)."),
    Action(name="template.fields.set", permission=Permission.ADD_DELETE_QUESTIONS, owner_only=True,
           writes=True, description="Declare the room's template: dataset and field macros and terms."),
    Action(name="dataset.map", permission=MD, writes=True, check=_may_assign,
           description="Map a provisioned dataset and its columns to a template dataset macro."),
)

"""Assembles the service from its packages: every action and every unlink hook, listed here.

Packages describe their actions as data (an ``ACTIONS`` tuple in their ``actions`` module) and
write their unlink hooks as plain functions; nothing registers itself on import. :func:`wire`
installs them all, so the policy and the unlink never depend on which modules happened to be
imported first. The service app, the in-process client and the CLI call it before serving.

Adding a package: one line in ``ACTION_SETS`` (and one in ``UNLINK_HOOKS`` if it derives objects
from provisioned datasets).
"""

from __future__ import annotations

import threading

from workbench.audiences import actions as audiences_actions
from workbench.audiences.cohorts import drop_cohorts_of_unlinked_data
from workbench.contract import actions as contract_actions
from workbench.dashboards import actions as dashboards_actions
from workbench.dashboards.operations import drop_charts_of_unlinked_data
from workbench.data import actions as data_actions
from workbench.data import hooks
from workbench.governance import actions as registry
from workbench.questions import actions as questions_actions
from workbench.runs import actions as runs_actions
from workbench.runs.operations import drop_derived_runs
from workbench.schedules import actions as schedules_actions
from workbench.twins import actions as twins_actions
from workbench.twins.operations import drop_twins_of_unlinked_data

#: every package's actions, one line per package
ACTION_SETS: tuple[tuple[registry.Action, ...], ...] = (
    registry.ACTIONS,
    data_actions.ACTIONS,
    questions_actions.ACTIONS,
    runs_actions.ACTIONS,
    dashboards_actions.ACTIONS,
    contract_actions.ACTIONS,
    schedules_actions.ACTIONS,
    audiences_actions.ACTIONS,
    twins_actions.ACTIONS,
)

#: what an unlink removes besides the dataset, in this order: charts draw runs, so they go first
UNLINK_HOOKS: tuple[hooks.UnlinkHook, ...] = (
    drop_charts_of_unlinked_data,
    drop_derived_runs,
    drop_cohorts_of_unlinked_data,
    drop_twins_of_unlinked_data,
)

_lock = threading.Lock()


def all_actions() -> tuple[registry.Action, ...]:
    """Every action of every package, refusing one name listed twice (in one package or two)."""
    seen: dict[str, registry.Action] = {}
    for actions in ACTION_SETS:
        for action in actions:
            if action.name in seen:
                raise RuntimeError(f"action {action.name!r} is listed twice in workbench.wiring")
            seen[action.name] = action
    return tuple(seen.values())


def wire() -> None:
    """Install every action in the policy's registry and every unlink hook; safe to call again."""
    with _lock:
        registry.register(*all_actions())
        for hook in UNLINK_HOOKS:
            hooks.on_unlink(hook)

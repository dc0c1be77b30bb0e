"""Cleanup hooks: packages that derive objects from a dataset remove them when it is unlinked.

A run result, cached output or audience computed from a provisioned dataset is derived data; when
the dataset leaves the room it must go too. Owners of such objects write a function;
:mod:`workbench.wiring` lists every one and installs them here, in an explicit order. The unlink
calls each inside the same transaction, so either everything goes or nothing does.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

#: (cursor, room_id, dataset_id) -> number of derived objects removed
UnlinkHook = Callable[[Any, str, str], int]

_HOOKS: list[UnlinkHook] = []


def on_unlink(hook: UnlinkHook) -> UnlinkHook:
    """Register ``hook``; registering the same function twice is a no-op (wiring calls this)."""
    if hook not in _HOOKS:
        _HOOKS.append(hook)
    return hook


def run_unlink_hooks(cur: Any, room_id: str, dataset_id: str) -> int:
    """Call every hook; the total of what they removed."""
    return sum(int(hook(cur, room_id, dataset_id) or 0) for hook in list(_HOOKS))

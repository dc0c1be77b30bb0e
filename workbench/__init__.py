"""Clean Room Workbench: a Jupyter-native data clean room.

``import workbench as wb`` gives the public API:

- ``wb.connect(url, token)``: a client of a running service (notebooks, widgets, apps);
- ``wb.connect_local(store_dir, token)``: the same client over an in-process service;
- ``wb.Permission``: the clean-room permissions roles are made of;
- the exceptions every call can raise (``wb.NotFound``, ``wb.BudgetExceeded`` ...).

Map of the package: ``client/`` and ``wire/`` are the client side; ``service/`` (HTTP API),
``governance/`` (policy, audit), ``data/``, ``questions/``, ``privacy/`` (the only OpenDP user),
``engine/`` and ``store/`` (the only DuckDB users) are the service side.
"""

from __future__ import annotations

from typing import Any

__version__ = "0.1.0"

from workbench.client import Client, connect
from workbench.errors import (
    BudgetExceeded,
    Busy,
    Conflict,
    InvalidInput,
    NotFound,
    PayloadTooLarge,
    PermissionDenied,
    RoomExpired,
    RuleViolation,
    TamperDetected,
    Unauthenticated,
    WorkbenchError,
)
from workbench.wire.permissions import Permission

__all__ = [
    "BudgetExceeded",
    "Busy",
    "Client",
    "Conflict",
    "InvalidInput",
    "NotFound",
    "PayloadTooLarge",
    "Permission",
    "PermissionDenied",
    "RoomExpired",
    "RuleViolation",
    "TamperDetected",
    "Unauthenticated",
    "WorkbenchError",
    "__version__",
    "connect",
    "connect_local",
]


def __getattr__(name: str) -> Any:
    # connect_local brings in the service side; import it only when asked for
    if name == "connect_local":
        from workbench.service.local import connect_local

        return connect_local
    raise AttributeError(f"module 'workbench' has no attribute {name!r}")

"""ipywidgets consoles of the clean room, built only on ``workbench.client``.

- :class:`OwnerConsole`, :class:`PartnerConsole`: governance; :class:`AuditLog`: the audit log
- :class:`Administration`: users, org roles, API tokens, trusted partners, room templates, budgets
- :class:`QuestionRunner`: plan, run and explore released results (analysts)
- :class:`Dashboards`: Intelligence dashboards (creators build, viewers look)
- :class:`DatasetManager`: connections, provisioning, analysis rules, template mapping, readiness
- :class:`QuestionBuilder`: SQL with macros, typed parameters, violations inline, permissions, terms
- :func:`signed_in` and the ``*_app`` functions: the Voilà apps, with the shared sign-in
  (:mod:`widgets.session`); :func:`home_app` lists them by persona

Names load on first use, so an app shows its sign-in form without importing every console.
"""

from __future__ import annotations

import importlib
from typing import Any

_WHERE = {
    "AuditLog": "widgets.audit", "MembersPanel": "widgets.governance",
    "OwnerConsole": "widgets.governance", "PartnerConsole": "widgets.governance",
    "RolesPanel": "widgets.governance", "QuestionRunner": "widgets.runner", "Dashboards": "widgets.dashboards",
    "DatasetManager": "widgets.datasets", "QuestionBuilder": "widgets.questions",
    "Administration": "widgets.admin", "admin_app": "widgets.admin",
    "analyst_app": "widgets.app", "dashboards_app": "widgets.app", "data_and_questions_app": "widgets.app",
    "owner_app": "widgets.app",
    "partner_app": "widgets.app", "signed_in": "widgets.app", "home_app": "widgets.home",
}
__all__ = sorted(_WHERE)


def __getattr__(name: str) -> Any:
    if name in _WHERE:
        return getattr(importlib.import_module(_WHERE[name]), name)
    raise AttributeError(f"module 'widgets' has no attribute {name!r}")

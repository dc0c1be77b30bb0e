"""ipywidgets consoles of the clean room, built only on ``workbench.client``.

- :class:`OwnerConsole`, :class:`PartnerConsole`, :class:`AuditViewer`: governance
- :class:`QuestionRunner`: plan, run and explore released results (analysts)
- :class:`Dashboards`: Intelligence dashboards (creators build, viewers look)
- :func:`signed_in` and the ``*_app`` functions: the Voilà apps, with a sign-in step
"""

from widgets.app import analyst_app, dashboards_app, owner_app, partner_app, signed_in
from widgets.dashboards import Dashboards
from widgets.governance import AuditViewer, MembersPanel, OwnerConsole, PartnerConsole, RolesPanel
from widgets.runner import QuestionRunner

__all__ = [
    "AuditViewer", "Dashboards", "MembersPanel", "OwnerConsole", "PartnerConsole", "QuestionRunner",
    "RolesPanel", "analyst_app", "dashboards_app", "owner_app", "partner_app", "signed_in",
]

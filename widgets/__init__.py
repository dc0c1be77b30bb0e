"""ipywidgets consoles of the clean room, built only on ``workbench.client``.

- :class:`OwnerConsole`, :class:`PartnerConsole`, :class:`AuditViewer`: governance
- :func:`signed_in`: wraps a console in a sign-in form unless a token is configured
"""

from widgets.app import owner_app, partner_app, signed_in
from widgets.governance import AuditViewer, MembersPanel, OwnerConsole, PartnerConsole, RolesPanel

__all__ = ["AuditViewer", "MembersPanel", "OwnerConsole", "PartnerConsole", "RolesPanel", "owner_app", "partner_app", "signed_in"]

"""Clean-room permission rules, as data.

The seed products' permission table lives here once. Everything else (defaults for partners,
the Administrator and Viewer roles, feature gating) is derived from these tables.
"""

from __future__ import annotations

from workbench.wire.permissions import LABELS, OrgRight, Permission

__all__ = ["LABELS", "OrgRight", "Permission"]

OWNER_ONLY: frozenset[Permission] = frozenset(
    {Permission.PARTNER_MANAGEMENT, Permission.ADD_DELETE_QUESTIONS}
)
INTELLIGENCE: frozenset[Permission] = frozenset(
    {Permission.INTELLIGENCE_VIEWER, Permission.INTELLIGENCE_CREATOR}
)
FLOWS: frozenset[Permission] = frozenset(
    {Permission.FLOW_BUILDER, Permission.FLOW_RUNS, Permission.VIEW_FLOWS}
)
VIEWER_ROLE: frozenset[Permission] = frozenset(
    {Permission.VIEW_REPORTS, Permission.INTELLIGENCE_VIEWER}
)
PARTNER_DEFAULTS: frozenset[Permission] = frozenset(
    {
        Permission.MANAGE_ROLES,
        Permission.MANAGE_DATASETS,
        Permission.VIEW_REPORTS,
        Permission.INTELLIGENCE_VIEWER,
    }
)


def feature_enabled(permissions: frozenset[Permission], *, intelligence: bool, flows: bool) -> frozenset[Permission]:
    """Drop permissions whose feature is switched off in the room."""
    out = set(permissions)
    if not intelligence:
        out -= INTELLIGENCE
    if not flows:
        out -= FLOWS
    return frozenset(out)


def owner_available(*, intelligence: bool, flows: bool) -> frozenset[Permission]:
    """Everything, for the owner org, within the room's features."""
    return feature_enabled(frozenset(Permission), intelligence=intelligence, flows=flows)


def parse_permissions(values: object) -> frozenset[Permission]:
    """Permissions from names (enum values or labels), with a clear error for unknown ones."""
    from workbench.errors import InvalidInput

    if not isinstance(values, (list, tuple, set, frozenset)):
        raise InvalidInput("permissions must be a list of permission names")
    by_label = {label.lower(): p for p, label in LABELS.items()}
    out = set()
    for v in values:
        if not isinstance(v, str):
            raise InvalidInput(f"permission names are strings, got {type(v).__name__}")
        p = by_label.get(v.lower()) or next((q for q in Permission if q.value == v), None)
        if p is None:
            known = ", ".join(q.value for q in Permission)
            raise InvalidInput(f"unknown permission {v!r}; known: {known}")
        out.add(p)
    return frozenset(out)


#: the built-in org roles (the seeds' optional defaults): key -> (name, rights bundled)
BUILTIN_ORG_ROLES: dict[str, tuple[str, frozenset[OrgRight]]] = {
    "org_admin": ("Organisation Administrator", frozenset(OrgRight)),
    "clean_room_admin": ("Clean Room Administrator", frozenset({OrgRight.CREATE_ROOMS})),
    "intelligence_admin": ("Intelligence Administrator", frozenset({OrgRight.INTELLIGENCE})),
    "question_builder_admin": ("Question Builder Administrator", frozenset({OrgRight.QUESTION_BUILDER})),
    "data_import_read_only": ("Data Import Jobs Read-only", frozenset({OrgRight.DATA_IMPORT_READ})),
    "user_management": ("User Management", frozenset({OrgRight.MANAGE_USERS})),
    "data_connections": ("Data Connections Administrator",
                         frozenset({OrgRight.DATA_CONNECTIONS, OrgRight.DATA_IMPORT_READ})),
}

#: room permissions that also need an org entitlement of the acting user: the org roles Question
#: Builder Administrator and Intelligence Administrator gate authoring questions and dashboards
ENTITLEMENTS: dict[Permission, OrgRight] = {
    Permission.QUESTION_BUILDER: OrgRight.QUESTION_BUILDER,
    Permission.INTELLIGENCE_CREATOR: OrgRight.INTELLIGENCE,
}


def rights_of_roles(keys: frozenset[str] | list[str], custom: dict[str, list[str]]) -> frozenset[str]:
    """The org rights a user holds through its org roles.

    ``keys`` are built-in role keys, custom role ids (looked up in ``custom``), or a single org
    right (how stores made before org roles recorded rights; still honoured).
    """
    rights: set[str] = set()
    for key in keys:
        if key in BUILTIN_ORG_ROLES:
            rights |= {r.value for r in BUILTIN_ORG_ROLES[key][1]}
        elif key in custom:
            rights |= set(custom[key])
        elif key in {r.value for r in OrgRight}:
            rights.add(key)
    if OrgRight.ADMIN.value in rights:
        rights |= {r.value for r in OrgRight}
    return frozenset(rights)


#: the built-in org role that grants each entitlement, named in refusals
ENTITLEMENT_ROLES: dict[OrgRight, str] = {
    right: next(name for key, (name, rights) in BUILTIN_ORG_ROLES.items() if key != "org_admin" and right in rights)
    for right in ENTITLEMENTS.values()
}

"""The vocabulary of clean-room permissions and org rights, shared by service and client."""

from __future__ import annotations

from enum import StrEnum


class Permission(StrEnum):
    """A clean-room permission; a role is a set of these."""

    MANAGE_ROLES = "manage_clean_room_roles"
    MANAGE_DATASETS = "manage_datasets"
    VIEW_REPORTS = "view_reports"
    RUNS = "create_delete_question_runs"
    SCHEDULES = "manage_question_schedules"
    QUESTION_BUILDER = "question_builder"
    INTELLIGENCE_VIEWER = "intelligence_viewer"
    INTELLIGENCE_CREATOR = "intelligence_creator"
    FLOW_BUILDER = "flow_builder"
    FLOW_RUNS = "flow_runs"
    VIEW_FLOWS = "view_flows"
    PARTNER_MANAGEMENT = "partner_management"
    ADD_DELETE_QUESTIONS = "add_delete_questions"
    #: export cohorts' membership to the activation party's destinations (audiences)
    ACTIVATE_AUDIENCES = "activate_audiences"


class OrgRight(StrEnum):
    """An organisation-level right; grants nothing inside a room the org does not own.

    Users hold rights through org roles (named bundles of rights); ``org_admin`` holds them all.
    """

    ADMIN = "org_admin"
    CREATE_ROOMS = "create_rooms"
    DATA_CONNECTIONS = "data_connections"
    #: add, edit and deactivate users of the org, issue and revoke their tokens
    MANAGE_USERS = "manage_users"
    #: the org entitlement Question Builder needs besides the room permission
    QUESTION_BUILDER = "question_builder"
    #: build Intelligence dashboards (with Intelligence Creator in the room)
    INTELLIGENCE = "intelligence"
    #: read data import jobs (connections and their ingest reports) without changing them
    DATA_IMPORT_READ = "data_import_read"


#: what each org right allows, for consoles and error messages
ORG_RIGHT_LABELS: dict[OrgRight, str] = {
    OrgRight.ADMIN: "Organisation administration (every org right)",
    OrgRight.CREATE_ROOMS: "Create and administer clean rooms",
    OrgRight.DATA_CONNECTIONS: "Manage data connections",
    OrgRight.MANAGE_USERS: "Manage users and API tokens",
    OrgRight.QUESTION_BUILDER: "Question Builder entitlement",
    OrgRight.INTELLIGENCE: "Intelligence entitlement",
    OrgRight.DATA_IMPORT_READ: "Read data import jobs",
}


#: a person-readable label and what each permission allows
LABELS: dict[Permission, str] = {
    Permission.MANAGE_ROLES: "Manage Clean Room Roles",
    Permission.MANAGE_DATASETS: "Manage Datasets",
    Permission.VIEW_REPORTS: "View Reports",
    Permission.RUNS: "Create & Delete Question Runs",
    Permission.SCHEDULES: "Create/Modify/Delete Question Schedules",
    Permission.QUESTION_BUILDER: "Question Builder",
    Permission.INTELLIGENCE_VIEWER: "Intelligence Viewer",
    Permission.INTELLIGENCE_CREATOR: "Intelligence Creator",
    Permission.FLOW_BUILDER: "Flow Builder",
    Permission.FLOW_RUNS: "Flow Runs",
    Permission.VIEW_FLOWS: "View Flows",
    Permission.PARTNER_MANAGEMENT: "Partner Management",
    Permission.ADD_DELETE_QUESTIONS: "Add and Delete Questions",
    Permission.ACTIVATE_AUDIENCES: "Activate Audiences",
}

-- Users can be deactivated: their tokens stop working, their room memberships stay for the record.
ALTER TABLE users ADD COLUMN deactivated_at TIMESTAMPTZ;
-- Custom org roles: named bundles of org rights. The built-in org roles are defined in code;
-- users.org_roles holds the keys of built-in roles and the ids of custom ones.
CREATE TABLE org_roles (
    id VARCHAR PRIMARY KEY,
    org_id VARCHAR NOT NULL,
    name VARCHAR NOT NULL,
    rights VARCHAR[] NOT NULL DEFAULT [],
    created_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    UNIQUE (org_id, name)
);

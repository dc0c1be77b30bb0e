-- No FOREIGN KEY clauses: DuckDB refuses to UPDATE a row that a foreign key references
-- (updates are delete + insert), so referential integrity is kept by the operations.
CREATE TABLE orgs (
    id VARCHAR PRIMARY KEY,
    name VARCHAR NOT NULL UNIQUE,
    created_at TIMESTAMPTZ NOT NULL DEFAULT now()
);
CREATE TABLE users (
    id VARCHAR PRIMARY KEY,
    org_id VARCHAR NOT NULL,
    name VARCHAR NOT NULL,
    email VARCHAR,
    org_roles VARCHAR[] NOT NULL DEFAULT [],
    created_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    UNIQUE (org_id, name)
);
CREATE TABLE tokens (
    id VARCHAR PRIMARY KEY,
    user_id VARCHAR NOT NULL,
    label VARCHAR NOT NULL,
    hash VARCHAR NOT NULL UNIQUE,
    created_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    revoked_at TIMESTAMPTZ
);
CREATE TABLE org_trusted_partners (
    org_id VARCHAR NOT NULL,
    trusted_org_id VARCHAR NOT NULL,
    created_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    PRIMARY KEY (org_id, trusted_org_id)
);
CREATE TABLE rooms (
    id VARCHAR PRIMARY KEY,
    name VARCHAR NOT NULL,
    description VARCHAR NOT NULL DEFAULT '',
    owner_org_id VARCHAR NOT NULL,
    start_date DATE NOT NULL,
    end_date DATE,
    k_min INTEGER NOT NULL,
    dp_enabled BOOLEAN NOT NULL,
    epsilon_budget VARCHAR NOT NULL,
    delta_budget VARCHAR NOT NULL,
    intelligence BOOLEAN NOT NULL,
    flows BOOLEAN NOT NULL,
    created_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    UNIQUE (owner_org_id, name)
);
-- status: invited | accepted | declined | removed
CREATE TABLE room_partners (
    room_id VARCHAR NOT NULL,
    org_id VARCHAR NOT NULL,
    status VARCHAR NOT NULL,
    invited_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    responded_at TIMESTAMPTZ,
    responded_by VARCHAR,
    PRIMARY KEY (room_id, org_id)
);
CREATE TABLE partner_permissions (
    room_id VARCHAR NOT NULL,
    org_id VARCHAR NOT NULL,
    permission VARCHAR NOT NULL,
    PRIMARY KEY (room_id, org_id, permission)
);
-- kind: administrator | viewer | custom
CREATE TABLE room_roles (
    id VARCHAR PRIMARY KEY,
    room_id VARCHAR NOT NULL,
    org_id VARCHAR NOT NULL,
    name VARCHAR NOT NULL,
    kind VARCHAR NOT NULL,
    permissions VARCHAR[] NOT NULL DEFAULT [],
    UNIQUE (room_id, org_id, name)
);
CREATE TABLE room_members (
    room_id VARCHAR NOT NULL,
    user_id VARCHAR NOT NULL,
    role_id VARCHAR NOT NULL,
    added_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    PRIMARY KEY (room_id, user_id)
);
CREATE SEQUENCE audit_seq START 1;
CREATE TABLE audit_events (
    seq BIGINT PRIMARY KEY DEFAULT nextval('audit_seq'),
    occurred_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    actor_user_id VARCHAR,
    actor_org_id VARCHAR,
    action VARCHAR NOT NULL,
    room_id VARCHAR,
    resource_type VARCHAR,
    resource_id VARCHAR,
    resource_org_id VARCHAR,
    outcome VARCHAR NOT NULL,
    reason VARCHAR NOT NULL DEFAULT '',
    detail JSON
);

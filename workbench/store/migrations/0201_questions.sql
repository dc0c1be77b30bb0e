-- Questions authored in a room, their terms and their permissions (see workbench/questions).
-- spec: the Question as JSON (Question.to_dict); in_room: the owner added it (runnable).
CREATE TABLE questions (
    id VARCHAR PRIMARY KEY,
    room_id VARCHAR NOT NULL,
    author_org_id VARCHAR NOT NULL,
    author_user_id VARCHAR NOT NULL,
    name VARCHAR NOT NULL,
    version INTEGER NOT NULL,
    spec JSON NOT NULL,
    in_room BOOLEAN NOT NULL DEFAULT false,
    cloned_from VARCHAR,
    created_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    updated_at TIMESTAMPTZ NOT NULL DEFAULT now()
);
-- every saved version, so a run's version can always be read back
CREATE TABLE question_versions (
    question_id VARCHAR NOT NULL,
    version INTEGER NOT NULL,
    spec JSON NOT NULL,
    saved_by VARCHAR NOT NULL,
    saved_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    PRIMARY KEY (question_id, version)
);
-- terms: role runner | receiver; no runner rows = any participating org may run;
-- no receiver rows = the org that runs receives
CREATE TABLE question_terms (
    question_id VARCHAR NOT NULL,
    role VARCHAR NOT NULL,
    org_id VARCHAR NOT NULL,
    PRIMARY KEY (question_id, role, org_id)
);
-- question permissions: an authoring org's room defaults and per-question overrides;
-- partner_org_id '*' = any partner
CREATE TABLE question_permission_defaults (
    room_id VARCHAR NOT NULL,
    author_org_id VARCHAR NOT NULL,
    permission VARCHAR NOT NULL,
    partner_org_id VARCHAR NOT NULL,
    allowed BOOLEAN NOT NULL,
    PRIMARY KEY (room_id, author_org_id, permission, partner_org_id)
);
CREATE TABLE question_permission_overrides (
    question_id VARCHAR NOT NULL,
    permission VARCHAR NOT NULL,
    partner_org_id VARCHAR NOT NULL,
    allowed BOOLEAN NOT NULL,
    PRIMARY KEY (question_id, permission, partner_org_id)
);

-- Audiences: cohorts built from user-list questions (members kept here, never returned), lookalike
-- scores, activation consent, grants, destinations and exports, and publisher connections.
-- No foreign keys: the audiences package deletes in order.
-- who activates in a room (default: the owner) and the largest lookalike seed it allows
CREATE TABLE audience_terms (
    room_id VARCHAR PRIMARY KEY,
    activation_org_id VARCHAR NOT NULL,
    max_seed BIGINT NOT NULL,
    updated_by VARCHAR NOT NULL,
    updated_at TIMESTAMPTZ NOT NULL DEFAULT now()
);
-- kind: matched (a user-list question) | modeled (a lookalike of a matched cohort)
CREATE TABLE cohorts (
    id VARCHAR PRIMARY KEY,
    room_id VARCHAR NOT NULL,
    name VARCHAR NOT NULL,
    kind VARCHAR NOT NULL,
    status VARCHAR NOT NULL,
    question_id VARCHAR,
    question_version INTEGER,
    parameters JSON NOT NULL,
    seed_cohort_id VARCHAR,
    activation_org_id VARCHAR NOT NULL,
    -- the activation party's dataset whose identities are the members
    member_dataset_id VARCHAR NOT NULL,
    -- every provisioned dataset the cohort reads (it is derived from each)
    datasets VARCHAR[] NOT NULL,
    version INTEGER NOT NULL,
    noisy_size BIGINT,
    size_ci95 DOUBLE,
    -- what the last build released and spent, the lookalike's settings and curve, the manifest
    metadata JSON NOT NULL,
    created_by VARCHAR NOT NULL,
    created_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    refreshed_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    UNIQUE (room_id, name)
);
-- the members of a cohort's current version: digests of the activation party's identities
CREATE TABLE cohort_members (
    cohort_id VARCHAR NOT NULL,
    member VARCHAR NOT NULL
);
-- a modeled cohort's score of every activation-party user (the size is picked from these)
CREATE TABLE cohort_scores (
    cohort_id VARCHAR NOT NULL,
    member VARCHAR NOT NULL,
    score DOUBLE NOT NULL
);
-- the data owner's consent to activation of cohorts derived from a provisioned dataset
CREATE TABLE activation_policies (
    dataset_id VARCHAR PRIMARY KEY,
    room_id VARCHAR NOT NULL,
    allowed BOOLEAN NOT NULL,
    set_by VARCHAR NOT NULL,
    set_at TIMESTAMPTZ NOT NULL DEFAULT now()
);
-- users of the activation party allowed to export cohorts in a room
CREATE TABLE activation_grants (
    room_id VARCHAR NOT NULL,
    user_id VARCHAR NOT NULL,
    granted_by VARCHAR NOT NULL,
    granted_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    PRIMARY KEY (room_id, user_id)
);
-- format: gam | xandr | csv | jsonl; path is relative to the service's activation root
CREATE TABLE activation_destinations (
    id VARCHAR PRIMARY KEY,
    room_id VARCHAR NOT NULL,
    org_id VARCHAR NOT NULL,
    name VARCHAR NOT NULL,
    format VARCHAR NOT NULL,
    path VARCHAR NOT NULL,
    settings JSON NOT NULL,
    created_by VARCHAR NOT NULL,
    created_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    UNIQUE (room_id, name)
);
CREATE TABLE activations (
    id VARCHAR PRIMARY KEY,
    room_id VARCHAR NOT NULL,
    cohort_id VARCHAR NOT NULL,
    cohort_name VARCHAR NOT NULL,
    cohort_version INTEGER NOT NULL,
    destination_id VARCHAR NOT NULL,
    format VARCHAR NOT NULL,
    frequency_cap JSON NOT NULL,
    files JSON NOT NULL,
    manifest JSON NOT NULL,
    created_by VARCHAR NOT NULL,
    created_at TIMESTAMPTZ NOT NULL DEFAULT now()
);
-- a publisher's advertiser connections and what each may create in the publisher's rooms
CREATE TABLE audience_connections (
    publisher_org_id VARCHAR NOT NULL,
    advertiser_org_id VARCHAR NOT NULL,
    insights BOOLEAN NOT NULL,
    matched_cohorts BOOLEAN NOT NULL,
    modeled_cohorts BOOLEAN NOT NULL,
    activation BOOLEAN NOT NULL,
    updated_by VARCHAR NOT NULL,
    updated_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    PRIMARY KEY (publisher_org_id, advertiser_org_id)
);

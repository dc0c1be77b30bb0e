-- Runs, their released results, and the append-only privacy budget ledger.
-- status: running | succeeded | failed; mode: dp | exact (DP off, audited)
CREATE TABLE runs (
    id VARCHAR PRIMARY KEY,
    room_id VARCHAR NOT NULL,
    question_id VARCHAR NOT NULL,
    question_version INTEGER NOT NULL,
    question_name VARCHAR NOT NULL,
    org_id VARCHAR NOT NULL,
    user_id VARCHAR NOT NULL,
    receivers VARCHAR[] NOT NULL,
    parameters JSON NOT NULL,
    mode VARCHAR NOT NULL,
    epsilon VARCHAR NOT NULL,
    delta VARCHAR NOT NULL,
    k_min INTEGER NOT NULL,
    status VARCHAR NOT NULL,
    error VARCHAR,
    result JSON,
    metadata JSON,
    created_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    finished_at TIMESTAMPTZ
);
-- one row per event of a charge: reserved, then committed or released (refunded)
CREATE TABLE budget_ledger (
    seq BIGINT PRIMARY KEY,
    room_id VARCHAR NOT NULL,
    org_id VARCHAR NOT NULL,
    charge_id VARCHAR NOT NULL,
    state VARCHAR NOT NULL,
    epsilon VARCHAR NOT NULL,
    delta VARCHAR NOT NULL,
    actor_user_id VARCHAR,
    "at" TIMESTAMPTZ NOT NULL DEFAULT now()
);
CREATE SEQUENCE budget_ledger_seq;
-- the owner raising one org's budget in a room (audited); totals add up
CREATE TABLE budget_raises (
    room_id VARCHAR NOT NULL,
    org_id VARCHAR NOT NULL,
    epsilon VARCHAR NOT NULL,
    delta VARCHAR NOT NULL,
    raised_by VARCHAR NOT NULL,
    "at" TIMESTAMPTZ NOT NULL DEFAULT now()
);

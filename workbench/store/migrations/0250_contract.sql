-- The privacy contract between the parties of a room (issue 9).
-- Hash chains: one chain per (chain, room); each entry commits to the one before it
-- (entry_hash = sha256(prev_hash || canonical(payload))). payload is JSON of plain strings.
-- ref is the id of the chained row in its own table (the ledger's seq), so a row deleted there
-- is found by its chain entry.
CREATE TABLE contract_chain (
    chain VARCHAR NOT NULL,
    room_id VARCHAR NOT NULL,
    seq BIGINT NOT NULL,
    ref VARCHAR NOT NULL,
    org_id VARCHAR,
    prev_hash VARCHAR NOT NULL,
    entry_hash VARCHAR NOT NULL,
    payload VARCHAR NOT NULL,
    written_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    PRIMARY KEY (chain, room_id, seq)
);
-- Proposals: changes that weaken a party's protection wait for every affected party.
-- status: open | applied | declined
CREATE TABLE contract_proposals (
    id VARCHAR PRIMARY KEY,
    room_id VARCHAR NOT NULL,
    kind VARCHAR NOT NULL,
    target_org_id VARCHAR,
    changes VARCHAR NOT NULL,
    reasons VARCHAR NOT NULL,
    proposed_by VARCHAR NOT NULL,
    proposed_by_org VARCHAR NOT NULL,
    status VARCHAR NOT NULL,
    created_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    decided_at TIMESTAMPTZ
);
-- one row per affected party; decision: pending | approved | declined
CREATE TABLE contract_consents (
    proposal_id VARCHAR NOT NULL,
    org_id VARCHAR NOT NULL,
    decision VARCHAR NOT NULL,
    decided_by VARCHAR,
    decided_at TIMESTAMPTZ
);
-- A dataset's own crowd-size floor in a room: the effective k-min of a run is the largest of the
-- room's k-min and the floors of the datasets it reads. Set only by the dataset's organisation.
CREATE TABLE contract_dataset_floors (
    room_id VARCHAR NOT NULL,
    dataset_id VARCHAR NOT NULL,
    org_id VARCHAR NOT NULL,
    k_min INTEGER NOT NULL,
    set_by VARCHAR NOT NULL,
    set_at TIMESTAMPTZ NOT NULL DEFAULT now()
);
-- Run limits (issue 10.6): per-room timeout and concurrency; NULL means the service default.
CREATE TABLE run_limits (
    room_id VARCHAR NOT NULL,
    timeout_seconds INTEGER,
    max_concurrent_per_user INTEGER,
    max_concurrent_per_room INTEGER,
    set_by VARCHAR NOT NULL,
    set_at TIMESTAMPTZ NOT NULL DEFAULT now()
);

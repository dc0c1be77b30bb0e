-- Synthetic twins: one DP synthetic table per provisioned dataset, published by the dataset's
-- own org. Rows live in schema twin (generated table names only); the model (domains, noisy
-- marginals, tree) is the DP release itself and is kept as JSON. Unlinking the dataset drops both.
CREATE SCHEMA IF NOT EXISTS twin;
CREATE TABLE twins (
    id VARCHAR PRIMARY KEY,
    room_id VARCHAR NOT NULL,
    dataset_id VARCHAR NOT NULL,
    org_id VARCHAR NOT NULL,
    -- building (charged, not yet written) | ready | failed
    status VARCHAR NOT NULL,
    table_name VARCHAR,
    epsilon VARCHAR NOT NULL,
    delta VARCHAR NOT NULL,
    charge_id VARCHAR NOT NULL,
    rows BIGINT,
    match_rate DOUBLE NOT NULL,
    match_rate_source VARCHAR NOT NULL,
    model JSON,
    created_by VARCHAR NOT NULL,
    created_at TIMESTAMPTZ NOT NULL DEFAULT now()
);

-- Datasets: data connections (org level), their columns, provisioning into rooms, analysis rules,
-- template fields and mappings. Row data lives in schema ds (one table per connection) and is
-- exposed to rooms only through views in schema prov. No foreign keys: unlinking deletes in order.
CREATE SCHEMA IF NOT EXISTS ds;
CREATE SCHEMA IF NOT EXISTS prov;
CREATE TABLE data_connections (
    id VARCHAR PRIMARY KEY,
    org_id VARCHAR NOT NULL,
    name VARCHAR NOT NULL,
    source_format VARCHAR NOT NULL,
    file_name VARCHAR NOT NULL,
    table_name VARCHAR NOT NULL,
    identity_column VARCHAR NOT NULL,
    identity_kind VARCHAR NOT NULL,
    pii_mode VARCHAR NOT NULL,
    rows_read BIGINT NOT NULL,
    rows_kept BIGINT NOT NULL,
    distinct_identities BIGINT NOT NULL,
    rows_rejected BIGINT NOT NULL,
    -- reasons with counts and first line numbers; never values
    rejections JSON NOT NULL,
    created_by VARCHAR NOT NULL,
    created_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    UNIQUE (org_id, name)
);
CREATE TABLE data_columns (
    connection_id VARCHAR NOT NULL,
    position INTEGER NOT NULL,
    name VARCHAR NOT NULL,
    type VARCHAR NOT NULL,
    pii BOOLEAN NOT NULL,
    is_identity BOOLEAN NOT NULL,
    hashed BOOLEAN NOT NULL,
    PRIMARY KEY (connection_id, name)
);
CREATE TABLE provisioned_datasets (
    id VARCHAR PRIMARY KEY,
    room_id VARCHAR NOT NULL,
    org_id VARCHAR NOT NULL,
    connection_id VARCHAR NOT NULL,
    name VARCHAR NOT NULL,
    columns VARCHAR[] NOT NULL,
    row_filter VARCHAR,
    partners_may_assign BOOLEAN NOT NULL,
    view_name VARCHAR NOT NULL,
    created_by VARCHAR NOT NULL,
    created_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    UNIQUE (room_id, name)
);
-- every change of a dataset's rules is a new version; the latest version is in force
CREATE TABLE analysis_rules (
    dataset_id VARCHAR NOT NULL,
    version INTEGER NOT NULL,
    rules JSON NOT NULL,
    created_by VARCHAR NOT NULL,
    created_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    PRIMARY KEY (dataset_id, version)
);
-- party: owner | partners (every accepted partner maps its own) | an org id
CREATE TABLE template_datasets (
    room_id VARCHAR NOT NULL,
    macro VARCHAR NOT NULL,
    party VARCHAR NOT NULL,
    description VARCHAR NOT NULL DEFAULT '',
    position INTEGER NOT NULL,
    PRIMARY KEY (room_id, macro)
);
CREATE TABLE template_fields (
    room_id VARCHAR NOT NULL,
    dataset_macro VARCHAR NOT NULL,
    macro VARCHAR NOT NULL,
    required BOOLEAN NOT NULL,
    type VARCHAR,
    description VARCHAR NOT NULL DEFAULT '',
    position INTEGER NOT NULL,
    PRIMARY KEY (room_id, dataset_macro, macro)
);
-- runs / receives: owner | partners | all
CREATE TABLE template_terms (
    room_id VARCHAR PRIMARY KEY,
    runs VARCHAR NOT NULL,
    receives VARCHAR NOT NULL,
    updated_by VARCHAR NOT NULL,
    updated_at TIMESTAMPTZ NOT NULL DEFAULT now()
);
CREATE TABLE dataset_mappings (
    room_id VARCHAR NOT NULL,
    dataset_macro VARCHAR NOT NULL,
    org_id VARCHAR NOT NULL,
    dataset_id VARCHAR NOT NULL,
    mapped_by VARCHAR NOT NULL,
    mapped_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    PRIMARY KEY (room_id, dataset_macro, org_id)
);
CREATE TABLE field_mappings (
    room_id VARCHAR NOT NULL,
    dataset_macro VARCHAR NOT NULL,
    org_id VARCHAR NOT NULL,
    field_macro VARCHAR NOT NULL,
    column_name VARCHAR NOT NULL,
    PRIMARY KEY (room_id, dataset_macro, org_id, field_macro)
);

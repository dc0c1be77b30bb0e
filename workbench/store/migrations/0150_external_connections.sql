-- External (zero-copy) data connections: the data stays where it lives (Parquet or Delta files
-- under a configured root); the connection's row in data_connections names a VIEW in schema ds
-- over those files, and this table keeps what the engines need to read them again.
CREATE TABLE external_connections (
    connection_id VARCHAR PRIMARY KEY,
    -- parquet | delta
    format VARCHAR NOT NULL,
    -- the directory or file as registered, resolved, under a configured root
    location VARCHAR NOT NULL,
    -- the data files read (a Delta table's active files at registration), resolved, sorted
    files VARCHAR[] NOT NULL,
    -- the connection's columns (identity normalised and hashed) over the relation __external
    select_sql VARCHAR NOT NULL,
    -- sha256 over each file's relative name and bytes at registration
    content_digest VARCHAR NOT NULL,
    -- prehashed | hash_at_read
    identity_mode VARCHAR NOT NULL,
    registered_at TIMESTAMPTZ NOT NULL DEFAULT now()
);

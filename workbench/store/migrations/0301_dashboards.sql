-- Intelligence dashboards: an organisation's saved charts over released run results in a room.
-- Charts keep only a reference to the run and how to draw it; the numbers stay in the run.
CREATE TABLE dashboards (
    id VARCHAR PRIMARY KEY,
    room_id VARCHAR NOT NULL REFERENCES rooms (id),
    org_id VARCHAR NOT NULL REFERENCES orgs (id),
    name VARCHAR NOT NULL,
    description VARCHAR NOT NULL DEFAULT '',
    created_by VARCHAR NOT NULL,
    created_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    UNIQUE (room_id, org_id, name)
);
-- kind: bar | line | table
CREATE TABLE dashboard_charts (
    id VARCHAR PRIMARY KEY,
    dashboard_id VARCHAR NOT NULL REFERENCES dashboards (id),
    room_id VARCHAR NOT NULL,
    position INTEGER NOT NULL,
    title VARCHAR NOT NULL,
    kind VARCHAR NOT NULL,
    run_id VARCHAR NOT NULL,
    measure VARCHAR,
    created_by VARCHAR NOT NULL,
    created_at TIMESTAMPTZ NOT NULL DEFAULT now()
);

-- Schedules (a question or a flow on a cron expression in a time zone), their fires, flows (small
-- DAGs of steps) and flow runs with one row per step. Times are UTC; the cron is read in `timezone`.
CREATE TABLE schedules (
    id VARCHAR PRIMARY KEY,
    room_id VARCHAR NOT NULL,
    name VARCHAR NOT NULL,
    -- question | flow
    target_kind VARCHAR NOT NULL,
    target_id VARCHAR NOT NULL,
    parameters JSON NOT NULL,
    epsilon VARCHAR NOT NULL,
    delta VARCHAR,
    cron VARCHAR NOT NULL,
    timezone VARCHAR NOT NULL,
    starts_at TIMESTAMPTZ NOT NULL,
    ends_at TIMESTAMPTZ NOT NULL,
    -- run until the budget lasts instead of refusing a schedule that would exhaust one
    until_budget_lasts BOOLEAN NOT NULL,
    -- active | paused | finished
    status VARCHAR NOT NULL,
    paused_reason VARCHAR,
    next_fire_at TIMESTAMPTZ,
    last_fired_at TIMESTAMPTZ,
    owner_user_id VARCHAR NOT NULL,
    owner_org_id VARCHAR NOT NULL,
    created_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    updated_at TIMESTAMPTZ NOT NULL DEFAULT now()
);
CREATE TABLE schedule_fires (
    id VARCHAR PRIMARY KEY,
    schedule_id VARCHAR NOT NULL,
    room_id VARCHAR NOT NULL,
    -- the cron time this fire stands for, and when it actually ran
    due_at TIMESTAMPTZ NOT NULL,
    fired_at TIMESTAMPTZ NOT NULL,
    -- succeeded | failed | refused
    outcome VARCHAR NOT NULL,
    reason VARCHAR,
    run_id VARCHAR,
    flow_run_id VARCHAR,
    -- missed fires collapsed into this one while the service was down
    missed INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE flows (
    id VARCHAR PRIMARY KEY,
    room_id VARCHAR NOT NULL,
    name VARCHAR NOT NULL,
    description VARCHAR NOT NULL,
    steps JSON NOT NULL,
    owner_user_id VARCHAR NOT NULL,
    owner_org_id VARCHAR NOT NULL,
    version INTEGER NOT NULL,
    created_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    updated_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    UNIQUE (room_id, name)
);
CREATE TABLE flow_runs (
    id VARCHAR PRIMARY KEY,
    flow_id VARCHAR NOT NULL,
    room_id VARCHAR NOT NULL,
    flow_version INTEGER NOT NULL,
    -- hand | schedule
    trigger VARCHAR NOT NULL,
    schedule_id VARCHAR,
    user_id VARCHAR NOT NULL,
    org_id VARCHAR NOT NULL,
    -- running | succeeded | failed
    status VARCHAR NOT NULL,
    started_at TIMESTAMPTZ NOT NULL,
    finished_at TIMESTAMPTZ
);
CREATE TABLE flow_step_runs (
    flow_run_id VARCHAR NOT NULL,
    step VARCHAR NOT NULL,
    position INTEGER NOT NULL,
    kind VARCHAR NOT NULL,
    -- pending | running | succeeded | failed | skipped
    status VARCHAR NOT NULL,
    started_at TIMESTAMPTZ,
    finished_at TIMESTAMPTZ,
    run_id VARCHAR,
    cohort_id VARCHAR,
    epsilon VARCHAR,
    delta VARCHAR,
    error VARCHAR,
    PRIMARY KEY (flow_run_id, step)
);

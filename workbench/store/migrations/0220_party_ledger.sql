-- One privacy ledger per (room, protected party) (issue 9.1). A run is charged to every party whose
-- data it reads; budget_ledger.org_id is now that party (it was the receiving org).
-- The per-receiver rows are kept, unchanged, in budget_ledger_receivers for the record.
CREATE TABLE budget_ledger_receivers AS SELECT * FROM budget_ledger;
-- the data parties of each past charge: the owners of the datasets its run read
CREATE TEMP TABLE migrated_charge_parties AS
SELECT DISTINCT l.charge_id, d.org_id
FROM (SELECT DISTINCT charge_id FROM budget_ledger) l
JOIN (SELECT id, unnest(CAST(json_extract(metadata, '$.datasets') AS VARCHAR[])) AS dataset_id
      FROM runs WHERE metadata IS NOT NULL) r ON r.id = l.charge_id
JOIN provisioned_datasets d ON d.id = r.dataset_id;
-- charges whose datasets are unknown (failed or deleted runs) go to every data party of the room,
-- or stay with their receivers when the room holds no data any more: never charge less than before
INSERT INTO migrated_charge_parties
SELECT DISTINCT l.charge_id, d.org_id
FROM budget_ledger l JOIN provisioned_datasets d ON d.room_id = l.room_id
WHERE l.charge_id NOT IN (SELECT charge_id FROM migrated_charge_parties);
INSERT INTO migrated_charge_parties
SELECT DISTINCT charge_id, org_id FROM budget_ledger
WHERE charge_id NOT IN (SELECT charge_id FROM migrated_charge_parties);
CREATE TEMP TABLE migrated_charges AS
SELECT room_id, charge_id, state, max(epsilon) AS epsilon, max(delta) AS delta,
       min(actor_user_id) AS actor_user_id, min("at") AS "at", min(seq) AS first_seq
FROM budget_ledger GROUP BY room_id, charge_id, state;
DELETE FROM budget_ledger;
INSERT INTO budget_ledger (seq, room_id, org_id, charge_id, state, epsilon, delta, actor_user_id, "at")
SELECT nextval('budget_ledger_seq'), c.room_id, p.org_id, c.charge_id, c.state, c.epsilon, c.delta,
       c.actor_user_id, c."at"
FROM migrated_charges c JOIN migrated_charge_parties p ON p.charge_id = c.charge_id;
DROP TABLE migrated_charges;
DROP TABLE migrated_charge_parties;

-- A party's own budget in a room: the latest row wins; without one, the room default (plus the
-- owner's raises of the former per-receiver budget, budget_raises, read as they were).
CREATE TABLE party_budgets (
    seq BIGINT PRIMARY KEY,
    room_id VARCHAR NOT NULL,
    org_id VARCHAR NOT NULL,
    epsilon VARCHAR NOT NULL,
    delta VARCHAR NOT NULL,
    set_by VARCHAR NOT NULL,
    "at" TIMESTAMPTZ NOT NULL DEFAULT now()
);
CREATE SEQUENCE party_budgets_seq;

-- A data connection's lifetime cap over every room that reads it; latest row wins.
-- epsilon NULL: no cap.
CREATE TABLE connection_caps (
    seq BIGINT PRIMARY KEY,
    connection_id VARCHAR NOT NULL,
    epsilon VARCHAR,
    delta VARCHAR,
    set_by VARCHAR NOT NULL,
    "at" TIMESTAMPTZ NOT NULL DEFAULT now()
);
CREATE SEQUENCE connection_caps_seq;
-- what each charge drew from each connection it read (in any room)
CREATE TABLE connection_ledger (
    seq BIGINT PRIMARY KEY,
    connection_id VARCHAR NOT NULL,
    room_id VARCHAR NOT NULL,
    charge_id VARCHAR NOT NULL,
    state VARCHAR NOT NULL,
    epsilon VARCHAR NOT NULL,
    delta VARCHAR NOT NULL,
    "at" TIMESTAMPTZ NOT NULL DEFAULT now()
);
CREATE SEQUENCE connection_ledger_seq;
INSERT INTO connection_ledger (seq, connection_id, room_id, charge_id, state, epsilon, delta, "at")
SELECT nextval('connection_ledger_seq'), x.connection_id, x.room_id, x.charge_id, x.state,
       x.epsilon, x.delta, x."at"
FROM (SELECT DISTINCT d.connection_id, l.room_id, l.charge_id, l.state, l.epsilon, l.delta, l."at"
      FROM budget_ledger_receivers l
      JOIN (SELECT id, unnest(CAST(json_extract(metadata, '$.datasets') AS VARCHAR[])) AS dataset_id
            FROM runs WHERE metadata IS NOT NULL) r ON r.id = l.charge_id
      JOIN provisioned_datasets d ON d.id = r.dataset_id) x;

-- The room's bounds on epsilon per run; latest row wins. max_epsilon NULL: the room's budget.
CREATE TABLE room_epsilon_bounds (
    seq BIGINT PRIMARY KEY,
    room_id VARCHAR NOT NULL,
    min_epsilon VARCHAR NOT NULL,
    max_epsilon VARCHAR,
    set_by VARCHAR NOT NULL,
    "at" TIMESTAMPTZ NOT NULL DEFAULT now()
);
CREATE SEQUENCE room_epsilon_bounds_seq;

-- Runs remember the parties they were charged to, their plan fingerprint and their manifest.
ALTER TABLE runs ADD COLUMN parties VARCHAR[];
ALTER TABLE runs ADD COLUMN fingerprint VARCHAR;
ALTER TABLE runs ADD COLUMN manifest JSON;
UPDATE runs SET parties = (
    SELECT list(DISTINCT p.org_id ORDER BY p.org_id) FROM budget_ledger p WHERE p.charge_id = runs.id);

-- Idempotent run requests (issue 10.7): a retry with the same key returns the same run.
CREATE TABLE run_requests (
    room_id VARCHAR NOT NULL,
    user_id VARCHAR NOT NULL,
    idempotency_key VARCHAR NOT NULL,
    request_digest VARCHAR NOT NULL,
    run_id VARCHAR NOT NULL,
    created_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    PRIMARY KEY (room_id, user_id, idempotency_key)
);

-- Content digests of data connections, computed once from the stored table (issue 9.6).
CREATE TABLE connection_digests (
    connection_id VARCHAR PRIMARY KEY,
    digest VARCHAR NOT NULL,
    computed_at TIMESTAMPTZ NOT NULL DEFAULT now()
);

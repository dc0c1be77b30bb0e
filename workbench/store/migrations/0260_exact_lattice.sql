-- The profile lattice (datasets, connections, identity and public columns) an exact (DP-off)
-- room released its first exact result over (issue 10.4). Later exact runs must read the same
-- lattice, so results from before and after a change of the room's data cannot be subtracted.
CREATE TABLE exact_lattices (
    room_id VARCHAR PRIMARY KEY,
    fingerprint VARCHAR NOT NULL,
    -- the lattice itself (JSON), to say what changed
    lattice VARCHAR NOT NULL,
    first_run_id VARCHAR NOT NULL,
    created_at TIMESTAMPTZ NOT NULL DEFAULT now()
);

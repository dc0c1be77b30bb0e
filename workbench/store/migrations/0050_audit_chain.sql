-- The audit log as a hash chain (issue 9.5): each event commits to the one before it in commit
-- order (seq), entry_hash = contract.chain.link(prev_hash, payload of the row). Rows written before
-- this migration keep NULL hashes; the chain starts at the first row written after it.
ALTER TABLE audit_events ADD COLUMN prev_hash VARCHAR;
ALTER TABLE audit_events ADD COLUMN entry_hash VARCHAR;

-- An export's record outlives the data it was computed from: when a dataset the cohort read is
-- unlinked, the cohort, its members and the exported files go, and the activation is marked.
-- folder: the export's folder relative to the activation root (older rows: derived on unlink)
-- source_status: NULL while the source is linked | 'source unlinked'
ALTER TABLE activations ADD COLUMN folder VARCHAR;
ALTER TABLE activations ADD COLUMN source_status VARCHAR;
ALTER TABLE activations ADD COLUMN source_unlinked_at TIMESTAMPTZ;

-- Identifiers that were kept but look suspicious (invisible or confusable characters): the ingest
-- report lists them by reason with counts and first line numbers, never values.
ALTER TABLE data_connections ADD COLUMN identity_warnings JSON DEFAULT '[]';

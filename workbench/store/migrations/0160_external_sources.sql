-- External connections read where they live (issue 11): besides files under a local root, a
-- URI under a configured prefix or a Spark catalog table, read only by the Spark engine.
-- local (files the store's DuckDB reads) | spark (a URI or a catalog table only Spark reads)
ALTER TABLE external_connections ADD COLUMN reader VARCHAR DEFAULT 'local';
-- the catalog table's identifier (catalog.database.table) when format = 'table'
ALTER TABLE external_connections ADD COLUMN catalog_table VARCHAR;
-- per data file (JSON text): [path, size, modification time (ns), sha256]; runs compare these first and
-- refuse when the content digest no longer matches (NULL: registered before; full re-hash)
ALTER TABLE external_connections ADD COLUMN file_stats VARCHAR;

-- Views that restrict a provisioned dataset to one cohort's members, made for one flow step and
-- dropped after it: an analytical step reads a cohort as a dataset macro through them.
CREATE SCHEMA IF NOT EXISTS cohort_views;

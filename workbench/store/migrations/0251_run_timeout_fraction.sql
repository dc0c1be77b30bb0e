-- Run timeouts may be fractions of a second (issue 10.6); whole seconds stay as they were.
ALTER TABLE run_limits ALTER timeout_seconds TYPE DOUBLE;

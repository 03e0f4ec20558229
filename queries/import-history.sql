-- name: import-history
-- title: Import history
-- description: Every import with its counts and status, newest first.
SELECT import_id, source_kind, location, status, read_count, stored_count, duplicate_count,
       quarantined_count, conflict_count, run_count, entity_count, started_at, finished_at, error,
       notes
FROM imports
ORDER BY import_id DESC;

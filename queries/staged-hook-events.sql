-- name: staged-hook-events
-- title: Staged hook events not yet in the log
-- description: hook_received events world-local had staged (.locks/…pending) but not made visible in the log when the data was captured.
SELECT run_id, event_id, correlation_id, created_at, resume_id, payload_decoded, source_location
FROM events
WHERE staged
ORDER BY run_id, event_id;

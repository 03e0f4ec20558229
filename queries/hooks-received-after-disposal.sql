-- name: hooks-received-after-disposal
-- title: Hooks received after disposal
-- description: hook_received events that sort after their hook's hook_disposed: no consumer is left for them (upstream issue #2781).
SELECT r.run_id,
       r.correlation_id,
       d.event_id AS disposed_event_id,
       d.created_at AS disposed_at,
       r.event_id AS received_event_id,
       r.created_at AS received_at,
       r.resume_id
FROM run_log r
JOIN run_log d
  ON d.run_id = r.run_id AND d.correlation_id = r.correlation_id
 AND d.event_type = 'hook_disposed'
WHERE r.event_type = 'hook_received'
  AND r.event_id > d.event_id
ORDER BY r.run_id, r.event_id;

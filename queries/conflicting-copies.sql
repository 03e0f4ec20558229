-- name: conflicting-copies
-- title: Conflicting copies of one event
-- description: The same (run, event id) imported from different sources with different content; both copies are kept, side by side here.
SELECT e.run_id,
       e.event_id,
       e.import_id,
       e.source_kind,
       e.source_location,
       e.event_type,
       e.correlation_id,
       e.created_at,
       e.event_data,
       e.payload_format
FROM events e
WHERE e.conflict
ORDER BY e.run_id, e.event_id, e.import_id;

-- name: duplicate-creation
-- title: Duplicate creation events
-- description: Entities created more than once (step_created, hook_created, wait_created) with the names they were created under; different names mean two replays took different branches.
SELECT run_id,
       correlation_id,
       event_type,
       count(*) AS creations,
       count(DISTINCT coalesce(json_extract_string(event_data, '$.stepName'),
                               json_extract_string(event_data, '$.token'), '')) AS distinct_names,
       string_agg(coalesce(json_extract_string(event_data, '$.stepName'),
                           json_extract_string(event_data, '$.token'), '?'), ' | '
                  ORDER BY event_id) AS names,
       string_agg(event_id, ' ' ORDER BY event_id) AS event_ids
FROM run_log
WHERE event_type IN ('step_created', 'hook_created', 'wait_created')
GROUP BY run_id, correlation_id, event_type
HAVING count(*) > 1
ORDER BY distinct_names DESC, run_id, correlation_id;

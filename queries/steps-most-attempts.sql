-- name: steps-most-attempts
-- title: Steps with the most attempts
-- description: Steps ranked by step_started count, with retries and how they ended; many starts without retries point at crashed or duplicated executors.
-- param: limit = 50  how many steps to show
SELECT run_id,
       correlation_id,
       max(json_extract_string(event_data, '$.stepName')) AS step_name,
       sum(CASE WHEN event_type = 'step_started' THEN 1 ELSE 0 END) AS starts,
       sum(CASE WHEN event_type = 'step_retrying' THEN 1 ELSE 0 END) AS retries,
       max(CASE WHEN event_type IN ('step_completed', 'step_failed') THEN event_type END) AS ended_with,
       min(created_at) AS first_at,
       max(created_at) AS last_at
FROM run_log
WHERE event_type LIKE 'step\_%' ESCAPE '\'
GROUP BY run_id, correlation_id
ORDER BY starts DESC, retries DESC, run_id, correlation_id
LIMIT CAST($limit AS INTEGER);

-- name: runs-near-event-cap
-- title: Runs near the 25,000-event cap
-- description: Runs whose log holds at least the threshold of events; the runtime stops a run at 25,000 events.
-- param: threshold = 20000  smallest event count to list
SELECT run_id,
       workflow_name,
       status,
       event_count,
       round(100.0 * event_count / 25000, 1) AS percent_of_cap,
       first_event_at,
       last_event_at
FROM runs
WHERE event_count >= CAST($threshold AS BIGINT)
ORDER BY event_count DESC, run_id;

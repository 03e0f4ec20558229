-- name: run-events
-- title: One run's events in log order
-- description: Every event of a run in replay (eventId) order with its step name and decoded payload.
-- param: run_id  the run id (wrun_…)
SELECT log_position,
       event_id,
       event_type,
       correlation_id,
       json_extract_string(event_data, '$.stepName') AS step_name,
       created_at,
       write_time,
       payload_format,
       payload_decoded
FROM run_log
WHERE run_id = $run_id
ORDER BY log_position;

-- name: events-after-terminal
-- title: Events after their entity's terminal event
-- description: Any step/hook/wait event that sorts after the entity's first terminal event (step_completed, step_failed, hook_disposed, wait_completed); replays of eras E1-E2 fail on these.
WITH terminals AS (
    SELECT run_id, correlation_id, min(event_id) AS terminal_event_id
    FROM run_log
    WHERE event_type IN ('step_completed', 'step_failed', 'hook_disposed', 'wait_completed')
    GROUP BY run_id, correlation_id
)
SELECT l.run_id,
       l.correlation_id,
       t.terminal_event_id,
       (SELECT event_type FROM run_log x
         WHERE x.run_id = t.run_id AND x.event_id = t.terminal_event_id) AS terminal_type,
       l.event_id AS late_event_id,
       l.event_type AS late_type,
       l.created_at AS late_created_at
FROM run_log l
JOIN terminals t ON t.run_id = l.run_id AND t.correlation_id = l.correlation_id
WHERE l.event_id > t.terminal_event_id
ORDER BY l.run_id, l.event_id;

-- name: order-inversions
-- title: eventId order vs write-time order inversions
-- description: Consecutive events (in eventId order) whose write time (or createdAt when the source has none) goes backwards by more than the tolerance: an id minted before a commit that landed after a later id's.
-- param: tolerance_ms = 0  ignore inversions up to this many milliseconds (fractions allowed)
WITH ordered AS (
    SELECT run_id,
           event_id,
           event_type,
           correlation_id,
           coalesce(write_time, created_at) AS commit_time,
           lag(event_id) OVER (PARTITION BY run_id ORDER BY event_id) AS prev_event_id,
           lag(event_type) OVER (PARTITION BY run_id ORDER BY event_id) AS prev_type,
           lag(coalesce(write_time, created_at)) OVER (PARTITION BY run_id ORDER BY event_id)
               AS prev_commit_time
    FROM run_log
)
SELECT run_id,
       prev_event_id,
       prev_type,
       prev_commit_time,
       event_id,
       event_type,
       commit_time,
       (epoch_us(prev_commit_time) - epoch_us(commit_time)) / 1000.0 AS inversion_ms
FROM ordered
WHERE prev_commit_time IS NOT NULL
  AND (epoch_us(prev_commit_time) - epoch_us(commit_time)) / 1000.0
      > CAST($tolerance_ms AS DOUBLE)
ORDER BY inversion_ms DESC, run_id, event_id;

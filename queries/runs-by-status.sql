-- name: runs-by-status
-- title: Runs by status
-- description: How many runs end in each status, with their event counts; the first look at a store.
SELECT status,
       count(*) AS runs,
       sum(event_count) AS events,
       max(event_count) AS largest_run_events
FROM runs
GROUP BY status
ORDER BY runs DESC, status;

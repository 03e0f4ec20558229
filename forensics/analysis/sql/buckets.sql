-- Commit-time buckets as wide as the inversion tolerance: an event committed more than one
-- width after another that sorts after it lands in a later bucket while minted earlier, so
-- a bucket whose smallest mint time is not above every earlier bucket's largest is suspect.
SELECT DISTINCT run_id FROM (
    SELECT run_id, lo, max(hi) OVER (
        PARTITION BY run_id ORDER BY b ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING) AS prior
    FROM (
        SELECT run_id, b, min(m) AS lo, max(m) AS hi
        FROM (
            SELECT run_id, fx_idiv(fx_epoch_ms(coalesce(write_time, created_at)), {width}) AS b,
                substr(event_id, length(event_id) - 25, 10) AS m
            FROM events
            WHERE NOT staged AND NOT {SLOT_ID} {scope}
        ) x
        GROUP BY run_id, b
    ) y
) z
WHERE lo <= prior

-- Order tests in two numbers, ties counted against the entity: `first_mark` is even when some
-- event other than a creation was committed no later than the first creation (or there is
-- none); `last_mark` is odd when some event other than a terminal was committed no earlier
-- than the (single) terminal, a `hook_received` counting as `{width}` ms later than it was.
SELECT run_id, gkey,
    count(*) AS n_rows,
    sum({PACK}) AS packed,
    bit_or(kind_bit) AS kinds,
    bit_or(type_bit) AS type_kinds,
    min(2 * k + {IS_CREATION}) AS first_mark,
    max(2 * (k + CASE WHEN event_type = 'hook_received' THEN {width} ELSE 0 END)
        + {NOT_TERMINAL}) AS last_mark,
    min(ident) AS ident_lo, max(ident) AS ident_hi
FROM (
    SELECT *, CASE WHEN name IS NOT NULL THEN fx_hash(name) END AS ident
    FROM (
        SELECT run_id, event_type, {GKEY} AS gkey,
            fx_epoch_ms(coalesce(write_time, created_at)) AS k,
            CASE left(correlation_id, 5) WHEN 'step_' THEN 1 WHEN 'hook_' THEN 2
                 WHEN 'wait_' THEN 4 ELSE 8 END AS kind_bit,
            CASE left(event_type, 5) WHEN 'step_' THEN 1 WHEN 'hook_' THEN 2
                 WHEN 'wait_' THEN 4 ELSE 0 END AS type_bit,
            CASE WHEN fx_starts_with(event_type, 'step_') THEN fx_json_text(event_data, '$.stepName')
                 WHEN fx_starts_with(event_type, 'hook_') THEN fx_json_text(event_data, '$.token')
                 WHEN fx_starts_with(event_type, 'wait_') THEN fx_json_text(event_data, '$.resumeAt')
            END AS name
        FROM events
        WHERE NOT staged {scope}
    ) r0
) r
GROUP BY run_id, gkey

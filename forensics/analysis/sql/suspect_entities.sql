-- `packed` bytes: 0 creations, 1 hook conflicts, 2 terminals, 3 starts, 4 retries, 5 keyless.
SELECT run_id, gkey FROM (
    SELECT *, packed & 255 AS n_create, (packed >> 8) & 255 AS n_hook_conflict,
        (packed >> 16) & 255 AS n_term, (packed >> 24) & 255 AS n_started,
        (packed >> 32) & 255 AS n_retrying, (packed >> 40) & 255 AS n_unkeyed
    FROM _fx_ent
    WHERE gkey IS NOT NULL
) e
WHERE n_rows >= 255 OR n_unkeyed > 0 OR type_kinds & ~kinds <> 0 OR first_mark % 2 = 0
    OR (n_term > 0 AND last_mark % 2 = 1) OR n_term > 1 OR n_create > 1
    OR n_hook_conflict > 0
    OR (n_started > 0 AND n_started <> n_retrying + 1) OR (n_started = 0 AND n_retrying > 0)
    OR ident_lo <> ident_hi

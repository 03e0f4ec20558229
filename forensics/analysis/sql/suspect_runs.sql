-- A run is a suspect as a whole when its run-level shape needs every event to judge: its
-- lifecycle, a corrupted-log error, conflicts or slots, a possible race or inversion, a
-- shared body or duplicate creation, or a hole among its seeded ordinals (bodies B0 + k: a
-- replay numbering from a shorter log leaves one, and an ordinal regression hides there).
SELECT run_id FROM _fx_facts
WHERE run_id IN (SELECT run_id FROM _fx_scope) AND n_events > 0 AND (
    (n_bodies > 0 AND {BODY_HI} - {BODY_LO} + 1 > n_bodies
     AND {BODY_HI} - {BODY_LO} < n_bodies + 100000) OR
    opening_id IS NULL OR first_id < opening_id OR n_run_term > 1
    OR last_other_id > run_term_id OR n_corrupt > 0
    OR n_conflict_rows > 0 OR n_slot_rows <> coalesce(slot_hi, 0)
    OR (n_hook_wait_res > 0 AND n_res > 1))
UNION SELECT run_id FROM _fx_buckets
UNION SELECT run_id FROM _fx_ent
    WHERE (gkey IS NULL AND ((packed >> 40) & 255 > 0 OR type_kinds > 0))
       OR bit_count(kinds) > 1 OR packed & 255 > 1

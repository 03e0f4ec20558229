-- Run-level facts: `_fx_facts_ev` joined with run records, entity rows and traces.
WITH ev AS (SELECT * FROM _fx_facts_ev),
rr AS (
    SELECT run_id, workflow_name, status, started_at,
        fx_hash(import_id, workflow_name, status, started_at, spec_version, error_code) AS h
    FROM run_records {where}
),
en AS (
    SELECT run_id, count(*) AS n,
        bit_xor(fx_hash(entity_id, kind, name, token, status, completed_at, resume_at,
                     import_id, source_location)) AS h
    FROM entities {where}
    GROUP BY run_id
),
tr AS (
    -- traces feed the replay detectors: a new trace makes its run stale
    SELECT run_id, count(*) AS n, max(replay_key) AS hi
    FROM trace_replays {where}
    GROUP BY run_id
)
SELECT coalesce(ev.run_id, rr.run_id, en.run_id) AS run_id,
    coalesce(ev.n_events, 0) AS n_events, ev.last_at, ev.first_id, ev.opening_id,
    ev.run_term_id, coalesce(ev.n_run_term, 0) AS n_run_term, ev.last_other_id,
    coalesce(rr.workflow_name, ev.event_workflow) AS workflow_name,
    rr.status AS record_status, rr.started_at AS record_started_at,
    rr.run_id IS NOT NULL AS has_record,
    coalesce(ev.n_legacy, 0) AS n_legacy, coalesce(ev.n_step_created, 0) AS n_step_created,
    ev.spec_version, ev.core_version, ev.deployment, coalesce(ev.n_corrupt, 0) AS n_corrupt,
    coalesce(ev.n_analytics, 0) AS n_analytics, ev.body_lo, ev.body_hi,
    coalesce(ev.n_bodies, 0) AS n_bodies,
    coalesce(ev.n_res, 0) AS n_res, coalesce(ev.n_hook_wait_res, 0) AS n_hook_wait_res,
    coalesce(ev.n_conflict_rows, 0) AS n_conflict_rows, ev.prefix_lo, ev.prefix_hi,
    coalesce(ev.n_slot_rows, 0) AS n_slot_rows, ev.slot_hi,
    fx_fingerprint($settings, ev.n_rows, ev.content_x, ev.n_conflict_rows, rr.h, en.n,
                   en.h, tr.n, tr.hi) AS fingerprint
FROM ev
FULL OUTER JOIN rr ON rr.run_id = ev.run_id
FULL OUTER JOIN en ON en.run_id = coalesce(ev.run_id, rr.run_id)
LEFT JOIN tr ON tr.run_id = coalesce(ev.run_id, rr.run_id, en.run_id)

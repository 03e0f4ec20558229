-- What the events of a run say, one row per run (`_fx_facts_ev`); `{where}` picks the runs.
    SELECT run_id,
        count(*) AS n_rows,
        fx_content_x(content_hash) AS content_x,
        count(*) FILTER (WHERE {NOT_STAGED}) AS n_events,
        count(*) FILTER (WHERE conflict) AS n_conflict_rows,
        max(created_at) AS last_at,
        min(event_id) FILTER (WHERE {NOT_STAGED}) AS first_id,
        min(event_id) FILTER (WHERE {NOT_STAGED} AND event_type IN {RUN_OPENING})
            AS opening_id,
        min(event_id) FILTER (WHERE {NOT_STAGED} AND event_type IN {RUN_TERMINAL})
            AS run_term_id,
        count(*) FILTER (WHERE {NOT_STAGED} AND event_type IN {RUN_TERMINAL})
            AS n_run_term,
        max(event_id) FILTER (
            WHERE {NOT_STAGED} AND event_type NOT IN {RUN_TERMINAL}) AS last_other_id,
        max(wf) AS event_workflow,
        max(core_version) AS core_version,
        max(deployment) AS deployment,
        count(*) FILTER (WHERE fx_starts_with(event_type, 'workflow_')) AS n_legacy,
        count(*) FILTER (WHERE event_type = 'step_created') AS n_step_created,
        max(spec_version) AS spec_version,
        count(*) FILTER (WHERE corrupt) AS n_corrupt,
        count(*) FILTER (WHERE analytics) AS n_analytics,
        count(*) FILTER (WHERE event_type IN {RESOLUTION}) AS n_res,
        count(*) FILTER (WHERE event_type IN ('hook_received', 'wait_completed'))
            AS n_hook_wait_res,
        min(prefix) AS prefix_lo,
        max(prefix) AS prefix_hi,
        min(body) AS body_lo,
        max(body) AS body_hi,
        count(body) AS n_bodies,
        count(slot) AS n_slot_rows,
        max(slot) AS slot_hi
    FROM (
        SELECT run_id, event_id, event_type, staged, conflict, created_at, content_hash,
            spec_version,
            CASE WHEN event_type = 'run_created'
                 THEN fx_json_text(event_data, '$.workflowName') END AS wf,
            CASE WHEN event_type = 'run_created' THEN fx_json_text(event_data,
                '$.executionContext.workflowCoreVersion') END AS core_version,
            CASE WHEN event_type = 'run_created'
                 THEN fx_json_text(event_data, '$.deploymentId') END AS deployment,
            CASE WHEN event_type IN ('run_failed', 'workflow_failed') THEN {CORRUPT} END
                AS corrupt,
            extra IS NOT NULL AND fx_json_flag(extra, '$.analytics')
                AS analytics,
            CASE WHEN event_type IN {CREATION} AND {ULID_CID}
                 THEN substr(correlation_id, 6, 10) END AS prefix,
            CASE WHEN event_type IN {CREATION} AND {ULID_CID}
                 THEN right(correlation_id, 16) END AS body,
            CASE WHEN coalesce(spec_version, 6) >= 6 AND NOT staged AND {SLOT_ID}
                 THEN TRY_CAST(right(event_id, 26) AS BIGINT) END AS slot
        FROM events
        {where}
    ) e
    GROUP BY run_id

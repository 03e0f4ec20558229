"""The trace tables, one migration of `schema.py`, and the view that expands snapshots.

`trace_replays` holds one row per traced replay (its digest names its loaded list in
`trace_snapshots`); `trace_items` holds each distinct loaded event of a run once; the view
`trace_replay_events` lists every replay's loaded events in order, for SQL users.
Subscriptions and step-mismatch records have a table each.
"""

from __future__ import annotations

from typing import Final

TRACE_TABLES_SQL: Final = """
CREATE SEQUENCE IF NOT EXISTS trace_replay_seq START 1;
CREATE TABLE trace_items (
    run_id VARCHAR NOT NULL,
    item INTEGER NOT NULL,
    event_id VARCHAR NOT NULL,
    event_type VARCHAR,
    correlation_id VARCHAR,
    step_name VARCHAR,
    PRIMARY KEY (run_id, item)
);
CREATE TABLE trace_snapshots (
    run_id VARCHAR NOT NULL,
    digest VARCHAR NOT NULL,
    event_count INTEGER NOT NULL,
    starts INTEGER[] NOT NULL,
    stops INTEGER[] NOT NULL,
    PRIMARY KEY (run_id, digest)
);
CREATE TABLE trace_replays (
    replay_key BIGINT PRIMARY KEY,
    import_id INTEGER NOT NULL,
    run_id VARCHAR NOT NULL,
    workflow_name VARCHAR,
    stream VARCHAR NOT NULL,
    pid BIGINT,
    inv BIGINT NOT NULL,
    run_started_at TIMESTAMPTZ,
    logged_event_count INTEGER,
    loaded_count INTEGER,
    logged_digest VARCHAR,
    digest VARCHAR,
    tail_event_id VARCHAR,
    outcome VARCHAR,
    error VARCHAR,
    started_log_at TIMESTAMPTZ,
    ended_log_at TIMESTAMPTZ,
    request_id VARCHAR,
    has_start BOOLEAN NOT NULL,
    source_location VARCHAR NOT NULL,
    source_position VARCHAR,
    identity VARCHAR NOT NULL UNIQUE
);
CREATE TABLE trace_subscriptions (
    replay_key BIGINT NOT NULL,
    seq INTEGER NOT NULL,
    kind VARCHAR NOT NULL,
    correlation_id VARCHAR NOT NULL,
    name VARCHAR,
    resume_at VARCHAR,
    logged_at TIMESTAMPTZ
);
CREATE TABLE trace_mismatches (
    replay_key BIGINT NOT NULL,
    correlation_id VARCHAR,
    expected_step_name VARCHAR,
    event_step_name VARCHAR,
    event_id VARCHAR,
    event_type VARCHAR,
    event_index INTEGER,
    logged_at TIMESTAMPTZ
);
CREATE VIEW trace_replay_events AS
SELECT r.replay_key, r.run_id, u.position, i.event_id, i.event_type, i.correlation_id,
       i.step_name
FROM trace_replays r
JOIN (
    SELECT run_id, digest, generate_subscripts(items, 1) AS position, unnest(items) AS item
    FROM (
        SELECT run_id, digest, flatten(list_transform(
            list_zip(starts, stops), lambda p: range(p[1], p[2]))) AS items
        FROM trace_snapshots
    )
) u ON u.run_id = r.run_id AND u.digest = r.digest
JOIN trace_items i ON i.run_id = u.run_id AND i.item = u.item;
"""

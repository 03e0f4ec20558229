"""The store's schema as ordered migrations, plus the views every reader shares.

Each migration is applied once, in order, inside a transaction, and recorded in
`forensics_migrations`; opening a file written by an older version upgrades it. Views are
recreated on every open because they hold no data, so changing a view needs no migration.
Table and column names here are the public SQL interface documented in README.
"""

from __future__ import annotations

from dataclasses import dataclass

from forensics.store.ingest import (
    ID_TIME_SQL,
    SCHEME_SQL,
    SLOT_SQL,
    conflict_keys_sql,
    content_hash_sql,
)
from forensics.store.trace_schema import TRACE_TABLES_SQL


@dataclass(frozen=True)
class Migration:
    version: int
    name: str
    sql: str


def _events_table(name: str, id_columns: str) -> str:
    """The `events` table's DDL; `id_columns` declares `id_scheme`, `slot` and `id_time`."""
    return f"""
CREATE TABLE {name} (
    import_id INTEGER NOT NULL,
    source_kind VARCHAR NOT NULL,
    source_location VARCHAR NOT NULL,
    source_position VARCHAR,
    source_tag VARCHAR,
    run_id VARCHAR NOT NULL,
    event_id VARCHAR NOT NULL,
{id_columns}    event_type VARCHAR NOT NULL,
    correlation_id VARCHAR,
    created_at TIMESTAMPTZ,
    occurred_at TIMESTAMPTZ,
    write_time TIMESTAMPTZ,
    spec_version INTEGER,
    resume_id VARCHAR,
    fence_last_event_id VARCHAR,
    fence_state_updated_at TIMESTAMPTZ,
    event_data JSON,
    payload_field VARCHAR,
    payload_raw BLOB,
    payload_decoded JSON,
    payload_format VARCHAR NOT NULL,
    staged BOOLEAN NOT NULL DEFAULT false,
    conflict BOOLEAN NOT NULL DEFAULT false,
    content_hash UHUGEINT NOT NULL,
    extra JSON
);
"""


# Schema 1 computed the id columns when read (VIRTUAL); schema 5 stores them, see below.
_VIRTUAL_ID_COLUMNS = f"""    id_scheme VARCHAR GENERATED ALWAYS AS ({SCHEME_SQL}) VIRTUAL,
    slot BIGINT GENERATED ALWAYS AS ({SLOT_SQL}) VIRTUAL,
    id_time TIMESTAMPTZ GENERATED ALWAYS AS ({ID_TIME_SQL}) VIRTUAL,
"""
_STORED_ID_COLUMNS = """    id_scheme VARCHAR NOT NULL,
    slot BIGINT,
    id_time TIMESTAMPTZ,
"""


_EVENTS_V1 = _events_table("events", _VIRTUAL_ID_COLUMNS)

_BASE = f"""
CREATE SEQUENCE IF NOT EXISTS import_id_seq START 1;
CREATE TABLE imports (
    import_id INTEGER PRIMARY KEY,
    source_kind VARCHAR NOT NULL,
    location VARCHAR NOT NULL,
    options JSON,
    started_at TIMESTAMPTZ NOT NULL,
    finished_at TIMESTAMPTZ,
    read_count BIGINT DEFAULT 0,
    stored_count BIGINT DEFAULT 0,
    duplicate_count BIGINT DEFAULT 0,
    quarantined_count BIGINT DEFAULT 0,
    conflict_count BIGINT DEFAULT 0,
    run_count BIGINT DEFAULT 0,
    entity_count BIGINT DEFAULT 0,
    status VARCHAR NOT NULL,
    error VARCHAR,
    notes VARCHAR
);
{_EVENTS_V1}CREATE TABLE run_records (
    run_id VARCHAR PRIMARY KEY,
    import_id INTEGER NOT NULL,
    source_location VARCHAR NOT NULL,
    workflow_name VARCHAR,
    status VARCHAR,
    deployment_id VARCHAR,
    spec_version INTEGER,
    created_at TIMESTAMPTZ,
    started_at TIMESTAMPTZ,
    completed_at TIMESTAMPTZ,
    error_code VARCHAR,
    error JSON,
    extra JSON
);
CREATE TABLE entities (
    import_id INTEGER NOT NULL,
    source_location VARCHAR NOT NULL,
    run_id VARCHAR NOT NULL,
    entity_id VARCHAR NOT NULL,
    kind VARCHAR NOT NULL,
    name VARCHAR,
    token VARCHAR,
    status VARCHAR,
    attempt INTEGER,
    created_at TIMESTAMPTZ,
    started_at TIMESTAMPTZ,
    completed_at TIMESTAMPTZ,
    resume_at TIMESTAMPTZ,
    spec_version INTEGER,
    extra JSON
);
CREATE TABLE quarantine (
    import_id INTEGER NOT NULL,
    source_kind VARCHAR NOT NULL,
    location VARCHAR NOT NULL,
    position VARCHAR,
    reason VARCHAR NOT NULL,
    raw VARCHAR,
    quarantined_at TIMESTAMPTZ NOT NULL
);
"""

# Per-source high-water marks of incremental importers (PostgreSQL: the highest event id
# imported per run). Written only after an import finished, so a mark never runs ahead of
# the events the store holds; an interrupted import leaves the old marks and a rerun
# re-reads from there (repeated copies are dropped as usual).
_IMPORT_MARKS = """
CREATE TABLE import_marks (
    source VARCHAR NOT NULL,
    scope VARCHAR NOT NULL,
    item VARCHAR NOT NULL,
    mark VARCHAR NOT NULL,
    import_id INTEGER NOT NULL,
    PRIMARY KEY (source, scope, item)
);
"""

# What `forensics check` found: one row per finding, and per analysed run its verdict and the
# fingerprint of the rows it was computed from, so a later check recomputes only stale runs.
_FINDINGS = """
CREATE TABLE findings (
    finding_id VARCHAR NOT NULL,
    run_id VARCHAR NOT NULL,
    code VARCHAR NOT NULL,
    severity VARCHAR NOT NULL,
    correlation_id VARCHAR,
    event_ids VARCHAR[] NOT NULL,
    fatal_in VARCHAR[] NOT NULL,
    replay_message VARCHAR,
    evidence JSON,
    explanation VARCHAR,
    found_at TIMESTAMPTZ NOT NULL
);
CREATE TABLE run_verdicts (
    run_id VARCHAR NOT NULL,
    verdict VARCHAR NOT NULL,
    reason VARCHAR,
    fingerprint VARCHAR NOT NULL,
    checked_at TIMESTAMPTZ NOT NULL
);
"""

# DuckDB evaluates virtual columns on every INSERT too (to check them), which cost a bulk
# import as much as writing the rest of the row; stored, they are computed once by the
# import's SELECT (in parallel) and reading them is free. The table is rebuilt in place.
_STORED_IDS = (
    _events_table("events_v5", _STORED_ID_COLUMNS)
    + """
INSERT INTO events_v5 SELECT * FROM events;
DROP TABLE events;
ALTER TABLE events_v5 RENAME TO events;
"""
)

# Content hashes were first taken over times rounded to the millisecond, which made a
# microsecond copy (PostgreSQL) disagree with the millisecond copy of the same event (a JSON
# export) half the time. Recompute them over truncated times, drop the copies that turn out
# repeated (keeping the earliest, as an import does) and mark conflicts afresh.
_TRUNCATED_TIMES = f"""
UPDATE events SET content_hash = {content_hash_sql("events", "events.event_data")};
DELETE FROM events WHERE rowid IN (
    SELECT rid FROM (
        SELECT rowid AS rid, row_number() OVER (
            PARTITION BY run_id, event_id, content_hash
            ORDER BY import_id, source_location, source_position) AS rn
        FROM events
    ) WHERE rn > 1
);
UPDATE events SET conflict = false WHERE conflict;
UPDATE events SET conflict = true FROM ({conflict_keys_sql("events")}) k
WHERE events.run_id = k.run_id AND events.event_id = k.event_id;
"""

# Conflict marks were first computed over eventData as written, so two copies whose keys came
# in another order (world-local's file and the CLI's copy of it) were marked as conflicting.
# Stores written before the keys were compared in sorted order get their marks recomputed;
# the kept statistics and verdicts key on the marks, so `check` recomputes what they touched.
_SORTED_KEY_CONFLICTS = f"""
UPDATE events SET conflict = false WHERE conflict;
UPDATE events SET conflict = true FROM ({conflict_keys_sql("events")}) k
WHERE events.run_id = k.run_id AND events.event_id = k.event_id;
"""

MIGRATIONS: tuple[Migration, ...] = (
    Migration(1, "base tables", _BASE),
    Migration(2, "import marks (incremental imports)", _IMPORT_MARKS),
    Migration(3, "findings and run verdicts", _FINDINGS),
    Migration(4, "replay traces (WF_TRACE)", TRACE_TABLES_SQL),
    Migration(5, "events: id columns stored, not virtual", _STORED_IDS),
    Migration(6, "events: content hashes over times truncated to milliseconds", _TRUNCATED_TIMES),
    Migration(
        7, "events: conflict marks compare eventData keys in sorted order", _SORTED_KEY_CONFLICTS
    ),
)


def copy_order(alias: str = "") -> str:
    """ORDER BY terms picking the copy of an event the log uses (first wins).

    A copy that knows its fence and write time wins, then the earliest import; every reader
    that picks one copy per event (the `run_log` view, the analysis, the replay engine, the
    TUI) uses these terms so they all see the same log.
    """
    a = f"{alias}." if alias else ""
    return (
        f"{a}fence_last_event_id IS NULL, {a}write_time IS NULL, {a}import_id,"
        f" {a}source_location, {a}source_position"
    )


# One copy per (run, event id) in log order: a copy that knows its write time and fence wins,
# then the earliest import; staged events are not part of the log. `log_position` is the
# 1-based position in replay (eventId) order.
VIEWS = f"""
CREATE OR REPLACE VIEW run_log AS
SELECT c.*, row_number() OVER (PARTITION BY c.run_id ORDER BY c.event_id) AS log_position
FROM (
    SELECT e.*, row_number() OVER (
        PARTITION BY e.run_id, e.event_id
        ORDER BY {copy_order("e")}
    ) AS copy_no
    FROM events e
    WHERE NOT e.staged
) c
WHERE c.copy_no = 1;

CREATE OR REPLACE VIEW runs AS
WITH agg AS (
    SELECT
        run_id,
        count(*) AS event_count,
        min(created_at) AS first_event_at,
        max(created_at) AS last_event_at,
        max(spec_version) AS event_spec_version,
        max(CASE WHEN event_type = 'run_created'
                 THEN json_extract_string(event_data, '$.workflowName') END) AS event_workflow_name,
        -- the type of the run's last terminal event (in log order), in the same pass
        arg_max(event_type, event_id) FILTER (
            WHERE event_type IN ('run_completed', 'run_failed', 'run_cancelled',
                                 'workflow_completed', 'workflow_failed')) AS terminal_event,
        -- a run record may lack the error code its run_failed event carries
        max(CASE WHEN event_type IN ('run_failed', 'workflow_failed')
                 THEN coalesce(json_extract_string(event_data, '$.errorCode'),
                               json_extract_string(payload_decoded, '$.errorCode')) END)
            AS event_error_code
    FROM run_log
    GROUP BY run_id
)
SELECT
    coalesce(r.run_id, a.run_id) AS run_id,
    coalesce(r.workflow_name, a.event_workflow_name) AS workflow_name,
    coalesce(r.status, CASE a.terminal_event
        WHEN 'run_completed' THEN 'completed' WHEN 'workflow_completed' THEN 'completed'
        WHEN 'run_failed' THEN 'failed' WHEN 'workflow_failed' THEN 'failed'
        WHEN 'run_cancelled' THEN 'cancelled' END, 'unknown') AS status,
    r.status IS NOT NULL AS status_from_record,
    coalesce(r.spec_version, a.event_spec_version) AS spec_version,
    r.deployment_id,
    r.created_at,
    r.started_at,
    r.completed_at,
    coalesce(r.error_code, a.event_error_code) AS error_code,
    coalesce(a.event_count, 0) AS event_count,
    a.first_event_at,
    a.last_event_at,
    a.terminal_event,
    r.run_id IS NOT NULL AS has_record
FROM run_records r
FULL OUTER JOIN agg a ON a.run_id = r.run_id;

CREATE OR REPLACE VIEW event_conflicts AS
SELECT run_id, event_id, count(*) AS copies,
       array_to_string(list_sort(list(DISTINCT import_id)), ',') AS import_ids
FROM events
WHERE conflict
GROUP BY run_id, event_id;
"""

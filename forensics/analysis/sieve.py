"""The SQL of the fleet sieve (see `scan`): per-run facts, per-entity counts, order buckets.

A test here may flag a healthy run or entity (the detectors then read its real event ids and
clear it); it must not miss an anomalous one, within two stated limits. Aggregate states are
numbers wherever the state is per entity: string states over a million groups cost several
times more. Order inside an entity is judged by commit time, ties counting as suspect; events
whose commit order disagrees with their id order by more than the inversion tolerance put
their whole run among the suspects through `_fx_buckets`. Below that tolerance the count
tests (a step's starts, retries and terminals; a wait's terminals) need no order, and the
hook test allows for it; the limits: an entity whose first event sorts before its creation
but committed after it, within the tolerance, and an ordinal regression in a run with no
duplicate creation, shared body or hole among its ordinals, are not seen fleet-wide.
"""

from __future__ import annotations

from typing import Final

from forensics.analysis.vocab import (
    CORRUPTION_CODES,
    CORRUPTION_PREFIXES,
    CREATION,
    RESOLUTION,
    RUN_OPENING,
    RUN_TERMINAL,
    TERMINAL,
    sql_list,
)

ENTITY_EVENT: Final = (
    "(starts_with(event_type, 'step_') OR starts_with(event_type, 'hook_')"
    " OR starts_with(event_type, 'wait_'))"
)
# Seeded ULID correlation ids (`step_01…`, 31 characters) are grouped by the end of their
# body, so one body under two prefixes lands in one group (12 characters: short strings are
# stored inline, which makes this key cheap; two bodies sharing their last 12 characters are
# merely one more suspect). Counters (`step_00…1`) stay whole: each kind counts on its own.
GKEY: Final = (
    f"CASE WHEN correlation_id IS NULL OR NOT {ENTITY_EVENT} THEN NULL"
    " WHEN length(correlation_id) = 31 AND substr(correlation_id, 6, 2) <> '00'"
    " THEN right(correlation_id, 12) ELSE correlation_id END"
)
ULID_CID: Final = (
    "(length(correlation_id) = 31 AND substr(correlation_id, 5, 1) = '_'"
    " AND substr(correlation_id, 6, 2) <> '00')"
)
SLOT_ID: Final = "substr(event_id, length(event_id) - 25, 2) = '00'"
MESSAGE_SQL: Final = (
    "coalesce(json_extract_string(payload_decoded, '$.message'),"
    " CASE WHEN json_type(payload_decoded) = 'VARCHAR' THEN payload_decoded ->> '$' END)"
)
CORRUPT_SQL: Final = (
    "(event_type IN ('run_failed', 'workflow_failed') AND ("
    f"json_extract_string(event_data, '$.errorCode') IN {sql_list(CORRUPTION_CODES)} OR "
    + " OR ".join(f"starts_with({MESSAGE_SQL}, '{p}')" for p in CORRUPTION_PREFIXES)
    + "))"
)
_NOT_STAGED: Final = "NOT staged"
# The XOR of a run's content hashes, as its two 64-bit halves: DuckDB's `bit_xor` over the
# 128-bit hash itself is two orders of magnitude slower once there are thousands of runs.
CONTENT_X: Final = (
    "bit_xor((content_hash >> 64)::UBIGINT) || ':'"
    " || bit_xor((content_hash & 18446744073709551615::UHUGEINT)::UBIGINT)"
)

# What the events of a run say, one row per run (`_fx_facts_ev`); `{{where}}` picks the runs.
FACTS_EV_SQL: Final = f"""
CREATE OR REPLACE TEMP TABLE _fx_facts_ev AS
    SELECT run_id,
        count(*) AS n_rows,
        {CONTENT_X} AS content_x,
        count(*) FILTER (WHERE {_NOT_STAGED}) AS n_events,
        count(*) FILTER (WHERE conflict) AS n_conflict_rows,
        max(created_at) AS last_at,
        min(event_id) FILTER (WHERE {_NOT_STAGED}) AS first_id,
        min(event_id) FILTER (WHERE {_NOT_STAGED} AND event_type IN {sql_list(RUN_OPENING)})
            AS opening_id,
        min(event_id) FILTER (WHERE {_NOT_STAGED} AND event_type IN {sql_list(RUN_TERMINAL)})
            AS run_term_id,
        count(*) FILTER (WHERE {_NOT_STAGED} AND event_type IN {sql_list(RUN_TERMINAL)})
            AS n_run_term,
        max(event_id) FILTER (
            WHERE {_NOT_STAGED} AND event_type NOT IN {sql_list(RUN_TERMINAL)}) AS last_other_id,
        max(wf) AS event_workflow,
        max(core_version) AS core_version,
        max(deployment) AS deployment,
        count(*) FILTER (WHERE starts_with(event_type, 'workflow_')) AS n_legacy,
        count(*) FILTER (WHERE event_type = 'step_created') AS n_step_created,
        max(spec_version) AS spec_version,
        count(*) FILTER (WHERE corrupt) AS n_corrupt,
        count(*) FILTER (WHERE analytics) AS n_analytics,
        count(*) FILTER (WHERE event_type IN {sql_list(RESOLUTION)}) AS n_res,
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
                 THEN json_extract_string(event_data, '$.workflowName') END AS wf,
            CASE WHEN event_type = 'run_created' THEN json_extract_string(event_data,
                '$.executionContext.workflowCoreVersion') END AS core_version,
            CASE WHEN event_type = 'run_created'
                 THEN json_extract_string(event_data, '$.deploymentId') END AS deployment,
            CASE WHEN event_type IN ('run_failed', 'workflow_failed') THEN {CORRUPT_SQL} END
                AS corrupt,
            extra IS NOT NULL AND coalesce(json_extract(extra, '$.analytics')::BOOLEAN, false)
                AS analytics,
            CASE WHEN event_type IN {sql_list(CREATION)} AND {ULID_CID}
                 THEN substr(correlation_id, 6, 10) END AS prefix,
            CASE WHEN event_type IN {sql_list(CREATION)} AND {ULID_CID}
                 THEN right(correlation_id, 16) END AS body,
            CASE WHEN coalesce(spec_version, 6) >= 6 AND NOT staged AND {SLOT_ID}
                 THEN TRY_CAST(right(event_id, 26) AS BIGINT) END AS slot
        FROM events
        {{where}}
    ) e
    GROUP BY run_id
"""

# What the sieve's statistics of a run depend on, cheap to compute: rows, content, conflict
# marks and decoded payloads. Statistics kept from an earlier pass are used only while it holds.
KEY_SQL: Final = f"""
CREATE OR REPLACE TEMP TABLE _fx_key AS
SELECT run_id, md5(concat_ws('|', count(*), {CONTENT_X}, count(*) FILTER (WHERE conflict),
                             count(*) FILTER (WHERE staged), count(payload_decoded))) AS stats_key
FROM events {{where}}
GROUP BY run_id
"""

# Run-level facts: `_fx_facts_ev` joined with run records, entity rows and traces.
FACTS_SQL: Final = """
CREATE OR REPLACE TEMP TABLE _fx_facts AS
WITH ev AS (SELECT * FROM _fx_facts_ev),
rr AS (
    SELECT run_id, workflow_name, status, started_at,
        hash(import_id, workflow_name, status, started_at, spec_version, error_code) AS h
    FROM run_records {where}
),
en AS (
    SELECT run_id, count(*) AS n,
        bit_xor(hash(entity_id, kind, name, token, status, completed_at, resume_at,
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
    md5(concat_ws('|', $settings, ev.n_rows, ev.content_x, ev.n_conflict_rows, rr.h, en.n,
                  en.h, tr.n, tr.hi)) AS fingerprint
FROM ev
FULL OUTER JOIN rr ON rr.run_id = ev.run_id
FULL OUTER JOIN en ON en.run_id = coalesce(ev.run_id, rr.run_id)
LEFT JOIN tr ON tr.run_id = coalesce(ev.run_id, rr.run_id, en.run_id)
"""

# `packed` holds byte-sized counts (creations, hook conflicts, terminals, starts, retries,
# events without a commit time): an entity with 255 events or more is a suspect anyway, so a
# byte never overflows unnoticed. `kinds` has one bit per kind prefix seen under the key.
_PACK: Final = (
    "(CASE event_type WHEN 'step_created' THEN 1 WHEN 'hook_created' THEN 1"
    " WHEN 'wait_created' THEN 1 WHEN 'hook_conflict' THEN 256"
    " WHEN 'step_started' THEN 16777216 WHEN 'step_retrying' THEN 4294967296"
    " WHEN 'step_completed' THEN 65536 WHEN 'step_failed' THEN 65536"
    " WHEN 'wait_completed' THEN 65536 WHEN 'hook_disposed' THEN 65536 ELSE 0 END"
    " + CASE WHEN k IS NULL THEN 1099511627776 ELSE 0 END)::BIGINT"
)
PACKED_FIELDS: Final = (
    "n_create",
    "n_hook_conflict",
    "n_term",
    "n_started",
    "n_retrying",
    "n_unkeyed",
)
_IS_CREATION: Final = f"(event_type IN {sql_list(CREATION)})::BIGINT"
_NOT_TERMINAL: Final = f"(event_type NOT IN {sql_list(TERMINAL)})::BIGINT"

# Order tests in two numbers, ties counted against the entity: `first_mark` is even when some
# event other than a creation was committed no later than the first creation (or there is
# none); `last_mark` is odd when some event other than a terminal was committed no earlier
# than the (single) terminal, a `hook_received` counting as `{{width}}` ms later than it was.
ENTITY_STATS_SQL: Final = f"""
CREATE OR REPLACE TEMP TABLE _fx_ent AS
SELECT run_id, gkey,
    count(*) AS n_rows,
    sum({_PACK}) AS packed,
    bit_or(kind_bit) AS kinds,
    bit_or(type_bit) AS type_kinds,
    min(2 * k + {_IS_CREATION}) AS first_mark,
    max(2 * (k + CASE WHEN event_type = 'hook_received' THEN {{width}} ELSE 0 END)
        + {_NOT_TERMINAL}) AS last_mark,
    min(ident) AS ident_lo, max(ident) AS ident_hi
FROM (
    SELECT *, CASE WHEN name IS NOT NULL THEN hash(name) END AS ident
    FROM (
        SELECT run_id, event_type, {GKEY} AS gkey,
            epoch_ms(coalesce(write_time, created_at)) AS k,
            CASE left(correlation_id, 5) WHEN 'step_' THEN 1 WHEN 'hook_' THEN 2
                 WHEN 'wait_' THEN 4 ELSE 8 END AS kind_bit,
            CASE left(event_type, 5) WHEN 'step_' THEN 1 WHEN 'hook_' THEN 2
                 WHEN 'wait_' THEN 4 ELSE 0 END AS type_bit,
            CASE WHEN starts_with(event_type, 'step_') THEN event_data ->> '$.stepName'
                 WHEN starts_with(event_type, 'hook_') THEN event_data ->> '$.token'
                 WHEN starts_with(event_type, 'wait_') THEN event_data ->> '$.resumeAt'
            END AS name
        FROM events
        WHERE NOT staged {{scope}}
    ) r0
) r
GROUP BY run_id, gkey
"""


def unpack(packed: int) -> dict[str, int]:
    """The byte-sized counts of `_fx_ent.packed`, by name."""
    return {name: (packed >> (8 * i)) & 255 for i, name in enumerate(PACKED_FIELDS)}


# Commit-time buckets as wide as the inversion tolerance: an event committed more than one
# width after another that sorts after it lands in a later bucket while minted earlier, so
# a bucket whose smallest mint time is not above every earlier bucket's largest is suspect.
BUCKETS_SQL: Final = f"""
CREATE OR REPLACE TEMP TABLE _fx_buckets AS
SELECT DISTINCT run_id FROM (
    SELECT run_id, lo, max(hi) OVER (
        PARTITION BY run_id ORDER BY b ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING) AS prior
    FROM (
        SELECT run_id, b, min(m) AS lo, max(m) AS hi
        FROM (
            SELECT run_id, epoch_ms(coalesce(write_time, created_at)) // {{width}} AS b,
                substr(event_id, length(event_id) - 25, 10) AS m
            FROM events
            WHERE NOT staged AND NOT {SLOT_ID} {{scope}}
        ) x
        GROUP BY run_id, b
    ) y
) z
WHERE lo <= prior
"""


def _base32(column: str) -> str:
    """SQL for the value of a 16-character Crockford body (as HUGEINT)."""
    alphabet = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
    terms = [
        f"(instr('{alphabet}', substr({column}, {i + 1}, 1)) - 1)::HUGEINT * {32 ** (15 - i)}"
        for i in range(16)
    ]
    return "(" + " + ".join(terms) + ")"


# A run is a suspect as a whole when its run-level shape needs every event to judge: its
# lifecycle, a corrupted-log error, conflicts or slots, a possible race or inversion, a
# shared body or duplicate creation, or a hole among its seeded ordinals (bodies B0 + k: a
# replay numbering from a shorter log leaves one, and an ordinal regression hides there).
SUSPECT_RUNS_SQL: Final = f"""
CREATE OR REPLACE TEMP TABLE _fx_suspect_runs AS
SELECT run_id FROM _fx_facts
WHERE run_id IN (SELECT run_id FROM _fx_scope) AND n_events > 0 AND (
    (n_bodies > 0 AND {_base32("body_hi")} - {_base32("body_lo")} + 1 > n_bodies
     AND {_base32("body_hi")} - {_base32("body_lo")} < n_bodies + 100000) OR
    opening_id IS NULL OR first_id < opening_id OR n_run_term > 1
    OR last_other_id > run_term_id OR n_corrupt > 0
    OR n_conflict_rows > 0 OR n_slot_rows <> coalesce(slot_hi, 0)
    OR (n_hook_wait_res > 0 AND n_res > 1))
UNION SELECT run_id FROM _fx_buckets
UNION SELECT run_id FROM _fx_ent
    WHERE (gkey IS NULL AND ((packed >> 40) & 255 > 0 OR type_kinds > 0))
       OR bit_count(kinds) > 1 OR packed & 255 > 1
"""

# `packed` bytes: 0 creations, 1 hook conflicts, 2 terminals, 3 starts, 4 retries, 5 keyless.
SUSPECT_ENTITIES_SQL: Final = """
CREATE OR REPLACE TEMP TABLE _fx_suspect_groups AS
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
"""

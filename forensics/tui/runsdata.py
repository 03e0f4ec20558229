"""The runs list's data: a cheap snapshot of every run, and exact event counts on demand.

Counting distinct event ids over millions of events is what makes the store's `runs` view
slow, so the snapshot leaves `events` NULL and `RunsSource` fills it for the rows of each
page it fetches (one small query over those runs only). Sorting by event count needs every
count: `with_event_counts` computes them all once, when asked.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import duckdb
import pyarrow as pa

from forensics.tui.data import TERMINAL_TYPES, has_table
from forensics.tui.sources import ArrowSource, Row

# The `runs` view's columns from three narrow scans of `events` (the times of every event;
# the workflow name of `run_created` rows only; the last terminal event), so no JSON and no
# event id is read for every row; joined with the stored analysis results when the store has
# them (`verdict` NULL: not checked).
_RUNS_AGG = f"""
WITH times AS (
    SELECT run_id, min(created_at) AS first_at, max(created_at) AS last_at,
        max(spec_version) AS spec
    FROM events WHERE NOT staged GROUP BY run_id
),
names AS (
    SELECT run_id, max(json_extract_string(event_data, '$.workflowName')) AS workflow
    FROM events WHERE event_type = 'run_created' AND NOT staged GROUP BY run_id
),
ends AS (
    SELECT run_id, arg_max(event_type, event_id) AS terminal,
        arg_max(json_extract_string(event_data, '$.errorCode'), event_id)
            FILTER (WHERE event_type IN ('run_failed', 'workflow_failed')) AS error_code
    FROM events WHERE event_type IN {TERMINAL_TYPES} AND NOT staged GROUP BY run_id
),
agg AS (SELECT * FROM times LEFT JOIN names USING (run_id) LEFT JOIN ends USING (run_id))
SELECT coalesce(r.run_id, a.run_id) AS run_id,
    coalesce(r.status, CASE a.terminal
        WHEN 'run_completed' THEN 'completed' WHEN 'workflow_completed' THEN 'completed'
        WHEN 'run_failed' THEN 'failed' WHEN 'workflow_failed' THEN 'failed'
        WHEN 'run_cancelled' THEN 'cancelled' END, 'unknown') AS status,
    coalesce(r.error_code, a.error_code) AS error_code,
    coalesce(r.workflow_name, a.workflow) AS workflow,
    coalesce(r.spec_version, a.spec) AS spec,
    CAST(NULL AS BIGINT) AS events,
    a.first_at, a.last_at
FROM run_records r FULL OUTER JOIN agg a ON a.run_id = r.run_id
"""
_WITH_FINDINGS = f"""
WITH base AS ({_RUNS_AGG}),
counts AS (
    SELECT run_id, count(*) FILTER (WHERE severity = 'error') AS errors,
        count(*) FILTER (WHERE severity = 'warning') AS warnings,
        count(*) FILTER (WHERE severity = 'info') AS infos,
        string_agg(DISTINCT code, ' ' ORDER BY code) AS codes
    FROM findings GROUP BY run_id
)
SELECT b.run_id, b.status, b.error_code, v.verdict, c.errors, c.warnings, c.infos,
    concat_ws(' ', CASE WHEN c.errors > 0 THEN c.errors || '✗' END,
        CASE WHEN c.warnings > 0 THEN c.warnings || '!' END,
        CASE WHEN c.infos > 0 THEN c.infos || 'i' END) AS findings,
    coalesce(c.errors, 0) * 1000000 + coalesce(c.warnings, 0) * 1000 + coalesce(c.infos, 0)
        AS weight, b.workflow, b.spec, b.events, b.first_at, b.last_at, c.codes
FROM base b LEFT JOIN run_verdicts v USING (run_id) LEFT JOIN counts c USING (run_id)
"""
_PLAIN = f"""
SELECT run_id, status, error_code, CAST(NULL AS VARCHAR) AS verdict, CAST(NULL AS BIGINT) AS errors,
    CAST(NULL AS BIGINT) AS warnings, CAST(NULL AS BIGINT) AS infos,
    CAST(NULL AS VARCHAR) AS findings, 0 AS weight, workflow, spec, events,
    first_at, last_at, CAST(NULL AS VARCHAR) AS codes
FROM ({_RUNS_AGG})
"""
_COUNTS = (
    "SELECT run_id, count(DISTINCT event_id) AS events FROM events"
    " WHERE NOT staged{scope} GROUP BY run_id"
)


def runs_snapshot(cur: duckdb.DuckDBPyConnection) -> pa.Table:
    """Every run with its status, verdict, finding counts and times (`events` still NULL)."""
    analysed = has_table(cur, "findings") and has_table(cur, "run_verdicts")
    cur.execute("SET TimeZone = 'UTC'")
    return cur.sql(_WITH_FINDINGS if analysed else _PLAIN).to_arrow_table()


def event_counts(cur: duckdb.DuckDBPyConnection, run_ids: Sequence[str]) -> dict[str, int]:
    """Distinct event ids (the log's length) of each of `run_ids`."""
    if not run_ids:
        return {}
    marks = ", ".join("?" for _ in run_ids)
    rows = cur.execute(_COUNTS.format(scope=f" AND run_id IN ({marks})"), list(run_ids))
    return {str(r[0]): int(r[1]) for r in rows.fetchall()}


def with_event_counts(cur: duckdb.DuckDBPyConnection, snapshot: pa.Table) -> pa.Table:
    """`snapshot` with every `events` value filled (one pass over all events)."""
    cur.register("_runs_snapshot", snapshot)
    try:
        return cur.sql(
            f"WITH n AS ({_COUNTS.format(scope='')})"
            " SELECT s.* REPLACE (coalesce(n.events, 0) AS events)"
            " FROM _runs_snapshot s LEFT JOIN n USING (run_id)"
        ).to_arrow_table()
    finally:
        cur.unregister("_runs_snapshot")


@dataclass(frozen=True)
class RunsSource(ArrowSource):
    """The runs snapshot, sorted and filtered, with each page's event counts filled in."""

    def fetch(self, cur: duckdb.DuckDBPyConnection, offset: int, limit: int) -> list[Row]:
        rows = super().fetch(cur, offset, limit)
        at = list(self.fields).index("events")
        missing = [str(r[0]) for r in rows if r[at] is None]
        counts = event_counts(cur, missing)
        return [
            (*r[:at], counts.get(str(r[0]), 0), *r[at + 1 :]) if r[at] is None else r for r in rows
        ]

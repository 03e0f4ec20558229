"""What the TUI reads besides paged lists: the runs snapshot, one run's header, one event.

Every function takes a worker's own cursor and returns plain values, so the screens stay free
of SQL and the functions can be tested and timed without a terminal. `CursorStore` lets the
library functions that take a `Store` (browse, queries, analysis) run on such a cursor.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import duckdb

from forensics.model import Finding
from forensics.store import Store
from forensics.store.opening import StoreReader
from forensics.store.schema import copy_order


class CursorStore(Store):
    """A `Store` that reads through a cursor of its own, for one worker thread.

    It shares the open database of `store` (or opens one read-only connection of a
    `StoreReader`): nothing is migrated, so the base initialiser is deliberately not called.
    Closing it closes only the cursor.
    """

    def __init__(self, store: Store | StoreReader) -> None:
        self.path = store.path
        self.con = store.cursor()


TERMINAL_TYPES = (
    "run_completed",
    "run_failed",
    "run_cancelled",
    "workflow_completed",
    "workflow_failed",
)

# One run's line of the runs list, with its exact event count (cheap for one run).
_HEADER_SQL = f"""
WITH a AS (
    SELECT count(DISTINCT event_id) AS events, min(created_at) AS first_at,
        max(created_at) AS last_at, max(spec_version) AS spec,
        max(json_extract_string(event_data, '$.workflowName'))
            FILTER (WHERE event_type = 'run_created') AS workflow,
        arg_max(event_type, event_id) FILTER (WHERE event_type IN {TERMINAL_TYPES}) AS terminal
    FROM events WHERE run_id = $run AND NOT staged
),
r AS (SELECT * FROM run_records WHERE run_id = $run)
SELECT $run, coalesce((SELECT workflow_name FROM r), a.workflow),
    coalesce((SELECT status FROM r), CASE a.terminal
        WHEN 'run_completed' THEN 'completed' WHEN 'workflow_completed' THEN 'completed'
        WHEN 'run_failed' THEN 'failed' WHEN 'workflow_failed' THEN 'failed'
        WHEN 'run_cancelled' THEN 'cancelled' END, 'unknown'),
    coalesce((SELECT spec_version FROM r), a.spec), a.events, a.first_at, a.last_at
FROM a
"""


def has_table(cur: duckdb.DuckDBPyConnection, name: str) -> bool:
    row = cur.execute(
        "SELECT count(*) FROM duckdb_tables() WHERE table_name = ? AND NOT temporary", [name]
    ).fetchone()
    return bool(row and row[0])


@dataclass(frozen=True)
class RunHeader:
    """The one line above a run's views."""

    run_id: str
    workflow: str | None
    status: str
    spec: int | None
    events: int
    first_at: datetime | None
    last_at: datetime | None
    verdict: str | None


def run_header(cur: duckdb.DuckDBPyConnection, run_id: str) -> RunHeader:
    row = cur.execute(_HEADER_SQL, {"run": run_id}).fetchone()
    if row is None:
        return RunHeader(run_id, None, "unknown", None, 0, None, None, None)
    verdict = None
    if has_table(cur, "run_verdicts"):
        found = cur.execute("SELECT verdict FROM run_verdicts WHERE run_id = ?", [run_id])
        got = found.fetchone()
        verdict = str(got[0]) if got else None
    return RunHeader(str(row[0]), row[1], str(row[2]), row[3], int(row[4]), row[5], row[6], verdict)


@dataclass(frozen=True)
class EventDetail:
    """One event with every stored column, and how many copies the store holds of it."""

    fields: dict[str, Any]
    copies: int


# The copy of an event the log uses: the store's own preference (`copy_order`).
_DETAIL_SQL = """
SELECT * EXCLUDE (payload_raw, staged, content_hash), count(*) OVER () AS copies
FROM events WHERE run_id = $run AND event_id = $event AND NOT staged
ORDER BY {COPY_ORDER}
LIMIT 1
""".replace("{COPY_ORDER}", copy_order())


def event_detail(
    cur: duckdb.DuckDBPyConnection, run_id: str, event_id: str, position: int | None = None
) -> EventDetail:
    """One event as the log holds it (the preferred copy), and how many copies there are."""
    cur.execute("SET TimeZone = 'UTC'")
    result = cur.execute(_DETAIL_SQL, {"run": run_id, "event": event_id})
    names = [d[0] for d in result.description or ()]
    row = result.fetchone()
    if row is None:
        return EventDetail({}, 0)
    fields = dict(zip(names, row, strict=True))
    copies = int(fields.pop("copies"))
    if position is not None:
        fields["log_position"] = position
    return EventDetail(fields, copies)


def positions(cur: duckdb.DuckDBPyConnection, run_id: str, event_ids: list[str]) -> list[int]:
    """The log positions (1-based) of `event_ids` in the run, in log order."""
    if not event_ids:
        return []
    rows = cur.execute(
        "SELECT log_position FROM run_log WHERE run_id = ? AND list_contains(?, event_id)"
        " ORDER BY log_position",
        [run_id, event_ids],
    ).fetchall()
    return [int(r[0]) for r in rows]


def stored_findings(cur: duckdb.DuckDBPyConnection, run_id: str) -> list[Finding] | None:
    """The findings the last `forensics check` stored for the run; None if it was not checked."""
    if not (has_table(cur, "findings") and has_table(cur, "run_verdicts")):
        return None
    checked = cur.execute("SELECT count(*) FROM run_verdicts WHERE run_id = ?", [run_id])
    row = checked.fetchone()
    if not row or not row[0]:
        return None
    rows = cur.execute(
        "SELECT finding_id, code, severity, run_id, correlation_id, event_ids, fatal_in,"
        " replay_message, evidence, explanation FROM findings WHERE run_id = ?"
        " ORDER BY CASE severity WHEN 'error' THEN 0 WHEN 'warning' THEN 1 ELSE 2 END,"
        " event_ids[1] NULLS LAST, code",
        [run_id],
    ).fetchall()
    return [
        Finding(
            finding_id=str(r[0]),
            code=str(r[1]),
            severity=str(r[2]),
            run_id=str(r[3]),
            correlation_id=r[4],
            event_ids=tuple(r[5] or ()),
            fatal_in=tuple(r[6] or ()),
            replay_message=r[7],
            evidence=json.loads(r[8]) if isinstance(r[8], str) else (r[8] or {}),
            explanation=r[9] or "",
        )
        for r in rows
    ]

"""The fleet report's data: every run of the store (or those since a date), aggregated in SQL.

Each `*_info(con, since=…)` is one DuckDB query over `events` (never a Python loop over
events), so a store of millions of events is summarised in seconds. Per-run facts come from
one shared aggregate (`_RUNS`) that reads `events` directly: the `runs` view's window over
every event is correct but too slow to run five times on a big store. Verdicts and findings
are whatever `forensics check` last stored; runs it never analysed are counted as such.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from forensics.report._query import Con, fetch, has_table

EVENT_CAP = 25_000  # the runtime stops a run at this many events
NOT_ANALYSED = "not analysed"

_TERMINALS = (
    "'run_completed', 'run_failed', 'run_cancelled', 'workflow_completed', 'workflow_failed'"
)
# One row per run: workflow, status, event count (conflicting copies counted once), span.
_RUNS = f"""
fleet_runs AS (
    WITH n AS (
        SELECT run_id, count(*) AS copies, min(created_at) AS first_at, max(created_at) AS last_at
        FROM events WHERE NOT staged GROUP BY run_id
    ), extra AS (
        SELECT run_id, count(*) - count(DISTINCT event_id) AS extra
        FROM events WHERE conflict AND NOT staged GROUP BY run_id
    ), term AS (
        SELECT run_id, arg_max(event_type, event_id) AS terminal FROM events
        WHERE NOT staged AND event_type IN ({_TERMINALS}) GROUP BY run_id
    ), wf AS (
        SELECT run_id, max(event_data->>'workflowName') AS workflow FROM events
        WHERE NOT staged AND event_type = 'run_created' GROUP BY run_id
    )
    SELECT coalesce(r.run_id, n.run_id) AS run_id,
           coalesce(r.workflow_name, wf.workflow, 'unknown') AS workflow_name,
           coalesce(r.status, CASE
               WHEN term.terminal IN ('run_completed', 'workflow_completed') THEN 'completed'
               WHEN term.terminal IN ('run_failed', 'workflow_failed') THEN 'failed'
               WHEN term.terminal = 'run_cancelled' THEN 'cancelled' END, 'unknown') AS status,
           coalesce(n.copies, 0) - coalesce(extra.extra, 0) AS event_count,
           coalesce(n.first_at, r.created_at) AS first_at,
           n.last_at
    FROM run_records r
    FULL OUTER JOIN n ON n.run_id = r.run_id
    LEFT JOIN extra ON extra.run_id = coalesce(r.run_id, n.run_id)
    LEFT JOIN term ON term.run_id = coalesce(r.run_id, n.run_id)
    LEFT JOIN wf ON wf.run_id = coalesce(r.run_id, n.run_id)
), scope AS (
    SELECT * FROM fleet_runs WHERE $since IS NULL OR first_at >= $since
)"""


def with_runs(sql: str) -> str:
    """`sql` with the per-run CTEs `fleet_runs` and `scope` (runs since `$since`) before it."""
    return f"WITH {_RUNS}\n{sql}"


def since_params(since: datetime | None) -> dict[str, Any]:
    return {"since": since}


@dataclass(frozen=True, slots=True)
class FleetSummary:
    runs: int
    events: int
    workflows: int
    first_event_ms: int | None
    last_event_ms: int | None
    analysed_runs: int
    findings: int
    since_ms: int | None


def fleet_summary_info(con: Con, *, since: datetime | None = None) -> FleetSummary:
    """How many runs, events and workflows the report covers, and how much was analysed."""
    row = fetch(
        con,
        with_runs(
            "SELECT count(*) AS runs, coalesce(sum(event_count), 0) AS events,"
            " count(DISTINCT workflow_name) AS workflows, epoch_ms(min(first_at)) AS first_ms,"
            " epoch_ms(max(last_at)) AS last_ms FROM scope"
        ),
        since_params(since),
    )[0]
    analysed = findings = 0
    if has_table(con, "run_verdicts"):
        got = fetch(
            con,
            with_runs(
                "SELECT (SELECT count(*) FROM run_verdicts v JOIN scope USING (run_id)) AS a,"
                " (SELECT count(*) FROM findings f JOIN scope USING (run_id)) AS f"
            ),
            since_params(since),
        )[0]
        analysed, findings = int(got["a"]), int(got["f"])
    return FleetSummary(
        runs=int(row["runs"]),
        events=int(row["events"]),
        workflows=int(row["workflows"]),
        first_event_ms=row["first_ms"],
        last_event_ms=row["last_ms"],
        analysed_runs=analysed,
        findings=findings,
        since_ms=int(since.timestamp() * 1000) if since else None,
    )


@dataclass(frozen=True, slots=True)
class StatusVerdictInfo:
    statuses: tuple[str, ...]
    verdicts: tuple[str, ...]
    counts: tuple[tuple[int, ...], ...]  # counts[verdict][status]


def runs_by_status_info(con: Con, *, since: datetime | None = None) -> StatusVerdictInfo:
    """Runs counted by status and by stored verdict (`not analysed` when there is none)."""
    verdict = "coalesce(v.verdict, 'not analysed')" if has_table(con, "run_verdicts") else None
    join = " LEFT JOIN run_verdicts v USING (run_id)" if verdict else ""
    rows = fetch(
        con,
        with_runs(
            f"SELECT status, {verdict or repr(NOT_ANALYSED)} AS verdict, count(*) AS n"
            f" FROM scope{join} GROUP BY ALL"
        ),
        since_params(since),
    )
    statuses = tuple(sorted({str(r["status"]) for r in rows}, key=_status_order))
    verdicts = tuple(sorted({str(r["verdict"]) for r in rows}, key=_verdict_order))
    grid = {(str(r["verdict"]), str(r["status"])): int(r["n"]) for r in rows}
    counts = tuple(tuple(grid.get((v, s), 0) for s in statuses) for v in verdicts)
    return StatusVerdictInfo(statuses, verdicts, counts)


def _status_order(s: str) -> tuple[int, str]:
    order = ("failed", "running", "cancelled", "completed")
    return (order.index(s) if s in order else len(order), s)


def _verdict_order(v: str) -> tuple[int, str]:
    order = ("anomalous", "inconclusive", "ok", NOT_ANALYSED)
    return (order.index(v) if v in order else len(order), v)


@dataclass(frozen=True, slots=True)
class EventCountInfo:
    edges: tuple[int, ...]  # bin i holds runs with edges[i] <= count < edges[i + 1]
    runs: tuple[int, ...]
    at_cap: int  # runs with at least EVENT_CAP events
    largest: int
    largest_run_id: str | None


_EDGES = (0, 10, 20, 50, 100, 200, 500, 1_000, 2_000, 5_000, 10_000, 20_000, EVENT_CAP)


def event_count_info(con: Con, *, since: datetime | None = None) -> EventCountInfo:
    """Runs per event-count bin (1-2-5 steps up to the 25,000-event cap, then one bin)."""
    rows = fetch(
        con,
        with_runs("SELECT event_count AS n, run_id FROM scope ORDER BY event_count DESC, run_id"),
        since_params(since),
    )
    edges = (*_EDGES, max(EVENT_CAP + 1, int(rows[0]["n"]) + 1) if rows else EVENT_CAP + 1)
    counts = [0] * (len(edges) - 1)
    for r in rows:
        n = int(r["n"])
        i = next(i for i in range(len(edges) - 1) if n < edges[i + 1])
        counts[i] += 1
    return EventCountInfo(
        edges=edges,
        runs=tuple(counts),
        at_cap=sum(1 for r in rows if int(r["n"]) >= EVENT_CAP),
        largest=int(rows[0]["n"]) if rows else 0,
        largest_run_id=str(rows[0]["run_id"]) if rows else None,
    )


@dataclass(frozen=True, slots=True)
class WorkflowRate:
    workflow_name: str
    runs: int
    analysed: int
    anomalous: int
    inconclusive: int

    @property
    def rate(self) -> float:
        """Anomalous share of the analysed runs (0 when none was analysed)."""
        return self.anomalous / self.analysed if self.analysed else 0.0


def workflow_anomaly_info(con: Con, *, since: datetime | None = None) -> tuple[WorkflowRate, ...]:
    """Per workflow: runs, analysed runs and how many the analysis found anomalous."""
    if not has_table(con, "run_verdicts"):
        sql = "SELECT workflow_name, count(*) AS runs, 0 AS a, 0 AS bad, 0 AS unsure FROM scope"
    else:
        sql = (
            "SELECT workflow_name, count(*) AS runs, count(v.verdict) AS a,"
            " count(*) FILTER (WHERE v.verdict = 'anomalous') AS bad,"
            " count(*) FILTER (WHERE v.verdict = 'inconclusive') AS unsure"
            " FROM scope LEFT JOIN run_verdicts v USING (run_id)"
        )
    rows = fetch(con, with_runs(sql + " GROUP BY workflow_name"), since_params(since))
    rates = [
        WorkflowRate(
            str(r["workflow_name"]), int(r["runs"]), int(r["a"]), int(r["bad"]), int(r["unsure"])
        )
        for r in rows
    ]
    return tuple(sorted(rates, key=lambda w: (-w.rate, -w.runs, w.workflow_name)))

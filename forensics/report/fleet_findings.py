"""The fleet report's findings and step timings: codes over time, slowest steps, runs to read.

A finding is placed in time at the `createdAt` of its first witness event (when the
anomaly happened, not when `forensics check` ran); buckets are hours, days or weeks so a
figure keeps a readable number of bars. Step timings are one aggregate over step events.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime

from forensics.report._query import Con, fetch, has_table
from forensics.report.fleet import since_params, with_runs

HOUR = 3_600_000
DAY = 24 * HOUR
WEEK = 7 * DAY
_MONDAY = 4 * DAY  # 1970-01-05, the first Monday after the epoch


@dataclass(frozen=True, slots=True)
class FindingsOverTimeInfo:
    unit: str  # hour | day | week
    buckets: tuple[int, ...]  # bucket starts, epoch ms
    codes: tuple[str, ...]
    counts: tuple[tuple[int, ...], ...]  # counts[code][bucket]
    total: int


def findings_over_time_info(con: Con, *, since: datetime | None = None) -> FindingsOverTimeInfo:
    """Stored findings counted by code and by hour, day or week of their first witness."""
    if not has_table(con, "findings"):
        return FindingsOverTimeInfo("day", (), (), (), 0)
    rows = fetch(
        con,
        with_runs(
            "SELECT f.code, epoch_ms(coalesce(min(e.created_at), any_value(s.first_at))) AS at"
            " FROM findings f JOIN scope s USING (run_id)"
            " LEFT JOIN events e ON e.run_id = f.run_id AND e.event_id = f.event_ids[1]"
            " GROUP BY f.finding_id, f.code"
        ),
        since_params(since),
    )
    times = [int(r["at"]) for r in rows if r["at"] is not None]
    span = max(times) - min(times) if times else 0
    unit = "hour" if span <= 3 * DAY else "day" if span <= 180 * DAY else "week"
    grid: dict[str, dict[int, int]] = defaultdict(lambda: defaultdict(int))
    for r in rows:
        if r["at"] is not None:
            grid[str(r["code"])][bucket_start(int(r["at"]), unit)] += 1
    buckets = tuple(sorted({b for per in grid.values() for b in per}))
    codes = tuple(sorted(grid, key=lambda c: (-sum(grid[c].values()), c)))
    counts = tuple(tuple(grid[c].get(b, 0) for b in buckets) for c in codes)
    return FindingsOverTimeInfo(unit, buckets, codes, counts, len(times))


def bucket_start(ms: int, unit: str) -> int:
    """The start of the UTC hour, day or (Monday-based) week holding `ms`."""
    if unit == "hour":
        return ms - ms % HOUR
    if unit == "day":
        return ms - ms % DAY
    return (ms - _MONDAY) // WEEK * WEEK + _MONDAY


@dataclass(frozen=True, slots=True)
class StepTiming:
    step_name: str
    steps: int  # steps with both a start and a terminal event
    p50_ms: float
    p95_ms: float
    max_ms: int
    slowest_run_id: str
    slowest_correlation_id: str


_STEPS = """
, st AS (
    SELECT run_id, correlation_id,
           max(event_data->>'stepName') FILTER (WHERE event_type = 'step_created') AS created_name,
           max(event_data->>'stepName') FILTER (WHERE event_type <> 'step_created') AS other_name,
           min(created_at) FILTER (WHERE event_type = 'step_started') AS started,
           max(created_at) FILTER (WHERE event_type IN ('step_completed', 'step_failed')) AS ended
    FROM events
    WHERE NOT staged AND correlation_id IS NOT NULL
      AND event_type IN ('step_created', 'step_started', 'step_completed', 'step_failed')
      {scope}
    GROUP BY run_id, correlation_id
), timed AS (
    SELECT run_id, correlation_id, coalesce(other_name, created_name, 'unknown') AS step_name,
           epoch_ms(ended) - epoch_ms(started) AS ms
    FROM st WHERE started IS NOT NULL AND ended IS NOT NULL
)
SELECT step_name, count(*) AS steps, round(quantile_cont(ms, 0.5), 1) AS p50,
       round(quantile_cont(ms, 0.95), 1) AS p95,
       max(ms) AS max_ms, arg_max(run_id, ms) AS run_id, arg_max(correlation_id, ms) AS cid
FROM timed GROUP BY step_name ORDER BY p95 DESC, step_name LIMIT $limit
"""


def slowest_steps_info(
    con: Con, *, since: datetime | None = None, limit: int = 15
) -> tuple[StepTiming, ...]:
    """Step names by 95th percentile of running time (first `step_started` to terminal).

    A step is named by its started/terminal events when they carry a name (the step that
    actually ran), else by its `step_created`.
    """
    scope = "AND run_id IN (SELECT run_id FROM scope)" if since else ""
    rows = fetch(
        con, with_runs(_STEPS.format(scope=scope)), {**since_params(since), "limit": limit}
    )
    return tuple(
        StepTiming(
            step_name=str(r["step_name"]),
            steps=int(r["steps"]),
            p50_ms=float(r["p50"]),
            p95_ms=float(r["p95"]),
            max_ms=int(r["max_ms"]),
            slowest_run_id=str(r["run_id"]),
            slowest_correlation_id=str(r["cid"]),
        )
        for r in rows
    )


@dataclass(frozen=True, slots=True)
class RunToRead:
    run_id: str
    workflow_name: str
    status: str
    verdict: str
    event_count: int
    errors: int
    warnings: int
    codes: tuple[str, ...]


def runs_to_read_info(
    con: Con, *, since: datetime | None = None, limit: int = 20
) -> tuple[RunToRead, ...]:
    """Runs to look at first: anomalous, then inconclusive, most error findings first."""
    if not has_table(con, "run_verdicts"):
        return ()
    rows = fetch(
        con,
        with_runs(
            "SELECT s.run_id, s.workflow_name, s.status, v.verdict, s.event_count,"
            " count(f.code) FILTER (WHERE f.severity = 'error') AS errors,"
            " count(f.code) FILTER (WHERE f.severity = 'warning') AS warnings,"
            " list_sort(list_distinct(list(f.code) FILTER (WHERE f.code IS NOT NULL))) AS codes"
            " FROM scope s JOIN run_verdicts v USING (run_id) LEFT JOIN findings f USING (run_id)"
            " WHERE v.verdict <> 'ok'"
            " GROUP BY s.run_id, s.workflow_name, s.status, v.verdict, s.event_count"
            " ORDER BY v.verdict = 'anomalous' DESC, errors DESC, warnings DESC,"
            " s.event_count DESC, s.run_id LIMIT $limit"
        ),
        {**since_params(since), "limit": limit},
    )
    return tuple(
        RunToRead(
            run_id=str(r["run_id"]),
            workflow_name=str(r["workflow_name"]),
            status=str(r["status"]),
            verdict=str(r["verdict"]),
            event_count=int(r["event_count"]),
            errors=int(r["errors"]),
            warnings=int(r["warnings"]),
            codes=tuple(r["codes"] or ()),
        )
        for r in rows
    )

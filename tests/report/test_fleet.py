"""Fleet data on the bundled samples, before and after findings are stored."""

from __future__ import annotations

from datetime import UTC, datetime

import duckdb
import pytest

from forensics.report.fleet import (
    NOT_ANALYSED,
    EventCountInfo,
    FleetSummary,
    StatusVerdictInfo,
    WorkflowRate,
    event_count_info,
    fleet_summary_info,
    runs_by_status_info,
    workflow_anomaly_info,
)
from forensics.report.fleet_findings import (
    StepTiming,
    bucket_start,
    findings_over_time_info,
    slowest_steps_info,
)
from tests.report.test_timeline import ms

SINCE = datetime(2026, 11, 1, tzinfo=UTC)


def test_summary(con: duckdb.DuckDBPyConnection) -> None:
    assert fleet_summary_info(con) == FleetSummary(
        runs=20,
        events=539,
        workflows=12,
        first_event_ms=ms("2026-05-12T08:21:37.904Z"),
        last_event_ms=ms("2026-12-07T17:12:28.756Z"),  # the 5.x sample runs
        analysed_runs=0,
        findings=0,
        since_ms=None,
    )
    recent = fleet_summary_info(con, since=SINCE)
    assert (recent.runs, recent.events, recent.since_ms) == (14, 272, ms("2026-11-01T00:00:00Z"))


def test_runs_by_status(con: duckdb.DuckDBPyConnection) -> None:
    assert runs_by_status_info(con) == StatusVerdictInfo(
        # the incident run's log has no terminal event and no run record: status unknown
        ("failed", "running", "completed", "unknown"),
        (NOT_ANALYSED,),
        ((6, 1, 12, 1),),
    )


def test_event_counts_against_the_cap(con: duckdb.DuckDBPyConnection) -> None:
    info = event_count_info(con)
    assert info == EventCountInfo(
        edges=(0, 10, 20, 50, 100, 200, 500, 1_000, 2_000, 5_000, 10_000, 20_000, 25_000, 25_001),
        runs=(4, 11, 3, 0, 1, 1, 0, 0, 0, 0, 0, 0, 0),
        at_cap=0,
        largest=208,
        largest_run_id="wrun_01KSNVVXH82P5GM40D6F9152JF",
    )


def test_workflow_rates_without_analysis(con: duckdb.DuckDBPyConnection) -> None:
    rates = workflow_anomaly_info(con)
    assert rates[0] == WorkflowRate("workflow//./workflows/demo//sequentialWorkflow", 5, 0, 0, 0)
    assert sum(r.runs for r in rates) == 20
    assert {r.rate for r in rates} == {0.0}


def test_slowest_steps(con: duckdb.DuckDBPyConnection) -> None:
    steps = slowest_steps_info(con, limit=3)
    assert steps == (
        StepTiming(
            "step//./workflows/replicate//copyShard",
            7,
            144427.0,
            169165.7,
            171875,
            "wrun_01KSNVVXH82P5GM40D6F9152JF",
            "step_01KSNVVZTW5ANNS83PGTXV5PMT",
        ),
        StepTiming(
            "step//./workflows/demo//slowStep",
            1,
            9790.0,
            9790.0,
            9790,
            "wrun_01M7YNNSSK0N0CSWBKWGR75H4R",
            "step_01M7YNNSTFHM775NJGX0NCH75Z",
        ),
        StepTiming(  # a 5.x stress run: a hook-vs-sleep cycle that waited for the sleep
            "step//./workflows/stress//verifyWake",
            10,
            149.0,
            2456.0,
            2600,
            "wrun_01M98MZV1J9SDZYY1NS361EZ7R",
            "step_01M98MZV1JTXA0NJHREPJ3RNF5",
        ),
    )
    # the step that ran is named by its started/completed events, not the losing create
    drain = [s for s in slowest_steps_info(con) if s.slowest_correlation_id.endswith("6MB2J")]
    assert [(s.step_name, s.steps, s.max_ms) for s in drain] == [
        ("step//./workflows/inventory//drainQueue", 1, 341)
    ]
    fetch_items = [s for s in slowest_steps_info(con) if s.step_name.endswith("fetchItem")]
    assert [(s.steps, s.p50_ms, s.p95_ms, s.max_ms) for s in fetch_items] == [
        (15, 189.0, 278.4, 284)
    ]
    assert [s.step_name for s in slowest_steps_info(con, since=SINCE, limit=2)] == [
        "step//./workflows/demo//slowStep",
        "step//./workflows/stress//verifyWake",
    ]


def test_no_findings_stored_yet(con: duckdb.DuckDBPyConnection) -> None:
    info = findings_over_time_info(con)
    assert (info.total, info.codes, info.buckets) == (0, (), ())


@pytest.mark.parametrize(
    ("at", "unit", "start"),
    [
        ("2026-05-27T14:03:11.215Z", "hour", "2026-05-27T14:00:00Z"),
        ("2026-05-27T14:03:11.215Z", "day", "2026-05-27T00:00:00Z"),
        ("2026-05-27T14:03:11.215Z", "week", "2026-05-25T00:00:00Z"),  # a Monday
        ("2026-05-25T00:00:00Z", "week", "2026-05-25T00:00:00Z"),
    ],
)
def test_buckets(at: str, unit: str, start: str) -> None:
    assert bucket_start(ms(at), unit) == ms(start)

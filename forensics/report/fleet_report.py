"""The fleet report: one self-contained HTML page about every run of the store.

`write_fleet_report` asks each fleet `*_info` for its data (all SQL), draws each with its
`*_figure` and lays them out: runs to look at first, findings over time, runs by status and
verdict, events per run against the 25,000-event cap, anomaly rates per workflow, and the
slowest steps.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import plotly.graph_objects as go

from forensics.report._query import Con, iso_ms, short_name
from forensics.report.fleet import (
    FleetSummary,
    event_count_info,
    fleet_summary_info,
    runs_by_status_info,
    workflow_anomaly_info,
)
from forensics.report.fleet_figures import (
    event_count_figure,
    findings_over_time_figure,
    runs_by_status_figure,
    slowest_steps_figure,
    workflow_anomaly_figure,
)
from forensics.report.fleet_findings import (
    RunToRead,
    StepTiming,
    findings_over_time_info,
    runs_to_read_info,
    slowest_steps_info,
)
from forensics.report.page import Cell, Page, Section, Table, write_page

FigureMaker = Callable[[Con, datetime | None], go.Figure]

FLEET_FIGURES: dict[str, FigureMaker] = {
    "findings-over-time": lambda con, since: findings_over_time_figure(
        findings_over_time_info(con, since=since)
    ),
    "runs-by-status": lambda con, since: runs_by_status_figure(
        runs_by_status_info(con, since=since)
    ),
    "event-counts": lambda con, since: event_count_figure(event_count_info(con, since=since)),
    "workflow-anomalies": lambda con, since: workflow_anomaly_figure(
        workflow_anomaly_info(con, since=since)
    ),
    "slowest-steps": lambda con, since: slowest_steps_figure(slowest_steps_info(con, since=since)),
}


_FIGURE_SECTIONS = (
    (
        "findings-over-time",
        "Findings over time",
        "Stored findings by detector code, placed at the createdAt of their first witness"
        " event: when the anomaly happened, not when it was found.",
    ),
    (
        "runs-by-status",
        "Runs by status and verdict",
        "How each run ended (from its run record, else its terminal event) and what the"
        " analysis said of its log.",
    ),
    (
        "event-counts",
        "Events per run",
        "Runs by the size of their log. The runtime stops a run at 25,000 events: runs in"
        " the red bar hit that cap.",
    ),
    (
        "workflow-anomalies",
        "Anomalies per workflow",
        "The share of each workflow's analysed runs whose log the analysis found anomalous.",
    ),
)


def write_fleet_report(
    con: Con,
    path: Path,
    *,
    since: datetime | None = None,
    store_name: str | None = None,
    now: datetime | None = None,
) -> Path:
    """Write the fleet report of the store behind `con` to `path`; returns `path`."""
    page = fleet_report_page(con, since=since, store_name=store_name, now=now)
    return write_page(page, Path(path))


def fleet_report_page(
    con: Con,
    *,
    since: datetime | None = None,
    store_name: str | None = None,
    now: datetime | None = None,
) -> Page:
    summary = fleet_summary_info(con, since=since)
    steps = slowest_steps_info(con, since=since)
    sections = [_to_read_section(runs_to_read_info(con, since=since), summary)]
    for anchor, title, intro in _FIGURE_SECTIONS:
        sections.append(Section(anchor, title, intro, figures=(FLEET_FIGURES[anchor](con, since),)))
    sections.append(
        Section(
            "slowest-steps",
            "Slowest steps",
            "Step names by the 95th percentile of their running time, from the first"
            " step_started to step_completed or step_failed (retries included).",
            figures=(slowest_steps_figure(steps),),
            tables=(_steps_table(steps),) if steps else (),
        )
    )
    return Page(
        title="Fleet report",
        facts=_facts(summary, store_name),
        sections=tuple(sections),
        generated_at=(now or datetime.now(UTC)).strftime("%Y-%m-%d %H:%M:%SZ"),
        footer=("Written by forensics report --fleet. Times are UTC.",),
    )


def _facts(s: FleetSummary, store_name: str | None) -> tuple[tuple[str, Cell], ...]:
    analysed = f"{s.analysed_runs:,} of {s.runs:,} runs, {s.findings:,} findings stored"
    if s.analysed_runs < s.runs:
        analysed += " (run `forensics check` to analyse the rest)"
    facts: list[tuple[str, Cell]] = []
    if store_name:
        facts.append(("store", store_name))
    facts += [
        ("runs", f"{s.runs:,} runs of {s.workflows:,} workflows, {s.events:,} events"),
        ("events span", f"{iso_ms(s.first_event_ms)} → {iso_ms(s.last_event_ms)}"),
        ("since", iso_ms(s.since_ms) if s.since_ms is not None else "the beginning"),
        ("analysed", analysed),
    ]
    return tuple(facts)


def _to_read_section(runs: tuple[RunToRead, ...], summary: FleetSummary) -> Section:
    rows = tuple(
        (
            r.run_id,
            short_name(r.workflow_name),
            r.status,
            r.verdict,
            r.event_count,
            r.errors,
            r.warnings,
            ", ".join(r.codes),
            f"forensics report {r.run_id} -o {r.run_id}.html",
        )
        for r in runs
    )
    if runs:
        intro = (
            "Anomalous runs first, then inconclusive ones; within each, most error findings"
            " first. The last column writes the run's own report."
        )
    elif summary.analysed_runs:
        intro = "Every analysed run is ok."
    else:
        intro = "No run has been analysed yet: run `forensics check`, then write this report again."
    columns = (
        "run",
        "workflow",
        "status",
        "verdict",
        "events",
        "errors",
        "warnings",
        "codes",
        "its report",
    )
    tables = (Table(columns, rows),) if rows else ()
    return Section("to-read", "Runs to look at first", intro, tables=tables)


def _steps_table(steps: tuple[StepTiming, ...]) -> Table:
    rows = tuple(
        (
            short_name(s.step_name),
            s.steps,
            s.p50_ms,
            s.p95_ms,
            s.max_ms,
            s.slowest_run_id,
            s.slowest_correlation_id,
        )
        for s in steps
    )
    return Table(
        ("step", "steps", "p50 ms", "p95 ms", "max ms", "slowest run", "slowest step"), rows
    )

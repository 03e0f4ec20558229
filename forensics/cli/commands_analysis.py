"""`forensics check`, `explain` and `ids`: findings, their explanations, correlation ids."""

from __future__ import annotations

import sys
from dataclasses import replace
from datetime import datetime
from pathlib import Path
from typing import Any

import click
import orjson

from forensics.analysis.catalogue import all_codes
from forensics.analysis.engine import CheckResult, check, explain_run
from forensics.analysis.eras import ERA_NAMES
from forensics.analysis.explain import not_fatal_sentence
from forensics.analysis.idsreport import ids_report, ids_rows
from forensics.analysis.invariants import invariants_of
from forensics.analysis.ranks import rank, select
from forensics.analysis.scan import Settings
from forensics.analysis.versions import judgement_of_run
from forensics.cli import Context
from forensics.cli.commands_fleet import check_on_spark, spark_options, spark_requested
from forensics.cli.options import (
    SINCE,
    complete_runs,
    finding_filters,
    format_option,
)
from forensics.cli.options import open_writable as open_store_writable
from forensics.cli.render import emit
from forensics.errors import EXIT_ANOMALIES, EXIT_OK, UsageError
from forensics.model import Finding
from forensics.store import Store
from forensics.store.runids import resolve_run

ERA_LEGEND = "; ".join(ERA_NAMES.values())
TABLE_COLUMNS = ("severity", "code", "run_id", "correlation_id", "event_ids", "fatal_in", "id")
CSV_COLUMNS = ("id", "code", "severity", "run_id", "correlation_id", "event_ids", "fatal_in",
               "replay_message", "explanation")  # fmt: skip


def finding_dict(f: Finding) -> dict[str, Any]:
    """The JSON shape of a finding."""
    return {
        "id": f.finding_id,
        "code": f.code,
        "severity": f.severity,
        "run_id": f.run_id,
        "correlation_id": f.correlation_id,
        "event_ids": list(f.event_ids),
        "fatal_in": list(f.fatal_in),
        "replay_message": f.replay_message,
        "invariants": list(invariants_of(f.code, f.evidence)),
        "evidence": f.evidence,
        "explanation": f.explanation,
    }


def _dump(data: Any) -> None:
    sys.stdout.write(orjson.dumps(data, option=orjson.OPT_INDENT_2, default=str).decode() + "\n")


def _codes(codes: tuple[str, ...]) -> list[str] | None:
    known = all_codes()
    unknown = [c for c in codes if c not in known]
    if unknown:
        raise UsageError(
            f"unknown detector code {', '.join(unknown)}", hint="known codes: " + ", ".join(known)
        )
    return list(codes) or None


def _summary(result: CheckResult, hidden: int = 0) -> str:
    counts = {v: sum(1 for r in result.runs if r.verdict == v)
              for v in ("ok", "anomalous", "inconclusive")}  # fmt: skip
    return (
        f"forensics: {len(result.runs)} runs ({result.analysed} analysed now): "
        f"{counts['ok']} ok, {counts['anomalous']} anomalous,"
        f" {counts['inconclusive']} inconclusive; {len(result.findings)} findings"
        + (f" ({hidden} more below --min-severity or left out by code)" if hidden else "")
    )


def _emit_check(result: CheckResult, fmt: str) -> None:
    if fmt == "json":
        runs = [{"run_id": r.run_id, "verdict": r.verdict} for r in result.runs]
        _dump({"runs": runs, "findings": [finding_dict(f) for f in result.findings]})
        return
    rows = [
        finding_dict(f) | {"event_ids": " ".join(f.event_ids), "fatal_in": " ".join(f.fatal_in)}
        for f in result.findings
    ]
    columns = CSV_COLUMNS if fmt == "csv" else TABLE_COLUMNS
    table = [tuple(r[c] for c in columns) for r in rows]
    emit(columns, table, fmt, title="Findings", max_width=100)


def open_writable(obj: Context) -> Store:
    """The store, writable (results are stored), but never created by a check."""
    return open_store_writable(obj.db)


def _settings_options(func: Any) -> Any:
    func = click.option(
        "--inversion-tolerance-ms", "tolerance", type=click.IntRange(0),
        default=Settings().inversion_tolerance_ms, show_default=True,
        help="mint-commit-inversion: ignore order disagreements up to this many ms.",
    )(func)  # fmt: skip
    return click.option(
        "--race-window-ms", "window", type=click.IntRange(0),
        default=Settings().race_window_ms, show_default=True,
        help="race-window: resolutions at most this many ms apart count as a race.",
    )(func)  # fmt: skip


@click.command("check")
@click.argument("runs", nargs=-1, shell_complete=complete_runs)
@finding_filters
@click.option("--since", type=SINCE,
              help="Only runs with events at/after TIME (ISO-8601, a date, 24h, 7d).")  # fmt: skip
@_settings_options
@format_option
@spark_options
@click.pass_obj
def check_cmd(obj: Context, runs: tuple[str, ...], min_severity: str, codes: tuple[str, ...],
              exclude: tuple[str, ...], since: datetime | None, tolerance: int, window: int,
              fmt: str, engine: str, source: str | None, out: str | None, into: Path | None,
              master: str | None, remote: str | None, conf: tuple[str, ...]) -> int:  # fmt: skip
    """Find corruption in every run (or RUNS): findings, verdicts, exit 1 on anomalies.

    Only runs whose events changed since the last check are analysed again; results are
    kept in the store's `findings` and `run_verdicts` tables. Errors and warnings are shown
    unless --min-severity says otherwise, root causes first. Exit code 1 when a finding of
    severity warning or error is shown. With --engine spark, every run of a fleet layout
    (--from DIR_OR_URI) is checked on Apache Spark instead (see README).
    """
    settings = Settings(inversion_tolerance_ms=tolerance, race_window_ms=window)
    spark = {"engine": engine, "source": source, "out": out, "into": into, "master": master,
             "remote": remote, "conf": conf}  # fmt: skip
    if spark_requested(spark):
        if runs or codes or since:
            raise UsageError(
                "--engine spark checks every run of the fleet",
                hint="drop RUNS/--code/--since; filter the findings Parquet, or use --into DB",
            )
        return check_on_spark(obj, settings, fmt, spark)
    selected = _codes(codes)
    _codes(exclude)
    moment = since
    with open_writable(obj) as store:
        run_ids = [resolve_run(store, r) for r in runs] or None
        result = check(store, run_ids=run_ids, codes=selected, since=moment, settings=settings)
    shown = _shown(result, min_severity, exclude)
    _emit_check(shown, fmt)
    click.echo(_summary(shown, len(result.findings) - len(shown.findings)), err=True)
    return EXIT_ANOMALIES if shown.anomalous else EXIT_OK


def _shown(result: CheckResult, min_severity: str, exclude: tuple[str, ...]) -> CheckResult:
    """The findings a command shows: root causes first, filtered by severity and code."""
    kept = select(result.findings, min_severity=min_severity, exclude=exclude)
    ordered = sorted(kept, key=lambda f: (f.run_id, *rank(f)))
    return replace(result, findings=tuple(ordered))


@click.command("explain")
@click.argument("run", shell_complete=complete_runs)
@finding_filters
@_settings_options
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text",
              show_default=True, help="text for people, json for scripts.")  # fmt: skip
@click.pass_obj
def explain_cmd(obj: Context, run: str, min_severity: str, codes: tuple[str, ...],
                exclude: tuple[str, ...], tolerance: int, window: int,
                fmt: str) -> int:  # fmt: skip
    """Each finding of RUN with its witness events, replay message and explanation, root
    causes first (errors and warnings unless --min-severity says otherwise)."""
    settings = Settings(inversion_tolerance_ms=tolerance, race_window_ms=window)
    _codes(codes + exclude)
    with open_writable(obj) as store:
        run_id = resolve_run(store, run)
        result = explain_run(store, run_id, settings)
        judged = judgement_of_run(store.con, run_id).describe()
    hidden = len(result.findings)
    result = _shown(result, min_severity, exclude)
    if codes:
        result = replace(result, findings=tuple(f for f in result.findings if f.code in codes))
    hidden -= len(result.findings)
    if fmt == "json":
        verdict = result.runs[0] if result.runs else None
        _dump({"run_id": verdict.run_id if verdict else run,
               "verdict": verdict.verdict if verdict else None,
               "reason": verdict.reason if verdict else None, "judged_in": judged,
               "findings": [finding_dict(f) for f in result.findings]})  # fmt: skip
    else:
        click.echo(render_explanation(result, judged))
    if hidden:
        click.echo(f"forensics: {hidden} finding(s) not shown (see --min-severity, --code)",
                   err=True)  # fmt: skip
    return EXIT_ANOMALIES if result.anomalous else EXIT_OK


@click.command("ids")
@click.argument("run", shell_complete=complete_runs)
@format_option
@click.pass_obj
def ids_cmd(obj: Context, run: str, fmt: str) -> None:
    """Correlation ids of RUN: kind, ordinal, whether the seed predicts them, hook tokens."""
    with Store(obj.db, read_only=True) as store:
        report = ids_report(store, resolve_run(store, run))
    columns, rows, summary = ids_rows(report)
    if fmt == "json":
        _dump({**summary, "ids": [dict(zip(columns, r, strict=True)) for r in rows]})
        return
    title = (
        f"{summary['run_id']}: scheme {summary['scheme']}, startedAt {summary['started_at']}"
        f" ({summary['started_at_source']}), seed {summary['seed_status']}"
    )
    emit(columns, rows, fmt, title=title)


def register(cli: click.Group) -> None:
    for command in (check_cmd, explain_cmd, ids_cmd):
        cli.add_command(command)


def render_explanation(result: CheckResult, judged: str | None = None) -> str:
    """The text `explain` prints: verdict (and the era the run is judged in), then each
    finding with its witness events."""
    lines = [f"{v.run_id}: {v.verdict}" + (f" ({v.reason})" if v.reason else "")
             + (f"; judged in {judged}" if judged else "")
             for v in result.runs]  # fmt: skip
    lines.append(
        "(#N: an event's position in the log; E0-E4: the runtime eras, " + ERA_LEGEND + ")"
    )
    if not result.findings:
        lines.append("no findings")
    for f in result.findings:
        head = f"[{f.severity}] {f.code}  {f.finding_id}"
        lines += ["", head + (f"  {f.correlation_id}" if f.correlation_id else "")]
        none = "none. " + not_fatal_sentence(f.code, f.evidence, f.severity)
        lines.append("  fatal in: " + (" ".join(f.fatal_in) or none))
        rules = invariants_of(f.code, f.evidence)
        if rules:
            lines.append("  breaks world-sim invariant: " + ", ".join(rules))
        if f.replay_message:
            lines.append(f"  replay: {f.replay_message}")
        for e in f.evidence.get("events", []):
            where = f"#{e.get('position')}  {e['event_id']}  {e.get('event_type')}"
            lines.append(f"    {where}  {e.get('created_at') or ''}")
        lines.append("  " + f.explanation)
    return "\n".join(lines)

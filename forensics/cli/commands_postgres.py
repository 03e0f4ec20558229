"""`forensics import postgres`: read a world-postgres database into the store (read-only)."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

import click

from forensics.cli import Context
from forensics.cli.commands_import import prepare_analysis, progress_bar, read_key, report
from forensics.cli.options import key_file_option, output_option
from forensics.importers.base import RecordError
from forensics.importers.normalize import parse_time
from forensics.store import Store

# the statuses world-postgres gives a run (`workflow_runs.status`)
RUN_STATUSES = ("pending", "running", "completed", "failed", "cancelled")
_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(ms|s|sec|min|h|d)?\s*$")
_UNIT_SECONDS = {"ms": 0.001, "s": 1, "sec": 1, "min": 60, "h": 3600, "d": 86400, None: 1}


def parse_duration(text: str, what: str) -> timedelta:
    """`90`, `30s`, `10min`, `2h`, `7d` (a bare number is seconds)."""
    match = _DURATION.match(text)
    if not match:
        raise click.BadParameter(f"{text!r} is not a duration like 30s, 10min, 2h", param_hint=what)
    return timedelta(seconds=float(match.group(1)) * _UNIT_SECONDS[match.group(2)])


def parse_since(text: str) -> datetime:
    """An ISO-8601 time (naive = UTC) or a duration back from now (`24h`, `7d`)."""
    if (match := _DURATION.match(text)) and match.group(2):  # a bare number is no duration
        return datetime.now(UTC) - parse_duration(text, "--since")
    try:
        moment = parse_time(text, "--since")
    except RecordError:
        moment = None
    if moment is None:
        raise click.BadParameter(
            f"{text!r} is neither an ISO-8601 time (2026-11-20T00:00Z) nor a duration (24h)",
            param_hint="--since",
        )
    return moment


def register(cli: click.Group) -> None:
    group = cli.commands["import"]
    assert isinstance(group, click.Group)

    @group.command(name="postgres")
    @click.option(
        "--dsn",
        required=True,
        metavar="DSN",
        envvar="FORENSICS_PG_DSN",
        help="libpq connection string or URL (env FORENSICS_PG_DSN). Prefer PGPASSWORD,"
        " ~/.pgpass or a service file to a password in the DSN; it is never shown or stored.",
    )
    @click.option("--schema", default="workflow", show_default=True, help="Schema of the tables.")
    @click.option(
        "--run", "runs", multiple=True, metavar="RUN_ID", help="Only this run (repeatable)."
    )
    @click.option(
        "--since",
        metavar="TIME",
        help="Only runs with an event or run row created at/after TIME (ISO-8601, or 24h, 7d).",
    )
    @click.option(
        "--status",
        "statuses",
        multiple=True,
        type=click.Choice(RUN_STATUSES, case_sensitive=False),
        help="Only runs with this status (repeatable).",
    )
    @click.option("--full", is_flag=True, help="Re-read everything, not only what is new.")
    @click.option(
        "--statement-timeout",
        default="10min",
        metavar="DURATION",
        show_default=True,
        help="Give up on a statement after this long (0 = never).",
    )
    @key_file_option
    @output_option
    @click.pass_obj
    def import_postgres(
        obj: Context,
        dsn: str,
        schema: str,
        runs: tuple[str, ...],
        since: str | None,
        statuses: tuple[str, ...],
        full: bool,
        statement_timeout: str,
        key_file: Path | None,
        fmt: str,
    ) -> None:
        """Import a @workflow/world-postgres database (events, runs, steps, hooks, waits).

        Reads one read-only REPEATABLE READ snapshot with SELECT and COPY only, so a role
        with USAGE on the schema and SELECT on its tables is enough. Importing the same
        database again reads only what is new, exactly: events above each run's last event
        id, and every row written since the last import's snapshot whatever its id or
        created_at (late commits are noted); --full reads everything again. Copies already
        stored are never added twice.
        """
        from forensics.importers.postgres import PostgresOptions
        from forensics.importers.postgres import import_postgres as run_import

        timeout = parse_duration(statement_timeout, "--statement-timeout")
        with progress_bar("importing") as base, Store(obj.db) as store:
            options = PostgresOptions(
                dsn=dsn,
                schema=schema,
                runs=runs,
                since=parse_since(since) if since else None,
                statuses=statuses,
                full=full,
                statement_timeout_ms=int(timeout.total_seconds() * 1000),
                key=read_key(key_file),
                progress=base.progress,
            )
            summary = run_import(store, options)
            prepare_analysis(store, [summary])
        report([summary], fmt)

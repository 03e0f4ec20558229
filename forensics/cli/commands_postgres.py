"""`forensics import postgres`: read a world-postgres database into the store (read-only)."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import click

from forensics.cli import Context
from forensics.cli.commands_import import prepare_analysis, progress_bar, read_key, report
from forensics.cli.options import SINCE, key_file_option, output_option, writable
from forensics.timespec import parse_duration

# the statuses world-postgres gives a run (`workflow_runs.status`)
RUN_STATUSES = ("pending", "running", "completed", "failed", "cancelled")


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
        type=SINCE,
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
        since: datetime | None,
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
        key = read_key(key_file)
        with progress_bar("importing") as base, writable(obj.db, key) as store:
            options = PostgresOptions(
                dsn=dsn,
                schema=schema,
                runs=runs,
                since=since,
                statuses=statuses,
                full=full,
                statement_timeout_ms=int(timeout.total_seconds() * 1000),
                key=key,
                progress=base.progress,
            )
            summary = run_import(store, options)
            prepare_analysis(store, [summary])
        report([summary], fmt)

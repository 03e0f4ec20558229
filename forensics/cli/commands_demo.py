"""`forensics demo`: import the bundled sample logs into a fresh store and show what is there."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from forensics.analysis.engine import check
from forensics.browse import list_runs
from forensics.cli import Context
from forensics.cli.commands_import import SUMMARY_COLUMNS, summary_rows
from forensics.cli.render import emit
from forensics.demo import build_demo_store

DEMO_DB = "forensics-demo.duckdb"


def register(cli: click.Group) -> None:
    @cli.command()
    @click.option("--no-tui", is_flag=True, help="Only print the runs; do not open the TUI.")
    @click.pass_context
    def demo(ctx: click.Context, no_tui: bool) -> None:
        """Build a store from the bundled sample logs, check it, and open it in the TUI.

        The store is written to --db when given, else ./forensics-demo.duckdb (rebuilt each time).
        The imported samples and the runs are printed first; the TUI opens when stdout is a
        terminal (not with --no-tui, nor in a pipe).
        """
        obj: Context = ctx.obj
        explicit = ctx.parent is not None and ctx.parent.get_parameter_source("db") not in (
            click.core.ParameterSource.DEFAULT,
            None,
        )
        db = obj.db if explicit else Path(DEMO_DB)
        store, summaries = build_demo_store(db)
        with store:
            check(store)  # so the runs list and the run screens show verdicts and findings
            click.echo(f"forensics: demo store written to {db}", err=True)
            emit(SUMMARY_COLUMNS, summary_rows(summaries), "table", title="Imported samples")
            cols, rows = list_runs(store)
            emit(cols, rows, "table", title="Runs")
        if sys.stdout.isatty() and not no_tui:
            from forensics.cli.commands_tui import open_tui

            open_tui(db, None)

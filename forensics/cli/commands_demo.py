"""`forensics demo`: import the bundled sample logs into a fresh store and show what is there."""

from __future__ import annotations

from pathlib import Path

import click

from forensics.browse import list_runs
from forensics.cli import Context
from forensics.cli.commands_import import SUMMARY_COLUMNS, summary_rows
from forensics.cli.render import emit
from forensics.demo import build_demo_store

DEMO_DB = "forensics-demo.duckdb"


def register(cli: click.Group) -> None:
    @cli.command()
    @click.pass_context
    def demo(ctx: click.Context) -> None:
        """Build a store from the bundled sample logs and print its runs.

        The store is written to --db when given, else ./forensics-demo.duckdb (rebuilt each time).
        """
        obj: Context = ctx.obj
        explicit = ctx.parent is not None and ctx.parent.get_parameter_source("db") not in (
            click.core.ParameterSource.DEFAULT,
            None,
        )
        db = obj.db if explicit else Path(DEMO_DB)
        store, summaries = build_demo_store(db)
        with store:
            click.echo(f"forensics: demo store written to {db}", err=True)
            emit(SUMMARY_COLUMNS, summary_rows(summaries), "table", title="Imported samples")
            cols, rows = list_runs(store)
            emit(cols, rows, "table", title="Runs")

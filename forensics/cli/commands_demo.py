"""`forensics demo`: import the bundled sample logs into a store of its own and show them.

The demo writes only its own store: `--db` when given on the command line, else
./forensics-demo.duckdb; never the store `FORENSICS_DB` names (that is the user's incident
store), and never a file that is not a demo store already.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import click

from forensics.analysis.engine import check
from forensics.browse import list_runs
from forensics.cli import Context
from forensics.cli.commands_import import SUMMARY_COLUMNS, summary_rows
from forensics.cli.render import emit
from forensics.demo import build_demo_store, copy_samples

DEMO_DB = "forensics-demo.duckdb"


def demo_db(ctx: click.Context) -> Path:
    """`--db` if the command line gave it, else the demo's default (not FORENSICS_DB)."""
    parent = ctx.parent
    if parent is not None and parent.get_parameter_source("db") is (
        click.core.ParameterSource.COMMANDLINE
    ):
        obj: Context = ctx.obj
        return obj.db
    return Path(DEMO_DB)


def register(cli: click.Group) -> None:
    @cli.command()
    @click.option("--no-tui", is_flag=True, help="Only print the runs; do not open the TUI.")
    @click.option(
        "--copy-samples",
        "samples_dir",
        type=click.Path(file_okay=False, path_type=Path),
        help="Only copy the sample logs into this folder (to import them yourself).",
    )
    @click.pass_context
    def demo(ctx: click.Context, no_tui: bool, samples_dir: Path | None) -> None:
        """Build a store from the bundled sample logs, check it, and open it in the TUI.

        The store is written to --db when given on the command line, else
        ./forensics-demo.duckdb (FORENSICS_DB is not used: it names your own store). An
        existing file is replaced only when it is a demo store. The imported samples and the
        runs are printed first; the TUI opens when stdout is a terminal (not with --no-tui,
        nor in a pipe).
        """
        if samples_dir is not None:
            for path in copy_samples(samples_dir):
                click.echo(str(path))
            return
        db = demo_db(ctx)
        store, summaries = build_demo_store(db)
        with store:
            check(store)  # so the runs list and the run screens show verdicts and findings
            emit(SUMMARY_COLUMNS, summary_rows(summaries), "table", title="Imported samples")
            cols, rows = list_runs(store)
            emit(cols, rows, "table", title="Runs")
        click.echo(f"forensics: demo store written to {db}", err=True)
        if os.environ.get("FORENSICS_DB") and Path(os.environ["FORENSICS_DB"]) != db:
            click.echo(
                f"forensics: note: FORENSICS_DB ({os.environ['FORENSICS_DB']}) is left alone;"
                " the demo writes only its own store",
                err=True,
            )
        click.echo(f"  next: forensics --db {db} runs   (or: export FORENSICS_DB={db})", err=True)
        if sys.stdout.isatty() and not no_tui:
            from forensics.cli.commands_tui import open_tui

            open_tui(db, None)

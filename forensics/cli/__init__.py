"""The `forensics` command line: thin commands over library calls, errors translated here.

Each command opens the store, makes one library call and prints its rows; a `ForensicsError`
becomes one line on stderr and its fixed exit code, anything else an internal error whose
traceback is shown with FORENSICS_DEBUG=1.
"""

from __future__ import annotations

import os
import sys
import traceback
from pathlib import Path
from typing import Any

import click

from forensics import __version__
from forensics.errors import EXIT_INTERNAL, EXIT_USAGE, ForensicsError


class Context:
    """What every command shares: where the store is."""

    def __init__(self, db: Path) -> None:
        self.db = db


@click.group(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.option(
    "--db",
    type=click.Path(dir_okay=False, path_type=Path),
    envvar="FORENSICS_DB",
    default="forensics.duckdb",
    show_default=True,
    help="The DuckDB store (env FORENSICS_DB).",
)
@click.version_option(__version__, prog_name="forensics")
@click.pass_context
def cli(ctx: click.Context, db: Path) -> None:
    """Event-log forensics for durable workflow engines (Vercel Workflow DevKit).

    Import event logs into a DuckDB store, then look at runs, events and SQL over them.
    """
    ctx.obj = Context(db)


def _register() -> None:
    from forensics.cli import (
        commands_analysis,
        commands_demo,
        commands_dynamodb,
        commands_import,
        commands_postgres,
        commands_replay,
        commands_report,
        commands_store,
        commands_tui,
    )

    commands_import.register(cli)
    commands_dynamodb.register(cli)
    commands_postgres.register(cli)
    commands_store.register(cli)
    commands_demo.register(cli)
    commands_analysis.register(cli)
    commands_tui.register(cli)
    commands_report.register(cli)
    commands_replay.register(cli)


_register()


def main(argv: list[str] | None = None) -> None:
    """Console-script entry point with the project's exit codes."""
    try:
        rv: Any = cli.main(args=argv, prog_name="forensics", standalone_mode=False)
    except ForensicsError as exc:
        click.echo(exc.render(), err=True)
        sys.exit(exc.exit_code)
    except click.exceptions.Abort:
        click.echo("forensics: interrupted", err=True)
        sys.exit(130)
    except click.ClickException as exc:
        exc.show()
        sys.exit(EXIT_USAGE if exc.exit_code == 2 else exc.exit_code)
    except BrokenPipeError:
        sys.stderr.close()
        sys.exit(0)
    except Exception as exc:  # the one place an unexpected error becomes an exit code
        if os.environ.get("FORENSICS_DEBUG"):
            traceback.print_exc()
        click.echo(
            f"forensics: internal error: {type(exc).__name__}: {exc}\n"
            "  try: rerun with FORENSICS_DEBUG=1 and report the traceback",
            err=True,
        )
        sys.exit(EXIT_INTERNAL)
    sys.exit(rv if isinstance(rv, int) else 0)

"""The `forensics` command line: thin commands over library calls, errors translated here.

Each command opens the store, makes one library call and prints its rows; a `ForensicsError`
becomes one line on stderr and its fixed exit code, anything else an internal error whose
traceback is shown with FORENSICS_DEBUG=1.
"""

from __future__ import annotations

import difflib
import importlib
import os
import sys
import traceback
from pathlib import Path
from typing import Any, ClassVar

import click

from forensics import __version__
from forensics.errors import EXIT_INTERNAL, EXIT_USAGE, ForensicsError

# Which module registers each command. Modules are imported only when their command is used,
# so a command starts without loading the code (and libraries) of every other command.
_COMMANDS: dict[str, str] = {
    "import": "commands_import",
    "dynamodb-presets": "commands_dynamodb",
    "runs": "commands_store",
    "events": "commands_store",
    "sql": "commands_store",
    "queries": "commands_store",
    "export": "commands_store",
    "demo": "commands_demo",
    "check": "commands_analysis",
    "convert": "commands_fleet",
    "explain": "commands_analysis",
    "ids": "commands_analysis",
    "open": "commands_tui",
    "report": "commands_report",
    "replays": "commands_replay",
    "diff": "commands_replay",
    "fences": "commands_replay",
    "watch": "commands_watch",
    "story": "commands_story",
}
# The subcommands of `forensics import`, the same way.
_IMPORTERS: dict[str, str] = {
    "json": "commands_import",
    "dynamodb": "commands_dynamodb",
    "postgres": "commands_postgres",
    "trace": "commands_replay",
}
# Modules that add subcommands to `import` (and so need its group registered first).
_EXTENDS_IMPORT: frozenset[str] = frozenset(
    m for name, m in _IMPORTERS.items() if m != "commands_import"
)
_loaded: set[str] = set()


def _load(module: str) -> None:
    """Import a command module and let it register its commands (the `import` group first)."""
    if module in _loaded:
        return
    if module in _EXTENDS_IMPORT:
        _load("commands_import")
    _loaded.add(module)
    importlib.import_module(f"forensics.cli.{module}").register(cli)


def load_all() -> None:
    """Register every command now (for tools that walk the whole command tree)."""
    for module in sorted(set(_COMMANDS.values()) | set(_IMPORTERS.values())):
        _load(module)


class LazyGroup(click.Group):
    """A group whose commands come from `table` (name → module), loaded on first use."""

    table: ClassVar[dict[str, str]] = {}

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(set(self.table) | set(self.commands))

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name not in self.commands and cmd_name in self.table:
            _load(self.table[cmd_name])
        return self.commands.get(cmd_name)

    def resolve_command(
        self, ctx: click.Context, args: list[str]
    ) -> tuple[str | None, click.Command | None, list[str]]:
        """As click's, with "did you mean" for a mistyped command name."""
        name = click.utils.make_str(args[0]) if args else ""
        if args and self.get_command(ctx, name) is None and not name.startswith("-"):
            close = difflib.get_close_matches(name, self.list_commands(ctx), n=3, cutoff=0.6)
            if close:
                ctx.fail(f"No such command {name!r}. Did you mean {' or '.join(close)}?")
        return super().resolve_command(ctx, args)


class _TopGroup(LazyGroup):
    table: ClassVar[dict[str, str]] = _COMMANDS


class ImportGroup(LazyGroup):
    """`forensics import`: one subcommand per kind of source."""

    table: ClassVar[dict[str, str]] = _IMPORTERS


class Context:
    """What every command shares: where the store is."""

    def __init__(self, db: Path) -> None:
        self.db = db


@click.group(
    cls=_TopGroup,
    context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100},
)
@click.option(
    "--db",
    type=click.Path(dir_okay=False, path_type=Path),
    envvar="FORENSICS_DB",
    default="forensics.duckdb",
    show_default=True,
    help="The DuckDB store (env FORENSICS_DB).",
)
@click.option(
    "--wait",
    type=click.FloatRange(min=0),
    default=None,
    metavar="SECONDS",
    help="How long to wait for a store another command holds (env FORENSICS_WAIT; 10).",
)
@click.version_option(__version__, prog_name="forensics")
@click.pass_context
def cli(ctx: click.Context, db: Path, wait: float | None) -> None:
    """Event-log forensics for durable workflow engines (Vercel Workflow DevKit).

    Import event logs into a DuckDB store, then look at runs, events and SQL over them.
    """
    if wait is not None:
        # every store this process opens reads it (forensics.store.opening.wait_seconds)
        os.environ["FORENSICS_WAIT"] = str(wait)
    ctx.obj = Context(db)


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

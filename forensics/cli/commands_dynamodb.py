"""`forensics import dynamodb` (live tables, read-only) and `forensics dynamodb-presets`."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import click
from rich.console import Console
from rich.progress import Progress, ProgressColumn, SpinnerColumn, Task, TextColumn
from rich.text import Text

from forensics.cli import Context
from forensics.cli.commands_import import prepare_analysis, read_key, report
from forensics.cli.options import (
    dynamodb_endpoint_options,
    dynamodb_mapping_options,
    format_option,
    key_file_option,
    output_option,
    parse_pairs,
    writable,
)
from forensics.cli.render import emit
from forensics.importers.base import ImportOptions
from forensics.importers.base import Progress as ProgressCallback
from forensics.importers.dynamodb_live import (
    RUN_ROLES,
    LiveOptions,
    Target,
    connect,
    import_dynamodb,
)
from forensics.importers.mapping import PRESETS, resolve_mapping

PRESET_COLUMNS = ["preset", "role", "attribute", "key", "meaning"]


class _Rate(ProgressColumn):
    """Items per second, once rich has enough samples to say."""

    def render(self, task: Task) -> Text:
        speed = task.finished_speed or task.speed
        return Text(f"{speed:,.0f} items/s" if speed else "")


@contextmanager
def _progress(label: str) -> Iterator[ProgressCallback]:
    console = Console(stderr=True)
    columns = (
        SpinnerColumn(),
        TextColumn(label.replace("{", "{{").replace("}", "}}"), markup=False),
        TextColumn("{task.completed:,} items"),
        _Rate(),
    )
    with Progress(
        *columns, transient=True, console=console, disable=not console.is_terminal
    ) as bar:
        task = bar.add_task(label, total=None)
        yield lambda n: bar.advance(task, n)


def _import_command(group: click.Group) -> None:
    @group.command(name="dynamodb")
    @click.option("--table", required=True, help="The events table.")
    @dynamodb_endpoint_options
    @click.option(
        "--run",
        "runs",
        multiple=True,
        metavar="RUN_ID",
        help="Only this run (repeatable): Query instead of Scan.",
    )
    @click.option(
        "--segments",
        type=click.IntRange(1, 64),
        default=1,
        show_default=True,
        help="Parallel scan segments (one thread each).",
    )
    @click.option(
        "--page-size",
        type=click.IntRange(1, None),
        default=None,
        help="Items per request (default: DynamoDB's 1 MB pages).",
    )
    @click.option(
        "--consistent", is_flag=True, help="Strongly consistent reads (twice the read capacity)."
    )
    @click.option(
        "--full",
        is_flag=True,
        help="With --run: re-read whole runs, not from the last import's mark.",
    )
    @click.option("--runs-table", default=None, help="Also import this runs table into `runs`.")
    @click.option(
        "--run-map",
        "run_mapping",
        multiple=True,
        metavar="ROLE=ATTRIBUTE",
        help="Map a runs-table role (repeatable).",
    )
    @dynamodb_mapping_options
    @key_file_option
    @output_option
    @click.pass_obj
    def import_dynamodb_command(
        obj: Context,
        table: str,
        region: str | None,
        profile: str | None,
        endpoint_url: str | None,
        runs: tuple[str, ...],
        preset: str | None,
        mapping: tuple[str, ...],
        segments: int,
        page_size: int | None,
        consistent: bool,
        full: bool,
        runs_table: str | None,
        run_mapping: tuple[str, ...],
        max_attempts: int,
        key_file: Path | None,
        fmt: str,
    ) -> None:
        """Import a live DynamoDB events table (read-only: DescribeTable, Query, Scan only).

        Without --run the table is scanned in --segments parallel segments; with --run each
        run is queried by its key (or its run index). Credentials come from the default AWS
        chain or --profile and are never printed or stored.
        """
        options = ImportOptions(
            key=read_key(key_file), mapping=parse_pairs(mapping, "--map"), preset=preset
        )
        resolve_mapping(preset, options.mapping)  # a bad --map fails before any request
        live = LiveOptions(
            runs=runs,
            segments=segments,
            page_size=page_size,
            consistent=consistent,
            full=full,
            runs_table=runs_table,
            run_mapping=parse_pairs(run_mapping, "--run-map"),
        )
        target = Target(table, region, profile, endpoint_url, max_attempts=max_attempts)
        conn = connect(target, segments)
        with _progress(f"reading {table}") as advance, writable(obj.db, options.key) as store:
            options = ImportOptions(options.key, options.mapping, preset, advance)
            summary = import_dynamodb(store, conn, options, live)
            prepare_analysis(store, [summary])
        report([summary], fmt)


def _presets_command(cli: click.Group) -> None:
    @cli.command(name="dynamodb-presets")
    @click.argument("preset", required=False)
    @format_option
    def dynamodb_presets(preset: str | None, fmt: str) -> None:
        """List the DynamoDB attribute-mapping presets: each role, its attribute and key.

        Give PRESET to see one. Roles not listed under a preset are unmapped there; map them
        with `forensics import dynamodb --map ROLE=ATTRIBUTE` (or `import json --map`).
        """
        names = [resolve_mapping(preset).preset] if preset else list(PRESETS)
        rows: list[tuple[object, ...]] = []
        for name in names:
            m = PRESETS[name]
            keys = {m.hash_role: "HASH", **({m.range_role: "RANGE"} if m.range_role else {})}
            for index in m.indexes:
                keys.setdefault(index.hash_role, f"GSI {index.name}")
            for role, attribute, meaning in m.role_table():
                rows.append((name, role, attribute, keys.get(role), meaning))
        for role, attribute in RUN_ROLES.items():
            meaning = "the run's " + role.replace("_", " ") + " (--runs-table; --run-map)"
            rows.append(
                ("runs-table", role, attribute, "HASH" if role == "run_id" else None, meaning)
            )
        emit(PRESET_COLUMNS, rows, fmt)
        if fmt == "table":
            for name in names:
                click.echo(f"{name}: {PRESETS[name].description}", err=True)


def register(cli: click.Group) -> None:
    group = cli.commands.get("import")
    assert isinstance(group, click.Group), "register commands_import first"
    _import_command(group)
    _presets_command(cli)

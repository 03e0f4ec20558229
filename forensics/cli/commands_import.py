"""`forensics import …`: one subcommand per kind of source."""

from __future__ import annotations

import base64
import binascii
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

import click
from rich.console import Console
from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

from forensics.cli import Context, ImportGroup
from forensics.cli.options import key_file_option, output_option, parse_pairs, writable
from forensics.cli.render import emit
from forensics.errors import InputError, PartialImport
from forensics.importers.base import ImportOptions
from forensics.importers.run import import_paths
from forensics.model import ImportSummary
from forensics.store import Store

BUILTIN_FORMATS = "world-local, inspect, api-v4, api-v1, jsonl, dynamodb-json, trace"
SUMMARY_COLUMNS = [
    "import_id",
    "source",
    "location",
    "read",
    "stored",
    "duplicates",
    "quarantined",
    "conflicts",
    "runs",
    "entities",
    "status",
]


def summary_rows(summaries: Sequence[ImportSummary]) -> list[tuple[object, ...]]:
    return [
        (
            s.import_id,
            s.source_kind,
            s.location,
            s.read,
            s.stored,
            s.duplicates,
            s.quarantined,
            s.conflicts,
            s.runs,
            s.entities,
            s.status,
        )
        for s in summaries
    ]


def report(summaries: Sequence[ImportSummary], fmt: str) -> None:
    """Print the summaries; raise PartialImport when anything went to quarantine."""
    emit(SUMMARY_COLUMNS, summary_rows(summaries), fmt)
    for s in summaries:
        for note in s.notes:
            click.echo(f"forensics: note: {s.location}: {note}", err=True)
    quarantined = sum(s.quarantined for s in summaries)
    if quarantined and not any(s.read or s.runs or s.entities for s in summaries):
        raise InputError(
            f"nothing could be imported: all {quarantined} record(s) went to quarantine",
            hint='see why: forensics sql "select location, position, reason from quarantine'
            ' order by import_id desc limit 20"; is --format right for these files?',
        )
    if quarantined:
        raise PartialImport(
            f"{quarantined} record(s) could not be imported and went to quarantine;"
            " everything else was stored",
            hint='forensics sql "select location, position, reason from quarantine'
            ' order by import_id desc"',
        )
    if any(s.status == "partial" for s in summaries):
        raise PartialImport(
            "everything was stored, but not all of it could be read (see the notes above)",
            hint="check --key-file: it must hold the run's AES-256-GCM key (raw, hex or base64)",
        )


def prepare_analysis(store: Store, summaries: Sequence[ImportSummary]) -> None:
    """Keep the analysis sieve's statistics of the runs these imports touched, so the next
    `forensics check` reads them instead of computing them (it checks that they still hold)."""
    ids = [s.import_id for s in summaries if s.stored or s.conflicts]
    if not ids:
        return
    runs = [
        r[0]
        for r in store.con.execute(
            "SELECT DISTINCT run_id FROM events WHERE import_id IN (SELECT unnest($1::INTEGER[]))",
            [ids],
        ).fetchall()
    ]
    if not runs:
        return
    # imported here: an import that stored nothing need not load the analysis engine
    from forensics.analysis.scan import Settings, keep_statistics

    total = store.con.execute("SELECT count(DISTINCT run_id) FROM events").fetchall()[0][0]
    cur = store.cursor()
    try:
        keep_statistics(cur, Settings(), None if len(runs) == total else runs)
    finally:
        cur.close()


def read_key(path: Path | None) -> bytes | None:
    """A 32-byte AES key from a file holding raw bytes, hex or base64."""
    if path is None:
        return None
    data = path.read_bytes()
    if len(data) == 32:
        return data
    text = data.strip()
    for decode in (binascii.unhexlify, base64.b64decode):
        try:
            key = decode(text)
        except (binascii.Error, ValueError):
            continue
        if len(key) == 32:
            return key
    raise InputError(
        f"{path}: not a 32-byte key (raw, hex or base64)",
        hint="export the run's AES-256 key into this file",
    )


@contextmanager
def progress_bar(label: str) -> Iterator[ImportOptions]:
    """Import options whose progress callback drives a spinner with a count on stderr."""
    columns = (
        SpinnerColumn(),
        TextColumn("{task.description}", markup=False),  # a path is not markup
        TextColumn("{task.completed:,} records"),
        TimeElapsedColumn(),
    )
    console = Console(stderr=True)
    with Progress(
        *columns, transient=True, console=console, disable=not console.is_terminal
    ) as bar:
        task = bar.add_task(label, total=None)
        yield ImportOptions(progress=lambda n: bar.advance(task, n))


def register(cli: click.Group) -> None:
    @cli.group(name="import", cls=ImportGroup)
    def import_group() -> None:
        """Import event logs into the store (every importer only reads its source)."""

    @import_group.command(
        name="json",
        help=f"""Import JSON-family files and directories.

    PATHS may be world-local data directories, saved `workflow inspect --json` output, saved
    API pages (v1 JSON, v4 frame streams), JSON Lines or arrays of events, and DynamoDB JSON
    dumps; .gz is read transparently. The format is detected per path
    (formats: {BUILTIN_FORMATS}).""",
    )
    @click.argument("paths", nargs=-1, required=True, type=click.Path(path_type=Path))
    @click.option(
        "--format", "source_format", default=None, help="Skip detection: force this format."
    )
    @key_file_option
    @click.option(
        "--map",
        "mapping",
        multiple=True,
        metavar="ROLE=ATTRIBUTE",
        help="DynamoDB dumps: map a role to an attribute (repeatable).",
    )
    @click.option("--preset", default=None, help="DynamoDB dumps: attribute-mapping preset.")
    @output_option
    @click.pass_obj
    def import_json(
        obj: Context,
        paths: tuple[Path, ...],
        source_format: str | None,
        key_file: Path | None,
        mapping: tuple[str, ...],
        preset: str | None,
        fmt: str,
    ) -> None:
        key = read_key(key_file)
        with progress_bar("importing") as base, writable(obj.db, key) as store:
            options = ImportOptions(
                key=key,
                mapping=parse_pairs(mapping, "--map"),
                preset=preset,
                progress=base.progress,
            )
            summaries = import_paths(store, paths, fmt=source_format, options=options)
            prepare_analysis(store, summaries)
        report(summaries, fmt)

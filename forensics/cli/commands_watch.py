"""`forensics watch …`: follow a live source, print each new finding as one JSON line.

stdout carries only alerts (one JSON object per line, flushed at once); progress, lag,
reconnects and webhook trouble go to stderr. SIGINT and SIGTERM end the watch after the
pass under way (a second one aborts that pass; what it stored is completed by the next
run), with exit code 0.
"""

from __future__ import annotations

import signal
import sys
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from forensics.cli import Context
from forensics.cli.options import (
    dynamodb_endpoint_options,
    dynamodb_mapping_options,
    writable_store,
)
from forensics.model import SEVERITIES

if TYPE_CHECKING:
    from forensics.watch.alerts import Alert
    from forensics.watch.sources import Source

F = Callable[..., Any]


def watch_options(func: F) -> F:
    """What every `watch` subcommand takes."""
    for option in reversed(
        (
            click.option(
                "--interval",
                default="2s",
                show_default=True,
                metavar="DURATION",
                help="Time from the start of one pass to the next (30s, 1min, 500ms).",
            ),
            click.option("--once", is_flag=True, help="One pass, then exit (for cron)."),
            click.option(
                "--min-severity",
                type=click.Choice(SEVERITIES),
                default="info",
                show_default=True,
                help="Announce findings of this severity or worse.",
            ),
            click.option(
                "--webhook",
                metavar="URL",
                help="Also POST each alert (the same JSON) to URL, with retries.",
            ),
            click.option(
                "--announce-existing",
                is_flag=True,
                help="On a watch's first pass, announce the findings already in the store"
                " too (by default they are its baseline and only counted).",
            ),
        )
    ):
        func = option(func)
    return func


def run_watch(obj: Context, source: Source, **opts: Any) -> None:
    """Open the store, run the watch until stopped, close everything."""
    from forensics.timespec import parse_duration
    from forensics.watch.loop import Settings, Watch
    from forensics.watch.memory import lean
    from forensics.watch.webhook import Webhook

    lean()
    interval = parse_duration(opts["interval"], "--interval").total_seconds()
    if interval <= 0:
        raise click.BadParameter("must be more than 0", param_hint="--interval")
    settings = Settings(interval, opts["once"], opts["min_severity"], opts["announce_existing"])
    webhook = Webhook(opts["webhook"], _say) if opts["webhook"] else None

    def emit(alert: Alert) -> None:
        sys.stdout.buffer.write(_line(alert))
        sys.stdout.flush()
        if webhook is not None:
            webhook.post(alert)

    stop = threading.Event()
    try:
        with _stopping_on_signals(stop), writable_store(obj.db) as store:
            store.keep_small()
            watch = Watch(store, source, emit, _say, settings, stop)
            watch.run()
            if stop.is_set():
                _say(f"stopped after {watch.passes} pass(es), {watch.alerts} alert(s)")
    finally:
        source.close()
        if webhook is not None:
            webhook.close()


WATCH_SPECS = (
    "dir:PATH (a world-local data directory), trace:FILE (a WF_TRACE log), postgres:DSN or a"
    " postgresql:// URL (schema workflow), dynamodb:TABLE or dynamodb:TABLE@ENDPOINT_URL"
    " (region and credentials from the AWS chain)"
)


def source_of(spec: str) -> Source:
    """The source a `--watch` argument names (see `WATCH_SPECS`)."""
    from forensics.errors import UsageError

    kind, sep, rest = spec.partition(":")
    if spec.startswith(("postgres://", "postgresql://")):
        kind, rest = "postgres", spec
    elif not sep or not rest:
        raise UsageError(f"--watch {spec!r}: say which kind of source", hint=WATCH_SPECS)
    if kind == "dir":
        from forensics.watch.sources import DirSource

        return DirSource(Path(rest))
    if kind == "trace":
        from forensics.watch.sources import TraceSource

        return TraceSource([Path(rest)])
    if kind == "postgres":
        from forensics.importers.postgres import PostgresOptions
        from forensics.watch.sources import PostgresSource

        return PostgresSource(PostgresOptions(dsn=rest))
    if kind == "dynamodb":
        from forensics.importers.base import ImportOptions
        from forensics.importers.dynamodb_live import LiveOptions, Target, connect
        from forensics.watch.sources import DynamoSource

        table, _, endpoint = rest.partition("@")
        target = Target(table, endpoint_url=endpoint or None)
        return DynamoSource(connect(target), ImportOptions(), LiveOptions())
    raise UsageError(f"--watch {spec!r}: unknown kind of source {kind!r}", hint=WATCH_SPECS)


def _line(alert: Alert) -> bytes:
    import orjson

    return orjson.dumps(alert.as_json()) + b"\n"


def _say(text: str) -> None:
    click.echo(f"forensics watch: {text}", err=True)


@contextmanager
def _stopping_on_signals(stop: threading.Event) -> Iterator[None]:
    """SIGINT/SIGTERM set `stop` (the watch ends after its pass); a second one interrupts."""

    def handler(signum: int, _frame: object) -> None:
        if stop.is_set():
            raise KeyboardInterrupt
        stop.set()
        name = signal.Signals(signum).name
        _say(f"{name}: stopping after this pass (again to abort it)")

    if threading.current_thread() is not threading.main_thread():
        yield  # signals reach only the main thread (a test may run us elsewhere)
        return
    previous = {s: signal.signal(s, handler) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for s, old in previous.items():
            signal.signal(s, old)


def register(cli: click.Group) -> None:
    @cli.group(name="watch")
    def watch() -> None:
        """Follow a live source: import what is new, re-check, print new findings.

        Each new finding is printed on stdout as one JSON object per line: at, run_id,
        code, severity, event_ids, summary, finding_id. Progress, lag and reconnects go to
        stderr. The cursor is the importer's own, saved in the store after each import: a
        watch that restarts resumes where it stopped. Nothing is written to the source.
        """

    @watch.command(name="postgres")
    @click.option(
        "--dsn",
        required=True,
        metavar="DSN",
        envvar="FORENSICS_PG_DSN",
        help="libpq connection string or URL (env FORENSICS_PG_DSN); never shown or stored.",
    )
    @click.option("--schema", default="workflow", show_default=True, help="Schema of the tables.")
    @click.option(
        "--statement-timeout",
        default="1min",
        metavar="DURATION",
        show_default=True,
        help="Give up on a statement after this long (the pass is retried).",
    )
    @watch_options
    @click.pass_obj
    def watch_postgres(
        obj: Context, /, dsn: str, schema: str, statement_timeout: str, **opts: Any
    ) -> None:
        """Watch a @workflow/world-postgres database (read-only).

        Between passes one query on pg_stat_user_tables asks whether the schema's tables
        were written; only then is the exact incremental import run (every row written
        since the last import's snapshot, whatever its id). A lost server is retried with
        backoff.
        """
        from forensics.importers.postgres import PostgresOptions
        from forensics.timespec import parse_duration
        from forensics.watch.sources import PostgresSource

        timeout = parse_duration(statement_timeout, "--statement-timeout")
        options = PostgresOptions(
            dsn=dsn, schema=schema, statement_timeout_ms=int(timeout.total_seconds() * 1000)
        )
        run_watch(obj, PostgresSource(options), **opts)

    @watch.command(name="dynamodb")
    @click.option("--table", required=True, help="The events table.")
    @dynamodb_endpoint_options
    @click.option(
        "--run",
        "runs",
        multiple=True,
        metavar="RUN_ID",
        help="Without a stream: only these runs (repeatable), counted then queried.",
    )
    @dynamodb_mapping_options
    @watch_options
    @click.pass_obj
    def watch_dynamodb(
        obj: Context,
        /,
        table: str,
        region: str | None,
        profile: str | None,
        endpoint_url: str | None,
        runs: tuple[str, ...],
        preset: str | None,
        mapping: tuple[str, ...],
        max_attempts: int,
        **opts: Any,
    ) -> None:
        """Watch a live DynamoDB events table (read-only).

        When the table has a stream with new images (NEW_IMAGE or NEW_AND_OLD_IMAGES), each
        pass reads its shards from the positions saved in the store (DescribeTable,
        DescribeStream, GetShardIterator, GetRecords); the first pass scans the table once.
        Without one, each pass reads the table again: per-run COUNT Queries and the runs
        that changed with --run, a whole Scan without. Throttling and lost connections are
        retried with backoff from the saved positions.
        """
        from forensics.cli.options import parse_pairs
        from forensics.importers.base import ImportOptions
        from forensics.importers.dynamodb_live import LiveOptions, Target, connect
        from forensics.importers.mapping import resolve_mapping
        from forensics.watch.sources import DynamoSource

        options = ImportOptions(mapping=parse_pairs(mapping, "--map"), preset=preset)
        resolve_mapping(preset, options.mapping)  # a bad --map fails before any request
        target = Target(table, region, profile, endpoint_url, max_attempts=max_attempts)
        source = DynamoSource(connect(target), options, LiveOptions(runs=runs))
        run_watch(obj, source, **opts)

    @watch.command(name="dir")
    @click.argument("path", type=click.Path(exists=True, file_okay=False, path_type=Path))
    @watch_options
    @click.pass_obj
    def watch_dir(obj: Context, /, path: Path, **opts: Any) -> None:
        """Watch a @workflow/world-local data directory (.workflow-data).

        Each pass lists events/, runs/, steps/, hooks/, waits/ and the staged hook events
        under .locks/runs/*.pending/, and imports the files that are new or changed (by
        modification time and size, kept in the store). Nothing in the directory is
        written.
        """
        from forensics.watch.sources import DirSource

        run_watch(obj, DirSource(path), **opts)

    @watch.command(name="trace")
    @click.argument("files", nargs=-1, required=True, type=click.Path(path_type=Path))
    @watch_options
    @click.pass_obj
    def watch_trace(obj: Context, /, files: tuple[Path, ...], **opts: Any) -> None:
        """Follow WF_TRACE log files like `tail -F`.

        Appended lines are read each pass; a line still being written waits for its
        newline; a rotated file is read to its end and its successor from the start; a
        truncated one from the start again; a file that does not exist yet is waited for.
        Each replay is stored when its replay_end arrives (or after 10 minutes without).
        """
        from forensics.watch.sources import TraceSource

        run_watch(obj, TraceSource(list(files)), **opts)

"""The sources a watch can follow, each a thin wrapper over its importer's incremental read.

A `Source` has a `kind`, a `location` (shown, and naming the watch's state in the store)
and `poll(store)`, which imports what is new and returns the imports' summaries (none when
it knows cheaply that nothing changed). The cursor of each source is its importer's own,
saved in the store when an import finishes, so a watch that restarts, or reconnects after
its source went away, resumes exactly where the last finished import stopped.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from forensics.errors import InputError, SourceError
from forensics.importers.mapping import resolve_mapping
from forensics.importers.postgres import PostgresOptions, import_postgres
from forensics.importers.postgres.activity import Activity
from forensics.importers.postgres.dsn import redact

if TYPE_CHECKING:
    from forensics.importers.base import ImportOptions
    from forensics.importers.dynamodb_live import Connection, LiveOptions
    from forensics.model import ImportSummary
    from forensics.store import Store

# An idle PostgreSQL watch still imports every this many polls (about five minutes at the
# default interval), in case the server's write counters were reset or lost.
IMPORT_AT_LEAST_EVERY = 150


class Source(Protocol):
    kind: str
    location: str

    def poll(self, store: Store) -> list[ImportSummary]: ...

    def close(self) -> None: ...


class PostgresSource:
    """A world-postgres schema: import (exact, from the marks) when its tables were written."""

    kind = "postgres"

    def __init__(self, options: PostgresOptions, every: int = IMPORT_AT_LEAST_EVERY) -> None:
        self.options = options
        self.activity = Activity(options.dsn, options.schema)
        self.location = f"{redact(options.dsn) or 'PostgreSQL'} schema {options.schema}"
        self.every = every
        self.idle = 0

    def poll(self, store: Store) -> list[ImportSummary]:
        counters = self.activity.read()  # before the import's snapshot: see `activity`
        if not self.activity.changed(counters) and self.idle < self.every:
            self.idle += 1
            return []
        summary = import_postgres(store, self.options)
        self.activity.remember(counters)
        self.idle = 0
        return [summary]

    def close(self) -> None:
        self.activity.close()


class DirSource:
    """A world-local data directory: import the files that appeared or changed (polling)."""

    kind = "dir"

    def __init__(self, path: Path) -> None:
        from forensics.importers.world_local_follow import data_dir

        self.root = data_dir(path)
        self.location = str(self.root)

    def poll(self, store: Store) -> list[ImportSummary]:
        from forensics.importers.world_local_follow import import_changed

        if not self.root.is_dir():
            raise SourceError(
                f"{self.root} is gone", hint="was the app's data directory moved or deleted?"
            )
        summary = import_changed(store, self.root)
        return [summary] if summary is not None else []

    def close(self) -> None:
        return


class TraceSource:
    """Trace log files followed like `tail -F`; replays are stored once whole."""

    kind = "trace"

    def __init__(self, paths: list[Path]) -> None:
        from forensics.importers.trace_follow import Follow

        self.follow = Follow(paths)
        self.location = self.follow.location

    def poll(self, store: Store) -> list[ImportSummary]:
        summary = self.follow.poll(store)
        return [summary] if summary is not None else []

    def close(self) -> None:
        self.follow.close()


class DynamoSource:
    """A live DynamoDB events table: its stream when it has one that carries new images
    (positions per shard saved in the store), else periodic reads (exact: per-run COUNT
    Queries with --run, a whole Scan without)."""

    kind = "dynamodb"

    def __init__(self, conn: Connection, options: ImportOptions, live: LiveOptions) -> None:
        self.conn = conn
        self.options = options
        self.live = replace(live, empty_ok=True)
        self.table = conn.target.table
        self.location = conn.location(self.table)
        self.mode = ""

    def poll(self, store: Store) -> list[ImportSummary]:
        from forensics.importers.dynamodb_live import import_dynamodb

        try:
            table = self.conn.call("describe_table", self.table)["Table"]
        except InputError as exc:
            if not self.mode:
                raise  # a wrong --table fails at once
            raise SourceError(f"{exc.message} (it was there before)", hint=exc.hint) from None
        arn, why_not = stream_of(table)
        told = self._mode(arn, why_not)
        if arn is None:
            summary = import_dynamodb(store, self.conn, self.options, self.live)
            return [_told(summary, told)]
        return self._follow(store, arn, told)

    def _mode(self, arn: str | None, why_not: str) -> str:
        """A line for stderr when the way of reading changes (first pass included)."""
        mode = f"stream {arn}" if arn else "reads"
        if mode == self.mode:
            return ""
        self.mode = mode
        if arn:
            return f"watch: following the table's stream {arn} (saved shard positions)"
        cost = (
            f"a COUNT Query per run ({len(self.live.runs)} run(s)), then the runs that changed"
            if self.live.runs
            else "a whole Scan of the table (pass --run, or enable a stream, to read less)"
        )
        return f"watch: {why_not}; each pass reads {cost}"

    def _follow(self, store: Store, arn: str, told: str) -> list[ImportSummary]:
        from forensics.importers.dynamodb_live import stream

        mapping = resolve_mapping(self.options.preset, self.options.mapping)
        saved = store.marks(self.location, stream.scope(arn))
        notes = [told] if told else []
        summaries: list[ImportSummary] = []
        if stream.SCANNED not in saved:
            notes.append(
                "watch: the stream has no saved positions here (first pass, or a stream"
                " enabled anew): the table was scanned whole once, the stream is read from"
                " its oldest record"
            )
            summaries.append(self._scan(store))
            saved = {}
        read = stream.ShardRead()
        try:
            stream.read_shards(self.conn, arn, saved, read)
        except stream.StreamLost as exc:
            notes.append(
                f"watch: the stream no longer holds the saved positions ({exc}; it keeps 24"
                " hours): the table was scanned whole again, the stream re-read from its"
                " oldest record"
            )
            summaries.append(self._scan(store))
            read = stream.ShardRead()
            try:
                stream.read_shards(self.conn, arn, {}, read)
            except stream.StreamLost as again:
                raise SourceError(f"the stream {arn} went away while read ({again})") from None
        read.marks.setdefault(stream.SCANNED, saved.get(stream.SCANNED, "yes"))
        moved = any(saved.get(shard) != mark for shard, mark in read.marks.items())
        if read.images or read.removed or moved:
            summaries.append(
                stream.store_records(store, self.conn, mapping, self.options, arn, read, notes)
            )
        elif summaries:
            summaries[-1] = _told(summaries[-1], *notes)
        return summaries

    def _scan(self, store: Store) -> ImportSummary:
        from forensics.importers.dynamodb_live import import_dynamodb

        whole = replace(self.live, runs=(), full=True)
        return import_dynamodb(store, self.conn, self.options, whole)

    def close(self) -> None:
        return


def stream_of(table: dict[str, Any]) -> tuple[str | None, str]:
    """The table's stream ARN when it can be followed, else None and why not."""
    arn = table.get("LatestStreamArn")
    spec = table.get("StreamSpecification") or {}
    view = spec.get("StreamViewType")
    if not arn or not spec.get("StreamEnabled"):
        return None, "the table has no stream enabled"
    if view not in ("NEW_IMAGE", "NEW_AND_OLD_IMAGES"):
        return None, f"the table's stream carries {view or 'no'} images, not the new items"
    return str(arn), ""


def _told(summary: ImportSummary, *notes: str) -> ImportSummary:
    """The summary with lines for the watch's stderr (not stored with the import)."""
    lines = tuple(n for n in notes if n)
    return replace(summary, notes=lines + summary.notes) if lines else summary

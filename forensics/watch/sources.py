"""The sources a watch can follow, each a thin wrapper over its importer's incremental read.

A `Source` has a `kind`, a `location` (shown, and naming the watch's state in the store)
and `poll(store)`, which imports what is new and returns the imports' summaries (none when
it knows cheaply that nothing changed). The cursor of each source is its importer's own,
saved in the store when an import finishes, so a watch that restarts, or reconnects after
its source went away, resumes exactly where the last finished import stopped.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Protocol

from forensics.errors import SourceError
from forensics.importers.postgres import PostgresOptions, import_postgres
from forensics.importers.postgres.activity import Activity
from forensics.importers.postgres.dsn import redact

if TYPE_CHECKING:
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

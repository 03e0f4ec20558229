"""Importing a `@workflow/world-postgres` database, of any schema era, strictly read-only.

`import_postgres(store, PostgresOptions(dsn=…))` reads events and the entity tables of one
schema from one read-only snapshot into one import of the store, and returns its summary.
Modules: `dsn` (secrets never shown), `connect` (the snapshot, error messages), `probe`
(schema era), `selects` (the statements), `streaming` (COPY batches, read-ahead,
write-behind), `events` (eventData decoding into staging columns), `entities` (run and
entity rows), `importer` (one import, incremental marks). psycopg is imported only when an
import runs, so the rest of forensics works without the `postgres` extra.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from forensics.errors import SourceError

if TYPE_CHECKING:
    from forensics.model import ImportSummary
    from forensics.store import Store

DEFAULT_SCHEMA = "workflow"
DEFAULT_STATEMENT_TIMEOUT_MS = 10 * 60 * 1000


@dataclass(frozen=True)
class PostgresOptions:
    """What to import and how; `dsn` is handed to libpq as given (never shown as is)."""

    dsn: str
    schema: str = DEFAULT_SCHEMA
    runs: tuple[str, ...] = ()
    since: datetime | None = None
    statuses: tuple[str, ...] = ()
    full: bool = False
    statement_timeout_ms: int = DEFAULT_STATEMENT_TIMEOUT_MS
    key: bytes | None = None
    progress: Callable[[int], None] | None = None


def import_postgres(store: Store, options: PostgresOptions) -> ImportSummary:
    """Import (incrementally, unless `options.full`) and return the import's summary."""
    try:
        import psycopg  # noqa: F401
    except ImportError:
        raise SourceError(
            "reading PostgreSQL needs the psycopg driver, which is not installed",
            hint="pip install 'forensics[postgres]'",
        ) from None
    from forensics.importers.postgres.importer import run_import

    return run_import(store, options)

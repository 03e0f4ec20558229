"""A cheap question for a watch to ask between imports: has anything been written since?

The server counts, per table, the rows inserted, updated and deleted (`pg_stat_user_tables`,
readable by any role). A backend adds its counts when its transaction has ended (within a
second or so of going idle), so counts read before an import's snapshot cover every
transaction that ended before it; when they have not moved since, nothing committed after
that snapshot, and the watch skips the import (whose newest-event pass costs the server a
sequential read of the events). Counters can be reset or lost in a crash: they are only
compared for being equal, and the watch imports anyway every so often. A standby counts
nothing it replays, so there `changed` is always true (every poll imports).

The probe keeps one autocommit, read-only connection open between polls.
"""

from __future__ import annotations

from contextlib import suppress
from typing import TYPE_CHECKING

from forensics.importers.postgres.connect import open_snapshot, query_error
from forensics.importers.postgres.probe import TABLES

if TYPE_CHECKING:
    import psycopg

PROBE_TIMEOUT_MS = 5000
_COUNTS = (
    "SELECT coalesce(sum(n_tup_ins + n_tup_upd + n_tup_del), 0)::int8::text,"
    " count(*)::int8, pg_is_in_recovery() FROM pg_stat_user_tables"
    " WHERE schemaname = %s AND relname = ANY(%s)"
)


class Activity:
    """`changed()` is True unless the schema's write counters are those it saw last."""

    def __init__(self, dsn: str, schema: str) -> None:
        self.dsn = dsn
        self.schema = schema
        self.conn: psycopg.Connection[tuple[object, ...]] | None = None
        self.seen: tuple[object, ...] | None = None
        self.standby = False

    def read(self) -> tuple[object, ...]:
        """The counters now (connecting first if need be)."""
        import psycopg

        try:
            if self.conn is None or self.conn.closed:
                self.conn = open_snapshot(self.dsn, PROBE_TIMEOUT_MS)
                self.conn.autocommit = True
            row = self.conn.execute(_COUNTS, [self.schema, list(TABLES)]).fetchone()
        except psycopg.Error as exc:
            self.close()
            raise query_error(exc, self.dsn, "asking for the write counters", self.schema) from exc
        assert row is not None
        self.standby = bool(row[2])
        return tuple(row[:2])

    def changed(self, counters: tuple[object, ...]) -> bool:
        return self.standby or counters != self.seen

    def remember(self, counters: tuple[object, ...]) -> None:
        self.seen = counters

    def close(self) -> None:
        import psycopg

        if self.conn is not None:
            conn, self.conn = self.conn, None
            with suppress(psycopg.Error):  # a broken connection is being dropped anyway
                conn.close()

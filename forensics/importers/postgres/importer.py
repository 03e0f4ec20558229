"""One import of a world-postgres schema: probe, events, entity tables, high-water marks.

Everything is read inside one read-only snapshot, events first, then the entity tables (see
`phases`). Incremental imports start from the marks of the last finished import of the
same source: per run the highest event id read, and the server time of that import's
snapshot. Rows created (events) or updated (entity rows) in the five minutes before that
snapshot are read again, so an event that committed late with a lower id is still found.
Marks are saved only after the import finished; the store drops repeated copies, so
re-reading is always safe and an interrupted import is completed by the next one.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager, suppress
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

import psycopg

from forensics.importers.postgres import PostgresOptions
from forensics.importers.postgres.connect import open_snapshot, query_error
from forensics.importers.postgres.dsn import redact
from forensics.importers.postgres.events import EventBatches
from forensics.importers.postgres.phases import Phases
from forensics.importers.postgres.probe import EVENTS, RUNS, Layout, probe
from forensics.importers.postgres.selects import Filters, Marks
from forensics.model import ImportSummary

if TYPE_CHECKING:
    from forensics.store import ImportSession, Store

SOURCE_KIND = "postgres"
RECHECK = timedelta(minutes=5)
RUN_MARKS = "run-last-event"
SOURCE_MARKS = "source"
SNAPSHOT_AT = "snapshot-at"
COMPLETE = "snapshot-complete"  # "true" when that snapshot's import read every run


def run_import(store: Store, options: PostgresOptions) -> ImportSummary:
    conn = open_snapshot(options.dsn, options.statement_timeout_ms)
    try:
        return _Import(store, conn, options).run()
    finally:
        _close(conn)


def source_of(conn: psycopg.Connection[tuple[object, ...]]) -> str:
    """Which database this is, as the server reports it (no user, no password)."""
    info = conn.info
    return f"postgresql://{info.host}:{info.port}/{info.dbname}"


class _Import:
    def __init__(
        self,
        store: Store,
        conn: psycopg.Connection[tuple[object, ...]],
        options: PostgresOptions,
    ) -> None:
        self.store = store
        self.conn = conn
        self.options = options
        self.schema = options.schema
        self.filters = Filters(options.runs, options.since, options.statuses)
        self.source = f"{source_of(conn)}/{options.schema}"

    @contextmanager
    def reading(self, doing: str) -> Iterator[None]:
        """Turn driver errors into one-line source errors saying what was being done."""
        try:
            yield
        except psycopg.Error as exc:
            raise query_error(exc, self.options.dsn, doing, self.schema) from exc

    def run(self) -> ImportSummary:
        with self.reading(f"reading the layout of schema {self.schema!r}"):
            layout = probe(self.conn, self.schema)
            snapshot_at = self._snapshot_time()
        marks = Marks() if self.options.full else self._marks()
        location = redact(self.options.dsn) or self.source
        with self.store.begin_import(SOURCE_KIND, location, self._described()) as session:
            session.note(layout.describe())
            self._note_mode(session, marks)
            phases = Phases(
                self.conn,
                layout,
                self.filters,
                marks,
                session,
                self.source,
                self.options.key,
                self.reading,
                self._cancel,
            )
            with phases.decoders:
                batches = phases.events(self.options.progress)
                self._note_both(session, batches)
                refresh = batches.above | self._late(session, batches.below)
                runs = layout.table(RUNS)
                if marks.last_event and (runs is None or not runs.has("updated_at")):
                    refresh |= self._open_in_store()  # status changes leave no other trace
                phases.entities(refresh)
            self._note_runs(session, layout, batches)
            summary = session.finish()
            self._save_marks(session, marks, batches, phases.run_rows, snapshot_at)
        return summary

    def _snapshot_time(self) -> datetime:
        """When our snapshot was taken, by the server's clock (its transaction start)."""
        row = self.conn.execute("SELECT now()").fetchone()
        assert row is not None and isinstance(row[0], datetime)
        return row[0]

    def _note_both(self, session: ImportSession, batches: EventBatches) -> None:
        if batches.both_payloads:
            session.note(
                f"{batches.both_payloads} events had eventData both as jsonb and as CBOR:"
                " the CBOR copy was imported, the jsonb one kept in extra.payload"
            )

    def _late(self, session: ImportSession, below: list[tuple[str, str]]) -> set[str]:
        """Runs with events below their mark that no earlier import stored: late commits."""
        if not below:
            return set()
        _, rows = self.store.query(
            "SELECT k.run_id, k.event_id FROM (SELECT unnest(?) AS run_id, unnest(?) AS event_id) k"
            " ANTI JOIN (SELECT run_id, event_id FROM events WHERE import_id <> ?) e"
            " ON e.run_id = k.run_id AND e.event_id = k.event_id",
            [[r for r, _ in below], [e for _, e in below], session.import_id],
        )
        if rows:
            session.note(
                f"{len(rows)} event(s) committed late: their ids are below the highest id"
                f" imported before for their run (e.g. {rows[0][1]} of run {rows[0][0]})"
            )
        return {str(r[0]) for r in rows}

    def _open_in_store(self) -> set[str]:
        """Runs this source's run rows left open in the store (their rows may have moved on
        without an event, e.g. a non-atomic status update)."""
        _, rows = self.store.query(
            "SELECT run_id FROM run_records WHERE source_location = ?"
            " AND coalesce(status, '') NOT IN ('completed', 'failed', 'cancelled')",
            [f"{self.source}.{RUNS}"],
        )
        return {str(r[0]) for r in rows}

    def _cancel(self) -> None:
        cancel = getattr(self.conn, "cancel_safe", None) or self.conn.cancel
        try:
            cancel()
        except psycopg.Error:  # the connection is going away anyway
            return

    # -- marks and notes -------------------------------------------------------------------

    def _marks(self) -> Marks:
        last = self.store.marks(self.source, RUN_MARKS)
        source = self.store.marks(self.source, SOURCE_MARKS)
        taken = source.get(SNAPSHOT_AT)
        recheck = datetime.fromisoformat(taken) - RECHECK if taken else None
        return Marks(last, recheck, source.get(COMPLETE) == "true")

    def _save_marks(
        self,
        session: ImportSession,
        marks: Marks,
        batches: EventBatches,
        run_rows: set[str],
        snapshot_at: datetime,
    ) -> None:
        changed = {
            run: top
            for run, top in batches.last_event.items()
            if top > marks.last_event.get(run, "")
        }
        # runs known only by their row (no event yet) are marked too, so they count as known
        for run in run_rows - batches.last_event.keys() - marks.last_event.keys():
            changed[run] = ""
        session.save_marks(self.source, RUN_MARKS, changed)
        # The recheck window starts from the last snapshot that saw every run: a filtered
        # import moves it only when there is none yet.
        anchored = SNAPSHOT_AT in self.store.marks(self.source, SOURCE_MARKS)
        complete = self.filters == Filters()
        if complete or not anchored:
            taken = {SNAPSHOT_AT: snapshot_at.isoformat(), COMPLETE: str(complete).lower()}
            session.save_marks(self.source, SOURCE_MARKS, taken)

    def _note_mode(self, session: ImportSession, marks: Marks) -> None:
        if self.options.full:
            session.note("--full: every event read again; copies already stored are dropped")
        elif marks.last_event:
            recheck = marks.recheck_from
            since = f" and rows created or updated since {recheck.isoformat()}" if recheck else ""
            session.note(
                f"incremental: {len(marks.last_event)} runs imported before; read only their"
                f" events above the last event id{since}, and new runs"
            )

    def _note_runs(self, session: ImportSession, layout: Layout, batches: EventBatches) -> None:
        if not layout.creation_index:
            session.note(
                "no unique index on entity creation events: duplicate step_created,"
                " hook_created or wait_created rows were possible in this schema"
            )
        missing = [r for r in self.filters.runs if r not in batches.last_event]
        if missing:
            known = self.store.marks(self.source, RUN_MARKS)
            missing = [r for r in missing if r not in known]
        if missing:
            session.note(
                f"{len(missing)} run(s) given with --run have no events in"
                f" {self.schema}.{EVENTS}: {', '.join(missing[:5])}" + " …" * (len(missing) > 5)
            )

    def _described(self) -> dict[str, object]:
        o = self.options
        return {
            "schema": o.schema,
            "runs": list(o.runs) or None,
            "since": o.since.isoformat() if o.since else None,
            "status": list(o.statuses) or None,
            "full": o.full,
            "statement_timeout_ms": o.statement_timeout_ms,
            "key": "given" if o.key else None,
        }


def _close(conn: psycopg.Connection[tuple[object, ...]]) -> None:
    """End the read-only transaction (nothing to commit) and hang up."""
    # A broken connection cannot roll back; closing it is what matters then.
    with suppress(psycopg.Error):
        if not conn.closed:
            conn.rollback()
    conn.close()

"""One import of a world-postgres schema: probe, events, entity tables, high-water marks.

Everything is read inside one read-only snapshot, events first, then the entity tables (see
`phases`). Incremental imports start from the marks of the last finished import of the
same source: per run the highest event id read and its number of events, and that import's
snapshot (`pg_current_snapshot()`). A row whose xmin (the transaction that inserted or last
updated it) is at or above that snapshot's xmin may have committed after it, whatever its
id or `created_at`: those rows are read again (see `selects.Fence`), so an event that
commits late with a lower id, or an entity row updated by a long transaction, is found.
The per-run counts cross-check it. Without a usable snapshot (an older store, a server
whose transaction ids went back), rows created or updated in the five minutes before the
last import's snapshot time are read again instead, and the note says so. Marks are saved
only after the import finished; the store drops repeated copies, so re-reading is always
safe and an interrupted import is completed by the next one.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

import psycopg

from forensics.importers.postgres import PostgresOptions
from forensics.importers.postgres.connect import open_snapshot, query_error
from forensics.importers.postgres.dsn import redact
from forensics.importers.postgres.events import EventBatches
from forensics.importers.postgres.phases import Phases
from forensics.importers.postgres.probe import EVENTS, RUNS, Layout, probe
from forensics.importers.postgres.selects import Fence, Filters, Marks
from forensics.model import ImportSummary

if TYPE_CHECKING:
    from forensics.store import ImportSession, Store

SOURCE_KIND = "postgres"
RECHECK = timedelta(minutes=5)
RUN_MARKS = "run-last-event"
SOURCE_MARKS = "source"
RUN_COUNTS = "run-event-count"
SNAPSHOT_AT = "snapshot-at"
SNAPSHOT = "snapshot"  # pg_current_snapshot() of that import, as text (xmin:xmax:xip,…)
XID_HORIZON = 2**31  # 32-bit xmins compare safely only this far back
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
            taken = self._snapshot(layout)
        marks = Marks() if self.options.full else self._marks(taken)
        location = redact(self.options.dsn) or self.source
        with self.store.begin_import(SOURCE_KIND, location, self._described()) as session:
            session.note(layout.describe())
            self._note_mode(session, marks, taken)
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
            self._note_counts(session, phases)
            summary = session.finish()
            counts = phases.counts if marks.last_event else batches.read
            self._save_marks(session, marks, batches, phases.run_rows, taken)
            session.save_marks(self.source, RUN_COUNTS, {r: str(n) for r, n in counts.items()})
        return summary

    def _snapshot(self, layout: Layout) -> Snapshot:
        """Our snapshot: when it was taken by the server's clock (its transaction start)
        and, when the events live in a table (views have no xmin), its transaction ids."""
        current = (
            "pg_current_snapshot()"
            if self.conn.info.server_version >= 130000
            else "txid_current_snapshot()"  # the same text form, before PostgreSQL 13
        )
        row = self.conn.execute(
            f"SELECT now(), {current}::text, (SELECT c.relkind::text FROM pg_class c"
            " JOIN pg_namespace n ON n.oid = c.relnamespace"
            " WHERE n.nspname = %s AND c.relname = %s)",
            [layout.schema, EVENTS],
        ).fetchone()
        assert row is not None and isinstance(row[0], datetime)
        text = str(row[1]) if row[2] in ("r", "p") else None
        return Snapshot(row[0], text)

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
            " ON e.run_id = k.run_id AND e.event_id = k.event_id ORDER BY 1, 2",
            [[r for r, _ in below], [e for _, e in below], session.import_id],
        )
        late = sorted({str(r[0]) for r in rows})
        if rows:
            session.note(
                f"{len(rows)} event(s) committed late: their ids are below the highest id"
                f" imported before for their run (e.g. {rows[0][1]} of run {rows[0][0]};"
                f" runs: {_some(late)})"
            )
        return set(late)

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

    def _marks(self, taken: Snapshot) -> Marks:
        last = self.store.marks(self.source, RUN_MARKS)
        source = self.store.marks(self.source, SOURCE_MARKS)
        at = source.get(SNAPSHOT_AT)
        recheck = datetime.fromisoformat(at) - RECHECK if at else None
        counts = {run: int(n) for run, n in self.store.marks(self.source, RUN_COUNTS).items()}
        fence = _fence(source.get(SNAPSHOT), taken.ids) if last else None
        return Marks(last, recheck, source.get(COMPLETE) == "true", fence, counts)

    def _save_marks(
        self,
        session: ImportSession,
        marks: Marks,
        batches: EventBatches,
        run_rows: set[str],
        taken: Snapshot,
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
            saved = {SNAPSHOT_AT: taken.at.isoformat(), COMPLETE: str(complete).lower()}
            # no snapshot (events in a view): an older one must not stay behind
            saved[SNAPSHOT] = taken.ids or ""
            session.save_marks(self.source, SOURCE_MARKS, saved)

    def _note_mode(self, session: ImportSession, marks: Marks, taken: Snapshot) -> None:
        if self.options.full:
            session.note("--full: every event read again; copies already stored are dropped")
            return
        if not marks.last_event:
            return
        head = f"incremental: {len(marks.last_event)} runs imported before; read"
        if marks.fence is not None:
            session.note(
                f"{head} their events above the last event id, every row (events and entity"
                " rows) written by a transaction that had not ended when the last import's"
                f" snapshot was taken (transaction id {marks.fence.since} or later), and new runs"
            )
            return
        recheck = marks.recheck_from
        since = f" and rows created or updated since {recheck.isoformat()}" if recheck else ""
        session.note(f"{head} only their events above the last event id{since}, and new runs")
        if self.store.marks(self.source, SOURCE_MARKS).get(SNAPSHOT) is None or not taken.ids:
            why = (
                "the events are not in a table (a view has no transaction ids)"
                if not taken.ids
                else "the last import kept no snapshot (it was made by an older forensics)"
            )
        else:
            why = (
                "the server's transaction ids are not those of the last import's snapshot"
                " (a restored, upgraded or different server?)"
            )
        session.note(
            f"not exact: {why}; a row that committed later than five minutes after it was"
            " created could be missed: run with --full once to be sure"
        )

    def _note_counts(self, session: ImportSession, phases: Phases) -> None:
        if phases.recounted:
            session.note(
                f"{len(phases.recounted)} run(s) had more events than the last import counted"
                " though none was newer than it: read again whole"
                f" ({_some(phases.recounted)})"
            )
        if phases.shrunk:
            session.note(
                f"{len(phases.shrunk)} run(s) have fewer events in the source than the last"
                " import counted (deleted at the source?); the store keeps what it read"
                f" ({_some(phases.shrunk)})"
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


@dataclass(frozen=True)
class Snapshot:
    """When an import's snapshot was taken (server clock) and its ids (xmin:xmax:xip,…)."""

    at: datetime
    ids: str | None


def _fence(saved: str | None, now: str | None) -> Fence | None:
    """The fence from the last import's snapshot, if this server's ids still fit it."""
    if not saved or not now:
        return None
    since, before = (int(part) for part in saved.split(":")[:2])
    current = int(now.split(":")[1])
    if current < before or current - since >= XID_HORIZON:
        return None
    return Fence(current, since)


def _some(runs: list[str]) -> str:
    return ", ".join(runs[:5]) + " …" * (len(runs) > 5)


def _close(conn: psycopg.Connection[tuple[object, ...]]) -> None:
    """End the read-only transaction (nothing to commit) and hang up."""
    # A broken connection cannot roll back; closing it is what matters then.
    with suppress(psycopg.Error):
        if not conn.closed:
            conn.rollback()
    conn.close()

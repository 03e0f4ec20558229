"""One import's session: the only way events, run and entity records and quarantined items
reach the store. Records are written in batches, each in its own transaction, so an
interrupted import leaves whole batches behind and a rerun adds exactly what is missing."""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from contextlib import suppress
from types import TracebackType
from typing import TYPE_CHECKING, Any

import duckdb
import orjson

from forensics.errors import StoreError
from forensics.model import (
    EntityRecord,
    EntityRow,
    EventRecord,
    ImportSummary,
    Provenance,
    QuarantineRecord,
    RunRecord,
    RunRow,
)
from forensics.store import ingest
from forensics.store.ingest import run

if TYPE_CHECKING:
    import pyarrow as pa

    from forensics.store import Store

BATCH_SIZE = 20_000
QUARANTINE_BATCH = 50_000
# The events of one import whose payload is stored raw but not decoded yet.
_FLEET_TABLES = ("events", "run_records", "entities")
_PENDING = "import_id = ? AND payload_raw IS NOT NULL AND payload_decoded IS NULL"


class ImportSession:
    """Collects one import's output and writes it in batches, each in a transaction."""

    def __init__(self, store: Store, import_id: int, source_kind: str, location: str) -> None:
        self.store = store
        self.con = store.con
        self.import_id = import_id
        self.source_kind = source_kind
        self.location = location
        self.read = self.stored = self.quarantined = self.conflicts = 0
        self.runs = self.entities = 0
        self.notes: list[str] = []
        self.key_given = False  # a run key was given: finish says when it opened nothing
        self._events: list[EventRecord] = []
        self._quarantine: list[QuarantineRecord] = []

    def __enter__(self) -> ImportSession:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if exc is not None:
            # what this import left in the store (whole batches; a rerun completes it and
            # drops repeats): repeats were not sorted out, so no duplicate count is given
            with suppress(duckdb.Error):
                self.stored = ingest.held(self.con, self.import_id)
            self._close("failed", str(exc) or type(exc).__name__)

    def add_event(self, record: EventRecord) -> None:
        self._events.append(record)
        if len(self._events) >= BATCH_SIZE:
            self.flush()

    def add_events(self, records: Sequence[EventRecord]) -> None:
        for r in records:
            self.add_event(r)

    def add_runs(self, records: Sequence[RunRecord]) -> None:
        self.add_run_rows(self._rows(records))

    def add_run_rows(self, rows: Sequence[RunRow]) -> None:
        """Run records already flattened (`RunRecord.row`), as workers send them."""
        self._transaction(
            lambda: self._count_runs(ingest.write_runs(self.con, self.import_id, rows))
        )

    def add_entities(self, records: Sequence[EntityRecord]) -> None:
        self.add_entity_rows(self._rows(records))

    def _rows(self, records: Sequence[RunRecord | EntityRecord]) -> list[tuple[Any, ...]]:
        """The records flattened; one that JSON cannot hold goes to quarantine."""
        rows = []
        for r in records:
            try:
                rows.append(r.row())
            except ValueError as exc:
                self.quarantine(QuarantineRecord(r.provenance, str(exc), None))
        return rows

    def add_entity_rows(self, rows: Sequence[EntityRow]) -> None:
        """Entity records already flattened (`EntityRecord.row`), as workers send them."""

        def work() -> None:
            self.entities += ingest.write_entities(self.con, self.import_id, rows)

        self._transaction(work)

    def quarantine(self, record: QuarantineRecord) -> None:
        self._quarantine.append(record)
        if len(self._quarantine) >= QUARANTINE_BATCH:
            self.flush()

    def note(self, text: str) -> None:
        self.notes.append(text)

    def add_relation(self, relation_sql: str) -> None:
        """Bulk path: insert staging rows produced by a SQL relation (subquery text)."""
        self.flush()

        def work() -> None:
            self.read += ingest.insert_relation(
                self.con, self.import_id, self.source_kind, f"({relation_sql})"
            )

        try:
            self._transaction(work)
        except (duckdb.IOException, duckdb.InterruptException):
            raise
        except duckdb.Error as exc:  # nothing was stored: the caller may read another way
            raise StoreError(f"the bulk reader failed: {str(exc).splitlines()[0]}") from exc

    def add_arrow(self, table: pa.Table) -> None:
        """Bulk path: insert staging rows from an Arrow table with `STAGING_SCHEMA`'s columns."""
        self.flush()
        self._insert_isolated(table)

    def _insert_isolated(self, table: pa.Table) -> None:
        """Insert staging rows, each batch in its transaction. When the store refuses a
        batch, its halves are tried in turn, down to the row it refuses, which goes to
        quarantine with the store's reason: one bad row never takes its batch with it."""

        def work() -> None:
            self.con.register("_staging_arrow", table)
            try:
                self.read += ingest.insert_relation(
                    self.con, self.import_id, self.source_kind, "_staging_arrow"
                )
            finally:
                self.con.unregister("_staging_arrow")

        try:
            self._transaction(work)
        except (duckdb.IOException, duckdb.InterruptException):
            raise  # the disk or the user, not the row
        except duckdb.Error as exc:
            if table.num_rows <= 1:
                self._quarantine_rows(table, str(exc).splitlines()[0])
                return
            half = table.num_rows // 2
            self._insert_isolated(table.slice(0, half))
            self._insert_isolated(table.slice(half))

    def _quarantine_rows(self, table: pa.Table, reason: str) -> None:
        for row in table.to_pylist():
            shown = {k: v for k, v in row.items() if k != "payload_raw" and v is not None}
            raw = orjson.dumps(shown, default=str).decode()
            where = Provenance(str(row.get("source_location")), row.get("source_position"))
            self.quarantine(QuarantineRecord(where, f"the store refused the event: {reason}", raw))

    def add_fleet_rows(self, table: str, rows: pa.Table) -> None:
        """Rows of `events`, `run_records` or `entities` read back from the fleet layout
        (its columns, content hashes as decimal text), as rows of this import. Events are
        reconciled by `finish` like any import's; a run record or entity row the store
        already holds is kept as it is."""
        if table not in _FLEET_TABLES or rows.num_rows == 0:
            return
        self.flush()

        def work() -> None:
            self.con.register("_fleet_rows", rows)
            try:
                n = ingest.insert_fleet_rows(self.con, self.import_id, table, "_fleet_rows")
            finally:
                self.con.unregister("_fleet_rows")
            if table == "events":
                self.read += n
            elif table == "run_records":
                self.runs += n
            else:
                self.entities += n

        self._transaction(work)

    def save_marks(self, source: str, scope: str, marks: Mapping[str, str]) -> None:
        """Upsert high-water marks of `source`; call after `finish` (see `import_marks`)."""
        if not marks:
            return
        import pyarrow as pa

        table = pa.table({"item": list(marks), "mark": list(marks.values())})

        def work() -> None:
            self.con.register("_marks_batch", table)
            try:
                run(
                    self.con,
                    "INSERT OR REPLACE INTO import_marks"
                    " SELECT ?, ?, item, mark, ? FROM _marks_batch",
                    [source, scope, self.import_id],
                )
            finally:
                self.con.unregister("_marks_batch")

        self._transaction(work)

    def flush(self) -> None:
        events, self._events = self._events, []
        if events:
            from forensics.store.batches import staging_rows

            table, rejected = staging_rows(events)
            for record, reason in rejected:
                self._quarantine.append(QuarantineRecord(record.provenance, reason, _shown(record)))
            if table.num_rows:
                self._insert_isolated(table)
        quarantined, self._quarantine = self._quarantine, []

        def work() -> None:
            self.quarantined += ingest.write_quarantine(
                self.con, self.import_id, self.source_kind, quarantined
            )

        if quarantined:
            self._transaction(work)

    def pending_count(self) -> int:
        """How many of this import's payloads are stored raw but not decoded yet."""
        row = self.con.execute(
            f"SELECT count(*) FROM events WHERE {_PENDING}", [self.import_id]
        ).fetchall()[0]
        return int(row[0])

    def pending_payloads(self, batch: int = 50_000) -> Iterator[tuple[pa.Array, list[bytes]]]:
        """This import's payloads that are not decoded yet, in batches: the rowids of their
        events (an Arrow array that goes back to `set_decoded` as it is) and the raw bytes."""
        cur = self.store.cursor()
        try:
            reader = cur.sql(
                f"SELECT rowid, payload_raw FROM events WHERE {_PENDING}",
                params=[self.import_id],
            ).to_arrow_reader(batch)
            for part in reader:
                if part.num_rows:
                    yield part.column(0), part.column(1).to_pylist()
        finally:
            cur.close()

    def set_decoded(self, rowids: pa.Array, decoded: Sequence[tuple[str, str]]) -> None:
        """Store decoded payloads: `rowids` as `pending_payloads` gave them, and (format, JSON
        text) of each of its payloads."""
        import pyarrow as pa

        table = pa.table(
            {
                "rid": rowids,
                "fmt": [d[0] for d in decoded],
                "decoded": [d[1] for d in decoded],
            }
        )

        def work() -> None:
            self.con.register("_decoded_batch", table)
            try:
                run(
                    self.con,
                    "UPDATE events SET payload_decoded = json(d.decoded), payload_format = d.fmt"
                    " FROM _decoded_batch d WHERE events.rowid = d.rid",
                )
            finally:
                self.con.unregister("_decoded_batch")

        self._transaction(work)

    def not_stored(self, records: Sequence[EventRecord]) -> list[EventRecord]:
        """Those of `records` this import has not stored (by run id, event id and source
        location), written or still waiting in the batch."""
        if not records:
            return []
        import pyarrow as pa

        self.flush()
        keys = pa.table(
            {
                "run_id": [r.run_id for r in records],
                "event_id": [r.event_id for r in records],
                "loc": [r.provenance.location for r in records],
            }
        )
        self.con.register("_wanted_keys", keys)
        try:
            found = self.con.execute(
                "SELECT DISTINCT k.run_id, k.event_id FROM _wanted_keys k JOIN events e"
                " ON e.run_id = k.run_id AND e.event_id = k.event_id"
                " AND e.source_location = k.loc WHERE e.import_id = ?",
                [self.import_id],
            ).fetchall()
        finally:
            self.con.unregister("_wanted_keys")
        stored = {(str(run), str(event)) for run, event in found}
        return [r for r in records if (r.run_id, r.event_id) not in stored]

    def finish(self) -> ImportSummary:
        """Flush, drop repeated copies, mark conflicts, close the `imports` row."""
        self.flush()

        def work() -> None:
            result = ingest.reconcile(self.con, self.import_id)
            self.conflicts = result.conflicts
            self.stored = self.read - result.duplicates

        self._transaction(work)
        key_failed = self.key_given and self._key_opened_nothing()
        pending = self.pending_count()
        if pending:
            self.note(f"{pending} payload(s) are stored but not decoded yet")
        status = "partial" if self.quarantined or key_failed or pending else "ok"
        return self._close(status, None)

    def close_interrupted(self, decoded: int) -> str:
        """Finish an interrupted import's bookkeeping (its payloads decoded by the caller):
        drop repeated copies, mark conflicts, and set its status to `interrupted`."""

        def work() -> None:
            result = ingest.reconcile(self.con, self.import_id)
            self.conflicts = result.conflicts
            self.stored = self.read - result.duplicates

        self._transaction(work)
        row = self.con.execute(
            "SELECT count(*) FROM quarantine WHERE import_id = ?", [self.import_id]
        ).fetchall()[0]
        self.quarantined = int(row[0])
        note = (
            f"import {self.import_id} ({self.location}) was interrupted: its process ended"
            f" before it did. It left {self.read} event(s); {decoded} payload(s) it had not"
            " decoded are decoded now. Import the source again to complete it."
        )
        self.note(note)
        self._close("interrupted", "the importing process ended before the import finished")
        return note

    def _key_opened_nothing(self) -> bool:
        """True (with a note) when every `encr` payload of the import stayed closed."""
        row = self.con.execute(
            "SELECT count(*) FILTER (WHERE payload_decoded->>'undecryptable' = 'true'),"
            " count(*) FILTER (WHERE payload_decoded->>'__encrypted' IS NULL)"
            " FROM events WHERE import_id = ? AND payload_format = 'encr'",
            [self.import_id],
        ).fetchall()[0]
        closed, opened = int(row[0] or 0), int(row[1] or 0)
        if not closed or opened:
            return False
        self.note(
            f"the --key-file key opened none of the {closed} encrypted payload(s): it is not"
            " the run key these runs were encrypted with (each run has its own key)"
        )
        return True

    def _count_runs(self, n: int) -> None:
        self.runs += n

    def _transaction(self, work: Any) -> None:
        run(self.con, "BEGIN")
        try:
            work()
        except BaseException:
            run(self.con, "ROLLBACK")
            raise
        run(self.con, "COMMIT")

    def _close(self, status: str, error: str | None) -> ImportSummary:
        run(
            self.con,
            "UPDATE imports SET finished_at = now(), read_count = ?, stored_count = ?,"
            " duplicate_count = ?, quarantined_count = ?, conflict_count = ?, run_count = ?,"
            " entity_count = ?, status = ?, error = ?, notes = ? WHERE import_id = ?",
            [
                self.read,
                self.stored,
                None if status == "failed" else self.read - self.stored,
                self.quarantined,
                self.conflicts,
                self.runs,
                self.entities,
                status,
                error,
                "\n".join(self.notes) or None,
                self.import_id,
            ],
        )
        return ImportSummary(
            import_id=self.import_id,
            source_kind=self.source_kind,
            location=self.location,
            read=self.read,
            stored=self.stored,
            duplicates=0 if status == "failed" else self.read - self.stored,
            quarantined=self.quarantined,
            conflicts=self.conflicts,
            runs=self.runs,
            entities=self.entities,
            status=status,
            error=error,
            notes=tuple(self.notes),
        )


def _shown(record: EventRecord) -> str:
    """What quarantine keeps of a record the store cannot hold: its identity and metadata."""
    shown = {
        "runId": record.run_id,
        "eventId": record.event_id,
        "eventType": record.event_type,
        "correlationId": record.correlation_id,
        "specVersion": record.spec_version,
        "payloadBytes": len(record.payload_raw) if record.payload_raw is not None else None,
    }
    kept = {k: v for k, v in shown.items() if v is not None}
    try:
        return orjson.dumps(kept).decode()
    except TypeError:  # text that is not UTF-8: shown with escapes
        return repr(kept)

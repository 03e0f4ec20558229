"""The DuckDB event store: the only code that writes the database file.

`Store` opens (and migrates) one DuckDB file; `Store.begin_import` returns an `ImportSession`
through which an importer hands over events, run and entity records and quarantined items.
Every flush is its own transaction, so an interrupted import leaves whole batches behind and a
rerun adds exactly what is missing. Readers use `Store.query` or a `cursor()` of their own.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping, Sequence
from contextlib import suppress
from datetime import UTC, datetime
from pathlib import Path
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
from forensics.store.opening import connect
from forensics.store.schema import MIGRATIONS, VIEWS, Migration

if TYPE_CHECKING:
    import pyarrow as pa

DEFAULT_DB = "forensics.duckdb"
BATCH_SIZE = 20_000
QUARANTINE_BATCH = 50_000
# The events of one import whose payload is stored raw but not decoded yet.
_FLEET_TABLES = ("events", "run_records", "entities")
_PENDING = "import_id = ? AND payload_raw IS NOT NULL AND payload_decoded IS NULL"


def default_db_path() -> Path:
    """`FORENSICS_DB` when set, else `./forensics.duckdb`."""
    return Path(os.environ.get("FORENSICS_DB") or DEFAULT_DB)


def _default_memory_limit(read_only: bool) -> str:
    """DuckDB's memory budget: small when writing, so an import stays within 1 GiB (DuckDB
    spills the rest to disk); most of the machine when only reading, where a whole-store
    view such as `runs` sorts every event and spilling would make it several times slower."""
    if not read_only:
        return "700MB"
    try:
        total = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError, AttributeError):  # no sysconf: DuckDB's own default
        return "80%"
    return f"{max(total * 6 // 10 // 2**20, 700)}MB"


def configure(con: duckdb.DuckDBPyConnection, *, read_only: bool) -> None:
    """The settings every connection to a store runs with: UTC, the memory budget."""
    run(con, "SET TimeZone = 'UTC'")
    limit = os.environ.get("FORENSICS_MEMORY_LIMIT") or _default_memory_limit(read_only)
    run(con, f"SET memory_limit = '{limit}'")
    run(con, "SET preserve_insertion_order = false")


class Store:
    """One open DuckDB store; use as a context manager or call `close()`.

    A store another process holds is waited for up to `wait` seconds (default
    `FORENSICS_WAIT`, else 10), then refused with who holds it (`store.opening`)."""

    def __init__(
        self,
        path: str | Path,
        *,
        read_only: bool = False,
        migrations: Sequence[Migration] = MIGRATIONS,
        wait: float | None = None,
    ) -> None:
        self.path = Path(path)
        if read_only and not self.path.exists():
            raise StoreError(
                f"no store at {self.path}",
                hint="import something first (`forensics import json PATH`) or pass --db",
            )
        if not self.path.parent.is_dir():
            raise StoreError(
                f"cannot create {self.path}: the folder {self.path.parent} does not exist",
                hint="create the folder, or pass --db (or FORENSICS_DB) a path in one that does",
            )
        self.con = connect(self.path, read_only=read_only, wait=wait)
        configure(self.con, read_only=read_only)
        if not read_only:
            self._migrate(migrations)

    # -- lifecycle -------------------------------------------------------------------------

    def __enter__(self) -> Store:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def close(self) -> None:
        self.con.close()

    def release_memory(self) -> None:
        """Hand DuckDB's cached buffers back (a long-running watch would otherwise keep its
        largest pass's worth of memory): lowering the limit evicts them, then it is restored."""
        (limit,) = self.con.execute("SELECT current_setting('memory_limit')").fetchall()[0]
        try:
            run(self.con, "SET memory_limit = '32MB'")
        except duckdb.Error:  # buffers still pinned: nothing to give back now
            return
        finally:
            run(self.con, f"SET memory_limit = '{limit}'")

    def sandbox(self) -> None:
        """From now on, statements cannot touch files or the network: no COPY TO, no
        read_csv('/etc/…'), no ATTACH, no INSTALL or LOAD (nor automatic extension loads),
        and the settings are locked so a statement cannot turn this back."""
        for setting in (
            "SET enable_external_access = false",
            "SET autoinstall_known_extensions = false",
            "SET autoload_known_extensions = false",
            "SET lock_configuration = true",
        ):
            run(self.con, setting)

    def cursor(self) -> duckdb.DuckDBPyConnection:
        """A cursor of its own, for a worker thread."""
        return self.con.cursor()

    def schema_version(self) -> int:
        row = self.con.execute("SELECT max(version) FROM forensics_migrations").fetchall()[0]
        return int(row[0]) if row and row[0] is not None else 0

    def _migrate(self, migrations: Sequence[Migration]) -> None:
        con = self.con
        run(
            con,
            "CREATE TABLE IF NOT EXISTS forensics_migrations ("
            "version INTEGER PRIMARY KEY, name VARCHAR, applied_at TIMESTAMPTZ)",
        )
        done = {
            int(r[0]) for r in con.execute("SELECT version FROM forensics_migrations").fetchall()
        }
        known = {m.version for m in migrations}
        if done - known:
            raise StoreError(
                f"{self.path} was written by a newer forensics (schema {max(done)})",
                hint="upgrade forensics, or use another --db",
            )
        for m in sorted(migrations, key=lambda m: m.version):
            if m.version in done:
                continue
            try:
                run(con, "BEGIN")
                run(con, m.sql)
                run(
                    con,
                    "INSERT INTO forensics_migrations VALUES (?, ?, now())",
                    [m.version, m.name],
                )
                run(con, "COMMIT")
            except duckdb.Error as exc:
                run(con, "ROLLBACK")
                raise StoreError(f"migration {m.version} ({m.name}) failed: {exc}") from exc
        run(con, VIEWS)

    # -- reading ---------------------------------------------------------------------------

    def query(
        self, sql: str, params: Sequence[Any] | dict[str, Any] | None = None
    ) -> tuple[list[str], list[tuple[Any, ...]]]:
        """Run one statement; return column names and all rows."""
        try:
            cur = self.con.execute(sql, params) if params is not None else self.con.execute(sql)
        except duckdb.PermissionException as exc:
            raise StoreError(
                str(exc).splitlines()[0],
                hint="`forensics sql` reads only the store: no files, no network, no"
                " extensions. Write files with `forensics export`, or pass --allow-files"
                " to let a statement read or write files",
            ) from exc
        except duckdb.Error as exc:
            if is_read_only_refusal(exc):
                raise StoreError(
                    "the SQL would change the store, and `forensics sql` only reads it",
                    hint="use SELECT (or WITH … SELECT); the store changes only through"
                    " forensics' own commands (import, check); to work on a changed copy,"
                    " export the rows (`forensics export`) and load them elsewhere",
                ) from exc
            raise StoreError(
                str(exc).splitlines()[0],
                hint="check the SQL; tables: events, run_log, runs, run_records, entities,"
                " imports, import_marks, quarantine, findings, run_verdicts, event_conflicts,"
                " trace_* (list them: select table_name from duckdb_tables())",
            ) from exc
        if cur is None or cur.description is None:  # no statement (a comment, say)
            return [], []
        return [d[0] for d in cur.description], cur.fetchall()

    def marks(self, source: str, scope: str) -> dict[str, str]:
        """The high-water marks an incremental importer saved for `source` (item -> mark)."""
        # both columns are VARCHAR NOT NULL: the rows are (str, str) pairs already
        return dict(
            self.con.execute(
                "SELECT item, mark FROM import_marks WHERE source = ? AND scope = ?",
                [source, scope],
            ).fetchall()
        )

    # -- writing ---------------------------------------------------------------------------

    def interrupted_imports(self) -> list[tuple[int, str, str]]:
        """Imports whose process ended before they did: (import id, source kind, location).

        Only one process can write a store, so when this one can, every import still
        `running` belongs to a process that is gone (killed, out of memory, power lost)."""
        rows = self.con.execute(
            "SELECT import_id, source_kind, location FROM imports WHERE status = 'running'"
            " ORDER BY import_id"
        ).fetchall()
        return [(int(r[0]), str(r[1]), str(r[2])) for r in rows]

    def resume_import(self, import_id: int, source_kind: str, location: str) -> ImportSession:
        """A session over an interrupted import, to finish what it left (`close_interrupted`)."""
        session = ImportSession(self, import_id, source_kind, location)
        session.read = ingest.held(self.con, import_id)
        return session

    def begin_import(
        self, source_kind: str, location: str, options: dict[str, Any] | None = None
    ) -> ImportSession:
        row = self.con.execute("SELECT nextval('import_id_seq')").fetchall()[0]
        assert row is not None
        import_id = int(row[0])
        run(
            self.con,
            "INSERT INTO imports (import_id, source_kind, location, options, started_at, status)"
            " VALUES (?, ?, ?, ?, now(), 'running')",
            [import_id, source_kind, location, orjson.dumps(options or {}).decode()],
        )
        session = ImportSession(self, import_id, source_kind, location)
        session.key_given = (options or {}).get("key") == "given"
        return session


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


def utc_now() -> datetime:
    return datetime.now(UTC)


def is_read_only_refusal(exc: BaseException) -> bool:
    """Whether DuckDB refused a statement because the store is open read-only (a DELETE,
    an INSERT, a CREATE… sent to a reading command), rather than because the SQL is wrong."""
    return isinstance(exc, duckdb.Error) and "read-only mode" in str(exc)

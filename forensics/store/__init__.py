"""The DuckDB event store: the only code that writes the database file.

`Store` opens (and migrates) one DuckDB file; `Store.begin_import` returns an `ImportSession`
through which an importer hands over events, run and entity records and quarantined items.
Every flush is its own transaction, so an interrupted import leaves whole batches behind and a
rerun adds exactly what is missing. Readers use `Store.query` or a `cursor()` of their own.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from types import TracebackType
from typing import Any

import duckdb
import orjson

from forensics.errors import StoreError
from forensics.store import ingest
from forensics.store.ingest import run
from forensics.store.opening import connect
from forensics.store.schema import MIGRATIONS, VIEWS, Migration
from forensics.store.session import ImportSession as ImportSession

DEFAULT_DB = "forensics.duckdb"


def default_db_path() -> Path:
    """`FORENSICS_DB` when set, else `./forensics.duckdb`."""
    return Path(os.environ.get("FORENSICS_DB") or DEFAULT_DB)


MIB = 2**20
WRITE_BUDGET_MB = 640  # imports: DuckDB spills past it, so an import stays within 1 GiB
WORKER_BUDGET_MB = 128  # what a payload-decoding worker process holds, about
READ_BUDGET_MB = (256, 600)  # reading: from twice the store's size, within these bounds
CLOSE_WAIT_S = 5.0  # how long closing waits for a call under way on another thread


def default_memory_limit(path: Path, *, read_only: bool) -> str:
    """DuckDB's memory budget, which follows the store rather than the machine, so every
    command stays within 1 GiB of memory whatever the machine has: 640 MB when writing (an
    import's store grows as it goes), and when only reading twice the store's file size,
    at least 256 MB and at most 600 MB (a whole-store view such as `runs` sorts every
    event; past the budget DuckDB spills to a temporary file and goes on)."""
    if not read_only:
        return f"{WRITE_BUDGET_MB}MB"
    try:
        size = path.stat().st_size
    except OSError:
        size = 0
    low, high = READ_BUDGET_MB
    return f"{min(high, max(low, 2 * size // MIB))}MB"


def configure(con: duckdb.DuckDBPyConnection, *, read_only: bool, path: Path) -> None:
    """The settings every connection to a store runs with: UTC, the memory budget."""
    run(con, "SET TimeZone = 'UTC'")
    limit = os.environ.get("FORENSICS_MEMORY_LIMIT") or default_memory_limit(
        path, read_only=read_only
    )
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
        configure(self.con, read_only=read_only, path=self.path)
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
        """Close the store, letting a call still under way on another thread end first.

        DuckDB refuses to close a connection another thread is inside (a TUI worker still
        reading when the user quits): wait for it, then ask it to stop, rather than fail.
        """
        waited = 0.0
        while True:
            try:
                self.con.close()
                return
            except duckdb.ResourceInUseException:
                if waited >= CLOSE_WAIT_S * 2:
                    raise
                if waited >= CLOSE_WAIT_S:
                    self.con.interrupt()
                time.sleep(0.05)
                waited += 0.05

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

    def keep_small(self) -> None:
        """For a long-running process (a watch): DuckDB's allocator hands freed memory back
        to the system after every task above 16 MB (the default keeps up to 128 MB per
        task and 512 MB after a bulk free), and at most one extra thread waits on I/O."""
        run(self.con, "SET allocator_flush_threshold = '16MB'")
        run(self.con, "SET allocator_bulk_deallocation_flush_threshold = '16MB'")
        run(self.con, "SET async_threads = 1")
        run(self.con, "SET allocator_background_threads = true")

    @contextmanager
    def budget_shared(self, processes: int) -> Iterator[None]:
        """Lower DuckDB's budget while `processes` worker processes of about
        `WORKER_BUDGET_MB` each run beside it (payload decoding), so the import with its
        workers stays within 1 GiB; a budget the user set (`FORENSICS_MEMORY_LIMIT`) stays."""
        if os.environ.get("FORENSICS_MEMORY_LIMIT") or processes <= 0:
            yield
            return
        (limit,) = self.con.execute("SELECT current_setting('memory_limit')").fetchall()[0]
        shared = max(WRITE_BUDGET_MB - processes * WORKER_BUDGET_MB, 256)
        try:
            run(self.con, f"SET memory_limit = '{shared}MB'")  # evicts cached buffers
        except duckdb.Error:  # buffers still pinned: keep the budget as it is
            yield
            return
        try:
            yield
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
        cur = self._execute(sql, params)
        if cur is None:
            return [], []
        return [d[0] for d in cur.description or ()], cur.fetchall()

    def stream(
        self,
        sql: str,
        params: Sequence[Any] | dict[str, Any] | None = None,
        *,
        batch: int = 10_000,
    ) -> tuple[list[str], Iterator[list[tuple[Any, ...]]]]:
        """Run one statement; return column names and its rows in batches of `batch`, read
        as they are consumed, so a result of millions of rows never sits in memory whole."""
        cur = self._execute(sql, params)
        if cur is None:
            return [], iter(())

        def batches() -> Iterator[list[tuple[Any, ...]]]:
            while True:
                try:
                    rows = cur.fetchmany(batch)
                except duckdb.Error as exc:  # an error met while reading the result
                    raise StoreError(str(exc).splitlines()[0], hint="check the SQL") from exc
                if not rows:
                    return
                yield rows

        return [d[0] for d in cur.description or ()], batches()

    def _execute(
        self, sql: str, params: Sequence[Any] | dict[str, Any] | None
    ) -> duckdb.DuckDBPyConnection | None:
        """Run one statement, errors told as `StoreError`s; None when it has no result."""
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
            return None
        return cur

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


def is_read_only_refusal(exc: BaseException) -> bool:
    """Whether DuckDB refused a statement because the store is open read-only (a DELETE,
    an INSERT, a CREATE… sent to a reading command), rather than because the SQL is wrong."""
    return isinstance(exc, duckdb.Error) and "read-only mode" in str(exc)

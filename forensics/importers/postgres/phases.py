"""The two reading phases of an import: the event stream, then the entity tables.

Events stream through three stages at once: a helper thread reads COPY batches from the
server, this thread splits them and advances the marks while `Decoders` decode them (in
worker processes once the import is large), and another helper thread writes the staging
tables to the store. Entity tables follow, batch by batch, through the same decoders.
Quarantined rows travel with their batch, so only the writing thread touches the session
while events stream.
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractContextManager, closing
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import orjson
import pyarrow as pa

from forensics.decode import to_jsonable
from forensics.importers.parallel import Decoders
from forensics.importers.postgres import entities as ent
from forensics.importers.postgres.decoding import clear_cache, decode_job
from forensics.importers.postgres.events import EventBatches, Pending
from forensics.importers.postgres.probe import EVENTS, RUNS, SLOTS, Layout
from forensics.importers.postgres.selects import (
    EVENT_TYPES,
    Filters,
    Marks,
    entity_copy,
    entity_plan,
    events_copy,
    newest_events,
)
from forensics.importers.postgres.streaming import WriteBehind, copy_batches, read_ahead
from forensics.model import EntityRow, Provenance, QuarantineRecord, RunRow

if TYPE_CHECKING:
    import psycopg

    from forensics.store import ImportSession

EVENT_BATCH = 20_000
STORE_BATCH = 100_000
ENTITY_BATCH = 10_000
READ_AHEAD = 2
# What the workers run, imported once by the fork server so each worker starts warm.
_PRELOAD = ("forensics.importers.postgres.decoding", "forensics.importers.postgres.entities")
ENTITY_TABLES = ("workflow_runs", "workflow_steps", "workflow_hooks", "workflow_waits")


@dataclass
class Phases:
    """What both phases share: the snapshot, the layout, the selection and the session."""

    conn: psycopg.Connection[tuple[object, ...]]
    layout: Layout
    filters: Filters
    marks: Marks
    session: ImportSession
    source: str
    key: bytes | None
    reading: Callable[[str], AbstractContextManager[None]]
    cancel: Callable[[], None]
    decoders: Decoders = field(default_factory=lambda: Decoders(preload=_PRELOAD))
    run_rows: set[str] = field(default_factory=set)  # run ids read from the runs table
    counts: dict[str, int] = field(default_factory=dict)  # run id -> events now, if changed
    recounted: list[str] = field(default_factory=list)  # runs only the counts said changed
    shrunk: list[str] = field(default_factory=list)  # runs with fewer events than before

    def events(self, progress: Callable[[int], None] | None) -> EventBatches:
        statement, params = events_copy(self.layout, self.filters, self.marks, self._changed_runs())
        location = f"{self.source}.{EVENTS}"
        batches = EventBatches(location, self.key, lambda q: None, self.marks.last_event)
        rows = copy_batches(self.conn, statement, params, EVENT_TYPES, EVENT_BATCH)
        reader = read_ahead(rows, READ_AHEAD, self.cancel)
        split = (
            (pending, len(pending.rows), (pending.work, self.key))
            for pending in map(batches.split, reader)
        )
        schema = self.layout.schema
        # closing(reader): on any error the reading thread is stopped before we go on, as
        # it holds the connection while it waits to hand over a batch.
        with (
            self.reading(f"reading {schema}.{EVENTS}"),
            closing(reader),
            WriteBehind(self._write) as writer,
        ):
            outbox = _Outbox(writer, batches)
            try:
                for pending, (decoded, rejects) in self.decoders.map(decode_job, split):
                    outbox.add(pending, decoded, rejects)
                    if progress is not None:
                        progress(len(pending.rows))
                outbox.flush()
            finally:
                clear_cache()
        return batches

    def _changed_runs(self) -> dict[str, str | None] | None:
        """Runs that may have news, each with the mark to read above (None: the whole run)."""
        known = self.marks.last_event
        if not known:
            return None
        changed: dict[str, str | None] = {}
        for run_id, top, count, fresh in self._newest():
            run, n = str(run_id), int(count)
            mark = known.get(run)
            before = self.marks.counts.get(run)
            if before != n:
                self.counts[run] = n
            if mark is None or str(top) > mark or fresh:
                changed[run] = mark
            elif before is not None and n > before:
                # the cross-check: more events than the last import saw, none of them above
                # the mark nor written since its snapshot (a restored or replaced server?)
                self.recounted.append(run)
                changed[run] = None
            elif before is not None and n < before:
                self.shrunk.append(run)
        return changed

    def _newest(self) -> list[tuple[Any, ...]]:
        """`selects.newest_events` over the selected runs."""
        statement, params = newest_events(self.layout, self.filters, self.marks.fence)
        # Over every run, one sequential pass with a hash aggregate: in run-index order the
        # server fetches the table page by page at random, which takes many times longer
        # when the table is not cached. Parallel workers (as many as the server allows a
        # query) each aggregate a part of the table; the planner rarely picks them for an
        # aggregate this size by itself. The settings last until the RESET (or our read-only
        # transaction's end); they change nothing on the server.
        whole = not self.filters.runs
        settings = {
            "enable_indexscan": "off",
            "enable_bitmapscan": "off",
            "work_mem": "64MB",
            "parallel_setup_cost": "0",
            "parallel_tuple_cost": "0",
        }
        with self.reading(f"reading the newest event id of each run in {self.layout.schema}"):
            if whole:
                for name, value in settings.items():
                    self.conn.execute(f"SET LOCAL {name} = '{value}'")
            rows = self.conn.execute(statement, params).fetchall()
            if whole:
                for name in settings:
                    self.conn.execute(f"RESET {name}")
        return rows

    def _write(self, item: tuple[pa.Table | None, list[QuarantineRecord]]) -> None:
        table, rejected = item
        for record in rejected:
            self.session.quarantine(record)
        if table is not None:
            self.session.add_arrow(table)
        elif rejected:
            self.session.flush()

    def entities(self, refresh: set[str]) -> None:
        """Run, step, hook and wait rows (only those `selects.entity_copy` picks)."""
        slots = self._slots(refresh)
        # This process only reads rows and stores records here; decoding them is the work.
        self.decoders.spare(0)
        for name in ENTITY_TABLES:
            table = self.layout.table(name)
            if table is None:
                continue
            plan = entity_plan(table)
            columns = [(c.name, c.kind) for c in plan]
            statement, params = entity_copy(
                self.layout, table, plan, self.filters, self.marks, refresh
            )
            location = f"{self.source}.{name}"
            types = [c.copy_type for c in plan]
            jobs = (
                (
                    None,
                    len(rows),
                    (name, columns, rows, location, self.key, _slots_of(rows, columns, slots)),
                )
                for rows in copy_batches(self.conn, statement, params, types, ENTITY_BATCH)
            )
            with self.reading(f"reading {self.layout.schema}.{name}"):
                for _, (built, rejects) in self.decoders.map(ent.entity_job, jobs):
                    self._store(built, rejects, name, location)

    def _store(
        self,
        built: list[RunRow] | list[EntityRow],
        rejects: list[tuple[dict[str, Any], str]],
        name: str,
        location: str,
    ) -> None:
        if built and name == RUNS:
            self.run_rows.update(row[0] for row in built)
            self.session.add_run_rows(built)
        elif built:
            self.session.add_entity_rows(built)
        for row, reason in rejects:
            text = orjson.dumps(to_jsonable(row), option=orjson.OPT_NON_STR_KEYS).decode()
            where = Provenance(location)
            self.session.quarantine(QuarantineRecord(where, f"{name} row: {reason}", text))

    def _slots(self, refresh: set[str]) -> dict[str, list[dict[str, Any]]]:
        table = self.layout.table(SLOTS)
        if table is None or self.layout.table(RUNS) is None:
            return {}
        plan = entity_plan(table)
        shaper = ent.Shaper(SLOTS, [(c.name, c.kind) for c in plan])
        # all slot rows of the selected runs: a run row read again must keep its eventSlots
        statement, params = entity_copy(self.layout, table, plan, self.filters, Marks(), refresh)
        out: dict[str, list[dict[str, Any]]] = {}
        with self.reading(f"reading {self.layout.schema}.{SLOTS}"):
            types = [c.copy_type for c in plan]
            for batch in copy_batches(self.conn, statement, params, types, ENTITY_BATCH):
                for run_id, rows in ent.slot_rows(shaper, batch).items():
                    out.setdefault(run_id, []).extend(rows)
        return out


class _Outbox:
    """Collects built batches and hands them to the writer `STORE_BATCH` rows at a time:
    DuckDB pays per insert, and 100,000-row inserts cost about half of 20,000-row ones."""

    def __init__(self, writer: WriteBehind, batches: EventBatches) -> None:
        self.writer = writer
        self.batches = batches
        self.tables: list[pa.Table] = []
        self.rejected: list[QuarantineRecord] = []
        self.rows = 0
        batches.quarantine = self.rejected.append

    def add(self, pending: Pending, decoded: Any, rejects: list[tuple[int, str]]) -> None:
        table = self.batches.build(pending, decoded, rejects)
        if table is not None:
            self.tables.append(table)
            self.rows += table.num_rows
        if self.rows >= STORE_BATCH:
            self.flush()

    def flush(self) -> None:
        if self.tables or self.rejected:
            table = pa.concat_tables(self.tables) if self.tables else None
            self.writer.submit((table, self.rejected))
        self.tables, self.rejected, self.rows = [], [], 0
        self.batches.quarantine = self.rejected.append


def _slots_of(
    batch: list[tuple[Any, ...]],
    columns: list[tuple[str, str]],
    slots: dict[str, list[dict[str, Any]]],
) -> dict[str, list[dict[str, Any]]]:
    """The slot rows of the runs in a runs-table batch (sent to the worker with it)."""
    names = [name for name, _ in columns]
    if not slots or "id" not in names:
        return {}
    index = names.index("id")
    return {row[index]: slots[row[index]] for row in batch if row[index] in slots}

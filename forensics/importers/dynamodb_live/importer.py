"""`forensics import dynamodb`: read a live events table (and a runs table) into one import.

The plan (`plan.py`) decides between parallel Scan segments and per-run Queries; worker threads
(`pages.py`) fetch pages while this module, on the calling thread, maps each item through the
shared attribute mapping into an `EventRecord` and hands it to the store session. An item that
does not map is quarantined with its key and reason and the import goes on. Only
`DescribeTable`, `Query` and `Scan` are ever called.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field, replace

import orjson

from forensics.errors import InputError
from forensics.importers.base import ImportOptions, RecordError
from forensics.importers.dynamodb_live.client import Connection
from forensics.importers.dynamodb_live.pages import Page, ReadStats, Request, read_pages
from forensics.importers.dynamodb_live.plan import (
    KeySchema,
    Reads,
    key_notes,
    lower_bound,
    run_requests,
    scan_requests,
)
from forensics.importers.dynamodb_live.recount import count_items, run_of, stored_counts
from forensics.importers.dynamodb_live.runs import item_to_run, resolve_run_roles
from forensics.importers.mapping import (
    Mapping,
    describe_key,
    deserialize_item,
    item_to_record,
    resolve_mapping,
)
from forensics.model import ImportSummary, Provenance, QuarantineRecord, RunRecord
from forensics.store import ImportSession, Store

SOURCE_KIND = "dynamodb"
RUN_BATCH = 1000


@dataclass(frozen=True)
class LiveOptions:
    """What to read from the live tables, beside the shared `ImportOptions`."""

    runs: tuple[str, ...] = ()
    segments: int = 1
    page_size: int | None = None
    consistent: bool = False
    full: bool = False
    lookback_minutes: int = 15
    runs_table: str | None = None
    run_mapping: dict[str, str] = field(default_factory=dict)
    empty_ok: bool = False  # an empty table is no error (a watch waits for its first items)


def import_dynamodb(
    store: Store, conn: Connection, options: ImportOptions, live: LiveOptions
) -> ImportSummary:
    """Import the events table of `conn` (and `live.runs_table`) as one import."""
    mapping = resolve_mapping(options.preset, options.mapping)
    run_roles = resolve_run_roles(live.run_mapping)
    table = conn.target.table
    schema = KeySchema.from_description(conn.call("describe_table", table)["Table"])
    location = conn.location(table)
    marks = {} if live.full or not live.runs else _marks(store, location, live)
    reads = Reads(table, live.segments, live.runs, live.page_size, live.consistent, marks)
    plan = _plan(store, conn, reads, schema, mapping, location)
    requests, whole, counted = plan.requests, plan.whole, plan.counted
    notes = key_notes(schema, mapping) + plan.notes
    stats = ReadStats()
    with store.begin_import(SOURCE_KIND, location, _described(conn, options, live)) as session:
        for note in notes:
            session.note(note)
        writer = _EventWriter(session, mapping, location, options)
        for page in read_pages(conn, requests, live.segments, stats):
            writer.write(page)
        late = _late_runs(store, session, location, counted, {run_of(q) for q in requests})
        for page in read_pages(conn, [q for q in whole if run_of(q) in late], 1, stats):
            writer.write(page)
        if live.runs_table:
            _import_runs(conn, session, live.runs_table, run_roles, live)
        session.note(_read_note(stats, marks, counted, late))
        summary = session.finish()
    if stats.items == 0 and not marks and summary.runs == 0 and not live.empty_ok:
        what = f"run(s) {', '.join(live.runs)}" if live.runs else "items"
        raise InputError(
            f"no {what} found in table {table!r} ({conn.where()})",
            hint="check --table, --region and the run ids; the import was recorded as empty",
        )
    return summary


@dataclass
class _Plan:
    requests: list[Request]
    notes: list[str]
    whole: list[Request] = field(default_factory=list)  # each marked run's whole Query
    counted: dict[str, int] = field(default_factory=dict)  # marked run -> items in the table


def _plan(
    store: Store,
    conn: Connection,
    reads: Reads,
    schema: KeySchema,
    mapping: Mapping,
    location: str,
) -> _Plan:
    """The reads: a scan, or per-run Queries without the runs whose count says nothing
    changed (see `recount`)."""
    if not reads.runs:
        return _Plan(scan_requests(reads), [])
    indexes = tuple(i.name for i in mapping.indexes)
    run_attr, event_attr = mapping.roles["run_id"], mapping.roles["event_id"]
    requests, notes = run_requests(reads, schema, run_attr, event_attr, indexes)
    if not reads.marks or any(q.operation != "query" for q in requests):
        return _Plan(requests, notes)
    unmarked = replace(reads, marks={})
    whole = run_requests(unmarked, schema, run_attr, event_attr, indexes)[0]
    counted = count_items(conn, [q for q in whole if run_of(q) in reads.marks])
    before = stored_counts(store, location, list(counted))
    same = {run for run, n in counted.items() if before.get(run) == n}
    return _Plan([q for q in requests if run_of(q) not in same], notes, whole, counted)


class _EventWriter:
    """Maps the items of each page to events on the consuming thread."""

    def __init__(
        self, session: ImportSession, mapping: Mapping, location: str, options: ImportOptions
    ) -> None:
        self.session, self.mapping, self.location = session, mapping, location
        self.key, self.progress = options.key, options.progress

    def write(self, page: Page) -> None:
        where = f"{page.request.label} page {page.number}"
        session, mapping, location, key = self.session, self.mapping, self.location, self.key
        for index, typed in enumerate(page.items):
            provenance = Provenance(location, f"{where} item {index}")
            try:
                item = deserialize_item(typed)
            except RecordError as exc:
                self._quarantine(provenance, _typed_key(typed, mapping), exc, typed)
                continue
            try:
                session.add_event(item_to_record(item, mapping, provenance, key))
            except RecordError as exc:
                self._quarantine(provenance, describe_key(item, mapping), exc, typed)
        if self.progress:
            self.progress(len(page.items))

    def _quarantine(
        self, provenance: Provenance, key: str, exc: RecordError, typed: object
    ) -> None:
        reason = f"{provenance.position} ({key}): {exc}"
        self.session.quarantine(QuarantineRecord(provenance, reason, _json(typed)))


def _typed_key(typed: object, mapping: Mapping) -> str:
    """Key attributes of an item that did not deserialize, read straight from typed JSON."""
    if not isinstance(typed, dict):
        return "no key attributes"
    parts = []
    for name in mapping.key_attributes:
        value = typed.get(name)
        if isinstance(value, dict) and len(value) == 1:
            parts.append(f"{name}={next(iter(value.values()))!s:.80}")
    return ", ".join(parts) or "no key attributes"


def _marks(store: Store, location: str, live: LiveOptions) -> dict[str, str]:
    """Per run: where an incremental Query starts (high-water mark minus the look-back)."""
    _, rows = store.query(
        "SELECT run_id, max(event_id), bool_and(id_scheme = 'ulid') FROM events"
        " WHERE source_kind = ? AND source_location = ? AND list_contains(?, run_id)"
        " GROUP BY run_id",
        [SOURCE_KIND, location, list(live.runs)],
    )
    marks = {}
    for run_id, high, all_ulid in rows:
        bound = lower_bound(str(high), live.lookback_minutes * 60_000) if all_ulid else None
        if bound:
            marks[str(run_id)] = bound
    return marks


def _late_runs(
    store: Store,
    session: ImportSession,
    location: str,
    counted: dict[str, int],
    read: set[str],
) -> list[str]:
    """Runs read from their mark that still hold more items than the store: late commits."""
    if not counted or not read:
        return []
    session.flush()
    after = stored_counts(store, location, sorted(read & counted.keys()))
    late = sorted(run for run in read & counted.keys() if after.get(run, 0) < counted[run])
    if late:
        session.note(
            f"{len(late)} run(s) held items below their look-back window (committed late, or"
            f" quarantined): read again whole ({', '.join(late[:5])}" + " …" * (len(late) > 5) + ")"
        )
    return late


def _read_note(
    stats: ReadStats, marks: dict[str, str], counted: dict[str, int], late: list[str]
) -> str:
    calls = ", ".join(f"{n} {op.capitalize()}" for op, n in sorted(stats.requests.items()))
    text = f"read {stats.items} item(s) in {stats.pages} page(s) ({calls or 'no reads'})"
    if marks:
        text += f"; {len(marks)} run(s) read from their high-water mark (--full re-reads all)"
    if counted:
        text += (
            f"; every marked run counted first ({len(counted)} COUNT Query), so late commits"
            f" are found; {len(late)} read again whole"
        )
    return text


def _import_runs(
    conn: Connection,
    session: ImportSession,
    table: str,
    roles: dict[str, str],
    live: LiveOptions,
) -> None:
    schema = KeySchema.from_description(conn.call("describe_table", table)["Table"])
    reads = Reads(table, live.segments, live.runs, live.page_size, live.consistent)
    run_attr = roles["run_id"]
    if live.runs and schema.hash_key == run_attr:
        requests, _ = run_requests(reads, schema, run_attr)
    else:
        requests = scan_requests(reads, live.runs, run_attr)
    location = conn.location(table)
    batch: list[RunRecord] = []
    for page in read_pages(conn, requests, live.segments):
        batch.extend(_runs_of(page, roles, location, session))
        if len(batch) >= RUN_BATCH:
            session.add_runs(batch)
            batch = []
    if batch:
        session.add_runs(batch)


def _runs_of(
    page: Page, roles: dict[str, str], location: str, session: ImportSession
) -> Iterable[RunRecord]:
    where = f"{page.request.label} page {page.number}"
    for index, typed in enumerate(page.items):
        provenance = Provenance(location, f"{where} item {index}")
        try:
            yield item_to_run(deserialize_item(typed), roles, provenance)
        except RecordError as exc:
            reason = f"{provenance.position}: runs table item: {exc}"
            session.quarantine(QuarantineRecord(provenance, reason, _json(typed)))


def _described(conn: Connection, options: ImportOptions, live: LiveOptions) -> dict[str, object]:
    """The import's options as stored in `imports.options` (no credentials, ever)."""
    return {
        "table": conn.target.table,
        "region": conn.region,
        "profile": conn.target.profile,
        "endpoint_url": conn.target.endpoint_shown,
        "preset": options.preset,
        "mapping": options.mapping or None,
        "runs": list(live.runs) or None,
        "segments": live.segments,
        "consistent": live.consistent,
        "full": live.full,
        "runs_table": live.runs_table,
        "run_mapping": live.run_mapping or None,
        "key": "given" if options.key else None,
    }


def _json(value: object) -> str:
    return orjson.dumps(value, default=str, option=orjson.OPT_NON_STR_KEYS).decode()

"""`forensics import trace FILE…`: replay traces (`WF_TRACE` lines) into the trace tables.

Every file (raw text log or JSON-lines log export, `.gz` too) is read line by line; each
`replay_start`'s loaded events go to the store at once (as digest lines), so memory holds
only the small records. Once all files are read, records are put in log order (a file
exported newest first is turned around; with timestamps on every record, files are merged by
time) and grouped into replays by (run, stream/instance, inv): `inv` counts invocations per
process and `pid` is only on `replay_start`, so a later line belongs to the replay its
stream last opened with that `inv`. Broken lines are quarantined with their file and line.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from pathlib import Path
from typing import Any, ClassVar

from forensics.errors import InputError
from forensics.importers.base import ImportOptions, RecordError
from forensics.importers.files import open_binary, report_damage
from forensics.importers.normalize import parse_time
from forensics.importers.trace_parse import MARKER, EventLists, TraceLine, read_line
from forensics.model import ImportSummary, Provenance, QuarantineRecord
from forensics.store import ImportSession, Store
from forensics.store.traces import (
    SnapshotInfo,
    SnapshotWriter,
    TraceMismatch,
    TraceReplayRecord,
    TraceSubscription,
    in_transaction,
    known_identities,
    set_import_counts,
    write_replays,
)

SOURCE_KIND = "trace"
_SUBSCRIBE = {"step_subscribe": "step", "hook_subscribe": "hook", "sleep_subscribe": "sleep"}


@dataclass(slots=True)
class _Record:
    line: TraceLine
    order: int
    snapshot: SnapshotInfo | None = None


@dataclass(slots=True)
class _Group:
    """The records of one replay while grouping."""

    first: _Record
    start: _Record | None = None
    end: _Record | None = None
    body: list[_Record] = field(default_factory=list)


class TraceImporter:
    """The `trace` format: detected by `WF_TRACE` in the head of a file."""

    name: ClassVar[str] = "trace"
    summary: ClassVar[str] = "replay traces: WF_TRACE lines in raw or JSON-lines logs (.gz too)"
    priority: ClassVar[int] = 40

    def detect(self, path: Path, head: bytes) -> bool:
        return not path.is_dir() and MARKER in head

    def import_path(self, path: Path, session: ImportSession, options: ImportOptions) -> None:
        import_trace_files([path], session, options)


def import_traces(
    store: Store, paths: Sequence[Path], options: ImportOptions | None = None
) -> ImportSummary:
    """Import all `paths` as one import (a replay may span files); return its summary."""
    for path in paths:
        if not path.is_file():
            raise InputError(f"{path}: no such file", hint="give trace log files (.gz too)")
    location = str(paths[0]) if len(paths) == 1 else f"{paths[0]} (+{len(paths) - 1} more)"
    with store.begin_import(SOURCE_KIND, location, {"files": [str(p) for p in paths]}) as session:
        counts = import_trace_files(paths, session, options or ImportOptions())
        summary = session.finish()
    if counts.records == 0 and summary.quarantined == 0:
        raise InputError(
            f"{location}: no WF_TRACE lines found",
            hint="traces come from the WF_TRACE debug instrumentation; is this the right log?",
        )
    duplicates = counts.records - counts.new_records
    set_import_counts(store.con, summary.import_id, counts.new_records, duplicates)
    return replace(summary, stored=counts.new_records, duplicates=duplicates)


@dataclass(frozen=True, slots=True)
class TraceCounts:
    """Records read and replays formed; `new_*` leaves out what the store already held."""

    records: int
    new_records: int
    replays: int
    new_replays: int


def import_trace_files(
    paths: Sequence[Path], session: ImportSession, options: ImportOptions
) -> TraceCounts:
    """Read every file, then group and store the replays through `session`."""
    return import_trace_lines([(str(p), p.name, _lines(p)) for p in paths], session, options)


# (location for provenance, the file's name as its stream, (line number, raw line) pairs)
LineSource = tuple[str, str, Iterable[tuple[int, bytes]]]


def import_trace_lines(
    sources: Sequence[LineSource], session: ImportSession, options: ImportOptions
) -> TraceCounts:
    """Group and store the replays of these lines (`watch trace` hands whole replays)."""
    writer = SnapshotWriter(session.con)
    records: list[_Record] = []
    for location, name, lines in sources:
        records.extend(_read_lines(location, name, lines, session, writer, options, len(records)))
        report_damage(Path(location), session)  # a file's gzip damage, if any
    in_transaction(session.con, writer.flush)
    replays = [_replay(g) for g in _groups(_in_log_order(records))]
    known = known_identities(session.con, [r.identity for r in replays])
    new = [r for r in replays if r.identity not in known]
    in_transaction(session.con, lambda: _store(session, new))
    session.read += len(records)
    runs = len({r.run_id for r in replays})
    items = sum(r.snapshot.count for r in replays if r.snapshot)
    session.note(
        f"{len(replays)} replay(s) of {runs} run(s), {items:,} loaded-event items;"
        f" {len(replays) - len(new)} replay(s) were already in the store"
    )
    new_records = sum(_record_count(r) for r in new)
    return TraceCounts(len(records), new_records, len(replays), len(new))


def _record_count(r: TraceReplayRecord) -> int:
    ends = 1 if r.outcome is not None else 0
    return int(r.has_start) + len(r.subscriptions) + len(r.mismatches) + ends


def _store(session: ImportSession, replays: list[TraceReplayRecord]) -> None:
    write_replays(session.con, session.import_id, replays)


def _lines(path: Path) -> Iterator[tuple[int, bytes]]:
    with open_binary(path) as fh:
        yield from enumerate(fh, start=1)


def _read_lines(
    location: str,
    name: str,
    lines: Iterable[tuple[int, bytes]],
    session: ImportSession,
    writer: SnapshotWriter,
    options: ImportOptions,
    base: int,
) -> list[_Record]:
    out: list[_Record] = []
    lists = EventLists()
    for number, raw in lines:
        if MARKER not in raw:
            continue
        line, problem = read_line(raw.rstrip(b"\r\n"), location, number, name)
        if problem is not None:
            prov = Provenance(location, f"line {number}")
            session.quarantine(QuarantineRecord(prov, problem.reason, problem.raw))
        if line is None:
            continue
        snapshot = _snapshot(line, lists, writer, session)
        out.append(_Record(_light(line), base + len(out), snapshot))
        if options.progress and len(out) % 1000 == 0:
            options.progress(1000)
    return _newest_first_reversed(out)


def _snapshot(
    line: TraceLine, lists: EventLists, writer: SnapshotWriter, session: ImportSession
) -> SnapshotInfo | None:
    """Store a replay_start's loaded list; quarantine a list that is not one."""
    if line.lines is not None:
        return writer.add(line.run_id, line.lines)
    if line.events_raw is None:
        return None
    logged = line.fields.get("digest")
    try:
        lines, digest = lists.lines(
            line.run_id, line.events_raw, logged if isinstance(logged, str) else None
        )
    except RecordError as exc:
        prov = Provenance(line.meta.location, line.meta.position)
        session.quarantine(QuarantineRecord(prov, f"WF_TRACE replay_start: {exc}", None))
        return None
    return writer.add(line.run_id, lines, digest)


def _light(line: TraceLine) -> TraceLine:
    """The record without its (stored) event lines."""
    if line.lines is None and line.events_raw is None:
        return line
    return TraceLine(line.kind, line.run_id, line.inv, line.fields, line.meta)


def _newest_first_reversed(records: list[_Record]) -> list[_Record]:
    times = [r.line.meta.logged_at for r in records if r.line.meta.logged_at is not None]
    if len(times) >= 2 and times[0] > times[-1]:
        records.reverse()
    return records


def _in_log_order(records: list[_Record]) -> list[_Record]:
    if records and all(r.line.meta.logged_at is not None for r in records):
        return sorted(records, key=lambda r: r.line.meta.logged_at or datetime.min)
    return records


def _groups(records: list[_Record]) -> list[_Group]:
    """Replays in order of their first record; a replay_start closes an open one."""
    open_: dict[tuple[str, str, int], _Group] = {}
    groups: list[_Group] = []
    for record in records:
        line = record.line
        key = (line.run_id, line.meta.stream, line.inv)
        group = open_.get(key)
        if line.kind == "replay_start" or group is None:
            group = _Group(record)
            groups.append(group)
            open_[key] = group
        if line.kind == "replay_start":
            group.start = record
        elif line.kind == "replay_end":
            group.end = record
            del open_[key]
        else:
            group.body.append(record)
    return groups


def _replay(group: _Group) -> TraceReplayRecord:
    head = group.start or group.first
    start = group.start.line.fields if group.start else {}
    meta = head.line.meta
    end = group.end.line if group.end else None
    subscriptions = tuple(_subscription(r.line) for r in group.body if r.line.kind in _SUBSCRIBE)
    mismatches = tuple(_mismatch(r.line) for r in group.body if r.line.kind == "step_mismatch")
    snapshot = group.start.snapshot if group.start else None
    pid = _int(start.get("pid"))
    record = TraceReplayRecord(
        run_id=head.line.run_id,
        stream=meta.stream,
        inv=head.line.inv,
        provenance=Provenance(meta.location, meta.position),
        identity="",
        pid=pid,
        workflow_name=_text(start.get("workflowName")),
        run_started_at=_when(start.get("startedAt")),
        logged_event_count=_int(start.get("eventCount")),
        logged_digest=_text(start.get("digest")),
        snapshot=snapshot,
        outcome=_text(end.fields.get("outcome")) if end else None,
        error=_error(end.fields.get("error")) if end else None,
        started_log_at=meta.logged_at,
        ended_log_at=end.meta.logged_at if end else None,
        request_id=meta.request_id or (end.meta.request_id if end else None),
        has_start=group.start is not None,
        subscriptions=subscriptions,
        mismatches=mismatches,
    )
    return _with_identity(record)


def _with_identity(r: TraceReplayRecord) -> TraceReplayRecord:
    parts = [
        r.run_id,
        r.stream,
        str(r.pid),
        str(r.inv),
        str(r.started_log_at),
        str(r.logged_digest),
        r.snapshot.digest if r.snapshot else "",
        str(r.outcome),
        str(len(r.subscriptions)),
        str(r.request_id),
        str(r.has_start),
    ]
    identity = hashlib.blake2b("\x1f".join(parts).encode(), digest_size=16).hexdigest()
    return replace(r, identity=identity)


def _subscription(line: TraceLine) -> TraceSubscription:
    f = line.fields
    kind = _SUBSCRIBE[line.kind]
    name = f.get("stepName") if kind == "step" else f.get("token") if kind == "hook" else None
    return TraceSubscription(
        seq=_int(f.get("seq")) or 0,
        kind=kind,
        correlation_id=str(f.get("correlationId")),
        name=_text(name),
        resume_at=_text(f.get("resumeAt")),
        logged_at=line.meta.logged_at,
    )


def _mismatch(line: TraceLine) -> TraceMismatch:
    f = line.fields
    return TraceMismatch(
        correlation_id=_text(f.get("correlationId")),
        expected_step_name=_text(f.get("expectedStepName")),
        event_step_name=_text(f.get("eventStepName")),
        event_id=_text(f.get("eventId")),
        event_type=_text(f.get("eventType")),
        event_index=_int(f.get("eventIndex")),
        logged_at=line.meta.logged_at,
    )


def _int(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


def _when(value: Any) -> datetime | None:
    try:
        return parse_time(value, "startedAt")
    except ValueError:
        return None


def _error(value: Any) -> str | None:
    """An error as text: a string, or an object's message (its JSON otherwise)."""
    if value is None:
        return None
    if isinstance(value, dict) and isinstance(value.get("message"), str):
        return str(value["message"])
    return value if isinstance(value, str) else repr(value)

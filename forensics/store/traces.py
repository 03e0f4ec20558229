"""Replay traces in the store: the digest formula, the trace tables' records and their writes.

A `WF_TRACE` `replay_start` lists every event a replay had loaded. Replays of one run load
mostly the same events, so the store keeps each distinct event line of a run once
(`trace_items`) and each distinct loaded list once, keyed by its recomputed digest, as ranges
of item numbers (`trace_snapshots`); a replay names its snapshot by digest. A trace of 200
replays of a 25,000-event run thus stores about 25,000 items, not five million rows. The
digest is computed here, by the one formula every replay (traced or reconstructed) uses.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Final, cast

import duckdb

from forensics.model import Provenance
from forensics.store.ingest import run

ITEM_SEPARATOR: Final = "|"


def item_line(event_id: str, event_type: str, cid: str | None, name: str | None) -> str:
    """One event's part of a digest, without its newline: `i|t|c|n` (absent = empty)."""
    return f"{event_id}|{event_type}|{cid or ''}|{name or ''}"


def digest_lines(lines: Sequence[str]) -> str:
    """First 16 hex characters of SHA-256 over every `i|t|c|n` line, each ending in `\\n`."""
    text = "\n".join(lines) + "\n" if lines else ""
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def prefix_digests(lines: Sequence[str], ends: Iterable[int]) -> dict[int, str]:
    """The digest of `lines[:end]` for every `end`, in one pass over the lines."""
    state = hashlib.sha256()
    done = 0
    out: dict[int, str] = {}
    for end in sorted(set(ends)):
        if end > done:
            state.update(("\n".join(lines[done:end]) + "\n").encode())
            done = end
        out[end] = state.copy().hexdigest()[:16]
    return out


def split_line(line: str) -> tuple[str, str, str | None, str | None]:
    """The fields of an item line (step names may hold `|`: they are the last field)."""
    i, t, c, n = ([*line.split(ITEM_SEPARATOR, 3), "", "", ""])[:4]
    return i, t, c or None, n or None


@dataclass(frozen=True, slots=True)
class SnapshotInfo:
    """What a stored loaded-event list is known by."""

    digest: str
    count: int
    tail_event_id: str | None


@dataclass(frozen=True, slots=True)
class TraceSubscription:
    """One `*_subscribe` line: draw `seq` (from 1) gave `correlation_id` to a step/hook/sleep."""

    seq: int
    kind: str  # step | hook | sleep
    correlation_id: str
    name: str | None  # stepName (steps) or token (hooks)
    resume_at: str | None  # sleeps: the call-time value as logged
    logged_at: datetime | None


@dataclass(frozen=True, slots=True)
class TraceMismatch:
    """One `step_mismatch` line: the step consumer met an event of another step."""

    correlation_id: str | None
    expected_step_name: str | None
    event_step_name: str | None
    event_id: str | None
    event_type: str | None
    event_index: int | None
    logged_at: datetime | None


@dataclass(frozen=True, slots=True)
class TraceReplayRecord:
    """One invocation's replay as its trace lines tell it.

    `digest` is recomputed from the loaded list (None when the list was lost to a truncated
    line); `logged_digest` is what the trace said. `identity` makes a re-import of the same
    lines a duplicate rather than a second replay.
    """

    run_id: str
    stream: str
    inv: int
    provenance: Provenance
    identity: str
    pid: int | None = None
    workflow_name: str | None = None
    run_started_at: datetime | None = None
    logged_event_count: int | None = None
    logged_digest: str | None = None
    snapshot: SnapshotInfo | None = None
    outcome: str | None = None
    error: str | None = None
    started_log_at: datetime | None = None
    ended_log_at: datetime | None = None
    request_id: str | None = None
    has_start: bool = True
    subscriptions: tuple[TraceSubscription, ...] = ()
    mismatches: tuple[TraceMismatch, ...] = ()


def _ranges(numbers: list[int]) -> tuple[list[int], list[int]]:
    """Runs of consecutive item numbers as (starts, stops), stops exclusive, in list order."""
    if not numbers:
        return [], []
    first, last = numbers[0], numbers[-1]
    if last - first == len(numbers) - 1 and numbers == list(range(first, last + 1)):
        return [first], [last + 1]
    starts, stops = [first], []
    previous = first
    for n in numbers[1:]:
        if n != previous + 1:
            stops.append(previous + 1)
            starts.append(n)
        previous = n
    stops.append(previous + 1)
    return starts, stops


def _shared_prefix(a: list[str], b: list[str]) -> int:
    """Length of the longest common prefix of two lists: blocks of 1,024 compared (identical
    objects compare at once) until one differs, then that block item by item."""
    n, step, start = min(len(a), len(b)), 1024, 0
    while start < n and a[start : start + step] == b[start : start + step]:
        start += step
    while start < n and a[start] == b[start]:
        start += 1
    return min(start, n)


def expand_ranges(starts: Iterable[int], stops: Iterable[int]) -> list[int]:
    """Item numbers of a stored snapshot, in loaded order."""
    out: list[int] = []
    for a, b in zip(starts, stops, strict=True):
        out.extend(range(a, b))
    return out


class SnapshotWriter:
    """Numbers each run's distinct event lines and stores each distinct loaded list once.

    Rows are buffered and written by `flush` (the caller's transaction); a run's existing
    items and snapshots are read the first time the run is seen, so re-imports and
    imports of later traces of the same run extend what is there.
    """

    FLUSH_ITEMS: Final = 200_000

    def __init__(self, con: duckdb.DuckDBPyConnection) -> None:
        self.con = con
        self._items: dict[str, dict[str, int]] = {}
        self._digests: dict[str, set[str]] = {}
        self._new_items: list[tuple[str, int, str]] = []
        self._new_snapshots: list[tuple[str, str, int, list[int], list[int]]] = []
        self._last: dict[str, tuple[list[str], list[int]]] = {}
        self.items_written = 0

    def add(self, run_id: str, lines: list[str], digest: str | None = None) -> SnapshotInfo:
        """Register one loaded list; return its digest, length and tail event id.

        `digest` may be passed when the caller already computed it by `digest_lines`.
        """
        digest = digest or digest_lines(lines)
        tail = lines[-1].split(ITEM_SEPARATOR, 1)[0] if lines else None
        info = SnapshotInfo(digest, len(lines), tail)
        known = self._known_digests(run_id)
        if digest in known:
            return info
        numbers = self._numbers(run_id, lines)
        starts, stops = _ranges(numbers)
        self._new_snapshots.append((run_id, digest, len(lines), starts, stops))
        known.add(digest)
        if len(self._new_items) >= self.FLUSH_ITEMS:
            self.flush()
        return info

    def _numbers(self, run_id: str, lines: list[str]) -> list[int]:
        """Item numbers of `lines`, new lines numbered as they come.

        A run's lists mostly extend the previous one, so the part shared with the last
        list numbered is found by comparing list prefixes (C speed) and reused."""
        last_lines, last_numbers = self._last.get(run_id, ([], []))
        shared = _shared_prefix(last_lines, lines)
        lookup = self._lookup(run_id)
        tail = list(map(lookup.get, lines[shared:]))
        if None in tail:
            for k, line in enumerate(lines[shared:]):
                if tail[k] is None:
                    number = lookup.get(line)
                    if number is None:
                        number = lookup[line] = len(lookup)
                        self._new_items.append((run_id, number, line))
                    tail[k] = number
        numbers = last_numbers[:shared] + cast(list[int], tail)
        self._last[run_id] = (lines, numbers)
        return numbers

    def _lookup(self, run_id: str) -> dict[str, int]:
        if run_id not in self._items:
            rows = self.con.execute(
                "SELECT item, event_id, event_type, correlation_id, step_name FROM trace_items"
                " WHERE run_id = ? ORDER BY item",
                [run_id],
            ).fetchall()
            self._items[run_id] = {item_line(r[1], r[2], r[3], r[4]): int(r[0]) for r in rows}
        return self._items[run_id]

    def _known_digests(self, run_id: str) -> set[str]:
        if run_id not in self._digests:
            rows = self.con.execute(
                "SELECT digest FROM trace_snapshots WHERE run_id = ?", [run_id]
            ).fetchall()
            self._digests[run_id] = {str(r[0]) for r in rows}
        return self._digests[run_id]

    def flush(self) -> None:
        """Write the buffered items and snapshots."""
        import pyarrow as pa  # only writers need it: reading a run's traces starts faster

        items, self._new_items = self._new_items, []
        snapshots, self._new_snapshots = self._new_snapshots, []
        if items:
            fields = [split_line(line) for _, _, line in items]
            _insert(
                self.con,
                "trace_items",
                {
                    "run_id": [r[0] for r in items],
                    "item": pa.array([r[1] for r in items], pa.int32()),
                    "event_id": [f[0] for f in fields],
                    "event_type": [f[1] for f in fields],
                    "correlation_id": [f[2] for f in fields],
                    "step_name": [f[3] for f in fields],
                },
            )
            self.items_written += len(items)
        if snapshots:
            _insert(
                self.con,
                "trace_snapshots",
                {
                    "run_id": [s[0] for s in snapshots],
                    "digest": [s[1] for s in snapshots],
                    "event_count": pa.array([s[2] for s in snapshots], pa.int32()),
                    "starts": pa.array([s[3] for s in snapshots], pa.list_(pa.int32())),
                    "stops": pa.array([s[4] for s in snapshots], pa.list_(pa.int32())),
                },
            )


def _insert(con: duckdb.DuckDBPyConnection, table: str, columns: dict[str, object]) -> None:
    import pyarrow as pa

    batch = pa.table(columns)
    con.register("_trace_batch", batch)
    try:
        run(con, f"INSERT INTO {table} BY NAME SELECT * FROM _trace_batch")
    finally:
        con.unregister("_trace_batch")


def known_identities(con: duckdb.DuckDBPyConnection, identities: Sequence[str]) -> set[str]:
    """Which of these replay identities the store already holds."""
    if not identities:
        return set()
    import pyarrow as pa

    con.register("_trace_ids", pa.table({"identity": list(identities)}))
    try:
        rows = con.execute(
            "SELECT r.identity FROM trace_replays r SEMI JOIN _trace_ids i"
            " ON i.identity = r.identity"
        ).fetchall()
    finally:
        con.unregister("_trace_ids")
    return {str(r[0]) for r in rows}


def write_replays(
    con: duckdb.DuckDBPyConnection, import_id: int, replays: Sequence[TraceReplayRecord]
) -> int:
    """Store replays with their subscriptions and mismatches; return how many."""
    if not replays:
        return 0
    row = con.execute("SELECT nextval('trace_replay_seq') FROM range(?)", [len(replays)]).fetchall()
    keys = [int(r[0]) for r in row]
    _insert(con, "trace_replays", _replay_columns(import_id, keys, replays))
    subs = [(k, s) for k, r in zip(keys, replays, strict=True) for s in r.subscriptions]
    if subs:
        _insert(con, "trace_subscriptions", _subscription_columns(subs))
    mismatches = [(k, m) for k, r in zip(keys, replays, strict=True) for m in r.mismatches]
    if mismatches:
        _insert(con, "trace_mismatches", _mismatch_columns(mismatches))
    return len(replays)


def _column(
    rows: Sequence[TraceReplayRecord], get: Callable[[TraceReplayRecord], object]
) -> list[object]:
    return [get(r) for r in rows]


def _replay_columns(
    import_id: int, keys: list[int], rows: Sequence[TraceReplayRecord]
) -> dict[str, object]:
    import pyarrow as pa

    ts = pa.timestamp("us", tz="UTC")

    def snap(r: TraceReplayRecord) -> SnapshotInfo | None:
        return r.snapshot

    return {
        "replay_key": pa.array(keys, pa.int64()),
        "import_id": pa.array([import_id] * len(rows), pa.int32()),
        "run_id": _column(rows, lambda r: r.run_id),
        "workflow_name": _column(rows, lambda r: r.workflow_name),
        "stream": _column(rows, lambda r: r.stream),
        "pid": pa.array(_column(rows, lambda r: r.pid), pa.int64()),
        "inv": pa.array(_column(rows, lambda r: r.inv), pa.int64()),
        "run_started_at": pa.array(_column(rows, lambda r: r.run_started_at), ts),
        "logged_event_count": pa.array(_column(rows, lambda r: r.logged_event_count), pa.int32()),
        "loaded_count": pa.array([s.count if (s := snap(r)) else None for r in rows], pa.int32()),
        "logged_digest": _column(rows, lambda r: r.logged_digest),
        "digest": [s.digest if (s := snap(r)) else None for r in rows],
        "tail_event_id": [s.tail_event_id if (s := snap(r)) else None for r in rows],
        "outcome": _column(rows, lambda r: r.outcome),
        "error": _column(rows, lambda r: r.error),
        "started_log_at": pa.array(_column(rows, lambda r: r.started_log_at), ts),
        "ended_log_at": pa.array(_column(rows, lambda r: r.ended_log_at), ts),
        "request_id": _column(rows, lambda r: r.request_id),
        "has_start": pa.array(_column(rows, lambda r: r.has_start), pa.bool_()),
        "source_location": _column(rows, lambda r: r.provenance.location),
        "source_position": _column(rows, lambda r: r.provenance.position),
        "identity": _column(rows, lambda r: r.identity),
    }


def _subscription_columns(subs: list[tuple[int, TraceSubscription]]) -> dict[str, object]:
    import pyarrow as pa

    ts = pa.timestamp("us", tz="UTC")
    return {
        "replay_key": pa.array([k for k, _ in subs], pa.int64()),
        "seq": pa.array([s.seq for _, s in subs], pa.int32()),
        "kind": [s.kind for _, s in subs],
        "correlation_id": [s.correlation_id for _, s in subs],
        "name": [s.name for _, s in subs],
        "resume_at": [s.resume_at for _, s in subs],
        "logged_at": pa.array([s.logged_at for _, s in subs], ts),
    }


def _mismatch_columns(rows: list[tuple[int, TraceMismatch]]) -> dict[str, object]:
    import pyarrow as pa

    ts = pa.timestamp("us", tz="UTC")
    return {
        "replay_key": pa.array([k for k, _ in rows], pa.int64()),
        "correlation_id": [m.correlation_id for _, m in rows],
        "expected_step_name": [m.expected_step_name for _, m in rows],
        "event_step_name": [m.event_step_name for _, m in rows],
        "event_id": [m.event_id for _, m in rows],
        "event_type": [m.event_type for _, m in rows],
        "event_index": pa.array([m.event_index for _, m in rows], pa.int32()),
        "logged_at": pa.array([m.logged_at for _, m in rows], ts),
    }


def set_import_counts(
    con: duckdb.DuckDBPyConnection, import_id: int, stored: int, duplicates: int
) -> None:
    """Record how many trace records were new and how many the store already held."""
    run(
        con,
        "UPDATE imports SET stored_count = ?, duplicate_count = ? WHERE import_id = ?",
        [stored, duplicates, import_id],
    )


def in_transaction(con: duckdb.DuckDBPyConnection, work: Callable[[], None]) -> None:
    """Run `work` inside one transaction (rolled back if it raises)."""
    run(con, "BEGIN")
    try:
        work()
    except BaseException:
        run(con, "ROLLBACK")
        raise
    run(con, "COMMIT")

"""Which replay wrote what, and from which snapshot: traced writers first, then batches.

A creation event is attributed to a traced replay that subscribed its correlation id under
the same step name (or hook token; any sleep for a wait), had loaded a log ending below it
that held no earlier creation of it, suspended (or never logged its end), and had started
by the time the event committed; among several, the earliest such replay that has not
written that id yet. A run's end goes to the last traced replay that ended that way before
it. A creator whose list ends with a wait_completed wrote that too (its elapsed-wait scan).

The other replay-origin writes form *batches* in commit order: one invocation's decision
from one snapshot. A batch ends at any event that is not replay-origin (a step_started of a
step the batch just created excepted: it is a consequence, not an input), at a fence that
does not chain from the batch, at a second creation of one correlation id, after a run end,
at a wait_completed following other writes (the elapsed-wait scan runs before the replay),
and at a gap of more than a second between writes; never inside one `createBatch` write
(`RunLog.batch_of`), which is one durable write. A batch's snapshot is exact when its
first write carries a fence (the log up to the fence); otherwise it is *inferred*: every
event committed before the first write and sorted below it.
"""

from __future__ import annotations

from bisect import bisect_left
from dataclasses import dataclass
from datetime import timedelta
from typing import Final

from forensics.replay.log import (
    CREATIONS,
    EXECUTOR,
    NOOP,
    RUN_ENDS,
    LogEvent,
    RunLog,
    late_candidates,
    writer_class,
)
from forensics.replay.traced import Traced, TraceSet
from forensics.store.traces import digest_lines, prefix_digests

BATCH_GAP: Final = timedelta(seconds=1)
CLOCK_SKEW: Final = timedelta(seconds=2)
"""How far a log line's timestamp may run ahead of the store's write time of the same write."""


@dataclass(frozen=True, slots=True)
class Snapshot:
    """The log a replay decided from.

    `kind`: `traced` (the list it logged), `fenced` (the log up to the fence its first write
    carried) or `inferred` (everything committed before its first write). Reconstructed
    snapshots are the log's `events[:end]` less `missing` (sorted below, committed after).
    """

    kind: str
    digest: str | None
    count: int | None
    tail_event_id: str | None
    end: int | None = None
    missing: tuple[int, ...] = ()


@dataclass(frozen=True, slots=True)
class Batch:
    """Writes (log indexes, commit order) one invocation made; `traced` is its trace key."""

    writes: tuple[int, ...]
    snapshot: Snapshot
    traced: int | None = None


def attribute(log: RunLog, traces: TraceSet) -> dict[int, int]:
    """Log index of each write a traced replay made -> that replay's key."""
    eligible = sorted(
        (t for t in traces.replays if t.outcome in (None, "suspended")),
        key=lambda t: t.tail_event_id or "",
    )
    tails = [t.tail_event_id or "" for t in eligible]
    created: dict[str, list[str]] = {}
    owner: dict[int, int] = {}
    wrote: set[tuple[int, str]] = set()
    for i in log.commit:
        e = log.events[i]
        cid = e.correlation_id
        if e.event_type in CREATIONS and cid:
            subs = traces.subscribers.get((cid, e.name))
            below = eligible[: bisect_left(tails, e.event_id)] if subs else []
            fits = [
                t for t in below
                if subs and t.key in subs.keys and (t.key, cid) not in wrote
                and _could_write(t, e, created.get(cid, ()))
            ]  # fmt: skip
            if fits:
                chosen = min(fits, key=_age)
                owner[i] = chosen.key
                wrote.add((chosen.key, cid))
            created.setdefault(cid, []).append(e.event_id)
        elif e.event_type in RUN_ENDS:
            ended = e.event_type.removeprefix("run_")
            fits = [t for t in traces.replays if t.outcome == ended and _could_write(t, e, ())]
            if fits:
                owner[i] = max(fits, key=_age).key
    _own_elapsed_waits(log, traces, owner)
    return owner


def _own_elapsed_waits(log: RunLog, traces: TraceSet, owner: dict[int, int]) -> None:
    """A creator whose list ends with a wait_completed wrote it: its elapsed-wait scan runs
    before the replay and appends the write to the events the replay walks."""
    creators = set(owner.values())
    for t in sorted(traces.replays, key=_age):
        i = log.by_id.get(t.tail_event_id or "")
        if t.key not in creators or i is None or i in owner:
            continue
        e = log.events[i]
        when = e.committed_at
        late_enough = t.started_log_at is None or when is None
        if e.event_type == "wait_completed" and (
            late_enough or (t.started_log_at and when and t.started_log_at >= when - CLOCK_SKEW)
        ):
            owner[i] = t.key


def _age(t: Traced) -> tuple[float, int]:
    return (t.started_log_at.timestamp() if t.started_log_at else float("inf"), t.key)


def _could_write(t: Traced, e: LogEvent, earlier_creations: list[str] | tuple[()]) -> bool:
    tail = t.tail_event_id
    if tail is not None and (tail >= e.event_id or any(c <= tail for c in earlier_creations)):
        return False
    when = e.committed_at
    return t.started_log_at is None or when is None or t.started_log_at <= when + CLOCK_SKEW


def batches(log: RunLog, traces: TraceSet) -> list[Batch]:
    """Every write batch of the run (traced and reconstructed), by first write."""
    owner = attribute(log, traces)
    traced: dict[int, list[int]] = {}
    groups: list[list[int]] = []
    current: list[int] = []
    created: set[str] = set()
    for i in log.commit:
        e = log.events[i]
        if e.event_type == NOOP:
            continue  # a sealed slot: no write of anyone's, no input to a decision
        if i in owner:
            traced.setdefault(owner[i], []).append(i)
            current = _close(groups, current, created)
        elif writer_class(e.event_type) == "replay-origin":
            if current and _breaks(log, current, e, created):
                current = _close(groups, current, created)
            current.append(i)
            if e.event_type in CREATIONS and e.correlation_id:
                created.add(e.correlation_id)
        elif not (current and e.event_type in EXECUTOR and e.correlation_id in created):
            current = _close(groups, current, created)
    _close(groups, current, created)
    by_key = {t.key: t for t in traces.replays}
    out = [
        Batch(tuple(w), _traced_snapshot(traces, by_key[k], {log.events[i].event_id for i in w}), k)
        for k, w in traced.items()
    ]
    out += _reconstructed(log, groups)
    return sorted(out, key=lambda b: log.rank[b.writes[0]])


def _close(groups: list[list[int]], current: list[int], created: set[str]) -> list[int]:
    if current:
        groups.append(current)
    created.clear()
    return []


def _breaks(log: RunLog, current: list[int], e: LogEvent, created: set[str]) -> bool:
    first, previous = log.events[current[0]], log.events[current[-1]]
    if e.index in log.batch_of and log.batch_head(e.index) == log.batch_head(previous.index):
        return False  # one `createBatch` write: one decision, whatever its members carry
    if e.fence and e.fence not in (previous.event_id, first.fence):
        return True
    if e.event_type in CREATIONS and e.correlation_id in created:
        return True
    if any(log.events[i].event_type in RUN_ENDS for i in current):
        return True
    if e.event_type == "wait_completed" and previous.event_type != "wait_completed":
        return True
    a, b = previous.committed_us, e.committed_us
    return a is not None and b is not None and b - a > BATCH_GAP // timedelta(microseconds=1)


def _traced_snapshot(traces: TraceSet, t: Traced, own: set[str]) -> Snapshot:
    """The list a traced replay logged; its tail is the last event it did not write itself."""
    count = t.loaded_count if t.loaded_count is not None else t.logged_event_count
    tail = t.tail_event_id
    if tail in own and t.digest:
        kept = [i for i in traces.loaded_ids(t.digest) if i not in own]
        tail = kept[-1] if kept else None
    return Snapshot("traced", t.group_digest, count, tail)


def _reconstructed(log: RunLog, groups: list[list[int]]) -> list[Batch]:
    late = late_candidates(log)
    shapes: list[tuple[list[int], str, int, tuple[int, ...]]] = []
    for writes in groups:
        first = log.events[writes[0]]
        fenced = first.fence is not None and first.fence in log.by_id
        end = log.by_id[first.fence] + 1 if fenced and first.fence else first.index
        rank = log.rank[first.index]
        missing = tuple(j for j in late if j < end and log.rank[j] > rank)
        shapes.append((writes, "fenced" if fenced else "inferred", end, missing))
    lines = [e.line for e in log.events]
    plain = prefix_digests(lines, [end for _, _, end, missing in shapes if not missing])
    out = []
    for writes, kind, end, missing in shapes:
        if missing:
            gone = set(missing)
            digest = digest_lines([lines[j] for j in range(end) if j not in gone])
        else:
            digest = plain[end]
        tail = next((j for j in range(end - 1, -1, -1) if j not in missing), None)
        tail_id = log.events[tail].event_id if tail is not None else None
        snap = Snapshot(kind, digest, end - len(missing), tail_id, end, missing)
        out.append(Batch(tuple(writes), snap))
    return out


def snapshot_ids(log: RunLog, traces: TraceSet, snapshot: Snapshot) -> set[str]:
    """Event ids of a snapshot (traced lists are expanded from the store)."""
    if snapshot.end is not None:
        gone = set(snapshot.missing)
        return {log.events[j].event_id for j in range(snapshot.end) if j not in gone}
    if snapshot.kind == "traced" and snapshot.digest:
        return set(traces.loaded_ids(snapshot.digest))
    return set()

"""Every replay of one run, traced and reconstructed, with ids and digest groups.

Traced replays are named after their invocation (`inv269`), with the process id and then
the log stream added only where two replays of the run would share a name; reconstructed
ones are `r1`, `r2`, … in commit order of their first write. Replays are grouped by the
digest of their snapshot (traced and reconstructed replays of one snapshot share it);
groups come in time order, and so do the replays inside them.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime

import duckdb

from forensics.replay.log import RunLog, load_log
from forensics.replay.memo import remembered
from forensics.replay.names import mismatch_from_message
from forensics.replay.reconstruct import Batch, Snapshot, batches
from forensics.replay.traced import Mismatch, Traced, TraceSet, load_traces


@dataclass(frozen=True, slots=True)
class Replay:
    """One invocation's view of the log: what it loaded, wrote and how it ended."""

    id: str
    source: str  # trace | reconstructed
    snapshot: Snapshot
    writes: tuple[int, ...]  # log indexes, commit order
    outcome: str | None
    error: str | None
    mismatch: Mismatch | None
    at: datetime | None  # its log line's time, or its first write's commit time
    traced: Traced | None = None
    group: str = ""


@dataclass(frozen=True)
class RunReplays:
    """A run's log, its traces and every replay, in group order."""

    log: RunLog
    traces: TraceSet
    replays: tuple[Replay, ...]

    def get(self, replay_id: str) -> Replay | None:
        return next((r for r in self.replays if r.id == replay_id), None)

    def group(self, label: str) -> tuple[Replay, ...]:
        return tuple(r for r in self.replays if r.group == label)

    def writer_of(self) -> dict[int, Replay]:
        """Log index of every attributed write -> the replay that made it."""
        return {i: r for r in self.replays for i in r.writes}


def run_replays(con: duckdb.DuckDBPyConnection, run_id: str) -> RunReplays:
    """Load the run and build its replays (once per `memo.shared_analysis` scope)."""
    rr = remembered(
        "replays", run_id, lambda: assemble(load_log(con, run_id), load_traces(con, run_id))
    )
    rr.traces.con = con  # lists are expanded on demand: by this caller's (open) connection
    return rr


def assemble(log: RunLog, traces: TraceSet) -> RunReplays:
    found = batches(log, traces)
    by_key = {b.traced: b for b in found if b.traced is not None}
    names = traced_ids(traces.replays)
    out = [_from_trace(names[t.key], t, by_key.get(t.key)) for t in traces.replays]
    reconstructed = [b for b in found if b.traced is None]
    out += [_from_batch(log, f"r{n}", b) for n, b in enumerate(reconstructed, start=1)]
    return RunReplays(log, traces, _grouped(out))


def traced_ids(replays: tuple[Traced, ...]) -> dict[int, str]:
    """`inv269`; `inv1.pid8` when two share an inv; `…@stream` then `#n` when still shared."""
    steps: list[Callable[[Traced, str], str]] = [
        lambda t, s: f"{s}.pid{t.pid}" if t.pid is not None else s,
        lambda t, s: f"{s}@{_stream_tail(t.stream)}" if t.stream else s,
    ]
    names = {t.key: f"inv{t.inv}" for t in replays}
    for step in steps:
        counts = Counter(names.values())
        names = {
            t.key: step(t, names[t.key]) if counts[names[t.key]] > 1 else names[t.key]
            for t in replays
        }
    seen: Counter[str] = Counter()
    counts = Counter(names.values())
    for t in replays:
        if counts[names[t.key]] > 1:
            seen[names[t.key]] += 1
            names[t.key] = f"{names[t.key]}#{seen[names[t.key]]}"
    return names


def _stream_tail(stream: str) -> str:
    tail = stream.rsplit("/", 1)[-1].rsplit("]", 1)[-1]
    return tail[-12:] or stream[-12:]


def _from_trace(name: str, t: Traced, batch: Batch | None) -> Replay:
    snapshot = (
        batch.snapshot
        if batch
        else Snapshot(
            "traced",
            t.group_digest,
            t.loaded_count if t.loaded_count is not None else t.logged_event_count,
            t.tail_event_id,
        )
    )
    return Replay(
        id=name,
        source="trace",
        snapshot=snapshot,
        writes=batch.writes if batch else (),
        outcome=t.outcome,
        error=t.error,
        mismatch=t.mismatches[0] if t.mismatches else None,
        at=t.started_log_at,
        traced=t,
    )


def _from_batch(log: RunLog, name: str, batch: Batch) -> Replay:
    types = {log.events[i].event_type for i in batch.writes}
    ends = [log.events[i] for i in batch.writes if log.events[i].event_type == "run_failed"]
    outcome = "completed" if "run_completed" in types else "failed" if ends else "suspended"
    error = ends[0].message if ends else None
    return Replay(
        id=name,
        source="reconstructed",
        snapshot=batch.snapshot,
        writes=batch.writes,
        outcome=outcome,
        error=error,
        mismatch=mismatch_from_message(error),
        at=log.events[batch.writes[0]].committed_at,
    )


def _grouped(replays: list[Replay]) -> tuple[Replay, ...]:
    def when(r: Replay) -> tuple[float, int, str]:
        moment = r.at.timestamp() if r.at else float("inf")
        return (moment, r.snapshot.count or 0, r.id)

    members: dict[str, list[Replay]] = {}
    for r in sorted(replays, key=when):
        members.setdefault(r.snapshot.digest or f"?{r.id}", []).append(r)
    out: list[Replay] = []
    for n, group in enumerate(members.values(), start=1):
        out += [replace(r, group=f"g{n}") for r in group]
    return tuple(out)

"""The replays of one run: which snapshot each loaded, how it ended and what it wrote.

`replays_info` turns the replay engine's view of a run (traced replays from `WF_TRACE`
logs, the rest reconstructed from the log's decision writes) into plain values: per replay
its time, how many events its snapshot held, the digest group, its outcome and the log
positions of its writes; per digest group how many replays shared it; and the length of the
committed log over time, the line a replay below which read a stale snapshot.
"""

from __future__ import annotations

from bisect import bisect_left
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from forensics.replay.names import short_step
from forensics.replay.replays import Replay, RunReplays
from forensics.report._query import MAX_POINTS, ordinal, stride


@dataclass(frozen=True, slots=True)
class ReplayPoint:
    replay_id: str
    order: int  # 1-based place among the run's replays by time
    source: str  # trace | reconstructed
    group: str
    digest: str | None
    loaded: int | None  # events its snapshot held
    tail_event_id: str | None
    at_ms: int | None
    outcome: str  # completed | suspended | failed | unknown
    problem: str | None  # its mismatch or error, one line
    write_positions: tuple[int, ...]  # 1-based log positions, commit order
    write_times_ms: tuple[int | None, ...]
    log_length_then: int | None  # events committed before the replay's time


@dataclass(frozen=True, slots=True)
class DigestGroup:
    group: str
    digest: str | None
    loaded: int | None
    tail_event_id: str | None
    replays: int
    outcomes: tuple[tuple[str, int], ...]
    first_ms: int | None
    last_ms: int | None


@dataclass(frozen=True, slots=True)
class ReplaysInfo:
    run_id: str
    traced: int
    reconstructed: int
    replays: tuple[ReplayPoint, ...]
    groups: tuple[DigestGroup, ...]
    log_length: tuple[tuple[int, int], ...]  # (commit time ms, events committed by then)
    commit_basis: str
    note: str | None


def _ms(t: datetime | None) -> int | None:
    return None if t is None else int(t.timestamp() * 1000)


def replays_info(rr: RunReplays, *, max_points: int = MAX_POINTS) -> ReplaysInfo:
    """Plain data for the replays figure from a run's `RunReplays`."""
    times = sorted(t for e in rr.log.events if (t := _ms(e.committed_at)) is not None)
    ordered = sorted(range(len(rr.replays)), key=lambda n: (_ms(rr.replays[n].at) or 0, n))
    order = {n: k for k, n in enumerate(ordered, start=1)}
    points = tuple(_point(rr, r, order[n], times) for n, r in enumerate(rr.replays))
    length, note = _log_length(times, max_points)
    return ReplaysInfo(
        run_id=rr.log.run_id,
        traced=sum(1 for r in rr.replays if r.source == "trace"),
        reconstructed=sum(1 for r in rr.replays if r.source != "trace"),
        replays=points,
        groups=_groups(points),
        log_length=length,
        commit_basis=rr.log.commit_basis,
        note=note,
    )


def _point(rr: RunReplays, r: Replay, order: int, times: Sequence[int]) -> ReplayPoint:
    events = rr.log.events
    at = _ms(r.at)
    return ReplayPoint(
        replay_id=r.id,
        order=order,
        source=r.source,
        group=r.group,
        digest=r.snapshot.digest,
        loaded=r.snapshot.count,
        tail_event_id=r.snapshot.tail_event_id,
        at_ms=at,
        outcome=r.outcome or "unknown",
        problem=_problem(r),
        write_positions=tuple(i + 1 for i in r.writes),
        write_times_ms=tuple(_ms(events[i].committed_at) for i in r.writes),
        log_length_then=None if at is None else bisect_left(times, at),
    )


def _problem(r: Replay) -> str | None:
    m = r.mismatch
    if m is not None:
        return (
            f"step consumer mismatch on {m.correlation_id}: the log says"
            f" {short_step(m.found)}, the replay allocated {short_step(m.expected)}"
        )
    if r.error:
        line = r.error.splitlines()[0]
        return line if len(line) <= 160 else line[:159] + "…"
    return None


def _groups(points: Sequence[ReplayPoint]) -> tuple[DigestGroup, ...]:
    by_group: dict[str, list[ReplayPoint]] = {}
    for p in points:
        by_group.setdefault(p.group, []).append(p)
    out = []
    for label, members in by_group.items():
        times = [p.at_ms for p in members if p.at_ms is not None]
        outcomes = Counter(p.outcome for p in members)
        out.append(
            DigestGroup(
                group=label,
                digest=members[0].digest,
                loaded=members[0].loaded,
                tail_event_id=members[0].tail_event_id,
                replays=len(members),
                outcomes=tuple(sorted(outcomes.items(), key=lambda kv: (-kv[1], kv[0]))),
                first_ms=min(times, default=None),
                last_ms=max(times, default=None),
            )
        )
    return tuple(out)


def _log_length(
    times: Sequence[int], max_points: int
) -> tuple[tuple[tuple[int, int], ...], str | None]:
    """How many events were committed by each commit time, thinned to the point budget."""
    pairs = [(t, n) for n, t in enumerate(times, start=1)]
    step = stride(len(pairs), max_points // 10)  # a step line needs few points to look right
    if step == 1:
        return tuple(pairs), None
    kept = pairs[::step]
    if kept[-1] != pairs[-1]:
        kept.append(pairs[-1])
    return tuple(kept), f"log length drawn at every {ordinal(step)} commit of {len(pairs):,}"

"""What each fence design of replay.md §5 would have done with this run's writes.

Every replay-origin write whose snapshot is known (traced, or fenced by an imported value) is
held against the actual commit history as each design's server would have:

- tail fence (`lastKnownEventId`): the value is the snapshot's tail, then the writer's own
  previous write; rejected unless it is the event committed just before;
- `stateUpdatedAt`: the ULID time of the snapshot's tail; rejected when an out-of-band event
  (`hook_received`, `step_completed`) committed before the write has a strictly newer id time;
- `stateEventCount`: rejected when more out-of-band events of those two kinds are recorded at
  or below the write than the snapshot held;
- in-band count (`expectedSeqInBand`): the snapshot's in-band events plus the writer's own
  earlier writes; rejected when the committed in-band count differs (out-of-band writes, step
  executor writes included, move `seq` but not `seqInBand`).

A design *prevents* the corruption when, in every batch holding a corrupting write, it
rejects a write at or before the first corrupting one (a rejected writer stops there). The
members of one `createBatch` write stand or fall with its first member: one durable write is
checked once. Each design names the release and era that brought it (`DESIGN_ERAS`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Final

from forensics.analysis.ids import ulid_time_ms, ulid_times_ms
from forensics.replay.fences import FenceRow, SnapshotView, corrupting
from forensics.replay.log import EXECUTOR, RunLog
from forensics.replay.replays import Replay, RunReplays
from forensics.replay.tallies import earlier_below, held, prefix_counts, prefix_newest

GUARD_OUT_OF_BAND: Final = frozenset({"hook_received", "step_completed"})
NOT_IN_BAND: Final = frozenset(
    {"hook_received", "step_completed", "step_failed", "run_cancelled"} | EXECUTOR
)
DESIGNS: Final = (
    ("tail", "tail fence (lastKnownEventId)"),
    ("state-updated-at", "stateUpdatedAt"),
    ("state-event-count", "stateEventCount"),
    ("in-band", "in-band count (expectedSeqInBand)"),
)
DESIGN_ERAS: Final = {
    "tail": "never shipped (PR #2113/#2132 branch)",
    "state-updated-at": "E2 (workflow 4.x, PR #2266); gone in 5.x",
    "state-event-count": "PR #3145 (4.x branch)",
    "in-band": "E4 (spec 9)",
}
"""Where each design was in force: a run of another era was not protected by it."""


def in_force_for(design: str, judged_in: str | None) -> bool | None:
    """Whether `design` guarded a run judged in `judged_in` (None: the log cannot tell)."""
    era = (judged_in or "").split(" ")[0]
    if design == "in-band":
        return era == "E4" if era else None
    if design == "state-updated-at":
        return {"E2": True, "E1-E2": None, "": None}.get(era, False)
    if design == "tail":
        return False
    return None


@dataclass(frozen=True, slots=True)
class DesignOutcome:
    """One design against this run: what it rejects, catches and misses."""

    design: str
    title: str
    rejected: tuple[int, ...]  # log indexes
    caught: tuple[int, ...]  # corrupting writes it rejects
    missed: tuple[int, ...]  # corrupting writes it accepts
    needless: tuple[int, ...]  # sound writes it rejects (a retry, no harm)
    evaluated: int
    unknown: int  # decision writes whose snapshot is only inferred
    prevented: bool | None  # None: nothing corrupting to prevent


@dataclass(frozen=True)
class _Case:
    index: int
    replay: Replay
    view: SnapshotView
    tail: int | None
    fence: str | None


def what_if(rr: RunReplays, chain: list[FenceRow]) -> list[DesignOutcome]:
    """One outcome per design, in the order of `DESIGNS`."""
    writer = rr.writer_of()
    views: dict[str, SnapshotView] = {}
    cases, unknown = [], 0
    for row in chain:
        if row.writer_class != "replay-origin":
            continue
        r = writer.get(row.index)
        if r is not None and r.id not in views:  # once: a traced view expands its list
            views[r.id] = SnapshotView(rr, r)
        view = views[r.id] if r else None
        if r is None or view is None or not view.known:
            unknown += 1
            continue
        cases.append(_Case(row.index, r, view, row.tail, row.fence))
    bad = {row.index for row in corrupting(chain)}
    run = _tallies(rr.log, cases)
    tests: dict[str, Callable[[_Run, _Case], bool]] = {
        "tail": _tail,
        "state-updated-at": _state_updated_at,
        "state-event-count": _state_event_count,
        "in-band": _in_band,
    }
    return [
        _outcome(rr, key, title, _rejected(rr.log, cases, run, tests[key]), cases, bad, unknown)
        for key, title in DESIGNS
    ]


def _rejected(
    log: RunLog, cases: list[_Case], run: _Run, test: Callable[[_Run, _Case], bool]
) -> list[_Case]:
    """The writes a design rejects; a `createBatch` member goes with its first member."""
    verdict = {c.index: test(run, c) for c in cases}
    return [c for c in cases if verdict.get(log.batch_head(c.index), verdict[c.index])]


def _outcome(
    rr: RunReplays,
    key: str,
    title: str,
    rejected: list[_Case],
    cases: list[_Case],
    bad: set[int],
    unknown: int,
) -> DesignOutcome:
    log = rr.log
    hit = {c.index for c in rejected}
    caught: list[int] = []
    missed: list[int] = []
    for r in {c.replay.id: c.replay for c in cases if c.index in bad}.values():
        first_bad = min((i for i in r.writes if i in bad), key=lambda i: log.rank[i])
        stopped = any(i in hit and log.rank[i] <= log.rank[first_bad] for i in r.writes)
        (caught if stopped else missed).extend(i for i in r.writes if i in bad)
    return DesignOutcome(
        design=key,
        title=title,
        rejected=tuple(sorted(hit, key=lambda i: log.rank[i])),
        caught=tuple(sorted(caught, key=lambda i: log.rank[i])),
        missed=tuple(sorted(missed, key=lambda i: log.rank[i])),
        needless=tuple(sorted(hit - bad, key=lambda i: log.rank[i])),
        evaluated=len(cases),
        unknown=unknown,
        prevented=None if not (caught or missed) else not missed,
    )


@dataclass(frozen=True)
class _Run:
    """One run's counts, built once so that each design judges a write in constant time."""

    log: RunLog
    newest_guard: list[int]  # [r]: newest id time of a guard event among the first r commits
    in_band: list[int]  # [r]: in-band events among the first r commits
    guard_below: dict[int, int]  # write -> guard events committed before it and sorted below it
    held: dict[str, tuple[int, int]]  # replay -> guard and in-band events its snapshot held
    own: dict[tuple[str, int], tuple[int, int]]  # (replay, write) -> see `_own_before`


def _tallies(log: RunLog, cases: list[_Case]) -> _Run:
    """Every count the designs compare, in a few passes over the log instead of one per write."""
    guard = [e.event_type in GUARD_OUT_OF_BAND for e in log.events]
    in_band = [e.event_type not in NOT_IN_BAND for e in log.events]
    minted = ulid_times_ms(e.event_id for e, g in zip(log.events, guard, strict=True) if g)
    stamps = iter(minted)
    times = [(next(stamps) or 0) if g else 0 for g in guard]
    everything = range(len(log.events))
    guard_upto, in_band_upto = prefix_counts(guard, everything), prefix_counts(in_band, everything)
    held_by: dict[str, tuple[int, int]] = {}
    own: dict[tuple[str, int], tuple[int, int]] = {}
    for c in cases:
        if c.replay.id not in held_by:  # per replay: a traced view's count walks its list
            held_by[c.replay.id] = (
                held(log, c.view, guard, guard_upto),
                held(log, c.view, in_band, in_band_upto),
            )
            own.update(_own_before(log, c.replay, c.view, in_band))
    return _Run(
        log=log,
        newest_guard=prefix_newest(times, log.commit),
        in_band=prefix_counts(in_band, log.commit),
        guard_below=earlier_below(log, guard, {c.index for c in cases}),
        held=held_by,
        own=own,
    )


def _own_before(
    log: RunLog, r: Replay, view: SnapshotView, in_band: list[bool]
) -> dict[tuple[str, int], tuple[int, int]]:
    """Per write of `r`: its writes committed earlier, and how many of those are in-band events
    its snapshot also held (the in-band design counts such a write once, not twice)."""
    out: dict[tuple[str, int], tuple[int, int]] = {}
    both = 0
    for k, i in enumerate(sorted(r.writes, key=log.rank.__getitem__)):
        out[r.id, i] = (k, both)
        both += in_band[i] and view.contains(log, i)
    return out


def _tail(run: _Run, c: _Case) -> bool:
    before = run.log.predecessor(c.index)
    return c.fence is not None and (before is None or before.event_id != c.fence)


def _state_updated_at(run: _Run, c: _Case) -> bool:
    if c.tail is None:
        return False
    value = ulid_time_ms(run.log.events[c.tail].event_id)
    if value is None:
        return False
    return run.newest_guard[run.log.rank[c.index]] > value


def _state_event_count(run: _Run, c: _Case) -> bool:
    return run.guard_below[c.index] > run.held[c.replay.id][0]


def _in_band(run: _Run, c: _Case) -> bool:
    own, own_held = run.own[c.replay.id, c.index]
    expected = run.held[c.replay.id][1] - own_held + own
    return run.in_band[run.log.rank[c.index]] != expected

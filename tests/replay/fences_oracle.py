"""The fence chain and what-if designs as first written: plain scans of the log per write.

Quadratic in the events of a run, but short enough to read against replay.md §5, so the tests
hold the library's prefix-count version to it on many small random runs.
"""

from __future__ import annotations

from collections.abc import Callable

from forensics.analysis.ids import ulid_time_ms
from forensics.replay.fences import FenceRow
from forensics.replay.log import RunLog, writer_class
from forensics.replay.replays import Replay, RunReplays
from forensics.replay.whatif import DESIGNS, GUARD_OUT_OF_BAND, NOT_IN_BAND, DesignOutcome


class View:
    """Which log events a replay's snapshot held."""

    def __init__(self, rr: RunReplays, replay: Replay) -> None:
        snap = replay.snapshot
        self.end: int | None = snap.end
        self.missing = frozenset(snap.missing)
        self.ids: frozenset[str] | None = None
        self.known = snap.kind in ("traced", "fenced") and (snap.end is not None or snap.digest)
        if snap.kind == "traced" and replay.traced and replay.traced.digest:
            self.end = rr.traces.prefix_length(replay.traced.digest, rr.log.event_ids)
            if self.end is None:
                self.ids = frozenset(rr.traces.loaded_ids(replay.traced.digest))
        elif snap.kind == "traced":
            self.known = False

    def contains(self, log: RunLog, j: int) -> bool:
        if self.ids is not None:
            return log.events[j].event_id in self.ids
        return self.end is not None and j < self.end and j not in self.missing


def fence_chain(rr: RunReplays) -> list[FenceRow]:
    log = rr.log
    writer = rr.writer_of()
    return [
        _row(rr, rank, i, writer.get(i), View(rr, writer[i]) if i in writer else None)
        for rank, i in enumerate(log.commit)
    ]


def _row(rr: RunReplays, rank: int, i: int, r: Replay | None, view: View | None) -> FenceRow:
    log = rr.log
    e = log.events[i]
    cls = writer_class(e.event_type)
    before = log.predecessor(i)
    fence, source = _fence(log, i, r)
    verdicts: list[str] = []
    if e.fence is not None and e.fence not in log.by_id:
        verdicts.append("stuck-fence")
    elif e.fence is not None and (before is None or e.fence != before.event_id):
        verdicts.append("fence-break")
    missed: tuple[int, ...] = ()
    tail = log.by_id.get(r.snapshot.tail_event_id or "") if r else None
    if cls == "replay-origin" and r is not None and view is not None and view.known:
        own = set(r.writes)
        earlier = log.commit[:rank]
        missed = tuple(sorted(j for j in earlier if j not in own and not view.contains(log, j)))
        if missed:
            verdicts.append("stale-snapshot-write")
    if cls == "replay-origin" and e.fence is None and log.has_fences:
        verdicts.append("unfenced-decision-write")
    symmetry, cause = _symmetry(log, missed, tail)
    return FenceRow(
        rank=rank + 1,
        index=i,
        writer_class=cls,
        writer=r.id if r else None,
        fence=fence,
        fence_source=source,
        chained_from=before.event_id if before else None,
        verdict=verdicts[0] if verdicts else "ok",
        verdicts=tuple(verdicts),
        missed=missed,
        symmetry=symmetry,
        cause=cause,
        tail=tail,
    )


def _fence(log: RunLog, i: int, r: Replay | None) -> tuple[str | None, str | None]:
    e = log.events[i]
    if e.fence is not None:
        return e.fence, "imported"
    if r is None or r.source != "trace" or writer_class(e.event_type) != "replay-origin":
        return None, None
    position = r.writes.index(i)
    if position == 0:
        return r.snapshot.tail_event_id, "trace"
    return log.events[r.writes[position - 1]].event_id, "trace"


def _symmetry(
    log: RunLog, missed: tuple[int, ...], tail: int | None
) -> tuple[str | None, str | None]:
    if not missed:
        return None, None
    below = [j for j in missed if tail is not None and j < tail]
    if not below:
        return "symmetric", None
    if log.commit_basis != "write time" or tail is None:
        return "asymmetric", None
    early = any(log.rank[j] < log.rank[tail] for j in below)
    return "asymmetric", "eventually consistent read" if early else "mint/commit inversion"


Case = tuple[int, Replay, View, int | None, str | None]  # index, replay, view, tail, fence


def what_if(rr: RunReplays, chain: list[FenceRow]) -> list[DesignOutcome]:
    log = rr.log
    writer = rr.writer_of()
    cases: list[Case] = []
    unknown = 0
    for row in chain:
        if row.writer_class != "replay-origin":
            continue
        r = writer.get(row.index)
        view = View(rr, r) if r else None
        if r is None or view is None or not view.known:
            unknown += 1
            continue
        cases.append((row.index, r, view, row.tail, row.fence))
    corrupting = ("stuck-fence", "fence-break", "stale-snapshot-write")
    bad = {row.index for row in chain if row.verdict in corrupting}
    tests: dict[str, Callable[[RunLog, Case], bool]] = {
        "tail": _tail,
        "state-updated-at": _state_updated_at,
        "state-event-count": _state_event_count,
        "in-band": _in_band,
    }
    return [
        _outcome(log, key, title, [c for c in cases if tests[key](log, c)], cases, bad, unknown)
        for key, title in DESIGNS
    ]


def _outcome(
    log: RunLog,
    key: str,
    title: str,
    rejected: list[Case],
    cases: list[Case],
    bad: set[int],
    unknown: int,
) -> DesignOutcome:
    hit = {c[0] for c in rejected}
    caught: list[int] = []
    missed: list[int] = []
    for r in {c[1].id: c[1] for c in cases if c[0] in bad}.values():
        first_bad = min((i for i in r.writes if i in bad), key=lambda i: log.rank[i])
        stopped = any(i in hit and log.rank[i] <= log.rank[first_bad] for i in r.writes)
        (caught if stopped else missed).extend(i for i in r.writes if i in bad)

    def by_rank(indexes: set[int] | list[int]) -> tuple[int, ...]:
        return tuple(sorted(indexes, key=lambda i: log.rank[i]))

    return DesignOutcome(
        design=key,
        title=title,
        rejected=by_rank(hit),
        caught=by_rank(caught),
        missed=by_rank(missed),
        needless=by_rank(hit - bad),
        evaluated=len(cases),
        unknown=unknown,
        prevented=None if not (caught or missed) else not missed,
    )


def _earlier(log: RunLog, i: int) -> list[int]:
    return list(log.commit[: log.rank[i]])


def _tail(log: RunLog, c: Case) -> bool:
    before = log.predecessor(c[0])
    return c[4] is not None and (before is None or before.event_id != c[4])


def _state_updated_at(log: RunLog, c: Case) -> bool:
    index, _, _, tail, _ = c
    if tail is None:
        return False
    value = ulid_time_ms(log.events[tail].event_id)
    if value is None:
        return False
    newest = max(
        (
            ulid_time_ms(log.events[j].event_id) or 0
            for j in _earlier(log, index)
            if log.events[j].event_type in GUARD_OUT_OF_BAND
        ),
        default=0,
    )
    return newest > value


def _state_event_count(log: RunLog, c: Case) -> bool:
    index, _, view, _, _ = c
    seen = sum(
        1
        for j, e in enumerate(log.events)
        if e.event_type in GUARD_OUT_OF_BAND and view.contains(log, j)
    )
    recorded = sum(
        1
        for j in _earlier(log, index)
        if j <= index and log.events[j].event_type in GUARD_OUT_OF_BAND
    )
    return recorded > seen


def _in_band(log: RunLog, c: Case) -> bool:
    index, replay, view, _, _ = c
    own = [i for i in replay.writes if log.rank[i] < log.rank[index]]
    expected = sum(
        1
        for j, e in enumerate(log.events)
        if e.event_type not in NOT_IN_BAND and view.contains(log, j) and j not in own
    ) + len(own)
    committed = sum(1 for j in _earlier(log, index) if log.events[j].event_type not in NOT_IN_BAND)
    return committed != expected

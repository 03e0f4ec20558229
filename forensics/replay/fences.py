"""The fence chain of a run (replay.md §5): every write in commit order, judged.

Each write gets its writer class, the fence it carried (the imported `lastKnownEventId`, or
for a traced replay's write the tail its loaded list ended at, then its own previous write),
the event committed just before it (what a holding CAS chains from) and a verdict:

- `stuck-fence`: the fence names an event id that never landed in the log;
- `fence-break`: an accepted fenced write whose fence is not its predecessor;
- `stale-snapshot-write`: a replay-origin write decided from a known snapshot that missed an
  event committed before the write; *symmetric* when every missed event sorts above the
  snapshot's tail (a tail fence catches it), *asymmetric* when one sorts below it;
- `unfenced-decision-write`: a fenced kind of write without a fence, where the source
  records fences for the run's other writes;
- `ok` otherwise (also for writes whose snapshot is only inferred: nothing to hold against).

The members of one `events.createBatch` call (`RunLog.batch_of`) are one durable write: the
first member is judged as the write, the others chain from it (`batch` names its commit
rank) and are never a fence break or an unfenced write of their own.
"""

from __future__ import annotations

from dataclasses import dataclass

from forensics.replay.log import RunLog, writer_class
from forensics.replay.memo import remembered
from forensics.replay.replays import Replay, RunReplays

VERDICT_ORDER = ("stuck-fence", "fence-break", "stale-snapshot-write", "unfenced-decision-write")


@dataclass(frozen=True, slots=True)
class FenceRow:
    """One write of the chain."""

    rank: int  # 1-based commit position
    index: int  # log index (eventId order)
    writer_class: str
    writer: str | None  # replay id
    fence: str | None
    fence_source: str | None  # imported | trace
    chained_from: str | None  # event id committed just before
    verdict: str
    verdicts: tuple[str, ...]
    missed: tuple[int, ...] = ()  # log indexes the snapshot missed
    symmetry: str | None = None  # symmetric | asymmetric
    cause: str | None = None  # eventually consistent read | mint/commit inversion
    tail: int | None = None  # log index of the snapshot's tail
    batch: int | None = None  # 1-based commit rank of the first member of its createBatch


class SnapshotView:
    """Which log events a replay's snapshot held; prefix snapshots answer in O(1)."""

    def __init__(self, rr: RunReplays, replay: Replay) -> None:
        snap = replay.snapshot
        self.end: int | None = snap.end
        self.missing: frozenset[int] = frozenset(snap.missing)
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
    """Every event of the run in commit order, with its fence and verdict (once per
    `memo.shared_analysis` scope; the list is shared: do not change it)."""
    kept, chain = remembered("chain", id(rr), lambda: (rr, _fence_chain(rr, every=True)))
    return chain if kept is rr else _fence_chain(rr, every=True)


def judged_writes(rr: RunReplays) -> list[FenceRow]:
    """The rows of `fence_chain` that can carry a verdict, in commit order: writes a replay
    made, fenced writes and replay-origin events. The run's other events (out-of-band ones
    nobody fenced: most of a long run) are always `ok` and no replay's; findings and the
    story need none of them, so they are not built."""
    kept, chain = remembered("judged", id(rr), lambda: (rr, _fence_chain(rr, every=False)))
    return chain if kept is rr else _fence_chain(rr, every=False)


def _fence_chain(rr: RunReplays, *, every: bool) -> list[FenceRow]:
    log = rr.log
    events = log.events
    writer = rr.writer_of()
    writers: dict[str, _Writer] = {}
    chain = _Chain(log, _prefix_max(log), log.has_fences)
    rows = []
    for rank, i in enumerate(log.commit):
        r = writer.get(i)
        if r is None and not every:
            e = events[i]
            if e.fence is None and writer_class(e.event_type) != "replay-origin":
                continue
        w = None
        if r is not None:
            if r.id not in writers:  # built once: a traced view expands its list from the store
                writers[r.id] = _Writer(rr, r)
            w = writers[r.id]
        rows.append(_row(chain, rank, i, r, w))
    return rows


@dataclass(frozen=True, slots=True)
class _Chain:
    """What every row of one run's chain looks up, computed once."""

    log: RunLog
    highest: list[int]  # highest[r] = the highest log index among the first r commits
    has_fences: bool  # a walk of the whole log: once, not once per write


def _prefix_max(log: RunLog) -> list[int]:
    """highest[r] = the highest log index among the first r commits."""
    out, best = [-1], -1
    for i in log.commit:
        best = max(best, i)
        out.append(best)
    return out


class _Writer:
    """One replay as the chain meets its writes in commit order: its snapshot, its own writes,
    and the events it has missed so far.

    What a write missed grows with its commit rank, so only a replay's first write looks
    them all up; each later one adds what committed since the previous, and a batch of many
    writes costs the span of the commit order it covers, not its square.
    """

    def __init__(self, rr: RunReplays, replay: Replay) -> None:
        self.view = SnapshotView(rr, replay)
        heads = {rr.log.batch_head(w) for w in replay.writes}
        batched = {j for j, head in rr.log.batch_of.items() if head in heads}
        self.own = frozenset(replay.writes) | batched  # a createBatch write is all its own
        writes = replay.writes
        self.previous: dict[int, int | None] = {}  # write -> the write before it, for `_fence`
        for k, w in enumerate(writes):
            self.previous.setdefault(w, writes[k - 1] if k else None)
        self._scanned: int | None = None  # commit rank below which `_found` is complete
        self._found: list[int] = []
        self._missed: tuple[int, ...] = ()

    def missed(self, chain: _Chain, rank: int) -> tuple[int, ...]:
        """Events committed before commit `rank` that the snapshot did not hold, own aside."""
        log = chain.log
        if self._scanned is None:
            new = self._first(chain, rank)
        else:
            gap = log.commit[self._scanned : rank]
            new = [j for j in gap if j not in self.own and not self.view.contains(log, j)]
        self._scanned = max(rank, self._scanned or 0)
        if new:
            self._found += new
            self._found.sort()
            self._missed = tuple(self._found)
        return self._missed

    def _first(self, chain: _Chain, rank: int) -> list[int]:
        log, view = chain.log, self.view
        if view.ids is not None:
            earlier = log.commit[:rank]
            return [j for j in earlier if j not in self.own and not view.contains(log, j)]
        # A prefix snapshot holds everything below `end` but `missing`: what committed before
        # the write and sorts at or above `end` lies between `end` and the highest such index.
        end = view.end or 0
        above = range(end, chain.highest[rank] + 1)
        below = (j for j in view.missing if j < min(end, len(log.events)))
        return [
            j for part in (above, below) for j in part if log.rank[j] < rank and j not in self.own
        ]


def _row(chain: _Chain, rank: int, i: int, r: Replay | None, w: _Writer | None) -> FenceRow:
    log = chain.log
    e = log.events[i]
    cls = writer_class(e.event_type)
    before = log.predecessor(i)
    fence, source = _fence(log, i, r, w)
    head = log.batch_head(i)
    member = head != i  # a later member of one createBatch write
    head_before = log.predecessor(head)
    chains = {before.event_id if before else None, log.events[head].fence}
    if head_before is not None:
        chains.add(head_before.event_id)
    verdicts: list[str] = []
    if e.fence is not None and e.fence not in log.by_id:
        verdicts.append("stuck-fence")
    elif (
        e.fence is not None
        and (before is None or e.fence != before.event_id)
        and not (member and e.fence in chains)
    ):
        verdicts.append("fence-break")
    missed: tuple[int, ...] = ()
    tail = log.by_id.get(r.snapshot.tail_event_id or "") if r else None
    if cls == "replay-origin" and w is not None and w.view.known:
        missed = w.missed(chain, rank)
        if missed:
            verdicts.append("stale-snapshot-write")
    if cls == "replay-origin" and e.fence is None and chain.has_fences and not member:
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
        batch=log.rank[head] + 1 if i in log.batch_of else None,
    )


def _fence(
    log: RunLog, i: int, r: Replay | None, w: _Writer | None
) -> tuple[str | None, str | None]:
    """The fence a write carried: imported, or derived from its traced replay."""
    e = log.events[i]
    if e.fence is not None:
        return e.fence, "imported"
    if r is None or w is None or r.source != "trace":
        return None, None
    if writer_class(e.event_type) != "replay-origin":
        return None, None
    previous = w.previous[i]
    if previous is None:
        return r.snapshot.tail_event_id, "trace"
    return log.events[previous].event_id, "trace"


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


def corrupting(rows: list[FenceRow]) -> list[FenceRow]:
    """Writes whose verdict says the log was corrupted by them (not merely unfenced)."""
    return [r for r in rows if r.verdict in VERDICT_ORDER[:3]]

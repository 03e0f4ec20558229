"""Counts over one run's log that answer "how many before this write" without a scan per write.

The what-if designs ask, for each write, about the events committed before it (the newest id
time of a kind, how many of a kind, how many of a kind that also sort below it) and about the
events its snapshot held. Prefix arrays over commit rank or log index, and one sweep of the
commit order through a Fenwick tree over log indexes, answer each question in constant or
logarithmic time once built in a single pass.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Sequence

from forensics.replay.fences import SnapshotView
from forensics.replay.log import RunLog


def prefix_counts(flags: Sequence[bool], order: Iterable[int]) -> list[int]:
    """out[k] = how many of the first k indexes of `order` are flagged."""
    out = [0]
    for i in order:
        out.append(out[-1] + flags[i])
    return out


def prefix_newest(values: Sequence[int], order: Iterable[int]) -> list[int]:
    """out[k] = the largest value among the first k indexes of `order` (0 when none is larger)."""
    out = [0]
    for i in order:
        out.append(max(out[-1], values[i]))
    return out


def earlier_below(log: RunLog, flags: Sequence[bool], wanted: Collection[int]) -> dict[int, int]:
    """For each wanted log index i: flagged events committed before events[i], sorted below it.

    The commit order is walked once; a Fenwick tree over log indexes holds the flagged events
    committed so far, so each answer is a prefix sum.
    """
    size = len(log.events)
    tree = [0] * (size + 1)
    out: dict[int, int] = {}
    for i in log.commit:
        if i in wanted:
            k, total = i + 1, 0
            while k:
                total += tree[k]
                k &= k - 1
            out[i] = total
        if flags[i]:
            k = i + 1
            while k <= size:
                tree[k] += 1
                k += k & -k
    return out


def held(log: RunLog, view: SnapshotView, flags: Sequence[bool], upto: Sequence[int]) -> int:
    """How many flagged events the snapshot held; `upto[k]` counts them among events[:k]."""
    if view.ids is not None:
        indexes = (log.by_id.get(event_id) for event_id in view.ids)
        return sum(1 for j in indexes if j is not None and flags[j])
    end = min(view.end or 0, len(log.events))
    return upto[end] - sum(1 for j in view.missing if j < end and flags[j])

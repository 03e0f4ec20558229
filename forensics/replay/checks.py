"""Trace reconciliation (replay.md §6 check 17): digests, holes, and correlation mismatches.

Each traced replay's digest is recomputed at import; here it is compared with the logged
one. Its loaded list must be a subsequence of the final log: an event sorted below its last
loaded event but absent from the list is a *hole* (the replay read a log that lacked an event
already sorted into it, e.g. an eventually consistent read); a loaded event the stored log
does not have is *foreign*. A correlation id that two replays (or a replay and a stored
creation event) map to different step names or tokens is a *mapping conflict*: the replays
took different branches before that draw.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from dataclasses import dataclass

from forensics.replay.log import CREATIONS
from forensics.replay.replays import Replay, RunReplays


@dataclass(frozen=True, slots=True)
class Holes:
    """How a traced list departs from the stored log."""

    missing: tuple[int, ...] = ()  # log indexes below its last loaded event, not loaded
    foreign: tuple[str, ...] = ()  # loaded event ids the stored log lacks
    reordered: tuple[str, ...] = ()  # loaded in another order than the log's

    def __bool__(self) -> bool:
        return bool(self.missing or self.foreign or self.reordered)


def trace_holes(rr: RunReplays) -> dict[str, Holes]:
    """Holes of every traced replay whose list is known (none when the log is absent)."""
    if not rr.log.events:
        return {}
    ids = rr.log.event_ids
    by_digest: dict[str, Holes] = {}
    out: dict[str, Holes] = {}
    for r in rr.replays:
        digest = r.traced.digest if r.traced else None
        if digest is None:
            continue
        if digest not in by_digest:
            known = rr.traces.prefix_length(digest, ids) is not None
            by_digest[digest] = Holes() if known else _compare(rr, digest)
        out[r.id] = by_digest[digest]
    return out


def _compare(rr: RunReplays, digest: str) -> Holes:
    loaded = rr.traces.loaded_ids(digest)
    positions = list(map(rr.log.by_id.get, loaded))
    foreign: tuple[str, ...] = ()
    if None in positions:
        foreign = tuple(i for i, p in zip(loaded, positions, strict=True) if p is None)
    known = [p for p in positions if p is not None]
    reordered: tuple[str, ...] = ()
    if known != sorted(known):
        reordered = tuple(
            rr.log.events[p].event_id for prev, p in itertools.pairwise(known) if p < prev
        )
    last = max(known, default=-1)
    missing = tuple(sorted(set(range(last)).difference(known)))
    return Holes(missing, foreign, reordered)


@dataclass(frozen=True, slots=True)
class MappingConflict:
    """One correlation id, several names: each name with who holds it (`log` = a stored
    creation event; otherwise replay ids)."""

    correlation_id: str
    kind: str
    names: tuple[tuple[str, tuple[str, ...]], ...]
    ordinal: int | None


def mapping_conflicts(rr: RunReplays) -> list[MappingConflict]:
    """Correlation ids allocated to more than one step name or hook token."""
    ids = {r.traced.key: r.id for r in rr.replays if r.traced}
    holders: dict[str, dict[str, list[str]]] = {}
    ordinals: dict[str, int] = {}
    kinds: dict[str, str] = {}
    for (cid, name), subs in rr.traces.subscribers.items():
        if name is None:
            continue
        who = [ids[k] for k in sorted(subs.keys, key=_replay_order(rr)) if k in ids]
        holders.setdefault(cid, {}).setdefault(name, []).extend(who)
        ordinals[cid] = min(subs.ordinal, ordinals.get(cid, subs.ordinal))
        kinds[cid] = subs.kind
    for e in rr.log.events:
        if e.event_type in CREATIONS and e.correlation_id and e.name is not None:
            names = holders.setdefault(e.correlation_id, {}).setdefault(e.name, [])
            if "log" not in names:
                names.append("log")
            kinds.setdefault(e.correlation_id, e.event_type.split("_", 1)[0])
    return [
        MappingConflict(
            cid,
            kinds.get(cid, "step"),
            tuple((name, tuple(who)) for name, who in sorted(names.items())),
            ordinals.get(cid),
        )
        for cid, names in holders.items()
        if len(names) > 1
    ]


def _replay_order(rr: RunReplays) -> Callable[[int], int]:
    """Trace keys in the order the replays are listed (time order inside each group)."""
    order = {r.traced.key: n for n, r in enumerate(rr.replays) if r.traced}
    return lambda key: order.get(key, len(order))


@dataclass(frozen=True, slots=True)
class DigestMismatch:
    """A traced replay whose logged digest or count disagrees with its own list."""

    replay: Replay
    logged_digest: str | None
    digest: str | None
    logged_count: int | None
    count: int | None


def digest_mismatches(rr: RunReplays) -> list[DigestMismatch]:
    out = []
    for r in rr.replays:
        t = r.traced
        if t is None or t.digest is None:
            continue
        differs = t.logged_digest is not None and t.logged_digest != t.digest
        miscounted = t.logged_event_count is not None and t.logged_event_count != t.loaded_count
        if differs or miscounted:
            out.append(
                DigestMismatch(r, t.logged_digest, t.digest, t.logged_event_count, t.loaded_count)
            )
    return out

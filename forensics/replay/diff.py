"""Two views of one run's log compared by what they mean, not line by line.

A side is a replay (`inv269`, `r3`), a digest prefix (that snapshot; its first traced
replay speaks for it), `log` (the final log) or `log@EVENT` (the log up to an event id, a
unique end of one, or a position). Events are keyed by correlation id, type and occurrence,
so the same event in both is matched wherever it sits: the diff lists events only in A,
only in B, and moved (in both, out of relative order); the first position where the two
lists differ; correlation ids each side maps to different names (the *correlation
mismatch*); and the writes each side made.
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime

from forensics.errors import UsageError
from forensics.replay.log import CREATIONS
from forensics.replay.replays import Replay, RunReplays
from forensics.replay.traced import Item, Mismatch

Key = tuple[str, str, int]  # correlation id (or ""), event type, occurrence


@dataclass(frozen=True)
class Side:
    """One side of a diff: its loaded events and what it mapped each correlation id to."""

    label: str
    kind: str  # replay | digest | log
    events: tuple[Item, ...]
    mapping: dict[str, tuple[str, ...]]  # correlation id -> names (steps, tokens)
    ordinals: dict[str, int] = field(default_factory=dict)
    replays: tuple[Replay, ...] = ()
    writes: tuple[int, ...] = ()
    digest: str | None = None

    @property
    def replay(self) -> Replay | None:
        return self.replays[0] if self.replays else None

    @property
    def mismatch(self) -> Mismatch | None:
        return self.replay.mismatch if self.replay else None

    @property
    def at(self) -> datetime | None:
        return self.replay.at if self.replay else None


@dataclass(frozen=True, slots=True)
class Placed:
    """An event of a side with its 1-based position there."""

    key: Key
    item: Item
    position: int


@dataclass(frozen=True)
class Diff:
    a: Side
    b: Side
    only_a: tuple[Placed, ...]
    only_b: tuple[Placed, ...]
    moved: tuple[tuple[Placed, Placed], ...]
    first_divergence: tuple[int, Placed | None, Placed | None] | None
    conflicts: tuple[tuple[str, tuple[str, ...], tuple[str, ...]], ...]


def resolve(rr: RunReplays, spec: str) -> Side:
    """The side `spec` names; a `UsageError` lists what exists when it names nothing."""
    if spec == "log" or spec.startswith("log@"):
        return _log_side(rr, spec)
    replay = rr.get(spec)
    if replay is not None:
        return _replay_side(rr, spec, (replay,))
    digests = {r.snapshot.digest for r in rr.replays if r.snapshot.digest}
    hits = sorted(d for d in digests if len(spec) >= 4 and d.startswith(spec.lower()))
    if len(hits) == 1:
        members = tuple(r for r in rr.replays if r.snapshot.digest == hits[0])
        members = tuple(sorted(members, key=lambda r: r.source != "trace"))
        return _replay_side(rr, hits[0][:8], members, kind="digest")
    shown = ", ".join(r.id for r in rr.replays[:12])
    raise UsageError(
        f"{spec!r} is not a replay id, digest prefix, `log` or `log@EVENT` of {rr.log.run_id}"
        + (f" (it matches {len(hits)} digests)" if hits else ""),
        hint=f"list them with `forensics replays {rr.log.run_id}`; ids: {shown}",
    )


def _log_side(rr: RunReplays, spec: str) -> Side:
    events = rr.log.events
    end = len(events)
    if spec.startswith("log@"):
        end = _log_end(rr, spec[4:])
    chosen = events[:end]
    mapping: dict[str, tuple[str, ...]] = {}
    for e in chosen:
        if e.event_type in CREATIONS and e.correlation_id and e.name:
            names = mapping.get(e.correlation_id, ())
            if e.name not in names:
                mapping[e.correlation_id] = (*names, e.name)
    items = tuple((e.event_id, e.event_type, e.correlation_id, e.step_name) for e in chosen)
    return Side(spec, "log", items, mapping)


def _log_end(rr: RunReplays, ref: str) -> int:
    if ref.isdigit() and int(ref) <= len(rr.log.events):
        return int(ref)
    if ref in rr.log.by_id:
        return rr.log.by_id[ref] + 1
    hits = [e.index for e in rr.log.events if ref and e.event_id.endswith(ref)]
    if len(hits) == 1:
        return hits[0] + 1
    raise UsageError(
        f"log@{ref}: {'several' if hits else 'no'} events of {rr.log.run_id} match {ref!r}",
        hint="give an event id, a unique end of one, or a position (log@205)",
    )


def _replay_side(
    rr: RunReplays, label: str, members: tuple[Replay, ...], *, kind: str = "replay"
) -> Side:
    first = members[0]
    items = tuple(_loaded(rr, first))
    mapping: dict[str, tuple[str, ...]] = {}
    ordinals: dict[str, int] = {}
    if first.traced is not None:
        for sub in rr.traces.subscriptions(first.traced.key):
            ordinals[sub.correlation_id] = sub.seq - 1
            if sub.name is not None:
                mapping[sub.correlation_id] = (sub.name,)
    else:
        for j in (*range(first.snapshot.end or 0), *first.writes):
            e = rr.log.events[j]
            if e.event_type in CREATIONS and e.correlation_id and e.name:
                mapping.setdefault(e.correlation_id, (e.name,))
    writes = tuple(i for r in members for i in r.writes)
    return Side(label, kind, items, mapping, ordinals, members, writes, first.snapshot.digest)


def _loaded(rr: RunReplays, r: Replay) -> list[Item]:
    snap = r.snapshot
    if r.traced is not None and r.traced.digest:
        return rr.traces.loaded(r.traced.digest)
    if snap.end is None:
        return []
    gone = set(snap.missing)
    return [
        (e.event_id, e.event_type, e.correlation_id, e.step_name)
        for e in rr.log.events[: snap.end]
        if e.index not in gone
    ]


def keyed(items: Sequence[Item]) -> list[Placed]:
    """Each event keyed by (correlation id, type, occurrence of that pair)."""
    seen: dict[tuple[str, str], int] = {}
    out = []
    for n, item in enumerate(items, start=1):
        pair = (item[2] or "", item[1])
        seen[pair] = seen.get(pair, 0) + 1
        out.append(Placed((pair[0], pair[1], seen[pair]), item, n))
    return out


def diff(a: Side, b: Side) -> Diff:
    ka, kb = keyed(a.events), keyed(b.events)
    in_a = {p.key: p for p in ka}
    in_b = {p.key: p for p in kb}
    common = [p for p in ka if p.key in in_b]
    steady = _longest_increasing([in_b[p.key].position for p in common])
    moved = tuple((p, in_b[p.key]) for n, p in enumerate(common) if n not in steady)
    first = next(
        (
            n
            for n in range(max(len(ka), len(kb)))
            if n >= len(ka) or n >= len(kb) or ka[n].key != kb[n].key
        ),
        None,
    )
    divergence = None
    if first is not None:
        divergence = (
            first + 1,
            ka[first] if first < len(ka) else None,
            kb[first] if first < len(kb) else None,
        )
    conflicts = tuple(
        (cid, a.mapping[cid], b.mapping[cid])
        for cid in a.mapping
        if cid in b.mapping and set(a.mapping[cid]) != set(b.mapping[cid])
    )
    return Diff(
        a,
        b,
        tuple(p for p in ka if p.key not in in_b),
        tuple(p for p in kb if p.key not in in_a),
        moved,
        divergence,
        conflicts,
    )


def _longest_increasing(values: list[int]) -> set[int]:
    """Indexes of one longest strictly increasing subsequence of `values`."""
    tails: list[int] = []
    tail_at: list[int] = []
    parent = [-1] * len(values)
    for n, v in enumerate(values):
        k = bisect_left(tails, v)
        if k == len(tails):
            tails.append(v)
            tail_at.append(n)
        else:
            tails[k] = v
            tail_at[k] = n
        parent[n] = tail_at[k - 1] if k else -1
    out: set[int] = set()
    n = tail_at[-1] if tail_at else -1
    while n != -1:
        out.add(n)
        n = parent[n]
    return out

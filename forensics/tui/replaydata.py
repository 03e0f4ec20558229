"""The replay engine's results shaped for the replays, diff and fences screens.

The engine (`forensics.replay`) decides; this module only regroups its plain rows: replays
by digest group, a diff as aligned left/right lines, the fence chain and the what-if table.
Pure functions over a `RunReplays`, so the screens' workers call them and tests check them.
"""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import duckdb

from forensics.replay import views
from forensics.replay.checks import trace_holes
from forensics.replay.diff import Diff, Placed, diff, keyed, resolve
from forensics.replay.explain import placed_label
from forensics.replay.fences import fence_chain
from forensics.replay.replays import RunReplays, run_replays
from forensics.replay.whatif import what_if

Row = tuple[Any, ...]


@dataclass
class SharedReplays:
    """A run's replays, handed from screen to screen, used by one worker at a time.

    The engine reads trace lists lazily through a cursor, so each use gets a fresh one
    (closed afterwards: the store is not held between uses, and writers can get in), and a
    lock keeps two screens' workers from using the replays at once.
    """

    run_id: str
    rr: RunReplays
    cursor: Callable[[], duckdb.DuckDBPyConnection]
    lock: threading.Lock = field(default_factory=threading.Lock)

    @contextmanager
    def use(self) -> Iterator[RunReplays]:
        with self.lock:
            cur = self.cursor()
            self.rr.traces.con = cur
            try:
                yield self.rr
            finally:
                cur.close()


def load_replays(cursor: Callable[[], duckdb.DuckDBPyConnection], run_id: str) -> SharedReplays:
    """Build the run's replays on a cursor of their own, closed once they are built."""
    cur = cursor()
    try:
        rr = run_replays(cur, run_id)
    finally:
        cur.close()
    return SharedReplays(run_id, rr, cursor)


@dataclass(frozen=True)
class ReplayGroup:
    """Replays that loaded one snapshot (one digest), as one line of the replays screen."""

    group: str
    spec: str  # what `diff` takes for it: a digest prefix, or its replay id
    digest: str | None
    count: int
    events: int | None
    tail: str | None
    outcome: str
    source: str
    writes: int
    mismatch: str | None
    members: tuple[dict[str, Any], ...]

    def row(self) -> Row:
        return (self.group, self.digest or "", self.count, self.events, self.tail, self.outcome,
                self.source, self.writes, self.mismatch, self.spec)  # fmt: skip


GROUP_FIELDS = ("group", "digest", "count", "events", "tail", "outcome", "source", "writes",
                "mismatch", "spec")  # fmt: skip


def _tally(values: Sequence[Any]) -> str:
    counts = Counter(str(v) for v in values if v is not None)
    if not counts:
        return "?"
    if len(counts) == 1:
        return next(iter(counts))
    return ", ".join(f"{name} ×{n}" for name, n in counts.most_common())


def first_notable(groups: Sequence[ReplayGroup]) -> int:
    """Where the replays screen opens: the first group whose replays wrote from a snapshot
    with a hole, logged a mismatch, failed, or wrote more than once from one snapshot (two
    writers racing); the first group when none did."""
    for n, g in enumerate(groups):
        holes = any(m["holes"] for m in g.members)
        writers = sum(1 for m in g.members if m["writes"])
        if holes or g.mismatch or "failed" in g.outcome or writers > 1:
            return n
    return 0


def replay_groups(rr: RunReplays) -> list[ReplayGroup]:
    """The run's replays grouped by digest, in the engine's (time) order."""
    rows = views.replay_rows(rr, trace_holes(rr))
    order: dict[str, list[dict[str, Any]]] = {}
    for row in rows:
        order.setdefault(str(row["group"]), []).append(row)
    groups = []
    for name, members in order.items():
        first = members[0]
        digest = first["digest"]
        groups.append(
            ReplayGroup(
                group=name,
                spec=str(digest)[:8] if digest else str(first["replay"]),
                digest=digest,
                count=len(members),
                events=first["events"],
                tail=first["tail"],
                outcome=_tally([m["outcome"] for m in members]),
                source=_tally([m["source"] for m in members]),
                writes=sum(int(m["writes"] or 0) for m in members),
                mismatch=next((m["mismatch"] for m in members if m["mismatch"]), None),
                members=tuple(members),
            )
        )
    return groups


# -- diff -------------------------------------------------------------------------------

DIFF_FIELDS = ("mark", "a_pos", "a_label", "b_pos", "b_label", "kind")
MARKS = {"same": " ", "only-a": "-", "only-b": "+", "moved": "~", "conflict": "≠"}


@dataclass(frozen=True)
class DiffView:
    """A diff ready to draw: titles, the explanation, and aligned lines."""

    a: str
    b: str
    explanation: tuple[str, ...]
    first_divergence: str | None
    rows: tuple[Row, ...]
    counts: dict[str, int]


def _line(kind: str, left: Placed | None, right: Placed | None) -> Row:
    return (
        MARKS[kind],
        left.position if left else None,
        placed_label(left) if left else "",
        right.position if right else None,
        placed_label(right) if right else "",
        kind,
    )


def aligned(d: Diff) -> list[Row]:
    """Both sides line by line: matched events side by side, the rest on their own side.

    Events match by (correlation id, type, occurrence), as the engine keys them; a match
    that keeps both orders sits on one line, a moved one shows on each side separately.
    """
    ka, kb = keyed(d.a.events), keyed(d.b.events)
    moved_a = {p.key for p, _ in d.moved}
    only_a = {p.key for p in d.only_a}
    only_b = {p.key for p in d.only_b}
    conflicting = {cid for cid, _, _ in d.conflicts}
    out: list[Row] = []
    i = j = 0
    while i < len(ka) or j < len(kb):
        left = ka[i] if i < len(ka) else None
        right = kb[j] if j < len(kb) else None
        if left is not None and (left.key in only_a or left.key in moved_a):
            out.append(_line("only-a" if left.key in only_a else "moved", left, None))
            i += 1
        elif right is not None and (right.key in only_b or right.key in moved_a):
            out.append(_line("only-b" if right.key in only_b else "moved", None, right))
            j += 1
        elif left is not None and right is not None:
            kind = "conflict" if left.key[0] in conflicting else "same"
            out.append(_line(kind, left, right))
            i, j = i + 1, j + 1
        elif left is not None:  # cannot happen for a consistent diff; never loop forever
            out.append(_line("only-a", left, None))
            i += 1
        else:
            out.append(_line("only-b", None, right))
            j += 1
    return out


def diff_view(rr: RunReplays, spec_a: str, spec_b: str) -> DiffView:
    """The diff of two sides of the run (`UsageError` when a spec names nothing)."""
    d = diff(resolve(rr, spec_a), resolve(rr, spec_b))
    info = views.diff_info(rr, d)
    first = info["first_divergence"]
    where = None
    if first is not None:
        left = first["a"]["label"] if first["a"] else "(nothing)"
        right = first["b"]["label"] if first["b"] else "(nothing)"
        where = f"first divergence at #{first['position']}: {d.a.label} has {left}, " \
                f"{d.b.label} has {right}"  # fmt: skip
    rows = aligned(d)
    counts = Counter(str(r[5]) for r in rows)
    return DiffView(
        _side_title(info["a"]), _side_title(info["b"]), tuple(info["explanation"]), where,
        tuple(rows), dict(counts),
    )  # fmt: skip


def _side_title(side: dict[str, Any]) -> str:
    text = f"{side['label']} ({side['kind']}, {side['events']} events"
    if side["digest"]:
        text += f", digest {str(side['digest'])[:8]}"
    return text + ")"


# -- fences -----------------------------------------------------------------------------

CHAIN_FIELDS = ("n", "event", "class", "writer", "fence", "chained_from", "verdict", "detail")
WHATIF_FIELDS = ("design", "verdict", "rejects", "evaluated")


def fences_view(rr: RunReplays) -> tuple[list[Row], list[Row]]:
    """The fence chain in commit order, and one what-if line per fence design."""
    chain = fence_chain(rr)
    chain_rows = [tuple(r[f] for f in CHAIN_FIELDS) for r in views.fence_rows(rr, chain)]
    whatif = [
        (r["design"], r["verdict"], ", ".join(r["rejects"]) or "nothing", r["evaluated"])
        for r in views.what_if_rows(rr, what_if(rr, chain))
    ]
    return chain_rows, whatif

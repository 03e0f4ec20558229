"""One run's traced replays as stored by `forensics import trace`, with their loaded lists.

Loaded lists are kept once per digest as ranges over the run's distinct trace items; this
module expands them on demand (only for the replays a question is about) and answers the
one cheap question every replay needs: is its list exactly a prefix of the stored log?
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Final

import duckdb

from forensics.store.traces import expand_ranges

Item = tuple[str, str, str | None, str | None]  # event id, type, correlation id, step name


@dataclass(frozen=True, slots=True)
class Subscription:
    """Draw `seq` (from 1; the ordinal is seq - 1) of a replay: a step, hook or sleep."""

    seq: int
    kind: str
    correlation_id: str
    name: str | None


@dataclass(frozen=True, slots=True)
class Mismatch:
    """A step consumer mismatch a replay logged (or its run_failed message reported)."""

    correlation_id: str | None
    expected: str | None
    found: str | None
    event_id: str | None
    event_type: str | None
    event_index: int | None


@dataclass(frozen=True, slots=True)
class Traced:
    """One traced replay: what it loaded (by digest), subscribed, and how it ended."""

    key: int
    stream: str
    pid: int | None
    inv: int
    workflow_name: str | None
    run_started_at: datetime | None
    logged_event_count: int | None
    loaded_count: int | None
    logged_digest: str | None
    digest: str | None
    tail_event_id: str | None
    outcome: str | None
    error: str | None
    started_log_at: datetime | None
    ended_log_at: datetime | None
    request_id: str | None
    has_start: bool
    location: str
    position: str | None
    mismatches: tuple[Mismatch, ...] = ()

    @property
    def group_digest(self) -> str | None:
        """The digest it groups by: recomputed, else the logged one (list lost)."""
        return self.digest or self.logged_digest


@dataclass(frozen=True, slots=True)
class Subscribers:
    """Who subscribed one correlation id under one name (`None` for sleeps)."""

    kind: str
    keys: frozenset[int]
    ordinal: int


@dataclass
class TraceSet:
    """A run's traced replays and the means to expand their loaded lists.

    Subscriptions are many (every replay draws every entity again), so they are read
    grouped by (correlation id, name) for the whole run, and one replay's in full only
    when asked (`subscriptions`).
    """

    run_id: str
    replays: tuple[Traced, ...]
    con: duckdb.DuckDBPyConnection = field(repr=False)
    ranges: dict[str, tuple[list[int], list[int]]] = field(default_factory=dict, repr=False)
    subscribers: dict[tuple[str, str | None], Subscribers] = field(default_factory=dict)
    _items: list[Item] | None = field(default=None, repr=False)
    _item_ids: list[str] | None = field(default=None, repr=False)
    _aligned: tuple[int, int] = field(default=(-1, 0), repr=False)

    def items(self) -> list[Item]:
        if self._items is None:
            rows = self.con.execute(
                "SELECT event_id, event_type, correlation_id, step_name FROM trace_items"
                " WHERE run_id = ? ORDER BY item",
                [self.run_id],
            ).fetchall()
            self._items = [(r[0], r[1], r[2], r[3]) for r in rows]
        return self._items

    def item_ids(self) -> list[str]:
        """Event ids of the run's trace items (all a prefix check needs)."""
        if self._item_ids is None:
            rows = self.con.execute(
                "SELECT event_id FROM trace_items WHERE run_id = ? ORDER BY item", [self.run_id]
            ).fetchall()
            self._item_ids = [r[0] for r in rows]
        return self._item_ids

    def loaded(self, digest: str) -> list[Item]:
        """The loaded events of the snapshot with this digest, in loaded order."""
        starts, stops = self.ranges.get(digest, ([], []))
        return list(map(self.items().__getitem__, expand_ranges(starts, stops)))

    def loaded_ids(self, digest: str) -> list[str]:
        starts, stops = self.ranges.get(digest, ([], []))
        return list(map(self.item_ids().__getitem__, expand_ranges(starts, stops)))

    def prefix_length(self, digest: str, log_ids: list[str]) -> int | None:
        """n when the snapshot is exactly the log's first n events (`log_ids`), else None."""
        starts, stops = self.ranges.get(digest, ([], []))
        if len(starts) != 1:
            return None if starts else 0
        ids = self.item_ids()
        a, b = starts[0], stops[0]
        if a == 0 and b <= self._common_prefix(log_ids):
            return b
        return b - a if ids[a:b] == log_ids[: b - a] else None

    def _common_prefix(self, log_ids: list[str]) -> int:
        """How many leading items are the log's leading events (computed once per log)."""
        if self._aligned[0] != id(log_ids):
            ids = self.item_ids()
            n = 0
            for a, b in zip(ids, log_ids, strict=False):
                if a != b:
                    break
                n += 1
            self._aligned = (id(log_ids), n)
        return self._aligned[1]

    def subscriptions(self, key: int) -> tuple[Subscription, ...]:
        """One replay's subscriptions in draw order."""
        rows = self.con.execute(
            "SELECT seq, kind, correlation_id, name FROM trace_subscriptions"
            " WHERE replay_key = ? ORDER BY seq",
            [key],
        ).fetchall()
        return tuple(Subscription(*row) for row in rows)


_FIELDS: Final = (
    ("key", "replay_key"), ("stream", "stream"), ("pid", "pid"), ("inv", "inv"),
    ("workflow_name", "workflow_name"), ("run_started_at", "run_started_at"),
    ("logged_event_count", "logged_event_count"), ("loaded_count", "loaded_count"),
    ("logged_digest", "logged_digest"), ("digest", "digest"),
    ("tail_event_id", "tail_event_id"), ("outcome", "outcome"), ("error", "error"),
    ("started_log_at", "started_log_at"), ("ended_log_at", "ended_log_at"),
    ("request_id", "request_id"), ("has_start", "has_start"),
    ("location", "source_location"), ("position", "source_position"),
)  # fmt: skip
_REPLAYS: Final = (
    "SELECT " + ", ".join(column for _, column in _FIELDS) + " FROM trace_replays"
    " WHERE run_id = ? ORDER BY started_log_at NULLS LAST, replay_key"
)


def has_trace_tables(con: duckdb.DuckDBPyConnection) -> bool:
    """False for a store last written by a version without traces (opened read-only)."""
    rows = con.execute(
        "SELECT count(*) FROM information_schema.tables WHERE table_name = 'trace_replays'"
    ).fetchall()
    return bool(rows and rows[0][0])


def load_traces(con: duckdb.DuckDBPyConnection, run_id: str) -> TraceSet:
    """Every traced replay of the run, oldest log time first."""
    if not has_trace_tables(con):
        return TraceSet(run_id, (), con)
    rows = con.execute(_REPLAYS, [run_id]).fetchall()
    subscribers = {
        (cid, name): Subscribers(kind, frozenset(keys), int(first) - 1)
        for cid, name, kind, keys, first in con.execute(
            "SELECT s.correlation_id, s.name, min(s.kind), list(DISTINCT s.replay_key),"
            " min(s.seq) FROM trace_subscriptions s JOIN trace_replays r USING (replay_key)"
            " WHERE r.run_id = ? GROUP BY s.correlation_id, s.name",
            [run_id],
        ).fetchall()
    }
    mismatches: dict[int, list[Mismatch]] = {}
    for row in con.execute(
        "SELECT m.replay_key, m.correlation_id, m.expected_step_name, m.event_step_name,"
        " m.event_id, m.event_type, m.event_index"
        " FROM trace_mismatches m JOIN trace_replays r USING (replay_key) WHERE r.run_id = ?",
        [run_id],
    ).fetchall():
        mismatches.setdefault(row[0], []).append(Mismatch(*row[1:]))
    names = [d[0] for d in _FIELDS]
    replays = tuple(
        Traced(**dict(zip(names, row, strict=True)), mismatches=tuple(mismatches.get(row[0], ())))
        for row in rows
    )
    ranges = {
        str(d): (list(a), list(b))
        for d, a, b in con.execute(
            "SELECT digest, starts, stops FROM trace_snapshots WHERE run_id = ?", [run_id]
        ).fetchall()
    }
    return TraceSet(run_id, replays, con, ranges, subscribers)

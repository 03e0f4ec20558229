"""One run's stored log as the replay analysis needs it: eventId order and commit order.

A replay loads the log in eventId order; writers commit in another order. Commit order is
the write time where the source records one for every event of the run, else eventId order
(the order ids were minted in). Where a world mints the ids of one write in any order
(world-local 5.x with ULIDs), a creation comes before the events of its entity written with
it, as the runtime reads them. Each event carries what the digest formula needs (type,
correlation id, step name), its hook token, its times and the fence its writer sent.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Final

import duckdb

from forensics.analysis.versions import line_of_run
from forensics.analysis.vocab import OUT_OF_BAND, REPLAY_ORIGIN
from forensics.store.schema import copy_order
from forensics.store.traces import item_line

_EPOCH: Final = datetime(1970, 1, 1, tzinfo=UTC)
CREATIONS: Final = frozenset({"step_created", "hook_created", "wait_created"})
RUN_ENDS: Final = frozenset({"run_completed", "run_failed"})
EXECUTOR: Final = frozenset({"step_started", "step_retrying"})
"""Step executor writes: not replay decisions, and out of band for the in-band count."""


def writer_class(event_type: str) -> str:
    """`replay-origin` (a decision from a loaded log), `out-of-band`, or `other`."""
    if event_type in REPLAY_ORIGIN:
        return "replay-origin"
    if event_type in OUT_OF_BAND or event_type in EXECUTOR:
        return "out-of-band"
    return "other"


@dataclass(frozen=True, slots=True)
class LogEvent:
    """One event of the final log; `index` is its 0-based place in eventId order."""

    index: int
    event_id: str
    event_type: str
    correlation_id: str | None
    step_name: str | None
    token: str | None
    created_us: int | None  # epoch microseconds: cheap to fetch and compare
    write_us: int | None
    fence: str | None
    message: str | None

    @property
    def line(self) -> str:
        return item_line(self.event_id, self.event_type, self.correlation_id, self.step_name)

    @property
    def name(self) -> str | None:
        """What a replay allocates the entity as: its step name or hook token."""
        return self.step_name if self.event_type.startswith("step_") else self.token

    @property
    def committed_us(self) -> int | None:
        return self.write_us if self.write_us is not None else self.created_us

    @property
    def created_at(self) -> datetime | None:
        return _when(self.created_us)

    @property
    def write_time(self) -> datetime | None:
        return _when(self.write_us)

    @property
    def committed_at(self) -> datetime | None:
        return _when(self.committed_us)


def _when(us: int | None) -> datetime | None:
    return None if us is None else _EPOCH + timedelta(microseconds=us)


@dataclass(frozen=True)
class RunLog:
    """A run's events in eventId order plus commit order (indexes into `events`)."""

    run_id: str
    workflow_name: str | None
    started_at: datetime | None
    events: tuple[LogEvent, ...]
    commit: tuple[int, ...]
    commit_basis: str  # "write time" | "eventId"
    by_id: dict[str, int] = field(repr=False)
    rank: tuple[int, ...] = field(repr=False)  # commit rank of events[i]
    event_ids: list[str] = field(repr=False, default_factory=list)  # events' ids, in order

    @property
    def has_fences(self) -> bool:
        return any(e.fence for e in self.events)

    def event(self, event_id: str) -> LogEvent | None:
        index = self.by_id.get(event_id)
        return None if index is None else self.events[index]

    def predecessor(self, index: int) -> LogEvent | None:
        """The event committed just before `events[index]`."""
        rank = self.rank[index]
        return self.events[self.commit[rank - 1]] if rank else None


# The run's copy of each event as `run_log` chooses it (a copy that knows its write time and
# fence first, then the earliest import), filtered to the run before the window: the view
# numbers every run's events, which costs a sort of the whole table per question.
_SQL: Final = """
SELECT event_id, event_type, correlation_id,
    json_extract_string(event_data, '$.stepName'),
    json_extract_string(event_data, '$.token'),
    epoch_us(created_at), epoch_us(write_time), fence_last_event_id,
    CASE WHEN event_type IN ('run_failed', 'workflow_failed') THEN coalesce(
        json_extract_string(payload_decoded, '$.message'),
        json_extract_string(event_data, '$.error.message')) END
FROM events
WHERE run_id = ? AND NOT staged
QUALIFY row_number() OVER (
    PARTITION BY event_id
    ORDER BY {COPY_ORDER}
) = 1
ORDER BY event_id
""".replace("{COPY_ORDER}", copy_order())


def load_log(con: duckdb.DuckDBPyConnection, run_id: str) -> RunLog:
    """The run's log (empty when only traces of it were imported)."""
    rows = con.execute(_SQL, [run_id]).fetchall()
    if line_of_run(con, run_id).one_write_any_id_order:
        rows = creations_first(rows)
    events = tuple(LogEvent(n, *row) for n, row in enumerate(rows))
    head = con.execute(
        "SELECT workflow_name, started_at FROM runs WHERE run_id = ?", [run_id]
    ).fetchall()
    workflow, started = head[0] if head else (None, None)
    return build_log(run_id, workflow, started, events)


def creations_first(rows: list[Any]) -> list[Any]:
    """Rows (event id, type, correlation id, ..., created µs, ...) with each creation moved
    before the events of its entity that sort before it but were written in the same
    millisecond: one write, whose ids a world-local 5.x ULID world minted in any order."""
    out = list(rows)
    for row in rows:
        if row[1] not in CREATIONS:
            continue
        j = out.index(row)
        while j > 0 and _same_write(out[j - 1], row):
            out[j - 1], out[j] = out[j], out[j - 1]
            j -= 1
    return out


def _same_write(earlier: Any, creation: Any) -> bool:
    ms = (earlier[5] or 0) // 1000, (creation[5] or 0) // 1000
    return bool(earlier[2] == creation[2] and earlier[5] is not None and ms[0] == ms[1])


def build_log(
    run_id: str,
    workflow_name: str | None,
    started_at: datetime | None,
    events: tuple[LogEvent, ...],
) -> RunLog:
    """A `RunLog` over events already in eventId order."""
    timed = bool(events) and all(e.write_us is not None for e in events)
    if timed:
        commit = tuple(sorted(range(len(events)), key=lambda i: (events[i].write_us or 0, i)))
    else:
        commit = tuple(range(len(events)))
    rank = [0] * len(events)
    for r, i in enumerate(commit):
        rank[i] = r
    return RunLog(
        run_id=run_id,
        workflow_name=workflow_name,
        started_at=started_at,
        events=events,
        commit=commit,
        commit_basis="write time" if timed else "eventId",
        by_id={e.event_id: e.index for e in events},
        rank=tuple(rank),
        event_ids=[e.event_id for e in events],
    )


def late_candidates(log: RunLog) -> tuple[int, ...]:
    """Events committed after some event that sorts above them (mint/commit inversions).

    Only these can be missing from a snapshot that is otherwise a prefix of the log, so
    snapshot computations look at them alone instead of at every event.
    """
    out: list[int] = []
    lowest = len(log.events)
    for i in range(len(log.events) - 1, -1, -1):
        if log.rank[i] > lowest:
            out.append(i)
        lowest = min(lowest, log.rank[i])
    return tuple(reversed(out))

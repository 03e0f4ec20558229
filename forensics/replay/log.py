"""One run's stored log as the replay analysis needs it: replay order and commit order.

A replay loads the log in the order its world lists it. For slot ids (spec 6 on) that is the
position each id carries, allocated when the write commits: upstream's runtime reads a
position out of every id it loads (`requireEventSlot`) and requires them dense from 1, so
replay order is commit order (`@workflow/world`'s event-log contract). ULID logs are listed
in eventId order; writers commit in another order. Commit order is the write time where the
source records one for every event of the run, else the listing order. Where a world mints
the ids of one write in any order (world-local 5.x with ULIDs), a creation comes before the
events of its entity written with it: that order is inferred, not read from upstream.

On slot logs of the 5.x line, the events of one `events.createBatch` call are one durable
write (`batch_of`): upstream lands them in request order at consecutive slots, atomically,
for a suspension's `step_created`/`wait_created` fan-out (a `step_started` may follow its own
`step_created` in it) and for a sequential step transition (the finished step's
`step_completed`, then the next step born running). The log carries no batch id, so a
batch is recognised by its shape (inferred): consecutive positions, only those kinds,
`createdAt` (the request's `occurredAt`) within `BATCH_SPREAD_US` of the first member, one
fence or none.
Each event carries what the digest formula needs (type, correlation id, step name), its hook
token, its times and the fence its writer sent.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import Any, Final, NamedTuple

import duckdb

from forensics.analysis.versions import SPEC_SLOT_IDS, judgement_of_run
from forensics.analysis.vocab import OUT_OF_BAND, REPLAY_ORIGIN
from forensics.store.schema import copy_order
from forensics.store.traces import item_line

_EPOCH: Final = datetime(1970, 1, 1, tzinfo=UTC)
CREATIONS: Final = frozenset({"step_created", "hook_created", "wait_created"})
RUN_ENDS: Final = frozenset({"run_completed", "run_failed"})
EXECUTOR: Final = frozenset({"step_started", "step_retrying"})
"""Step executor writes: not replay decisions, and out of band for the in-band count."""
NOOP: Final = "noop"
"""A sealed log's filler (spec 7): it occupies an abandoned slot and carries no meaning."""
BATCHED: Final = frozenset({"step_created", "wait_created"})
"""What the 5.x runtime folds into one `events.createBatch` write (a suspension's fan-out)."""
BATCH_SPREAD_US: Final = 5_000
"""Members of one batch carry `createdAt` within this many µs of the first (inferred: the
runtime stamps each request's `occurredAt` as it folds them; world-local's born-running
`step_created` + `step_started` share one millisecond, while separate writes of one run's
replay lie 10 ms and more apart in the real 5.x logs)."""


def writer_class(event_type: str) -> str:
    """`replay-origin` (a decision from a loaded log), `out-of-band`, or `other`."""
    if event_type in REPLAY_ORIGIN:
        return "replay-origin"
    if event_type in OUT_OF_BAND or event_type in EXECUTOR:
        return "out-of-band"
    return "other"


class LogEvent(NamedTuple):
    """One event of the final log; `index` is its 0-based place in eventId order.

    A named tuple: a long run has tens of thousands, built straight from the query's rows
    (its `index` field hides the tuple method of that name, which nothing here uses)."""

    index: int  # type: ignore[assignment]
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
    commit_basis: str  # "write time" | "eventId" | "position"
    by_id: dict[str, int] = field(repr=False)
    rank: tuple[int, ...] = field(repr=False)  # commit rank of events[i]
    event_ids: list[str] = field(repr=False, default_factory=list)  # events' ids, in order
    replay_order: str = "eventId"
    """How the run's runtime lists its log, and whether that is read from upstream or
    inferred (README: "In what order a runtime replays")."""
    judged_in: str | None = None
    """The runtime era the run is judged in (`E3 (workflow 5.0.0-beta.55, spec 7)`)."""
    batch_of: dict[int, int] = field(repr=False, default_factory=dict)
    """Log index of each member of a `createBatch` write -> the index of its first member."""

    def batch_head(self, index: int) -> int:
        """The first event of the durable write `events[index]` belongs to (itself alone)."""
        return self.batch_of.get(index, index)

    @property
    def has_fences(self) -> bool:
        return any(e.fence for e in self.events)

    def event(self, event_id: str) -> LogEvent | None:
        index = self.by_id.get(event_id)
        return None if index is None else self.events[index]

    def predecessor(self, index: int) -> LogEvent | None:
        """The event committed just before `events[index]`; a sealed log's `noop` filler is
        stepped over, as the replay steps over it (it keeps its slot, it is no event)."""
        rank = self.rank[index]
        while rank:
            rank -= 1
            e = self.events[self.commit[rank]]
            if e.event_type != NOOP:
                return e
        return None


# The run's copy of each event as `run_log` chooses it (a copy that knows its write time and
# fence first, then the earliest import), filtered to the run before the window: the view
# numbers every run's events, which costs a sort of the whole table per question. The last
# column is the workflow name a `run_created` event gives (the `runs` view's fallback).
_SQL: Final = """
SELECT event_id, event_type, correlation_id,
    json_extract_string(event_data, '$.stepName'),
    json_extract_string(event_data, '$.token'),
    epoch_us(created_at), epoch_us(write_time), fence_last_event_id,
    CASE WHEN event_type IN ('run_failed', 'workflow_failed') THEN coalesce(
        json_extract_string(payload_decoded, '$.message'),
        json_extract_string(event_data, '$.error.message')) END,
    CASE WHEN event_type = 'run_created' THEN json_extract_string(event_data, '$.workflowName') END
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
    judged = judgement_of_run(con, run_id)
    slots = bool(rows) and all(_slot(r[0]) is not None for r in rows)
    if slots:
        order = "position (slot ids: the runtime reads each id's position; upstream)"
    elif judged.line.one_write_any_id_order:
        rows = creations_first(rows)
        order = "eventId, each creation before its entity's events of one write (inferred)"
    elif judged.line.log_order_is_commit_order:
        order = "eventId (the world lists ULID ids in order; inferred for 5.x ULID worlds)"
    else:
        order = "eventId (the 4.x runtime loads the log in eventId order)"
    make = LogEvent._make
    events = tuple(make((n, *row[:-1])) for n, row in enumerate(rows))
    # what the `runs` view says of the run, without its pass over every run's log
    named = max((row[-1] for row in rows if row[-1] is not None), default=None)
    record = con.execute(
        "SELECT workflow_name, started_at FROM run_records WHERE run_id = ?", [run_id]
    ).fetchall()
    workflow, started = record[0] if record else (None, None)
    workflow = workflow if workflow is not None else named
    batched = slots and (judged.spec or 0) >= SPEC_SLOT_IDS and judged.line.name != "4.x"
    log = build_log(run_id, workflow, started, events, replay_order=order,
                    positions=slots, batches=batched)  # fmt: skip
    return replace(log, judged_in=judged.describe())


def _slot(event_id: str) -> int | None:
    body = event_id[5:] if event_id.startswith("evnt_") else ""
    return int(body) if len(body) == 26 and body.isdigit() else None


def create_batches(events: tuple[LogEvent, ...]) -> dict[int, int]:
    """Members of each `createBatch` write (index -> first member's index), by shape:
    consecutive positions holding only `step_created`/`wait_created` (and a `step_started`
    right after its own `step_created`), opened by those or by the `step_completed` of a
    sequential step transition (`[step_completed(N), step_created(N+1), step_started(N+1)]`),
    `createdAt` within `BATCH_SPREAD_US` of the first member, and at most one fence among
    them. Groups of one are not batches."""
    out: dict[int, int] = {}
    group: list[int] = []

    def close() -> None:
        if len(group) > 1:
            out.update(dict.fromkeys(group, group[0]))
        group.clear()

    for e in events:
        if group and _joins(events, group, e):
            group.append(e.index)
            continue
        close()
        if e.event_type in BATCHED or e.event_type == "step_completed":
            group.append(e.index)
    close()
    return out


def _joins(events: tuple[LogEvent, ...], group: list[int], e: LogEvent) -> bool:
    first, previous = events[group[0]], events[group[-1]]
    if _slot(e.event_id) != (_slot(previous.event_id) or -1) + 1:
        return False
    born_running = (
        e.event_type == "step_started"
        and previous.event_type == "step_created"
        and previous.correlation_id == e.correlation_id
    )
    if e.event_type not in BATCHED and not born_running:
        return False
    if e.fence is not None and any(events[i].fence not in (None, e.fence) for i in group):
        return False
    a, b = first.created_us, e.created_us
    return a is not None and b is not None and abs(b - a) <= BATCH_SPREAD_US


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
    *,
    replay_order: str = "eventId",
    positions: bool = False,
    batches: bool = False,
) -> RunLog:
    """A `RunLog` over events already in replay order. With `positions` (slot ids, allocated
    at commit) commit order is that order; with `batches`, `createBatch` writes are found."""
    timed = not positions and bool(events) and all(e.write_us is not None for e in events)
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
        commit_basis="write time" if timed else "position" if positions else "eventId",
        by_id={e.event_id: e.index for e in events},
        rank=tuple(rank),
        event_ids=[e.event_id for e in events],
        replay_order=replay_order,
        batch_of=create_batches(events) if batches else {},
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

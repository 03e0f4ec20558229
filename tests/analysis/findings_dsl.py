"""Building tiny logs for the detector tests and reading their findings back as plain tuples.

`load` puts DSL events (and optionally run records and entity rows) into a store; `found`
runs `check` and returns one tuple per finding: (code, severity, correlation id, witness
event ids, fatal eras, replay message), so whole findings compare with `==`.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import timedelta
from typing import Any

from dsl import RUN, T0, ev, event_id

from forensics.analysis.engine import CheckResult, check
from forensics.model import EntityRecord, EventRecord, Provenance, RunRecord
from forensics.store import Store

WF = "workflow//./workflows/demo//flow"
STEP = "step//./workflows/demo//work"
Row = tuple[str, str, str | None, tuple[str, ...], tuple[str, ...], str | None]


def e(n: int) -> str:
    """The id the DSL gives event `n`."""
    return event_id(n)


def opening(n: int = 1, run: str = RUN) -> list[EventRecord]:
    return [
        ev(n, "run_created", None, {"deploymentId": "dpl", "workflowName": WF}, run=run),
        ev(n + 1, "run_started", run=run),
    ]


def step(n: int, cid: str, name: str = STEP, run: str = RUN) -> list[EventRecord]:
    """A step created, started and completed at `n`, `n+1`, `n+2`."""
    return [
        ev(n, "step_created", cid, {"stepName": name}, run=run),
        ev(n + 1, "step_started", cid, {"stepName": name}, run=run),
        ev(n + 2, "step_completed", cid, {"stepName": name}, run=run),
    ]


def completed(n: int, run: str = RUN) -> EventRecord:
    return ev(n, "run_completed", None, {}, run=run)


def at(n: int, **shift: int) -> Any:
    """T0 + n ms, moved by `shift` (timedelta keywords), for created_at/write_time."""
    return T0 + timedelta(milliseconds=n) + timedelta(**shift)


def record(run: str = RUN, **fields: Any) -> RunRecord:
    return RunRecord(run, Provenance("runs.json"), workflow_name=WF, **fields)


def entity(cid: str, kind: str, run: str = RUN, **fields: Any) -> EntityRecord:
    return EntityRecord(run, cid, kind, Provenance(f"{kind}s.json"), **fields)


def load(
    store: Store,
    events: Iterable[EventRecord],
    runs: Sequence[RunRecord] = (),
    entities: Sequence[EntityRecord] = (),
    where: str = "dsl",
) -> Store:
    with store.begin_import("test", where) as session:
        session.add_events(list(events))
        if runs:
            session.add_runs(runs)
        if entities:
            session.add_entities(entities)
        session.finish()
    return store


def rows(result: CheckResult) -> list[Row]:
    return [
        (f.code, f.severity, f.correlation_id, f.event_ids, f.fatal_in, f.replay_message)
        for f in result.findings
    ]


def found(store: Store, **options: Any) -> list[Row]:
    return rows(check(store, **options))


def verdicts(store: Store) -> dict[str, tuple[str, str | None]]:
    return {v.run_id: (v.verdict, v.reason) for v in check(store).runs}


E012 = ("E0", "E1", "E2")
ALL = ("E0", "E1", "E2", "E3", "E4")
AFTER_TERMINAL = ("E0", "E1", "E2", "E3")
"""An event after its entity's terminal event is inert in E4 (spec 9)."""


def unconsumed(event_type: str, cid: str | None, n: int) -> str:
    """The E0/E1 message for event `n`."""
    return (
        f"Unconsumed event in event log: eventType={event_type}, correlationId="
        f"{cid if cid else 'undefined'}, eventId={e(n)}. This indicates a corrupted or invalid"
        " event log."
    )

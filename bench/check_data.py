"""The benchmark store of `bench/check.py`: 1,000 synthetic runs of 5,000 events, 1% corrupted.

Runs come from `bench/synth.py` (the foundation benchmark's generator), with their correlation
ids re-drawn from the replay's own seeded generator so healthy runs look healthy to the seed
checks too. Ten runs get one corruption shape each, and one extra run of 25,000 events gets
two, for the `explain` timing. Each injected shape is recorded with the finding code it must
produce and the event ids that witness it, so the benchmark can check that every one is found.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any, Final

from synth import STEP, WORKFLOW, encode_body, encode_time, iso, synth_run, wrap

from forensics.analysis.seed import CorrelationIdGenerator, decode_time

RUNS = 1000
EVENTS_PER_RUN = 5000
BIG_RUN_EVENTS = 25_000
STEP_K = 100  # the step that a shape is injected into
Event = dict[str, Any]


@dataclass(frozen=True)
class Injected:
    """One corruption shape put into one run: the code it must yield and its witness."""

    run_id: str
    shape: str
    code: str
    witness: tuple[str, ...]


def _ms(event: Event) -> int:
    return decode_time(event["eventId"][5:15])


def _after(event: Event, bump: int = 1) -> str:
    """An event id minted in the same millisecond just after `event`'s."""
    core = str(event["eventId"])[5:]
    body = int(core[10:].translate(str.maketrans(_ALPHA, _PY32)), 32)
    return "evnt_" + core[:10] + str(encode_body(body + bump))


_ALPHA = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
_PY32 = "0123456789abcdefghijklmnopqrstuv"


def _clone(event: Event, event_type: str, event_id: str, **changes: Any) -> Event:
    out = {k: v for k, v in event.items() if k not in ("eventId", "eventType", "eventData")}
    out.update(eventType=event_type, eventId=event_id, eventData={"stepName": STEP})
    out.update(changes)
    return out


def _step(evs: list[Event], k: int) -> tuple[int, Event, Event, Event]:
    """Index of step k's step_created, and its created/started/completed events."""
    i = 2 + 3 * k
    return i, evs[i], evs[i + 1], evs[i + 2]


def reseed(evs: list[Event]) -> list[Event]:
    """Correlation ids as the run's seeded replay would draw them (startedAt = prefix time)."""
    run_id = evs[0]["runId"]
    first = next((e["correlationId"] for e in evs if e.get("correlationId")), None)
    if first is None:
        return evs
    gen = CorrelationIdGenerator(run_id, WORKFLOW, decode_time(first[5:15]))
    mapping: dict[str, str] = {}
    for e in evs:
        cid = e.get("correlationId")
        if cid is not None:
            if cid not in mapping:
                mapping[cid] = gen.next_id("step")
            e["correlationId"] = mapping[cid]
    return evs


Shape = Callable[[list[Event]], tuple[str, tuple[str, ...]]]


def late_started(evs: list[Event]) -> tuple[str, tuple[str, ...]]:
    i, _, started, done = _step(evs, STEP_K)
    late = _clone(started, "step_started", _after(done))
    evs.insert(i + 3, late)
    return "event-after-terminal", (done["eventId"], late["eventId"])


def duplicate_after_terminal(evs: list[Event]) -> tuple[str, tuple[str, ...]]:
    i, created, _, done = _step(evs, STEP_K)
    dup = dict(created, eventId=_after(done))
    evs.insert(i + 3, dup)
    return "duplicate-creation", (created["eventId"], dup["eventId"])


def name_conflict(evs: list[Event]) -> tuple[str, tuple[str, ...]]:
    i, created, _, _ = _step(evs, STEP_K)
    other = dict(created, eventId=_after(created))
    other["eventData"] = dict(created["eventData"], stepName=STEP.replace("fetchItem", "sync"))
    evs.insert(i + 1, other)
    return "step-name-conflict", (created["eventId"], other["eventId"])


def double_completed(evs: list[Event]) -> tuple[str, tuple[str, ...]]:
    i, _, _, done = _step(evs, STEP_K)
    again = dict(done, eventId=_after(done))
    evs.insert(i + 3, again)
    return "multiple-terminals", (done["eventId"], again["eventId"])


def missing_creation(evs: list[Event]) -> tuple[str, tuple[str, ...]]:
    i, _, started, _ = _step(evs, STEP_K)
    del evs[i]
    return "missing-creation", (started["eventId"],)


def kind_mismatch(evs: list[Event]) -> tuple[str, tuple[str, ...]]:
    i, _, started, _ = _step(evs, STEP_K)
    odd = _clone(started, "hook_received", _after(started), eventData={"token": "t"})
    evs.insert(i + 2, odd)
    return "kind-prefix-mismatch", (odd["eventId"],)


def stuck(evs: list[Event]) -> tuple[str, tuple[str, ...]]:
    last = (len(evs) - 3) // 3 - 1
    i, _, started, done = _step(evs, last)
    again = _clone(started, "step_started", done["eventId"])
    evs[i + 2] = again
    return "stuck-step", (started["eventId"], again["eventId"])


def run_terminals(evs: list[Event]) -> tuple[str, tuple[str, ...]]:
    done = evs[-1]
    failed = dict(done, eventType="run_failed", eventId=_after(done))
    failed["eventData"] = {"error": wrap('[{"message":1},"late failure"]'), "errorCode": "x"}
    evs.append(failed)
    return "run-lifecycle", (done["eventId"], failed["eventId"])


def corrupted_error(evs: list[Event]) -> tuple[str, tuple[str, ...]]:
    _, created, _, _ = _step(evs, STEP_K)
    text = (
        "Workflow replay diverged 4 times after 3 recovery replays; latest divergent event was"
        f" {created['eventId']}. Last divergence: Replay could not consume event:"
        f" eventType=step_created, correlationId={created['correlationId']},"
        f" eventId={created['eventId']}."
    )
    done = evs[-1]
    data = {"error": wrap(f'[{{"message":1}},"{text}"]'), "errorCode": "CORRUPTED_EVENT_LOG"}
    evs[-1] = dict(done, eventType="run_failed", eventData=data)
    return "corrupted-log-error", (done["eventId"], created["eventId"])


def late_commit(evs: list[Event]) -> tuple[str, tuple[str, ...]]:
    _, _, _, done = _step(evs, STEP_K)
    nxt = evs[evs.index(done) + 1]
    done["createdAt"] = iso(_ms(done) + 5000)
    return "mint-commit-inversion", (done["eventId"], nxt["eventId"])


SHAPES: dict[int, Shape] = {
    17: late_started,
    117: duplicate_after_terminal,
    217: name_conflict,
    317: double_completed,
    417: missing_creation,
    517: kind_mismatch,
    617: stuck,
    717: run_terminals,
    817: corrupted_error,
    917: late_commit,
}
BIG_SHAPES: tuple[Shape, ...] = (late_started, name_conflict)


# Shapes that cannot exist in a spec-7 log: its ids are positions allocated at commit (no
# mint/commit inversion), and the CORRUPTED_EVENT_LOG text would name a ULID id.
NOT_IN_SLOT_LOGS: Final = frozenset({"late_commit", "corrupted_error"})
CORE_5X: Final = "5.0.0-beta.55"


def _apply(evs: list[Event], shapes: tuple[Shape, ...], out: list[Injected]) -> None:
    for shape in shapes:
        code, witness = shape(evs)
        out.append(Injected(evs[0]["runId"], shape.__name__, code, witness))


def to_slots(evs: list[Event], injected: list[Injected]) -> list[Event]:
    """The run as workflow 5.x on world-local 5.0.0-beta.46 writes it: spec 7, event ids
    `evnt_` + 26-digit positions from 1 in log order, correlation ids with the run id's time;
    the witnesses of the run's injected shapes are renamed to match."""
    run_id = str(evs[0]["runId"])
    slots = {e["eventId"]: f"evnt_{n:026d}" for n, e in enumerate(evs, 1)}
    for e in evs:
        e["eventId"], e["specVersion"] = slots[e["eventId"]], 7
        cid = e.get("correlationId")
        if cid:
            e["correlationId"] = cid[:5] + run_id[5:15] + cid[15:]
    data = evs[0]["eventData"]
    data["deploymentId"] = f"dpl_local@{CORE_5X}"
    data["executionContext"] = {"workflowCoreVersion": CORE_5X}
    for i, shape in enumerate(injected):
        if shape.run_id == run_id:
            injected[i] = Injected(run_id, shape.shape, shape.code,
                                   tuple(slots[w] for w in shape.witness))  # fmt: skip
    return evs


def bench_events(
    injected: list[Injected], runs: int = RUNS, *, slot_ids: bool = False
) -> Iterator[Event]:
    """Every event of the benchmark store in run order; fills `injected` as it goes.
    `slot_ids` writes the runs as spec-7 logs of the 5.x line (see `to_slots`)."""
    rng = random.Random(7)
    for index in range(runs + 1):
        size = EVENTS_PER_RUN if index < runs else BIG_RUN_EVENTS
        evs = reseed(list(synth_run(index, size, rng)))
        shapes = BIG_SHAPES if index == runs else ((SHAPES[index],) if index in SHAPES else ())
        if slot_ids:
            shapes = tuple(s for s in shapes if s.__name__ not in NOT_IN_SLOT_LOGS)
        _apply(evs, shapes, injected)
        yield from (to_slots(evs, injected) if slot_ids else evs)


def big_run_id(injected: list[Injected]) -> str:
    return injected[-1].run_id


__all__ = ["Injected", "bench_events", "big_run_id", "encode_time"]

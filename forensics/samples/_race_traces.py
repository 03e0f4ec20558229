"""Replay traces of the race-shape samples (event-model.md §7, shapes 1-4), one raw log.

Each replay is told from the sample's own story, so its loaded list, digest and
subscriptions agree with the stored log:

- hook-vs-sleep: the timer's tick (pid 7, inv 41) loaded the log up to `wait_created`,
  wrote `wait_completed` and walked it too, took the timeout branch (`note`); the next
  replay (inv 42) saw `hook_received` first, allocated the step to `processApproval` and
  failed on `note`. The tick's list lacks `hook_received`, which sorts below its last event.
- drain-sync: tick A (pid 4, inv 12) missed `hook_received` and wrote `drainQueue`; the
  invocation queued by `resumeHook()` (pid 9, inv 3) loaded up to `wait_completed` and wrote
  `syncInventory`; the replay after the drain step (pid 4, inv 13) failed on the drain row.
- late-step-started: the replay after the late `step_started` (pid 21, inv 5) failed on it.
- duplicate-step-created: two invocations (pid 21 inv 8, pid 22 inv 4) loaded the same
  five events and both wrote `computeTax`; the next replay (pid 21, inv 9) failed on the
  second row.
"""

from __future__ import annotations

from typing import Any, Final

from forensics.samples import _hosted, _postgres
from forensics.samples._formats import gzip_bytes
from forensics.samples._hosted import DEMO, INVENTORY, mismatch, step
from forensics.samples._kit import Event, Story, iso
from forensics.samples._traces import ReplaySpec, raw_text, request_ids, trace_lines

FILE: Final = "traces-race-shapes.log.gz"
CODES: Final = {
    "hook-vs-sleep-stale-tick": [
        "fence-break",
        "replay-mapping-conflict",
        "stale-snapshot-write",
        "trace-hole",
    ],
    "drain-sync-step-created": [
        "fence-break",
        "replay-mapping-conflict",
        "stale-snapshot-write",
        "trace-hole",
    ],
    "late-step-started": [],
    "duplicate-step-created": ["stale-snapshot-write"],
}


def _upto(s: Story, label: str, *, skip: tuple[str, ...] = ()) -> list[Event]:
    events = s.events[: s.events.index(s[label]) + 1]
    return [e for e in events if e.label not in skip]


def _found(s: Story, label: str, expected: str, found: str) -> dict[str, object]:
    e = s[label]
    return {
        "correlationId": e.correlation_id,
        "expectedStepName": expected,
        "eventStepName": found,
        "eventId": e.event_id,
        "eventType": e.event_type,
        "eventIndex": s.events.index(e),
    }


def hook_vs_sleep() -> tuple[Story, list[ReplaySpec]]:
    s = _hosted.hook_vs_sleep().story
    resume = s["hook_received"].ms - 11
    note, approve = step(DEMO, "note"), step(DEMO, "processApproval")
    head = [("hook", s.cid("hook"), "approval:po-58213"), ("sleep", s.cid("sleep"), iso(resume))]
    tick = _upto(s, "wait_completed", skip=("hook_received",))
    error = mismatch(s.cid("branch"), note, approve)
    return s, [
        ReplaySpec(
            41,
            7,
            resume + 20,
            tick,
            [*head, ("step", s.cid("branch"), note)],
            "suspended",
            resume + 25,
        ),
        ReplaySpec(
            42,
            7,
            resume + 80,
            _upto(s, "step_created"),
            [*head, ("step", s.cid("branch"), approve)],
            "failed",
            resume + 86,
            error,
            _found(s, "step_created", approve, note),
        ),
    ]


def drain_sync() -> tuple[Story, list[ReplaySpec]]:
    s = _hosted.drain_sync().story
    resume = s["hook_received"].ms - 4
    drain, sync = step(INVENTORY, "drainQueue"), step(INVENTORY, "syncInventory")
    head = [
        ("hook", s.cid("hook"), s.token("hook")),
        ("step", s.cid("register"), step(INVENTORY, "registerCallback")),
        ("sleep", s.cid("idle"), iso(resume)),
    ]
    error = mismatch(s.cid("branch"), drain, sync)
    return s, [
        ReplaySpec(
            12,
            4,
            resume + 12,
            _upto(s, "wait_completed", skip=("hook_received",)),
            [*head, ("step", s.cid("branch"), drain)],
            "suspended",
            resume + 18,
        ),
        ReplaySpec(
            3,
            9,
            resume + 15,
            _upto(s, "wait_completed"),
            [*head, ("step", s.cid("branch"), sync)],
            "suspended",
            resume + 23,
        ),
        ReplaySpec(
            13,
            4,
            resume + 395,
            _upto(s, "drain.completed"),
            [*head, ("step", s.cid("branch"), sync)],
            "failed",
            resume + 414,
            error,
            _found(s, "drain.created", sync, drain),
        ),
    ]


def late_step_started() -> tuple[Story, list[ReplaySpec]]:
    s = _postgres.late_step_started().story
    t = s.started_ms
    late = s["load.started-late"]
    error = _postgres.unconsumed("step_started", late.correlation_id, late.event_id)
    subs = [("step", s.cid("load"), _postgres.LOAD), ("step", s.cid("tax"), _postgres.TAX)]
    return s, [
        ReplaySpec(5, 21, t + 188, _upto(s, "load.started-late"), subs, "failed", t + 196, error),
    ]


def duplicate_step_created() -> tuple[Story, list[ReplaySpec]]:
    s = _postgres.duplicate_step_created().story
    t = s.started_ms
    again = s["tax.created-again"]
    error = _postgres.unconsumed("step_created", again.correlation_id, again.event_id)
    subs = [("step", s.cid("load"), _postgres.LOAD), ("step", s.cid("tax"), _postgres.TAX)]
    loaded = _upto(s, "load.completed")
    everything = _upto(s, "tax.created-again")
    after = [*subs, ("step", s.cid("receipt"), _postgres.RECEIPT)]
    return s, [
        ReplaySpec(8, 21, t + 170, loaded, subs, "suspended", t + 185),
        ReplaySpec(4, 22, t + 172, loaded, subs, "suspended", t + 247),
        ReplaySpec(9, 21, t + 258, everything, after, "failed", t + 266, error),
    ]


SHAPES: Final = {
    "hook-vs-sleep-stale-tick": hook_vs_sleep,
    "drain-sync-step-created": drain_sync,
    "late-step-started": late_step_started,
    "duplicate-step-created": duplicate_step_created,
}


def file() -> bytes:
    """Every race-shape replay's lines, in time order, as Lambda-style log text."""
    entries: list[tuple[int, str, str]] = []
    for shape, build in SHAPES.items():
        s, specs = build()
        reqs = request_ids(f"samples:{shape}:requests", len(specs))
        for spec, req in zip(specs, reqs, strict=True):
            entries += [(ms, req, text) for ms, text in trace_lines(s, spec)]
    entries.sort(key=lambda e: e[0])
    return gzip_bytes(raw_text(entries))


def annotate(manifest: list[dict[str, Any]]) -> None:
    """Name the trace file and the replay codes in the race-shape runs' manifest entries."""
    for shape, build in SHAPES.items():
        run_id = build()[0].run_id
        for entry in manifest:
            if entry["run_id"] == run_id:
                entry["traces"] = FILE
                entry["replay_codes"] = CODES[shape]

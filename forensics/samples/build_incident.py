"""The PR #2113 review incident, and replay traces for the race-shape samples.

Run `wrun_01KSNVVXH82P5GM40D6F9152JF` (replicateWorkflow): a 15-minute deadline `sleep`
(wait PMP) races each of six shard copies (steps PMQ…PMW); after the last copy the workflow
calls `drain` if the copies won and `sync` if the deadline did, at draw 12 (PMX). The
deadline's elapsed-wait scan, in an invocation whose logs were not exported, minted
`wait_completed PMP` 2 ms before the last copy's `step_completed PMW` was minted but
committed it 35 ms after. Invocations 269 and 327, woken by the copy, loaded the log in
between: 205 events, tail `step_completed PMW`, no `wait_completed`. Both took the copies'
branch and wrote `step_created PMX (drain)`, 58 and 96 ms after `wait_completed` committed.
Every later replay loads 208 events in which `wait_completed PMP` sorts before
`step_completed PMW`: the race resolves to the deadline, PMX is allocated to `sync`, and
the replay fails on the `drain` row; 52 such replays are in the export.

The event log is a DynamoDB export (JSON lines, gzip) with `writtenAt` write times and no
fences (they were not deployed); the traces are a Vercel-style JSON-lines log export. The
race-shape samples get raw-text traces in `traces-race-shapes.log.gz` (see `_race_traces`).
"""

from __future__ import annotations

import random
from collections.abc import Callable
from typing import Any, Final

from forensics.analysis.seed import CorrelationIdGenerator
from forensics.samples import _flow as f
from forensics.samples import _race_traces
from forensics.samples._formats import compact, gzip_bytes
from forensics.samples._hosted import DEPLOYMENT, mismatch, step, workflow
from forensics.samples._kit import Event, Story, at, devl, iso
from forensics.samples._sources import dynamodb_item
from forensics.samples._traces import ReplaySpec, export_lines, request_ids, trace_lines

RUN_ID: Final = "wrun_01KSNVVXH82P5GM40D6F9152JF"
EVENTS_FILE: Final = "dynamodb-incident-2113.jsonl.gz"
TRACES_FILE: Final = "vercel-logs-incident-2113.jsonl.gz"
OUTPUTS: Final = (EVENTS_FILE, TRACES_FILE, _race_traces.FILE)
MODULE: Final = "./workflows/replicate"
TOKEN: Final = "replicate:catalog-eu"
RECEIVES: Final = 171
FAILED_PIDS: Final = (8, 11)


class _FixedRun(Story):
    """A story whose run id is given (the incident's), not minted."""

    def __init__(self, run_id: str, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.run_id = run_id
        self._cids = CorrelationIdGenerator(run_id, self.workflow, self.started_ms)


Plan = list[tuple[int, Callable[[], object]]]


DRAWS: Final = (
    ("changes", "hook"), ("plan", "step"), ("target", "step"), ("shard0", "step"),
    ("verify", "step"), ("deadline", "wait"),
    *((f"shard{n}", "step") for n in range(1, 7)), ("branch", "step"),
)  # fmt: skip
"""Program order: the changes hook, four steps, the deadline, six copies, drain or sync."""
STEPS: Final = (
    (47, "plan", "planShards", "catalog-eu", 1793),
    (1866, "target", "createTarget", "catalog-us", 2364),
    (4251, "shard0", "copyShard", 0, 56749),
    (61022, "verify", "verifyShard", 0, 2378),
)
"""(ms after startedAt, label, step, argument, ms it took) of the steps before the race."""
DEADLINE: Final = 63420


def incident() -> tuple[Story, dict[str, int]]:
    """The run as its writers produced it, and when the backend wrote each event."""
    s = _FixedRun(
        RUN_ID,
        seed="samples:pr-2113",
        run_ms=at("2026-05-27T23:21:11.976Z"),
        started_ms=at("2026-05-27T23:21:14.332Z"),
        workflow=workflow(MODULE, "replicateWorkflow"),
    )
    for label, kind in DRAWS:
        s.draw(label, kind)
    t = s.started_ms
    deadline, resume = t + DEADLINE, t + DEADLINE + 900_000
    plan = _opening(s)
    for after, label, name, arg, took in STEPS:
        plan += _step(s, label, step(MODULE, name), t + after, t + after + took, arg)
    plan.append((deadline, _wait(s, "wait_created", deadline, resume)))
    plan += _copies(s, deadline + 5, resume)
    plan += _receives(s, t + 5000, resume - 60_000, [ms for ms, _ in plan])
    for _, add in sorted(plan, key=lambda p: p[0]):
        add()
    return s, _write_times(s, resume)


def _opening(s: Story) -> Plan:
    t = s.started_ms
    args: list[object] = ["catalog-eu", "catalog-us"]
    return [
        (s.created_ms, lambda: f.run_created(s, s.created_ms, args, DEPLOYMENT, f.LOCAL_CONTEXT)),
        (t + 2, lambda: f.run_started(s, t + 2)),
        (t + 41, lambda: f.hook_created(s, "hook_created", t + 41, "changes", TOKEN)),
    ]


def _wait(s: Story, label: str, ms: int, resume: int) -> Callable[[], object]:
    return lambda: f.wait_event(s, label, label, ms, "deadline", resume)


def _step(s: Story, label: str, name: str, created: int, done: int, arg: object) -> Plan:
    return [
        (created, lambda: f.step_created(s, f"{label}.created", created, label, name, [arg])),
        (created + 27, lambda: f.step_started(s, f"{label}.started", created + 27, label, name)),
        (
            done,
            lambda: f.step_completed(
                s, f"{label}.completed", done, label, name, {"ok": True, "shard": arg}
            ),
        ),
    ]


def _copies(s: Story, start: int, resume: int) -> Plan:
    """Shards 1-6, each raced against the deadline; the last completes as it elapses."""
    durations = [141_230, 162_871, 150_044, 171_902, 129_377]
    plan: Plan = []
    created = start
    for n in range(1, 7):
        done = created + durations[n - 1] if n < 6 else resume + 3
        plan += _step(s, f"shard{n}", step(MODULE, "copyShard"), created, done, n)
        created = done + 24
    drain = step(MODULE, "drain")
    plan += [
        (resume + 1, _wait(s, "wait_completed", resume + 1, resume)),
        (
            resume + 97,
            lambda: f.step_created(s, "drain.269", resume + 97, "branch", drain, [TOKEN]),
        ),
        (
            resume + 133,
            lambda: f.step_created(s, "drain.327", resume + 133, "branch", drain, [TOKEN]),
        ),
    ]
    return plan


def _receives(s: Story, first: int, last: int, busy: list[int]) -> Plan:
    """Change notifications on the hook, away from every write (nobody awaits them yet)."""
    rng = random.Random("samples:pr-2113:receives")
    moments: list[int] = []
    while len(moments) < RECEIVES:
        ms = rng.randint(first, last)
        if all(abs(ms - b) > 150 for b in busy + moments):
            moments.append(ms)
    plan: Plan = []
    for n, ms in enumerate(sorted(moments), start=1):
        payload = devl({"lsn": 81_000 + 37 * n, "rows": rng.randint(1, 400)})
        plan.append((ms, _receive(s, n, ms, payload)))
    return plan


def _receive(s: Story, n: int, ms: int, payload: bytes) -> Callable[[], object]:
    return lambda: f.hook_received(s, f"change{n}", ms, "changes", TOKEN, payload)


def _write_times(s: Story, resume: int) -> dict[str, int]:
    rng = random.Random("samples:pr-2113:written")
    special = {
        "wait_completed": resume + 41,
        "shard6.completed": resume + 6,
        "drain.269": resume + 99,
        "drain.327": resume + 137,
    }
    return {e.event_id: special.get(e.label, e.ms + rng.randint(2, 5)) for e in s.events}


def _before(s: Story, label: str) -> list[Event]:
    """The log an invocation loaded when `label` was its newest committed event."""
    return s.events[: s.events.index(s[label]) + 1]


def replays(s: Story) -> list[ReplaySpec]:
    """inv 269 and 327 (both wrote drain) and the 52 replays that failed after them."""
    resume = s["wait_completed"].ms - 1
    missed = [e for e in _before(s, "shard6.completed") if e.label != "wait_completed"]
    subs = _subs(s)
    out = [
        ReplaySpec(
            269, 8, resume + 12, missed, [*subs, _branch(s, "drain")], "suspended", resume + 95
        ),
        ReplaySpec(
            327, 11, resume + 15, missed, [*subs, _branch(s, "drain")], "suspended", resume + 131
        ),
    ]
    full, w1 = s.events, s["drain.269"]
    error = mismatch(w1.correlation_id or "", step(MODULE, "drain"), step(MODULE, "sync"))
    found: dict[str, object] = {
        "correlationId": w1.correlation_id,
        "expectedStepName": step(MODULE, "sync"),
        "eventStepName": step(MODULE, "drain"),
        "eventId": w1.event_id,
        "eventType": "step_created",
        "eventIndex": full.index(w1),
    }
    rng = random.Random("samples:pr-2113:failed")
    when = resume + 1_200
    for n, (pid, inv) in enumerate(_failed_invocations()):
        took = rng.randint(48, 90)
        out.append(
            ReplaySpec(
                inv,
                pid,
                when,
                full,
                [*subs, _branch(s, "sync")],
                "failed",
                when + took,
                error,
                found,
            )
        )
        when += took + min(60_000, 1_000 * 2 ** min(n, 6)) + rng.randint(0, 900)
    return out


def _failed_invocations() -> list[tuple[int, int]]:
    """(pid, inv) of the 52 failures, in time order: each process served other runs in
    between; inv 341 comes up in both processes (so those two need their pid), 400 in one."""
    rng = random.Random("samples:pr-2113:invocations")
    eight = sorted([*rng.sample([n for n in range(270, 400) if n != 341], 24), 341, 400])
    taken = set(eight) - {341}
    eleven = sorted([*rng.sample([n for n in range(328, 420) if n not in taken | {341}], 25), 341])
    queues = {8: eight, 11: eleven}
    out = []
    while queues[8] or queues[11]:
        pid = rng.choice([p for p in FAILED_PIDS if queues[p]])
        out.append((pid, queues[pid].pop(0)))
    return out


def _subs(s: Story) -> list[tuple[str, str, str | None]]:
    """Draws 0-11 in program order: the hook, the steps, the deadline sleep."""
    out: list[tuple[str, str, str | None]] = []
    for label, cid in s.entities.ids.items():
        if label == "changes":
            out.append(("hook", cid, TOKEN))
        elif label == "deadline":
            out.append(("sleep", cid, iso(s["wait_created"].ms + 900_000)))
        elif label != "branch":
            data = s[f"{label}.created"].data or {}
            out.append(("step", cid, str(data["stepName"])))
    return out


def _branch(s: Story, name: str) -> tuple[str, str, str | None]:
    return ("step", s.cid("branch"), step(MODULE, name))


def events_file(s: Story, written: dict[str, int]) -> bytes:
    """The DynamoDB export of the run (JSON lines `{"Item": …}`, gzip)."""
    lines = [compact({"Item": dynamodb_item(s, e, written[e.event_id], None)}) for e in s.events]
    return gzip_bytes(("\n".join(lines) + "\n").encode())


def traces_file(s: Story) -> bytes:
    specs = replays(s)
    reqs = request_ids("samples:pr-2113:requests", len(specs))
    entries = [
        (ms, req, text)
        for spec, req in zip(specs, reqs, strict=True)
        for ms, text in trace_lines(s, spec)
    ]
    other = [
        (spec.end_at + 1, req, f"[Workflow] flow handler finished: {spec.outcome}")
        for spec, req in zip(specs[:2], reqs[:2], strict=True)
    ]
    return gzip_bytes(export_lines(entries, other))


def extend(files: dict[str, bytes], manifest: list[dict[str, Any]]) -> None:
    """Add the incident and the race-shape traces to the samples and their manifest."""
    s, written = incident()
    files[EVENTS_FILE] = events_file(s, written)
    files[TRACES_FILE] = traces_file(s)
    files[_race_traces.FILE] = _race_traces.file()
    manifest.append(_entry(s))
    _race_traces.annotate(manifest)


def _entry(s: Story) -> dict[str, Any]:
    w1, w2 = s["drain.269"], s["drain.327"]
    return {
        "run_id": s.run_id,
        "file": EVENTS_FILE,
        "format": "dynamodb-json",
        "shape": "drain-sync-step-created",
        "workflow_name": s.workflow,
        "description": "the PR #2113 review incident: inv 269 and 327 loaded 205 events (tail"
        " step_completed PMW, wait_completed PMP committed but sorted below it) and wrote"
        " step_created PMX (drain); 52 later replays loaded 208 events, resolved the race to"
        " the deadline, allocated PMX to sync and failed (fatal E1-E3)",
        "event_count": len(s.events),
        "staged_event_count": 0,
        "expected_codes": ["duplicate-creation", "race-window"],
        "witness": {
            "duplicate-creation": [w1.event_id, w2.event_id],
            "race-window": s.ids("wait_completed", "shard6.completed", "drain.269"),
        },
        "traces": TRACES_FILE,
        "replay_codes": ["replay-mapping-conflict", "stale-snapshot-write", "trace-hole"],
        "replays": {"traced": 54, "digest_groups": 2, "wrote": 2, "failed": 52},
    }

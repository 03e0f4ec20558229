"""Synthetic but realistic event logs for the benchmarks (never for tests of correctness).

Runs look like the real Workflow DevKit 4.8.9 logs in shape: `wrun_`/`evnt_` ULIDs minted in
time order, `step_`/`wait_`/`hook_` correlation ids sharing the run's time prefix with
consecutive bodies, devalue payloads as `devl` bytes wrapped the way world-local writes them.
"""

from __future__ import annotations

import base64
import random
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
WORKFLOW = "workflow//./workflows/demo//parallelWorkflow"
STEP = "step//./workflows/demo//fetchItem"
START_MS = 1_795_000_000_000  # 2026-11-18


def encode_time(ms: int) -> str:
    out = []
    for _ in range(10):
        out.append(ALPHABET[ms % 32])
        ms //= 32
    return "".join(reversed(out))


def encode_body(value: int) -> str:
    out = []
    for _ in range(16):
        out.append(ALPHABET[value % 32])
        value //= 32
    return "".join(reversed(out))


def iso(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def wrap(devalue_text: str) -> dict[str, str]:
    data = base64.b64encode(b"devl" + devalue_text.encode()).decode()
    return {"__type": "Uint8Array", "data": data}


class _Clock:
    def __init__(self, ms: int, rng: random.Random) -> None:
        self.ms, self.rng, self.body = ms, rng, rng.getrandbits(79)

    def event_id(self) -> str:
        self.ms += self.rng.randint(1, 40)
        self.body += 1
        return "evnt_" + encode_time(self.ms) + encode_body(self.body)


def synth_run(
    index: int, events: int, rng: random.Random, distinct: bool = False
) -> Iterator[dict[str, Any]]:
    """One run of about `events` events: steps in sequence, then the run's end.

    Step payloads depend on the step's place in the run, so runs repeat each other's
    payloads; `distinct` adds the run's index to them, so every payload is unique."""
    start = START_MS + index * 600_000
    run_id = "wrun_" + encode_time(start) + encode_body(rng.getrandbits(79))
    clock = _Clock(start, rng)
    prefix, b0 = encode_time(start + 20), rng.getrandbits(78)

    def ev(
        event_type: str, cid: str | None = None, data: dict[str, Any] | None = None
    ) -> dict[str, Any]:
        out: dict[str, Any] = {"eventType": event_type, "specVersion": 3}
        if cid:
            out["correlationId"] = cid
        if data is not None:
            out["eventData"] = data
        out.update(runId=run_id, eventId=clock.event_id(), createdAt=iso(clock.ms))
        return out

    yield ev(
        "run_created",
        data={
            "deploymentId": "dpl_bench",
            "workflowName": WORKFLOW,
            "input": wrap(f'[[1],"order-{index}"]'),
        },
    )
    yield ev("run_started")
    # devalue: the extra member or element points at the run index appended at the end
    tail, args, run = (f",{index}", "[2,3]", ',"run":3') if distinct else ("", "[2]", "")
    for k in range(max(0, (events - 3) // 3)):
        cid = "step_" + prefix + encode_body(b0 + k)
        yield ev(
            "step_created",
            cid,
            {
                "stepName": STEP,
                "workflowName": WORKFLOW,
                "input": wrap(f'[{{"args":1,"closureVars":-1,"thisVal":-1}},{args},{k}{tail}]'),
            },
        )
        yield ev("step_started", cid, {"stepName": STEP})
        yield ev(
            "step_completed",
            cid,
            {
                "stepName": STEP,
                "workflowName": WORKFLOW,
                "result": wrap(f'[{{"id":1,"price":2{run}}},{k},{k * 3}{tail}]'),
            },
        )
    yield ev("run_completed", data={"output": wrap(f'[{{"count":1}},{events}]')})


def synth_events(
    runs: int, events_per_run: int, seed: int = 7, distinct: bool = False
) -> Iterator[dict[str, Any]]:
    rng = random.Random(seed)
    for i in range(runs):
        yield from synth_run(i, events_per_run, rng, distinct)
